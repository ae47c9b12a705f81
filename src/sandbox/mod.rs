//! Untrusted work under limits, and the limits of ready's own process. `open` is the one opener
//! for every file `ready` reads on a user's behalf (model, sample, config, baseline, lockfiles,
//! README); `write` is the one way `ready` replaces a file (reports, README): whole or not at all;
//! `output` checks `--output` paths before an audit starts; `depth` bounds nesting before a
//! recursive parser sees a file; `resources` turns ready's own shortages (file descriptors,
//! memory, processes) into "could not run"; `budget` sizes probe children and oversized batches
//! from the audit's memory budget.

pub mod budget;
pub mod depth;
pub mod open;
pub mod output;
pub mod resources;
pub mod write;
