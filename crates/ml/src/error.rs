//! The error type of every fit, prediction and artifact of the crate.

/// Errors of the machine-learning crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MlError {
    /// The input has no rows.
    #[error("empty dataset: at least one row is required")]
    EmptyDataset,
    /// The input has rows but no feature columns.
    #[error("empty dataset: no feature columns")]
    NoFeatures,
    /// Two inputs that must have the same length do not.
    #[error("mismatched lengths: {what}: expected {expected}, got {actual}")]
    MismatchedLengths {
        /// What was compared, e.g. "labels vs rows".
        what: &'static str,
        /// The length that was required.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },
    /// A hyperparameter is out of its valid range.
    #[error("invalid hyperparameter `{name}`: {reason}")]
    InvalidHyperparameter {
        /// Name of the hyperparameter.
        name: &'static str,
        /// Why the value is invalid.
        reason: String,
    },
    /// A function argument is out of its valid range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// Name of the argument.
        name: &'static str,
        /// Why the value is invalid.
        reason: String,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value at row {row}, column {column}")]
    NonFiniteValue {
        /// Row index (0-based).
        row: usize,
        /// Column index (0-based).
        column: usize,
    },
    /// A class label is not usable.
    #[error("invalid label {label} at row {row}: {reason}")]
    InvalidLabel {
        /// Row index (0-based).
        row: usize,
        /// The offending label.
        label: usize,
        /// Why the label is invalid.
        reason: &'static str,
    },
    /// A column has no (non-NaN) value at all, so no statistic can be fitted.
    #[error("column {column} has no non-missing value")]
    EmptyColumn {
        /// Column index (0-based).
        column: usize,
    },
    /// A metric needs both classes in `y_true` but only one is present.
    #[error("only one class present in y_true: {metric} is undefined")]
    SingleClass {
        /// The metric that could not be computed.
        metric: &'static str,
    },
    /// The data is larger than the learner supports.
    #[error("dataset too large: {0}")]
    TooLarge(String),
    /// A model could not be serialized.
    #[error("model serialization failed: {0}")]
    Serialization(String),
    /// A model artifact could not be decoded or failed validation.
    #[error("corrupt model artifact: {0}")]
    CorruptArtifact(String),
    /// A model artifact was written by an incompatible format version.
    #[error("unsupported model format version {found} (this build reads version {expected})")]
    UnsupportedVersion {
        /// Version found in the artifact.
        found: u32,
        /// Version this build reads and writes.
        expected: u32,
    },
    /// A model file of another library (LightGBM, XGBoost) is malformed,
    /// truncated, or uses a feature this build does not score.
    #[error("cannot import {origin} model: {reason}")]
    InvalidModel {
        /// The library whose file it is.
        origin: &'static str,
        /// What is wrong, and where.
        reason: String,
    },
    /// An error reported by linfa.
    #[error("linfa error: {0}")]
    Linfa(#[from] linfa::Error),
}

/// Result type of the machine-learning crate.
pub type Result<T> = std::result::Result<T, MlError>;

/// The error of an invalid hyperparameter.
pub(crate) fn invalid(name: &'static str, reason: String) -> MlError {
    MlError::InvalidHyperparameter { name, reason }
}
