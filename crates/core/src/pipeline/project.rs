//! A project folder: `pipelines/<name>/pipeline.yaml`, one folder per pipeline, beside the
//! pipeline's own files (Python, SQL, command scripts). Reading, and the edits the REST API
//! makes: a pipeline file is written only once it validates, every write replaces the file
//! whole (a reader never sees half of one), and no path leaves the pipeline's folder.

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
    (
        "pipelines/python_churn/pipeline.yaml",
        include_str!("../../../../project/pipelines/python_churn/pipeline.yaml"),
    ),
    (
        "pipelines/python_churn/make_dataset.py",
        include_str!("../../../../project/pipelines/python_churn/make_dataset.py"),
    ),
    (
        "pipelines/python_churn/preprocessing.py",
        include_str!("../../../../project/pipelines/python_churn/preprocessing.py"),
    ),
    (
        "pipelines/python_churn/training.py",
        include_str!("../../../../project/pipelines/python_churn/training.py"),
    ),
    ("README.md", include_str!("../../../../project/README.md")),
    (
        "requirements.txt",
        include_str!("../../../../project/requirements.txt"),
    ),
];

/// The pipelines of one project folder.
#[derive(Clone, Debug)]
pub struct Project {
    root: PathBuf,
}

/// Largest file the API writes into a pipeline folder: code and YAML, not data.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

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
        check_name(name)?;
        let file = pipeline_file(name);
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

    /// The text of a pipeline's file, as written.
    pub fn source(&self, name: &str) -> Result<String> {
        self.read_file(name, "pipeline.yaml")
    }

    /// Check a pipeline file's text as a run would (structure, block kinds, each block's
    /// config with the default variables), without writing it. Errors say the line.
    pub fn validate(&self, name: &str, text: &str) -> Result<Pipeline> {
        check_name(name)?;
        let pipeline = spec::parse(name, &pipeline_file(name), text)
            .and_then(|p| p.resolve_configs(&Default::default()).map(|_| p))
            .map_err(|e| with_line(e, text))?;
        Ok(pipeline)
    }

    /// Write a pipeline's file once it validates: `create` for a new pipeline (refused when the
    /// name is taken), else the existing one is replaced (refused when there is none).
    pub fn save(&self, name: &str, text: &str, create: bool) -> Result<Pipeline> {
        let pipeline = self.validate(name, text)?;
        let folder = self.root.join("pipelines").join(name);
        let exists = folder.join("pipeline.yaml").is_file();
        match (create, exists) {
            (true, true) => {
                return Err(Error::already_exists(format!(
                    "pipeline {name:?} already exists"
                )))
            }
            (false, false) => return Err(Error::not_found(format!("pipeline {name:?} not found"))),
            _ => {}
        }
        std::fs::create_dir_all(&folder)?;
        write_whole(&folder.join("pipeline.yaml"), text.as_bytes())?;
        Ok(pipeline)
    }

    /// Delete a pipeline's folder with its files (its runs stay in the store).
    pub fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let folder = self.root.join("pipelines").join(name);
        if !folder.join("pipeline.yaml").is_file() {
            return Err(Error::not_found(format!("pipeline {name:?} not found")));
        }
        std::fs::remove_dir_all(&folder)
            .map_err(|e| Error::internal(format!("cannot delete pipelines/{name}: {e}")))
    }

    /// The files of a pipeline's folder (relative paths, sorted), subfolders included.
    pub fn files(&self, name: &str) -> Result<Vec<PipelineFile>> {
        self.load_folder(name)?;
        let folder = self.root.join("pipelines").join(name);
        let mut files = Vec::new();
        let mut pending = vec![folder.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)?.filter_map(|e| e.ok()) {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    pending.push(path);
                } else if meta.is_file() {
                    let relative = path.strip_prefix(&folder).unwrap_or(&path);
                    files.push(PipelineFile {
                        path: relative.to_string_lossy().replace('\\', "/"),
                        bytes: meta.len(),
                    });
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// A file of a pipeline's folder, as text.
    pub fn read_file(&self, name: &str, path: &str) -> Result<String> {
        let full = self.load_folder(name)?.join(check_path(path)?);
        std::fs::read_to_string(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::not_found(format!("pipelines/{name}/{path} not found"))
            }
            std::io::ErrorKind::InvalidData => {
                Error::invalid_field("path", format!("pipelines/{name}/{path} is not UTF-8 text"))
            }
            _ => Error::internal(format!("cannot read pipelines/{name}/{path}: {e}")),
        })
    }

    /// Write a file into a pipeline's folder (a block's code). `pipeline.yaml` is written
    /// through [`Project::save`], which validates it.
    pub fn write_file(&self, name: &str, path: &str, content: &str) -> Result<()> {
        let relative = check_path(path)?;
        if relative == Path::new("pipeline.yaml") {
            self.save(name, content, false)?;
            return Ok(());
        }
        if content.len() > MAX_FILE_BYTES {
            return Err(Error::payload_too_large(MAX_FILE_BYTES));
        }
        let full = self.load_folder(name)?.join(relative);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_whole(&full, content.as_bytes())
    }

    /// Delete a file of a pipeline's folder (not `pipeline.yaml`: delete the pipeline).
    pub fn delete_file(&self, name: &str, path: &str) -> Result<()> {
        let relative = check_path(path)?;
        if relative == Path::new("pipeline.yaml") {
            return Err(Error::invalid_field(
                "path",
                "pipeline.yaml is the pipeline itself: delete the pipeline instead",
            ));
        }
        let full = self.load_folder(name)?.join(relative);
        std::fs::remove_file(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::not_found(format!("pipelines/{name}/{path} not found"))
            }
            _ => Error::internal(format!("cannot delete pipelines/{name}/{path}: {e}")),
        })
    }

    /// The folder of an existing pipeline (its file may not validate: its code can still be
    /// read and fixed).
    fn load_folder(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        let folder = self.root.join("pipelines").join(name);
        if folder.join("pipeline.yaml").is_file() {
            Ok(folder)
        } else {
            Err(Error::not_found(format!("pipeline {name:?} not found")))
        }
    }
}

/// `pipelines/<name>/pipeline.yaml`, relative to the project.
fn pipeline_file(name: &str) -> String {
    format!("pipelines/{name}/pipeline.yaml")
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_field(
            "pipeline",
            format!("invalid pipeline name {name:?}"),
        ))
    }
}

/// A relative path of plain segments inside a pipeline's folder: no `..`, no absolute path,
/// no hidden file (nothing the API writes can land outside the folder or hide in it).
fn check_path(path: &str) -> Result<&Path> {
    let bad = |why: &str| Error::invalid_field("path", format!("{path:?}: {why}"));
    if path.is_empty() || path.len() > 255 {
        return Err(bad("must be 1 to 255 characters"));
    }
    for segment in path.split('/') {
        let plain = !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(&c));
        if !plain {
            return Err(bad(
                "must be a relative path of names of a-z, A-Z, 0-9, _, - and . (not starting with .)",
            ));
        }
    }
    Ok(Path::new(path))
}

/// Replace a file whole: write a temporary file beside it, flush it to disk, rename it over.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let folder = path.parent().unwrap_or(Path::new("."));
    let temp = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::internal(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    Ok(())
}

/// A validation error with the line it is about: YAML syntax and type errors carry theirs;
/// an error about a block points at the line that names the block.
fn with_line(error: Error, text: &str) -> Error {
    if error.message.contains(" at line ") {
        return error;
    }
    let line = error
        .message
        .split("block ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|block| block_line(text, block));
    match line {
        Some(line) => Error {
            message: format!("{} (line {line})", error.message),
            ..error
        },
        None => error,
    }
}

/// The 1-based line that declares block `block` (`- name: x` or `- {name: x, …}`).
fn block_line(text: &str, block: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start().trim_start_matches('-').trim_start();
            let line = line.trim_start_matches('{').trim_start();
            line.strip_prefix("name:").is_some_and(|rest| {
                let value = rest.trim_start();
                let value = value.trim_start_matches(['"', '\'']);
                value.strip_prefix(block).is_some_and(|after| {
                    after.is_empty() || after.starts_with([',', '}', ' ', '"', '\''])
                })
            })
        })
        .map(|i| i + 1)
}

/// One file of a pipeline's folder.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PipelineFile {
    /// Path relative to the pipeline's folder (`pipeline.yaml`, `load.py`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
}
