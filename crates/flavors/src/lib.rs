//! Models of any origin, loaded for scoring.
//!
//! The prediction role and `ironmage predict-batch` serve every registered version through this
//! crate, whatever trained it:
//! - ironmage's own bundles (forests, boosting, linear models, with their preprocessing);
//! - MLflow model folders, found through their `MLmodel` file: the `onnx`, `lightgbm` and
//!   `xgboost` flavors are scored natively in Rust (no Python at serving time), any other
//!   `python_function` model through a pool of Python worker processes.

pub mod onnx;
pub mod python;
