//! The input of a natively scored model: every column a number, one row a flat run of `f64`.

use crate::mlmodel::SignatureInputs;
use ironmage_core::input_schema::InputSchema;
use ironmage_core::table::steps::{Cell, Kind};
use ironmage_core::{Error, Result};

/// The columns of a model that takes `n_features` numbers: the MLflow signature's names when it
/// has them, else the model file's own (LightGBM and XGBoost keep the training frame's), else
/// `f0`, `f1`, … (XGBoost's names for unnamed features).
pub fn numeric_input(
    signature: Option<&SignatureInputs>,
    own_names: &[String],
    n_features: usize,
) -> Result<InputSchema> {
    let names: Vec<String> = match signature {
        Some(SignatureInputs::Columns(columns)) => {
            if let Some((name, _)) = columns.iter().find(|(_, k)| *k != Kind::Number) {
                return Err(Error::invalid(format!(
                    "the signature's column {name:?} is not numeric; the model takes numbers"
                )));
            }
            columns.iter().map(|(n, _)| n.clone()).collect()
        }
        _ if own_names.len() == n_features => own_names.to_vec(),
        _ => (0..n_features).map(|i| format!("f{i}")).collect(),
    };
    if names.len() != n_features {
        return Err(Error::invalid(format!(
            "the signature names {} columns but the model takes {n_features} features",
            names.len()
        )));
    }
    Ok(InputSchema::new(
        names.into_iter().map(|n| (n, Kind::Number)),
    ))
}

/// Rows of number cells as one row-major buffer (text cannot reach here: the schema is numeric).
pub fn flatten(rows: &[Vec<Cell>], n_features: usize) -> Vec<f64> {
    let mut flat = Vec::with_capacity(rows.len() * n_features);
    for row in rows {
        flat.extend(row.iter().map(|c| match c {
            Cell::Number(v) => *v,
            Cell::Text(_) => f64::NAN,
        }));
    }
    flat
}
