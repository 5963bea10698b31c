//! Tree models trained in Python with LightGBM or XGBoost, read from the
//! files those libraries save and scored natively by ironmage's packed tree
//! walk, with the libraries' own predictions (within 1e-6; XGBoost's in its
//! f32 arithmetic).
//!
//! ```no_run
//! use ironmage_ml::import::{lightgbm, xgboost};
//!
//! let lgb = lightgbm::load(&std::fs::read_to_string("model.txt")?)?;
//! let xgb = xgboost::load_json(&std::fs::read("model.json")?)?;
//! let p = lgb.predict_row(&[0.5, f64::NAN, 3.0])?;
//! let mut out = vec![0.0; 2 * xgb.n_outputs()];
//! xgb.predict_into(&[0.5, 1.0, 2.0, f64::NAN, 1.5, 0.0], &mut out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each file is read into trees as the library numbers them, renumbered and
//! checked (`assemble.rs`); each split's comparison becomes a cut on the f64
//! input that decides the same way (`thresholds.rs`) and a test for missing
//! values and categories (`crate::split_test`), so the packed walk of
//! ironmage's own models scores them unchanged. Objectives map to an inverse
//! link (`link.rs`).

mod assemble;
pub mod lightgbm;
mod link;
mod model;
mod thresholds;
mod ubjson;
pub mod xgboost;

pub use model::{ImportedModel, Origin, Task};
