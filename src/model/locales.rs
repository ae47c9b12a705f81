//! The locales a model's string operators need from the machine that runs it. ONNX Runtime
//! builds a C++ locale for a StringNormalizer that changes case or compares without case (the
//! node's `locale` attribute, `en_US.UTF-8` by default on Linux and macOS); a machine without
//! that locale cannot create the session. That is a fact about the machine, not the model, so
//! the audit reads it from the graph and asks the C library, instead of reading the runtime's
//! error text.

use prost::Message;

use super::graph_domain::proto::{ModelProto, NodeProto};

/// The locale ONNX Runtime's StringNormalizer uses when the node names none (non-Windows builds).
const DEFAULT_LOCALE: &str = "en_US.UTF-8";

/// A locale one node needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocaleNeed {
    pub locale: String,
    /// The node that needs it, for messages: `StringNormalizer 'normalize' (UPPER)`.
    pub node: String,
}

/// The locales the main graph's StringNormalizer nodes need (none for a model that does not decode).
pub fn needed(model_bytes: &[u8]) -> Vec<LocaleNeed> {
    let Ok(model) = ModelProto::decode(model_bytes) else { return Vec::new() };
    model.graph.map(|g| g.node).unwrap_or_default().iter().filter_map(need_of).collect()
}

/// The needs this machine's C library cannot meet.
pub fn missing_here(needs: &[LocaleNeed]) -> Vec<&LocaleNeed> {
    needs.iter().filter(|need| !available(&need.locale)).collect()
}

fn need_of(node: &NodeProto) -> Option<LocaleNeed> {
    if node.op_type != "StringNormalizer" {
        return None;
    }
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let case_change = attr("case_change_action").map(|a| String::from_utf8_lossy(&a.s).into_owned()).unwrap_or_else(|| "NONE".into());
    let case_insensitive = attr("is_case_sensitive").is_some_and(|a| a.i == 0);
    if case_change == "NONE" && !case_insensitive {
        return None;
    }
    let locale = attr("locale").map(|a| String::from_utf8_lossy(&a.s).into_owned()).filter(|l| !l.is_empty());
    let why = if case_change == "NONE" { "case-insensitive".to_string() } else { case_change };
    let name = node.output.first().map_or(String::new(), |o| format!(" '{o}'"));
    Some(LocaleNeed { locale: locale.unwrap_or_else(|| DEFAULT_LOCALE.into()), node: format!("StringNormalizer{name} ({why})") })
}

/// Whether the C library can build `name` for every category (what `std::locale(name)` asks).
fn available(name: &str) -> bool {
    let Ok(cname) = std::ffi::CString::new(name) else { return false };
    // SAFETY: `newlocale` reads the NUL-terminated name and returns a new handle or null; a
    // non-null handle is freed once, here.
    unsafe {
        let handle = libc::newlocale(libc::LC_ALL_MASK, cname.as_ptr(), std::ptr::null_mut());
        if handle.is_null() {
            return false;
        }
        libc::freelocale(handle);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::graph_domain::proto::AttributeProto;
    use super::*;

    fn node(attributes: Vec<AttributeProto>) -> NodeProto {
        NodeProto { input: vec!["x".into()], output: vec!["y".into()], op_type: "StringNormalizer".into(), attribute: attributes }
    }

    fn text(name: &str, value: &str) -> AttributeProto {
        AttributeProto { name: name.into(), s: value.as_bytes().to_vec(), ..Default::default() }
    }

    #[test]
    fn only_case_changes_and_case_insensitive_compares_need_a_locale() {
        assert_eq!(need_of(&node(vec![])), None);
        assert_eq!(
            need_of(&node(vec![text("case_change_action", "UPPER")])),
            Some(LocaleNeed { locale: "en_US.UTF-8".into(), node: "StringNormalizer 'y' (UPPER)".into() })
        );
        let insensitive = AttributeProto { name: "is_case_sensitive".into(), i: 0, ..Default::default() };
        assert_eq!(need_of(&node(vec![insensitive, text("locale", "C.UTF-8")])).unwrap().locale, "C.UTF-8");
    }

    #[test]
    fn the_c_locale_is_always_there() {
        assert!(available("C"));
        assert!(!available("xx_NOWHERE.UTF-8"));
        assert!(!available("bad\0name"));
    }
}
