//! What the artifact is: facts read from the model file itself (the domain its graph states) and
//! from pickle-based formats (the globals known to be safe).

pub mod graph_domain;
pub mod pickle_globals;
