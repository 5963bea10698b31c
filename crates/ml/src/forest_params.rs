//! The hyperparameters of the random forests (classifier and regressor) and of
//! a single decision tree, which is a forest of one tree.

use serde::{Deserialize, Serialize};

use crate::binning::MAX_BINS;
use crate::error::{invalid, Result};

/// How many features are examined at each split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxFeatures {
    /// `max(1, floor(sqrt(n_features)))` (scikit-learn's default for classifiers).
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
    /// Every feature.
    All,
    /// `max(1, floor(fraction * n_features))`, with the fraction in `(0, 1]`.
    Fraction(f64),
    /// Exactly this many features (at least 1, at most `n_features`).
    Count(usize),
}

impl MaxFeatures {
    /// The number of features to examine per split for `n_features` features.
    pub fn resolve(&self, n_features: usize) -> Result<usize> {
        let d = n_features as f64;
        let k = match *self {
            MaxFeatures::Sqrt => d.sqrt().floor() as usize,
            MaxFeatures::Log2 => d.log2().floor().max(0.0) as usize,
            MaxFeatures::All => n_features,
            MaxFeatures::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(invalid(
                        "max_features",
                        format!("fraction must be in (0, 1], got {f}"),
                    ));
                }
                (f * d).floor() as usize
            }
            MaxFeatures::Count(k) => {
                if k == 0 || k > n_features {
                    return Err(invalid(
                        "max_features",
                        format!(
                            "count must be in 1..={n_features} (the number of features), got {k}"
                        ),
                    ));
                }
                k
            }
        };
        Ok(k.clamp(1, n_features.max(1)))
    }
}

/// Hyperparameters of a [`RandomForestClassifier`](crate::RandomForestClassifier); defaults follow scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams {
    /// Number of trees (default 100).
    pub n_estimators: usize,
    /// Maximum tree depth, the root having depth 0 (default `None`: unlimited).
    pub max_depth: Option<usize>,
    /// Minimum number of samples a node needs to be split (default 2).
    pub min_samples_split: usize,
    /// Minimum number of samples in each leaf (default 1).
    pub min_samples_leaf: usize,
    /// Features examined per split (default [`MaxFeatures::Sqrt`]).
    pub max_features: MaxFeatures,
    /// Whether each tree sees a bootstrap sample (default `true`).
    pub bootstrap: bool,
    /// Seed of all randomness (default 0).
    pub random_state: u64,
    /// Maximum number of histogram bins per feature, 2..=65536 (default 255).
    pub n_bins: usize,
}

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams {
            n_estimators: 100,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::Sqrt,
            bootstrap: true,
            random_state: 0,
            n_bins: 255,
        }
    }
}

impl RandomForestParams {
    /// Checks every hyperparameter, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        if self.n_estimators == 0 || self.n_estimators > u32::MAX as usize {
            return Err(invalid(
                "n_estimators",
                format!("must be at least 1, got {}", self.n_estimators),
            ));
        }
        if self.max_depth == Some(0) {
            return Err(invalid(
                "max_depth",
                "must be at least 1 when set, got 0".into(),
            ));
        }
        if self.min_samples_split < 2 {
            return Err(invalid(
                "min_samples_split",
                format!("must be at least 2, got {}", self.min_samples_split),
            ));
        }
        if self.min_samples_leaf < 1 {
            return Err(invalid(
                "min_samples_leaf",
                "must be at least 1, got 0".into(),
            ));
        }
        match self.max_features {
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid(
                    "max_features",
                    format!("fraction must be in (0, 1], got {f}"),
                ));
            }
            MaxFeatures::Count(0) => {
                return Err(invalid(
                    "max_features",
                    "count must be at least 1, got 0".into(),
                ));
            }
            _ => {}
        }
        if !(2..=MAX_BINS).contains(&self.n_bins) {
            return Err(invalid(
                "n_bins",
                format!("must be in 2..={MAX_BINS}, got {}", self.n_bins),
            ));
        }
        Ok(())
    }
}
