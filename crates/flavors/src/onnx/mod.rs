//! ONNX models scored natively with tract: scikit-learn models converted by skl2onnx (forests,
//! gradient boosting, linear models, pipelines with scalers) and any other single-input ONNX
//! graph whose operators tract implements.
//!
//! A model is loaded once into an optimized plan for a `[batch, n_features]` float input
//! (double when the model declares double), then scored from any number of threads.

mod error;
mod graph;
mod model;
mod ops;
mod output;

pub use error::OnnxError;
pub use model::OnnxModel;
pub use output::{InputType, Labels, OnnxOutput, Probabilities};
