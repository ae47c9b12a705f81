//! What surrounds the model: the project that serves it (its code, configs and container files).

pub mod paths_scan;
