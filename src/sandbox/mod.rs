//! Untrusted work under limits. `open` is the one opener for every file `ready` reads on a
//! user's behalf (model, sample, config, baseline, lockfiles, README).

pub mod open;
