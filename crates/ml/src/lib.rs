//! Machine learning for ironmage: histogram-based random forests (classifier,
//! regressor), histogram gradient-boosted trees (binary log-loss, squared
//! error; [`GradientBoostingParams`]), linear models ([`linear`]),
//! preprocessing (stratified split, median imputation, standard scaling) and
//! metrics.
//!
//! Two growers build the trees. The classifier's is CART on class counts
//! (gini, depth-first, `cart.rs`); the regressor ([`RandomForestParams::fit_regressor`]),
//! gradient boosting and the weighted binary classifier
//! ([`RandomForestParams::fit_weighted`]) share one gradient-statistics
//! learner (best-first growth, histogram subtraction, L2-regularised Newton
//! leaves, `hist_tree.rs`). Whatever grew them, every model keeps its trees in
//! the same node arrays (`nodes.rs`), walks the same packed copy of them
//! (`packed.rs`, one 8-byte node per step that compares the rank of the row's
//! value among the model's thresholds, so a single-row prediction takes about
//! 2 µs), and writes and validates its versioned artifact through the same
//! codec (`codec.rs`).
//!
//! The forest is our own learner, built on linfa's traits
//! ([`linfa::traits::Fit`] for [`RandomForestParams`] and
//! [`linfa::traits::PredictInplace`] for [`RandomForestClassifier`]) so it stays a
//! linfa citizen, while being much faster than `linfa-ensemble` and giving class
//! probabilities:
//!
//! * every feature is binned once into at most `n_bins` quantile bins, and
//!   split search works on per-node histograms;
//! * features are sampled per split (`max_features`), bootstrap samples are
//!   weights (counts) rather than copied rows;
//! * trees are trained in parallel with rayon, each from its own RNG seeded from
//!   `(random_state, tree index)`, so a fit is bit-for-bit reproducible whatever
//!   the thread count.
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

mod binning;
mod cart;
mod classifier;
mod codec;
mod ensemble;
mod error;
mod forest;
mod forest_params;
mod gbdt;
mod gbdt_loss;
mod gbdt_model;
mod gbdt_params;
mod hist_split;
mod hist_tree;
mod hist_types;
mod histogram;
pub mod import;
mod importance;
mod input;
pub mod linear;
mod linfa_impls;
pub mod metrics;
mod nodes;
mod packed;
mod partition;
pub mod preprocess;
mod regressor;
mod rng;
mod rows;
mod split_test;

#[cfg(test)]
mod cart_tests;
#[cfg(test)]
mod forest_tests;
#[cfg(test)]
mod gbdt_tests;

pub use crate::classifier::{RandomForestClassifier, FORMAT_VERSION, MAGIC, MAX_CLASSES};
pub use crate::error::{MlError, Result};
pub use crate::forest_params::{MaxFeatures, RandomForestParams};
pub use crate::gbdt_loss::GbdtLoss;
pub use crate::gbdt_model::{GradientBoostingModel, GBDT_FORMAT_VERSION, GBDT_MAGIC};
pub use crate::gbdt_params::GradientBoostingParams;
pub use crate::import::{ImportedModel, Origin, Task};
pub use crate::metrics::{accuracy, f1, precision, recall, rmse, roc_auc, ClassificationMetrics};
pub use crate::nodes::{TreeArrays, LEAF_FEATURE};
pub use crate::preprocess::{stratified_split, MedianImputer, StandardScaler};
pub use crate::regressor::{RandomForestRegressor, REGRESSOR_FORMAT_VERSION, REGRESSOR_MAGIC};
