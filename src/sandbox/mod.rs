//! Untrusted work under limits. `open` is the one opener for every file `ready` reads on a
//! user's behalf (model, sample, config, baseline, lockfiles, README); `write` is the one way
//! `ready` replaces a file (the README): whole or not at all.

pub mod open;
pub mod write;
