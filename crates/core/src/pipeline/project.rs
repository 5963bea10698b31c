//! A project folder: `pipelines/<name>/pipeline.yaml`, one folder per pipeline.

use super::spec::{self, Pipeline};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The demo project shipped in the binary, as (relative path, content).
const DEMO_FILES: &[(&str, &str)] = &[
    (
        "pipelines/demo_mlops/pipeline.yaml",
        include_str!("../../../../project/pipelines/demo_mlops/pipeline.yaml"),
    ),
    (
        "pipelines/demo_mlops/triggers.yaml",
        include_str!("../../../../project/pipelines/demo_mlops/triggers.yaml"),
    ),
    (
        "pipelines/credit_risk/pipeline.yaml",
        include_str!("../../../../project/pipelines/credit_risk/pipeline.yaml"),
    ),
    (
        "pipelines/sales_forecast/pipeline.yaml",
        include_str!("../../../../project/pipelines/sales_forecast/pipeline.yaml"),
    ),
    (
        "pipelines/python_features/pipeline.yaml",
        include_str!("../../../../project/pipelines/python_features/pipeline.yaml"),
    ),
    (
        "pipelines/python_features/features.py",
        include_str!("../../../../project/pipelines/python_features/features.py"),
    ),
    (
        "pipelines/python_mage/pipeline.yaml",
        include_str!("../../../../project/pipelines/python_mage/pipeline.yaml"),
    ),
    (
        "pipelines/python_mage/load_customers.py",
        include_str!("../../../../project/pipelines/python_mage/load_customers.py"),
    ),
    (
        "pipelines/python_mage/engineer_features.py",
        include_str!("../../../../project/pipelines/python_mage/engineer_features.py"),
    ),
    ("README.md", include_str!("../../../../project/README.md")),
];

/// The pipelines of one project folder.
#[derive(Clone, Debug)]
pub struct Project {
    root: PathBuf,
}

/// A pipeline folder that could not be loaded, with the reason.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct BrokenPipeline {
    /// Folder name.
    pub name: String,
    /// What is wrong.
    pub error: String,
}

impl Project {
    /// The project at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Project {
        Project { root: root.into() }
    }

    /// Create a project with the demo pipelines in `dir`, keeping any file already there.
    /// Returns the files it wrote.
    pub fn init(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (relative, content) in DEMO_FILES {
            let path = dir.join(relative);
            if path.exists() {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, content)?;
            written.push(path);
        }
        Ok(written)
    }

    /// The project folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every pipeline, loaded and validated; broken ones are listed with their error.
    pub fn pipelines(&self) -> Result<(Vec<Pipeline>, Vec<BrokenPipeline>)> {
        let dir = self.root.join("pipelines");
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            Error::not_found(format!("no pipelines folder at {}: {e}", dir.display()))
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("pipeline.yaml").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        let (mut ok, mut broken) = (Vec::new(), Vec::new());
        for name in names {
            match self.load(&name) {
                Ok(p) => ok.push(p),
                Err(e) => broken.push(BrokenPipeline {
                    name,
                    error: e.to_string(),
                }),
            }
        }
        Ok((ok, broken))
    }

    /// Load and validate one pipeline.
    pub fn load(&self, name: &str) -> Result<Pipeline> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            return Err(Error::invalid_field(
                "pipeline",
                format!("invalid pipeline name {name:?}"),
            ));
        }
        let file = format!("pipelines/{name}/pipeline.yaml");
        let text = std::fs::read_to_string(self.root.join(&file)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::not_found(format!(
                    "pipeline {name:?} not found in {}",
                    self.root.display()
                ))
            } else {
                Error::internal(format!("cannot read {file}: {e}"))
            }
        })?;
        spec::parse(name, &file, &text)
    }
}
