//! ironmage's model format: a fitted model (classifier or regressor), the ordered list of
//! fitted preprocessing steps, and the feature schema, stored as three content-addressed
//! artifacts and loaded back in milliseconds.

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::ml::linear::{LinearRegression, LogisticRegression};
use crate::ml::{
    GbdtLoss, GradientBoostingModel, RandomForestClassifier, RandomForestRegressor, GBDT_MAGIC,
    MAGIC, REGRESSOR_MAGIC,
};
use crate::store::ArtifactRefs;
use crate::table::steps::{Cell, FittedStep, Kind, Plan};
use serde::{Deserialize, Serialize};

/// Magic bytes of the linear models' artifact.
const LINEAR_MAGIC: &[u8] = b"IMLINEAR\x01";

/// A fitted model of any kind the trainers give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Model {
    /// Random forest (or a single decision tree) classifier.
    ForestClassifier(RandomForestClassifier),
    /// Random forest (or a single decision tree) regressor.
    ForestRegressor(RandomForestRegressor),
    /// Gradient-boosted trees: a classifier with log-loss, a regressor with squared error.
    Boosting(GradientBoostingModel),
    /// Logistic regression.
    Logistic(LogisticRegression),
    /// Linear regression.
    Linear(LinearRegression),
}

#[derive(Serialize, Deserialize)]
enum LinearModel {
    Logistic(LogisticRegression),
    Linear(LinearRegression),
}

impl Model {
    /// Whether it answers with a class probability.
    pub fn is_classifier(&self) -> bool {
        match self {
            Model::ForestClassifier(_) | Model::Logistic(_) => true,
            Model::Boosting(m) => m.params().loss == GbdtLoss::LogLoss,
            Model::ForestRegressor(_) | Model::Linear(_) => false,
        }
    }

    /// Number of features it reads, when the model records it.
    pub fn n_features(&self) -> usize {
        match self {
            Model::ForestClassifier(m) => m.n_features(),
            Model::ForestRegressor(m) => m.n_features(),
            Model::Boosting(m) => m.n_features(),
            Model::Logistic(m) => m.weights.len(),
            Model::Linear(m) => m.weights.len(),
        }
    }

    /// Probability of class 1 for a classifier, the predicted value for a regressor.
    pub fn score_row(&self, row: &[f64]) -> f64 {
        match self {
            Model::ForestClassifier(m) => {
                let mut proba = [0.0; 2];
                m.predict_proba_row_into(row, &mut proba[..m.n_classes().min(2)]);
                proba[1]
            }
            Model::ForestRegressor(m) => m.predict_row(row),
            Model::Boosting(m) => m.predict_row(row),
            Model::Logistic(m) => m.predict_proba_row(row),
            Model::Linear(m) => m.predict_row(row),
        }
    }

    /// The artifact bytes: the tree models keep their own versioned formats.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let linear = match self {
            Model::ForestClassifier(m) => return Ok(m.to_bytes()?),
            Model::ForestRegressor(m) => return Ok(m.to_bytes()?),
            Model::Boosting(m) => return Ok(m.to_bytes()?),
            Model::Logistic(m) => LinearModel::Logistic(m.clone()),
            Model::Linear(m) => LinearModel::Linear(m.clone()),
        };
        let mut out = LINEAR_MAGIC.to_vec();
        out.extend(serde_json::to_vec(&linear)?);
        Ok(out)
    }

    /// Read [`Model::to_bytes`] back, picking the format by its magic bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        if bytes.starts_with(&MAGIC) {
            return Ok(Model::ForestClassifier(RandomForestClassifier::from_bytes(
                bytes,
            )?));
        }
        if bytes.starts_with(&REGRESSOR_MAGIC) {
            return Ok(Model::ForestRegressor(RandomForestRegressor::from_bytes(
                bytes,
            )?));
        }
        if bytes.starts_with(&GBDT_MAGIC) {
            return Ok(Model::Boosting(GradientBoostingModel::from_bytes(bytes)?));
        }
        let body = bytes
            .strip_prefix(LINEAR_MAGIC)
            .ok_or_else(|| Error::internal("unknown model artifact format"))?;
        Ok(match serde_json::from_slice(body)? {
            LinearModel::Logistic(m) => Model::Logistic(m),
            LinearModel::Linear(m) => Model::Linear(m),
        })
    }
}

/// The fitted preprocessing, replayed at prediction time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Steps in the order the pipeline fitted them.
    pub steps: Vec<FittedStep>,
}

/// What the model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Binary classification: a class and its probability.
    #[default]
    Classification,
    /// Regression: a number.
    Regression,
}

/// The columns a request carries, the features the model reads, and the names of its classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// Raw input columns the preprocessing starts from (the label among them, which requests
    /// do not carry).
    pub inputs: Vec<(String, Kind)>,
    /// Feature names in the model's column order, after preprocessing.
    pub features: Vec<String>,
    /// The label's name in the raw input (`churn`, `Sales`), which requests do not carry.
    pub label: String,
    /// Classification or regression.
    #[serde(default)]
    pub task: Task,
    /// Class names, by class index (`no_churn`, `churn`); empty for a regressor.
    pub classes: Vec<String>,
    /// Positive-class probability above which the answer is the positive class; the same
    /// cut-off the metrics were computed with.
    pub threshold: f64,
}

impl FeatureSchema {
    /// The request fields: the inputs without the label.
    pub fn request_fields(&self) -> impl Iterator<Item = &(String, Kind)> {
        self.inputs.iter().filter(move |(n, _)| n != &self.label)
    }
}

/// Everything needed to score a row.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// The fitted model.
    pub model: Model,
    /// The fitted preprocessing.
    pub preprocessing: Preprocessing,
    /// The input schema.
    pub schema: FeatureSchema,
    plan: Plan,
    features: Vec<usize>,
}

impl ModelBundle {
    /// Put the parts together, checking that they fit.
    pub fn new(
        model: Model,
        preprocessing: Preprocessing,
        schema: FeatureSchema,
    ) -> Result<ModelBundle> {
        let plan = Plan::compile(&preprocessing.steps, &schema.inputs)?;
        let features = schema
            .features
            .iter()
            .map(|f| {
                plan.outputs
                    .iter()
                    .position(|(n, k)| n == f && *k == Kind::Number)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "feature {f:?} is not a numeric column after preprocessing"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let expected_classes = if model.is_classifier() { 2 } else { 0 };
        if model.n_features() != features.len() || schema.classes.len() != expected_classes {
            return Err(Error::invalid(
                "the model, preprocessing and schema do not fit together",
            ));
        }
        Ok(ModelBundle {
            model,
            preprocessing,
            schema,
            plan,
            features,
        })
    }

    /// Store the three artifacts; equal bundles give equal references.
    pub fn save(&self, artifacts: &ArtifactStore) -> Result<ArtifactRefs> {
        Ok(ArtifactRefs {
            model: artifacts.put(&self.model.to_bytes()?)?,
            scaler: artifacts.put(serde_json::to_string(&self.preprocessing)?.as_bytes())?,
            schema: artifacts.put(serde_json::to_string(&self.schema)?.as_bytes())?,
        })
    }

    /// Load and hash-check the three artifacts, and check that they fit together.
    pub fn load(artifacts: &ArtifactStore, refs: &ArtifactRefs) -> Result<ModelBundle> {
        let model = Model::from_bytes(&artifacts.get(&refs.model)?).map_err(|e| {
            Error::internal(format!("model artifact {}: {}", refs.model, e.message))
        })?;
        let preprocessing: Preprocessing = serde_json::from_slice(&artifacts.get(&refs.scaler)?)
            .map_err(|e| Error::internal(format!("preprocessing artifact {}: {e}", refs.scaler)))?;
        let schema: FeatureSchema = serde_json::from_slice(&artifacts.get(&refs.schema)?)
            .map_err(|e| Error::internal(format!("schema artifact {}: {e}", refs.schema)))?;
        ModelBundle::new(model, preprocessing, schema)
            .map_err(|e| Error::internal(format!("artifacts of one version: {}", e.message)))
    }

    /// Score one raw row given in [`FeatureSchema::inputs`] order (label cell missing):
    /// preprocess it, then the positive-class probability or the predicted value.
    pub fn score_cells(&self, row: Vec<Cell>) -> f64 {
        let cells = self.plan.apply(row);
        let mut x = Vec::with_capacity(self.features.len());
        for &i in &self.features {
            x.push(match cells[i] {
                Cell::Number(v) => v,
                Cell::Text(_) => f64::NAN,
            });
        }
        self.model.score_row(&x)
    }
}
