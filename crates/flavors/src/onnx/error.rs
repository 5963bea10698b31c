//! Why an ONNX model could not be loaded or scored.

/// Every failure of [`crate::onnx::OnnxModel`]: loading refuses what it cannot score, with the
/// reason; scoring never panics on bad input.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The bytes are not an ONNX model (corrupt, truncated, or another format).
    #[error("not a readable ONNX model: {0}")]
    Decode(String),
    /// Only models with exactly one `[batch, n_features]` input are scored; skl2onnx makes one
    /// input per column when converted with per-column `initial_types`.
    #[error(
        "the model has {} inputs ({}); only a model with one [batch, n_features] input can be \
         scored (convert it with a single FloatTensorType([None, n_features]) input)",
        .names.len(),
        .names.join(", ")
    )]
    InputCount { names: Vec<String> },
    /// The single input is not a float tensor of shape `[batch, n_features]`.
    #[error("the model's input `{name}` {problem}")]
    InputShape { name: String, problem: String },
    /// Operators that tract does not implement, with the nodes that use them.
    #[error("the model uses operators that tract cannot run: {}", .0.join(", "))]
    UnsupportedOps(Vec<String>),
    /// The graph's outputs are not those of a classifier or a single-target regressor.
    #[error("the model's outputs cannot be read as predictions: {0}")]
    Outputs(String),
    /// tract could not type, optimize or plan the graph.
    #[error("tract could not prepare the model: {0}")]
    Prepare(String),
    /// The rows handed to `predict` do not have the model's width.
    #[error(
        "{len} values cannot be {n_rows} rows of {n_features} features (expected {} values)",
        .n_rows * .n_features
    )]
    RowWidth {
        len: usize,
        n_rows: usize,
        n_features: usize,
    },
    /// tract failed while scoring.
    #[error("scoring failed: {0}")]
    Run(String),
}
