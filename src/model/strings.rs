//! The free text a model carries, each string with the field it sits in: `metadata_props`, doc
//! strings (model, graph, node, function, tensor), string attributes (`s`, `strings`, string
//! tensors in `t`/`tensors`), and string initializers, through subgraphs and functions. Read
//! from the ONNX protobuf alone (a declared subset of `onnx.proto`; numeric payloads are skipped).
//!
//! Only strings that could hold a path (a `/`, a `\` or a `~`) are kept, at most
//! [`MAX_STRINGS`]: a vocabulary of a million tokens is not copied.

use prost::Message;

/// The most strings kept from one model.
pub const MAX_STRINGS: usize = 100_000;

/// One string of the model and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelString {
    /// The field, as a finding names it: `metadata_props["train_data"]`, `node "Imputer_0" attribute "s"`.
    pub field: String,
    pub text: String,
    /// A doc string (documentation), not a value the graph or the serving code reads.
    pub doc: bool,
}

/// The strings of a model that could hold a path; none when the bytes do not decode.
pub fn read(bytes: &[u8]) -> Vec<ModelString> {
    let Ok(model) = proto::ModelProto::decode(bytes) else {
        return Vec::new();
    };
    let mut out = Strings::default();
    out.push("model doc_string".into(), &model.doc_string, true);
    for entry in &model.metadata_props {
        out.push(format!("metadata_props[{:?}]", entry.key), &entry.value, false);
    }
    if let Some(graph) = &model.graph {
        out.graph(graph, "");
    }
    for function in &model.functions {
        let at = format!("function {:?} ", function.name);
        out.push(format!("{at}doc_string"), &function.doc_string, true);
        out.nodes(&function.node, &at);
    }
    out.list
}

#[derive(Default)]
struct Strings {
    list: Vec<ModelString>,
}

impl Strings {
    fn push(&mut self, field: String, text: &str, doc: bool) {
        if self.list.len() < MAX_STRINGS && text.contains(['/', '\\', '~']) {
            self.list.push(ModelString { field, text: text.to_string(), doc });
        }
    }

    fn push_bytes(&mut self, field: impl FnOnce() -> String, bytes: &[u8]) {
        if bytes.iter().any(|b| matches!(b, b'/' | b'\\' | b'~')) {
            self.push(field(), &String::from_utf8_lossy(bytes), false);
        }
    }

    /// `at`: where the graph sits (empty for the main graph).
    fn graph(&mut self, graph: &proto::GraphProto, at: &str) {
        let named = format!("{at}graph {:?} ", graph.name);
        self.push(format!("{named}doc_string"), &graph.doc_string, true);
        for tensor in &graph.initializer {
            self.tensor(tensor, &format!("{at}initializer {:?}", tensor.name));
        }
        self.nodes(&graph.node, at);
    }

    fn nodes(&mut self, nodes: &[proto::NodeProto], at: &str) {
        for node in nodes {
            let named = format!("{at}node {:?} ({})", node.name, node.op_type);
            self.push(format!("{named} doc_string"), &node.doc_string, true);
            for attr in &node.attribute {
                let field = format!("{named} attribute {:?}", attr.name);
                self.push(format!("{field} doc_string"), &attr.doc_string, true);
                self.push_bytes(|| field.clone(), &attr.s);
                for (i, s) in attr.strings.iter().enumerate() {
                    self.push_bytes(|| format!("{field}[{i}]"), s);
                }
                for tensor in attr.t.iter().chain(&attr.tensors) {
                    self.tensor(tensor, &field);
                }
                for sub in attr.g.iter().map(|g| &**g).chain(&attr.graphs) {
                    self.graph(sub, &format!("{field} "));
                }
            }
        }
    }

    fn tensor(&mut self, tensor: &proto::TensorProto, field: &str) {
        self.push(format!("{field} doc_string"), &tensor.doc_string, true);
        for (i, s) in tensor.string_data.iter().enumerate() {
            self.push_bytes(|| format!("{field}[{i}]"), s);
        }
    }
}

/// The part of `onnx.proto` this module reads (field numbers from the ONNX specification).
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(string, tag = "6")]
        pub doc_string: String,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "14")]
        pub metadata_props: Vec<StringStringEntryProto>,
        #[prost(message, repeated, tag = "25")]
        pub functions: Vec<FunctionProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntryProto {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FunctionProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, repeated, tag = "7")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "8")]
        pub doc_string: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(string, tag = "10")]
        pub doc_string: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
        #[prost(string, tag = "6")]
        pub doc_string: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(bytes = "vec", tag = "4")]
        pub s: Vec<u8>,
        #[prost(message, optional, tag = "5")]
        pub t: Option<TensorProto>,
        #[prost(message, optional, boxed, tag = "6")]
        pub g: Option<Box<GraphProto>>,
        #[prost(bytes = "vec", repeated, tag = "9")]
        pub strings: Vec<Vec<u8>>,
        #[prost(message, repeated, tag = "10")]
        pub tensors: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub graphs: Vec<GraphProto>,
        #[prost(string, tag = "13")]
        pub doc_string: String,
    }

    /// Only `string_data` is read: `raw_data` and the numeric fields are skipped.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(bytes = "vec", repeated, tag = "6")]
        pub string_data: Vec<Vec<u8>>,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(string, tag = "12")]
        pub doc_string: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_field_is_named_and_only_path_like_strings_are_kept() {
        let attr =
            |name: &str, s: &[u8], strings: Vec<Vec<u8>>| proto::AttributeProto { name: name.into(), s: s.to_vec(), strings, ..Default::default() };
        let body = proto::GraphProto {
            name: "body".into(),
            node: vec![proto::NodeProto { name: "inner".into(), op_type: "Identity".into(), doc_string: "~/x".into(), ..Default::default() }],
            ..Default::default()
        };
        let node = proto::NodeProto {
            name: "Imputer_0".into(),
            op_type: "Imputer".into(),
            doc_string: "no path here".into(),
            attribute: vec![
                attr("s", b"/home/a/s", vec![]),
                attr("list", b"", vec![b"plain".to_vec(), b"C:\\x".to_vec()]),
                proto::AttributeProto { name: "then".into(), g: Some(Box::new(body)), ..Default::default() },
            ],
        };
        let model = proto::ModelProto {
            doc_string: "/Users/a/doc".into(),
            metadata_props: vec![proto::StringStringEntryProto { key: "train_data".into(), value: "/Users/a/train.csv".into() }],
            graph: Some(proto::GraphProto {
                name: "g".into(),
                node: vec![node],
                initializer: vec![proto::TensorProto {
                    name: "vocab".into(),
                    string_data: vec![b"a".to_vec(), b"/b".to_vec()],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let fields: Vec<(String, bool)> = read(&model.encode_to_vec()).into_iter().map(|s| (s.field, s.doc)).collect();
        let expected = [
            ("model doc_string", true),
            ("metadata_props[\"train_data\"]", false),
            ("initializer \"vocab\"[1]", false),
            ("node \"Imputer_0\" (Imputer) attribute \"s\"", false),
            ("node \"Imputer_0\" (Imputer) attribute \"list\"[1]", false),
            ("node \"Imputer_0\" (Imputer) attribute \"then\" node \"inner\" (Identity) doc_string", true),
        ];
        assert_eq!(fields, expected.map(|(f, d)| (f.to_string(), d)));
        assert_eq!(read(b"garbage"), Vec::new());
    }
}
