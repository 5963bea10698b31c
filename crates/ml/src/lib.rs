//! Machine learning for ironmage: histogram-based random forests (classifier,
//! regressor), histogram gradient-boosted trees (binary log-loss, squared
//! error; [`GradientBoostingParams`]), preprocessing (stratified split, median
//! imputation, standard scaling) and metrics.
//!
//! The regressor ([`RandomForestParams::fit_regressor`]), gradient boosting
//! and the weighted binary classifier ([`RandomForestParams::fit_weighted`])
//! share one gradient-statistics tree learner (best-first growth, histogram
//! subtraction, L2-regularised Newton leaves); their models keep trees in the
//! same flat arrays and have their own versioned artifacts.
//!
//! The forest is our own learner, built on linfa's traits
//! ([`linfa::traits::Fit`] for [`RandomForestParams`] and
//! [`linfa::traits::PredictInplace`] for [`RandomForestClassifier`]) so it stays a
//! linfa citizen, while being much faster than `linfa-ensemble` and giving class
//! probabilities:
//!
//! * every feature is binned once into at most `n_bins` quantile bins, and
//!   split search works on per-node class histograms;
//! * features are sampled per split (`max_features`), bootstrap samples are
//!   weights (counts) rather than copied rows;
//! * trees are trained in parallel with rayon, each from its own RNG seeded from
//!   `(random_state, tree index)`, so a fit is bit-for-bit reproducible whatever
//!   the thread count;
//! * the fitted model keeps all trees in flat arrays (struct of arrays, the
//!   serialized form) and walks a packed copy of them, one 8-byte node per
//!   step that compares the rank of the row's value among the model's
//!   thresholds (`packed.rs`), so a single-row prediction takes about 2 µs.
//!
//! Everything here is deterministic and serde-serializable, and bad input gives
//! an [`MlError`], never a panic.
//!
//! ```
//! use ironmage_ml::{RandomForestClassifier, RandomForestParams};
//! use ndarray::array;
//!
//! let x = array![[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]];
//! let y = [0, 0, 1, 1];
//! let params = RandomForestParams { n_estimators: 10, bootstrap: false, ..Default::default() };
//! let model = params.fit(x.view(), &y)?;
//! let p = model.predict_proba_row(&[0.95, 0.1]);
//! assert!(p[1] > 0.5);
//! let bytes = model.to_bytes()?;
//! let back = RandomForestClassifier::from_bytes(&bytes)?;
//! assert_eq!(back, model);
//! # Ok::<(), ironmage_ml::MlError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod artifact;
mod binning;
mod flat;
pub mod forest;
pub mod gbdt;
mod gbdt_model;
mod hist_split;
mod hist_tree;
pub mod linear;
mod linfa_impls;
pub mod metrics;
mod packed;
mod predict;
pub mod preprocess;
pub mod regressor;
mod tree;
mod weighted;

#[cfg(test)]
mod cart_tests;
#[cfg(test)]
mod forest_tests;
#[cfg(test)]
mod gbdt_tests;

pub use self::artifact::{FORMAT_VERSION, MAGIC};
pub use self::forest::{MaxFeatures, RandomForestClassifier, RandomForestParams, MAX_CLASSES};
pub use self::gbdt::{GbdtLoss, GradientBoostingModel, GradientBoostingParams};
pub use self::gbdt_model::{GBDT_FORMAT_VERSION, GBDT_MAGIC};
pub use self::metrics::{accuracy, f1, precision, recall, rmse, roc_auc, ClassificationMetrics};
pub use self::preprocess::{stratified_split, MedianImputer, StandardScaler};
pub use self::regressor::{RandomForestRegressor, REGRESSOR_FORMAT_VERSION, REGRESSOR_MAGIC};

/// Errors of the machine-learning module.
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
    /// An error reported by linfa.
    #[error("linfa error: {0}")]
    Linfa(#[from] linfa::Error),
}

/// Result type of the machine-learning module.
pub type Result<T> = std::result::Result<T, MlError>;

/// Checks that every value of `x` is finite, naming the first offending cell.
pub(crate) fn check_finite(x: ndarray::ArrayView2<'_, f64>) -> Result<()> {
    for (row, values) in x.outer_iter().enumerate() {
        for (column, v) in values.iter().enumerate() {
            if !v.is_finite() {
                return Err(MlError::NonFiniteValue { row, column });
            }
        }
    }
    Ok(())
}

/// scikit-learn's forest importances: each tree's (non-negative) impurity
/// decreases normalised to sum to 1, averaged over trees, normalised again;
/// all zeros when no tree has a split.
pub(crate) fn forest_importances<'a>(
    n_features: usize,
    trees: impl IntoIterator<Item = &'a [f64]>,
) -> Vec<f64> {
    let mut out = vec![0.0; n_features];
    for tree in trees {
        let total: f64 = tree.iter().map(|v| v.max(0.0)).sum();
        if total > 0.0 {
            for (acc, v) in out.iter_mut().zip(tree) {
                *acc += v.max(0.0) / total;
            }
        }
    }
    normalised(out)
}

/// `v` scaled to sum to 1 (unchanged when its sum is not positive).
pub(crate) fn normalised(mut v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter_mut().for_each(|x| *x /= total);
    }
    v
}

/// SplitMix64 finaliser: a bijective mix of a 64-bit word.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A ChaCha8 RNG seeded from two words (e.g. a user seed and a stream index), so
/// every stream is independent and reproducible on every platform.
pub(crate) fn seeded_rng(seed: u64, stream: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    let mut state = splitmix64(seed) ^ splitmix64(stream ^ 0xD1B5_4A32_D192_ED03);
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        state = splitmix64(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    rand_chacha::ChaCha8Rng::from_seed(key)
}
