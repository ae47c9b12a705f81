//! What the artifact is: facts read from the model file itself.

pub mod graph_domain;
