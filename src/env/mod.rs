//! What surrounds the model: the installed Python environment (`python_env`) and the project
//! that serves it (its code, configs and container files: `paths_scan`).

pub mod deploy;
pub mod paths_scan;
pub mod project_walk;
pub mod python_env;
