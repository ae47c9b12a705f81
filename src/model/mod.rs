//! What the artifact is: facts read from the model file itself (the domain its graph states) and
//! from pickle-based formats (the globals known to be safe), and the free text it carries.

pub mod graph_domain;
pub mod pickle_globals;
pub mod strings;
