//! A feature matrix with class labels: what the churn generator (`synthetic.rs`) produces.
//! The `synthetic_churn` block turns it into a [`Table`](crate::table::Table), which is what
//! flows between blocks and what is fingerprinted (`table/mod.rs`, ADR 0003).

use crate::error::{Error, Result};
use ndarray::Array2;

/// Feature columns (f64, NaN for missing) and a binary or multi-class label.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dataset {
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// Label column name.
    pub label_name: String,
    /// Rows × features; NaN marks a missing value.
    pub features: Array2<f64>,
    /// One class per row.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// Check shapes and names.
    pub fn new(
        feature_names: Vec<String>,
        label_name: String,
        features: Array2<f64>,
        labels: Vec<usize>,
    ) -> Result<Dataset> {
        if features.ncols() != feature_names.len() {
            return Err(Error::invalid(format!(
                "{} feature names for {} columns",
                feature_names.len(),
                features.ncols()
            )));
        }
        if features.nrows() != labels.len() {
            return Err(Error::invalid(format!(
                "{} labels for {} rows",
                labels.len(),
                features.nrows()
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in feature_names.iter().chain(std::iter::once(&label_name)) {
            if !seen.insert(name.as_str()) {
                return Err(Error::invalid(format!("column {name:?} appears twice")));
            }
        }
        Ok(Dataset {
            feature_names,
            label_name,
            features,
            labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn shape_errors_are_reported() {
        let ok = Dataset::new(vec!["a".into()], "y".into(), array![[1.0]], vec![0]);
        assert!(ok.is_ok());
        assert!(Dataset::new(vec!["a".into()], "y".into(), array![[1.0, 2.0]], vec![0]).is_err());
        assert!(Dataset::new(vec!["a".into()], "y".into(), array![[1.0]], vec![0, 1]).is_err());
        assert!(Dataset::new(vec!["a".into()], "a".into(), array![[1.0]], vec![0]).is_err());
    }
}
