//! MLflow pyfunc models behind [`Scorer`]: rows go to the Python worker pool, which batches
//! concurrent requests into one `predict` call.

use crate::mlmodel::{MlModel, SignatureInputs};
use crate::python::{PythonConfig, PythonError, PythonModel};
use crate::scorer::{Prediction, Scorer, ScorerInfo};
use futures::future::{BoxFuture, FutureExt};
use ironmage_core::input_schema::InputSchema;
use ironmage_core::table::steps::Cell;
use ironmage_core::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Start the worker pool on the model folder `dir`. The model must have been logged with a
/// column signature: it is what a request is checked against before Python sees it.
pub async fn start(
    dir: &Path,
    mlmodel: &MlModel,
    config: &PythonConfig,
) -> Result<Arc<dyn Scorer>> {
    let input = match &mlmodel.inputs {
        Some(SignatureInputs::Columns(columns)) => InputSchema::new(columns.clone()),
        Some(SignatureInputs::Tensor { .. }) => {
            return Err(Error::invalid(
                "the model's signature is a tensor; ironmage serves Python models whose signature names columns (log it with a pandas input_example)",
            ))
        }
        Some(SignatureInputs::Other { reason }) => {
            return Err(Error::invalid(format!(
                "the model's signature has a column ironmage cannot check: {reason}"
            )))
        }
        None => {
            return Err(Error::invalid(
                "the model was logged without a signature; log it with `signature=` or `input_example=` so requests can be checked",
            ))
        }
    };
    let model = PythonModel::start(config.clone(), dir)
        .await
        .map_err(|e| Error::invalid(format!("the Python model did not load: {e}")))?;
    let columns: Arc<[String]> = input.names().map(str::to_string).collect();
    Ok(Arc::new(PythonScorer {
        model,
        input,
        columns,
    }))
}

fn to_json(cell: Cell) -> Value {
    match cell {
        Cell::Number(v) => json!(v),
        Cell::Text(t) => json!(t),
    }
}

/// A model error is the request's (400); a worker that crashed, timed out or is overloaded is
/// ours (503, worth a retry).
fn answer_error(e: PythonError) -> Error {
    if e.is_model_error() {
        Error::invalid_field("body", format!("the model rejected the input: {e}"))
    } else {
        Error::unavailable(format!("the Python model could not answer: {e}"))
    }
}

impl Scorer for PythonScorer {
    fn input(&self) -> &InputSchema {
        &self.input
    }

    fn score(&self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<Vec<Prediction>>> {
        async move {
            let rows: Vec<Vec<Value>> = rows
                .into_iter()
                .map(|r| r.into_iter().map(to_json).collect())
                .collect();
            let values = self
                .model
                .predict(self.columns.clone(), rows)
                .await
                .map_err(answer_error)?;
            Ok(values.into_iter().map(Prediction::Json).collect())
        }
        .boxed()
    }

    fn external_memory_bytes(&self) -> Option<u64> {
        let pids = self.model.worker_pids();
        Some(
            pids.into_iter()
                .map(|pid| ironmage_core::memory::resident_bytes(Some(pid)))
                .sum(),
        )
    }

    fn describe(&self) -> ScorerInfo {
        ScorerInfo {
            flavor: "python_function",
            native: false,
            task: None,
            classes: Vec::new(),
            details: json!({"python": self.model.info(), "stats": self.model.stats()}),
        }
    }
}

/// A pyfunc model served by Python workers.
struct PythonScorer {
    model: PythonModel,
    input: InputSchema,
    columns: Arc<[String]>,
}
