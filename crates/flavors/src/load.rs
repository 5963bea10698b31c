//! Choosing how to score a model folder: natively when a flavor ironmage reads is there
//! (ONNX, a LightGBM text model, an XGBoost JSON/UBJSON model), else through Python.

use crate::mlmodel::MlModel;
use crate::numeric_input::numeric_input;
use crate::onnx::OnnxModel;
use crate::onnx_scorer::OnnxScorer;
use crate::scorer::Scorer;
use crate::trees::TreeScorer;
use ironmage_core::ml::import::{lightgbm, xgboost, ImportedModel};
use ironmage_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Load the MLflow model folder `dir` for scoring. Native flavors are tried first, in the order
/// `onnx`, `lightgbm`, `xgboost`; a native flavor whose file ironmage cannot read (a pickled
/// scikit-learn wrapper, an operator tract lacks) falls back to `python_function`.
pub async fn load_mlflow_folder(dir: &Path, python: &PythonOptions) -> Result<Arc<dyn Scorer>> {
    let mlmodel = MlModel::read(dir)?;
    let mut native_error = None;
    if let Some(flavor) = native_flavor(&mlmodel) {
        let (dir, mlmodel_copy) = (dir.to_path_buf(), mlmodel.clone());
        let loaded = tokio::task::spawn_blocking(move || load_native(&dir, &mlmodel_copy, flavor))
            .await
            .map_err(|e| Error::internal(format!("loading the model crashed: {e}")))?;
        match loaded {
            Ok(scorer) => return Ok(scorer),
            Err(e) => native_error = Some(format!("{flavor}: {}", e.message)),
        }
    }
    if mlmodel.flavor("python_function").is_some() {
        if let Some(reason) = &native_error {
            tracing::warn!(dir = %dir.display(), reason = %reason, "native flavor unusable; serving through Python");
        }
        return crate::python_scorer::start(dir, &mlmodel, python).await;
    }
    Err(Error::invalid(match native_error {
        Some(reason) => format!("the model cannot be loaded: {reason}"),
        None => format!(
            "the model has no flavor ironmage can serve (flavors: {}; served are onnx, lightgbm, xgboost and python_function)",
            mlmodel.flavor_names().join(", ")
        ),
    }))
}

/// The first native flavor the model was saved with.
fn native_flavor(mlmodel: &MlModel) -> Option<&'static str> {
    ["onnx", "lightgbm", "xgboost"]
        .into_iter()
        .find(|f| mlmodel.flavor(f).is_some())
}

/// Blocking: read and check the flavor's file.
fn load_native(dir: &Path, mlmodel: &MlModel, flavor: &str) -> Result<Arc<dyn Scorer>> {
    let file = data_file(dir, mlmodel, flavor)?;
    let bytes = std::fs::read(&file)
        .map_err(|e| Error::invalid(format!("{} cannot be read: {e}", file.display())))?;
    let signature = mlmodel.inputs.as_ref();
    if flavor == "onnx" {
        let model = OnnxModel::load(&bytes).map_err(|e| Error::invalid(e.to_string()))?;
        let input = numeric_input(signature, &[], model.n_features())?;
        return Ok(Arc::new(OnnxScorer::new(model, input)));
    }
    let model = read_trees(flavor, &file, &bytes)?;
    let input = numeric_input(signature, model.feature_names(), model.n_features())?;
    Ok(Arc::new(TreeScorer::new(model, input)))
}

fn read_trees(flavor: &str, file: &Path, bytes: &[u8]) -> Result<ImportedModel> {
    let pickled = file
        .extension()
        .is_some_and(|e| e == "pkl" || e == "pickle");
    if pickled {
        return Err(Error::invalid(format!(
            "{} is a pickle (a scikit-learn wrapper), not the library's model file",
            file.display()
        )));
    }
    let imported = if flavor == "lightgbm" {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::invalid("the LightGBM model file is not text"))?;
        lightgbm::load(text)
    } else {
        // XGBoost writes JSON for `.json` and UBJSON otherwise; both start with `{`.
        xgboost::load_json(bytes).or_else(|_| xgboost::load_ubj(bytes))
    };
    imported.map_err(|e| Error::invalid(format!("{}: {e}", file.display())))
}

/// The flavor's model file: its `data` setting (`model.onnx`, `model.lgb`, `model.xgb`).
fn data_file(dir: &Path, mlmodel: &MlModel, flavor: &str) -> Result<PathBuf> {
    let data = mlmodel.setting(flavor, "data").ok_or_else(|| {
        Error::invalid(format!("the MLmodel's {flavor} flavor names no data file"))
    })?;
    let path = Path::new(data);
    // The folder came from a client: its files stay inside it.
    if path.is_absolute()
        || path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(Error::invalid(format!(
            "the {flavor} flavor's data {data:?} is outside the model folder"
        )));
    }
    Ok(dir.join(path))
}

/// How Python models are run.
pub type PythonOptions = crate::python::PythonConfig;
