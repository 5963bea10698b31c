//! What flows along the DAG's edges: the ports, each block's output, and the records a
//! trainer, the register block and the deploy block hand downstream. Below every block module:
//! blocks import this, it imports none of them.

use super::data::VersionedDataset;
use super::gates::Evaluation;
use crate::error::Result;
use crate::model::{Model, Task};
use crate::store::{Deployment, ModelVersion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What flows along an edge of the DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// A table (split or not) with its fitted steps and dataset version.
    Dataset,
    /// A fitted model with its evaluation.
    Trained,
    /// A registered model version.
    Registered,
    /// A deployment decision.
    Deployed,
    /// Nothing (a `noop` block).
    Empty,
}

/// A block's output, shared with its downstream blocks, and persisted (MessagePack) so that a
/// failed run can be re-run from the failed block.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Output {
    /// From a loader, a transformer or a command.
    Dataset(Arc<VersionedDataset>),
    /// From a trainer.
    Trained(Arc<Trained>),
    /// From the register block.
    Registered(Arc<Registered>),
    /// From the deploy block.
    Deployed(Arc<Deployed>),
    /// From a `noop` block.
    Empty,
}

impl Output {
    /// The bytes that persist this output between runs (MessagePack: self-describing, so JSON
    /// maps inside round-trip, and bit-exact for floats, NaN included).
    pub fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec_named(self).map_err(|e| {
            crate::error::Error::internal(format!("cannot encode a block output: {e}"))
        })
    }

    /// Read back what [`Output::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Output> {
        rmp_serde::from_slice(bytes).map_err(|e| {
            crate::error::Error::internal(format!("cannot decode a stored block output: {e}"))
        })
    }

    /// A small JSON preview for the run page: schema, first rows, stats.
    pub fn preview(&self) -> Value {
        match self {
            Output::Dataset(d) => d.preview(),
            Output::Trained(t) => t.preview(),
            Output::Registered(r) => r.preview(),
            Output::Deployed(d) => d.preview(),
            Output::Empty => Value::Object(Default::default()),
        }
    }
}

/// A fitted model and how it did on the test part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trained {
    /// What it was trained on (with the fitted steps to replay).
    pub data: Arc<VersionedDataset>,
    /// The model.
    pub model: TrainedModel,
    /// Classification or regression.
    pub task: Task,
    /// The label column.
    pub label: String,
    /// Feature columns, in the model's order.
    pub features: Vec<String>,
    /// Probability cut-off for the positive class (classifiers; an MLflow model's own
    /// `predict` decides, this is not applied to it).
    pub threshold: f64,
    /// The config as hyperparameters.
    pub hyperparameters: Map<String, Value>,
    /// Test metrics (`auc_score`, `rmse`, …) and sample counts.
    pub metrics: Map<String, Value>,
    /// Features by decreasing importance.
    pub feature_importance: Vec<(String, f64)>,
    /// The gates an `evaluate` block checked, if one ran.
    pub evaluation: Option<Evaluation>,
}

/// What a trainer fitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TrainedModel {
    /// A built-in trainer's model, registered as an ironmage bundle.
    Native(Box<Model>),
    /// A model a Python block returned, saved as an MLflow model folder in the run's artifacts
    /// and registered as that folder.
    Mlflow(MlflowModel),
}

/// An MLflow model folder a Python block saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MlflowModel {
    /// `runs:/<run>/<path>`: the source the registered version points at.
    pub source: String,
    /// Its folder in the artifact path index (`<experiment>/<run>/artifacts/<path>`).
    pub folder: String,
    /// The MLflow flavor it was saved with (`sklearn`, `lightgbm`, `xgboost`).
    pub flavor: String,
    /// The model's Python class.
    pub class: String,
    /// The run whose artifacts hold it.
    pub run_id: String,
}

impl Trained {
    fn preview(&self) -> Value {
        let mut preview = json!({
            "task": self.task,
            "label": self.label,
            "features": self.features,
            "metrics": self.metrics,
            "hyperparameters": self.hyperparameters,
            "evaluation": self.evaluation,
        });
        if let TrainedModel::Mlflow(m) = &self.model {
            preview["mlflow_model"] =
                json!({"source": m.source, "flavor": m.flavor, "class": m.class});
        }
        // After `evaluate`, `passed` is a top-level scalar for `when:` conditions.
        if let Some(evaluation) = &self.evaluation {
            preview["passed"] = json!(evaluation.passed);
        }
        preview
    }
}

/// The version the block registered.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Registered {
    /// The new version.
    pub version: ModelVersion,
    /// The validation gates an upstream `evaluate` checked.
    pub evaluation: Option<Evaluation>,
}

impl Registered {
    fn preview(&self) -> Value {
        let v = &self.version;
        json!({"model": v.model, "version": v.version, "label": v.label, "stage": v.stage.as_str(), "artifacts": v.artifacts, "lineage": v.lineage, "evaluation": self.evaluation})
    }
}

/// The decision.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Deployed {
    /// The recorded decision.
    pub deployment: Deployment,
}

impl Deployed {
    fn preview(&self) -> Value {
        let d = &self.deployment;
        json!({"deployment": d, "passed": d.status == "deployed", "status": d.status, "version": d.version})
    }
}

/// Take the single input of a block, which validation guarantees has the right port.
macro_rules! single_input {
    ($inputs:expr, $variant:ident) => {
        match $inputs.into_iter().next() {
            Some($crate::pipeline::blocks::output::Output::$variant(value)) => value,
            _ => {
                return Err($crate::error::Error::internal(concat!(
                    "expected one ",
                    stringify!($variant),
                    " input"
                )))
            }
        }
    };
}
pub(crate) use single_input;
