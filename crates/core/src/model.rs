//! ironmage's model format: the fitted forest, its preprocessing and its feature schema,
//! stored as three content-addressed artifacts and loaded back in milliseconds.

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::ml::{MedianImputer, RandomForestClassifier, StandardScaler};
use crate::store::ArtifactRefs;
use serde::{Deserialize, Serialize};

/// Imputation and scaling fitted at training time, replayed at prediction time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Training medians per feature.
    pub imputer: MedianImputer,
    /// Training means and scales per feature.
    pub scaler: StandardScaler,
}

/// The features a model expects, by name, and the names of its classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// Feature names in the model's column order.
    pub features: Vec<String>,
    /// The label's name (`churn`).
    pub label: String,
    /// Class names, by class index (`no_churn`, `churn`).
    pub classes: Vec<String>,
    /// Positive-class probability above which the answer is the positive class; the same
    /// cut-off the metrics were computed with.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn default_threshold() -> f64 {
    0.5
}

impl FeatureSchema {
    /// The schema of a binary classifier of `label` over `features`.
    pub fn binary(features: Vec<String>, label: &str, threshold: f64) -> FeatureSchema {
        FeatureSchema {
            features,
            label: label.to_string(),
            classes: vec![format!("no_{label}"), label.to_string()],
            threshold,
        }
    }
}

/// Everything needed to score a row.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// The fitted forest.
    pub forest: RandomForestClassifier,
    /// The fitted preprocessing.
    pub preprocessing: Preprocessing,
    /// The input schema.
    pub schema: FeatureSchema,
}

impl ModelBundle {
    /// Store the three artifacts; equal bundles give equal references.
    pub fn save(&self, artifacts: &ArtifactStore) -> Result<ArtifactRefs> {
        Ok(ArtifactRefs {
            model: artifacts.put(&self.forest.to_bytes()?)?,
            scaler: artifacts.put(serde_json::to_string(&self.preprocessing)?.as_bytes())?,
            schema: artifacts.put(serde_json::to_string(&self.schema)?.as_bytes())?,
        })
    }

    /// Load and hash-check the three artifacts, and check that they fit together.
    pub fn load(artifacts: &ArtifactStore, refs: &ArtifactRefs) -> Result<ModelBundle> {
        let forest = RandomForestClassifier::from_bytes(&artifacts.get(&refs.model)?)
            .map_err(|e| Error::internal(format!("model artifact {}: {e}", refs.model)))?;
        let preprocessing: Preprocessing = serde_json::from_slice(&artifacts.get(&refs.scaler)?)
            .map_err(|e| Error::internal(format!("scaler artifact {}: {e}", refs.scaler)))?;
        let schema: FeatureSchema = serde_json::from_slice(&artifacts.get(&refs.schema)?)
            .map_err(|e| Error::internal(format!("schema artifact {}: {e}", refs.schema)))?;
        let n = schema.features.len();
        if forest.n_features() != n
            || preprocessing.imputer.medians.len() != n
            || preprocessing.scaler.mean.len() != n
            || forest.n_classes() != schema.classes.len()
        {
            return Err(Error::internal(
                "the model, scaler and schema artifacts do not fit together",
            ));
        }
        Ok(ModelBundle {
            forest,
            preprocessing,
            schema,
        })
    }

    /// Class probabilities of one raw row (imputed and scaled here), written into `out`.
    pub fn predict_proba(&self, row: &mut [f64], out: &mut [f64]) {
        self.preprocessing.imputer.transform_row(row);
        self.preprocessing.scaler.transform_row(row);
        self.forest.predict_proba_row_into(row, out);
    }
}
