//! Untrusted work under limits, and the limits of ready's own process.

pub mod resources;
