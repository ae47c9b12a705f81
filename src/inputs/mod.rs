//! What the model is fed: input specs from the config, the batch axis read from the graph, and
//! synthetic requests built from both.

pub mod batch_axis;
pub mod columns;
pub mod json_tensors;
pub mod json_tree;
pub mod npy;
pub mod reference;
pub mod sample_fit;
pub mod spec;
pub mod synth;
pub mod tensor_values;
pub mod text_columns;
pub mod text_numbers;
pub mod unique_keys;
pub mod values;
