//! What surrounds the model: the installed Python environment (`python_env`).

pub mod python_env;
