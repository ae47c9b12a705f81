//! What the artifact is: facts read from the model file itself (the domain its graph states) and
//! from pickle-based formats (the globals known to be safe), the free text it carries, and the
//! locales its string operators need from the machine.

pub mod graph_domain;
pub mod locales;
pub mod pickle_globals;
pub mod strings;
