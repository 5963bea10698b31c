//! Models of any origin, loaded for scoring.
//!
//! The prediction role and `ironmage predict-batch` serve every registered version through this
//! crate, whatever trained it:
//! - ironmage's own bundles (forests, boosting, linear models, with their preprocessing);
//! - MLflow model folders, found through their `MLmodel` file: the `onnx`, `lightgbm` and
//!   `xgboost` flavors are scored natively in Rust (no Python at serving time), any other
//!   `python_function` model through a pool of Python worker processes.
//!
//! Every loaded model answers through one trait, [`Scorer`].

pub mod bundle;
pub mod load;
pub mod mlmodel;
mod numeric_input;
pub mod onnx;
mod onnx_scorer;
pub mod python;
mod python_scorer;
pub mod scorer;
mod trees;

pub use bundle::BundleScorer;
pub use load::{load_mlflow_folder, PythonOptions};
pub use scorer::{Prediction, Scorer, ScorerInfo};
