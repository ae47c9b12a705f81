//! What the artifact is: inspection of the model file and of pickle-based formats.

pub mod pickle_globals;
