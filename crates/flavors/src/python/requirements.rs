//! The requirements a model folder recorded: `requirements.txt`, the `dependencies` of
//! `python_env.yaml`, and the pip section of `conda.yaml`, merged without duplicates. The
//! worker checks them against its interpreter; reading them here needs no Python.

use std::path::Path;

use serde::Deserialize;

/// One recorded requirement and the file it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub spec: String,
    pub source: &'static str,
}

/// What a model folder recorded about its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecordedEnv {
    pub requirements: Vec<Recorded>,
    /// The Python version the model was saved with.
    pub python: Option<String>,
}

const REQUIREMENTS_TXT: &str = "requirements.txt";
const PYTHON_ENV: &str = "python_env.yaml";
const CONDA: &str = "conda.yaml";

/// Reads the three files that exist; a file that cannot be read or parsed is skipped with a
/// warning, as MLflow itself only warns about requirements.
pub(crate) fn read(model_dir: &Path) -> RecordedEnv {
    let text = |name: &str| match std::fs::read_to_string(model_dir.join(name)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(file = name, error = %e, "cannot read the model's requirements");
            None
        }
    };
    let mut env = RecordedEnv::default();
    if let Some(text) = text(REQUIREMENTS_TXT) {
        env.add(REQUIREMENTS_TXT, requirements_txt(&text));
    }
    if let Some(text) = text(PYTHON_ENV) {
        match python_env(&text) {
            Ok((python, deps)) => {
                env.python = python;
                env.add(PYTHON_ENV, deps);
            }
            Err(e) => tracing::warn!(file = PYTHON_ENV, error = %e, "cannot parse"),
        }
    }
    if let Some(text) = text(CONDA) {
        match conda(&text) {
            Ok((python, deps)) => {
                env.python = env.python.take().or(python);
                env.add(CONDA, deps);
            }
            Err(e) => tracing::warn!(file = CONDA, error = %e, "cannot parse"),
        }
    }
    env
}

impl RecordedEnv {
    /// Adds the specs whose distribution is not listed yet: the first file wins.
    fn add(&mut self, source: &'static str, specs: Vec<String>) {
        for spec in specs {
            let key = dedup_key(&spec);
            if !self.requirements.iter().any(|r| dedup_key(&r.spec) == key) {
                self.requirements.push(Recorded { spec, source });
            }
        }
    }
}

/// The lines of a requirements file that name a package: comments, blank lines and pip options
/// (`-r`, `--index-url`, `-e`) are dropped.
fn requirements_txt(text: &str) -> Vec<String> {
    text.lines()
        .map(strip_comment)
        .filter(|line| !line.is_empty() && !line.starts_with('-'))
        .map(str::to_string)
        .collect()
}

fn strip_comment(line: &str) -> &str {
    let line = line.trim();
    if line.starts_with('#') {
        return "";
    }
    // A `#` only starts a comment after whitespace: `pkg @ https://host/x.whl#sha256=` keeps it.
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => line[..i].trim_end(),
        None => line,
    }
}

#[derive(Deserialize)]
struct PythonEnvFile {
    python: Option<serde_yaml::Value>,
    #[serde(default)]
    dependencies: Vec<serde_yaml::Value>,
}

/// `python_env.yaml`: its `python` and its `dependencies` other than `-r requirements.txt`.
fn python_env(text: &str) -> Result<(Option<String>, Vec<String>), serde_yaml::Error> {
    let file: PythonEnvFile = serde_yaml::from_str(text)?;
    let deps = file
        .dependencies
        .iter()
        .filter_map(yaml_string)
        .flat_map(|dep| requirements_txt(&dep))
        .collect();
    Ok((file.python.as_ref().and_then(yaml_string), deps))
}

#[derive(Deserialize)]
struct CondaFile {
    #[serde(default)]
    dependencies: Vec<serde_yaml::Value>,
}

/// `conda.yaml`: the version of its `python=` dependency and its `pip:` list.
fn conda(text: &str) -> Result<(Option<String>, Vec<String>), serde_yaml::Error> {
    let file: CondaFile = serde_yaml::from_str(text)?;
    let mut python = None;
    let mut deps = Vec::new();
    for dep in &file.dependencies {
        match dep {
            serde_yaml::Value::Mapping(map) => {
                if let Some(serde_yaml::Value::Sequence(pip)) = map.get("pip") {
                    deps.extend(
                        pip.iter()
                            .filter_map(yaml_string)
                            .flat_map(|d| requirements_txt(&d)),
                    );
                }
            }
            other => {
                if let Some(version) = yaml_string(other)
                    .as_deref()
                    .and_then(|d| d.strip_prefix("python="))
                {
                    python = Some(version.trim_start_matches('=').to_string());
                }
            }
        }
    }
    Ok((python, deps))
}

fn yaml_string(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The normalized distribution name (PEP 503) of a spec, or the whole spec when it names none.
fn dedup_key(spec: &str) -> String {
    let name: String = spec
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        return spec.to_string();
    }
    let mut key = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !key.ends_with('-') {
                key.push('-');
            }
        } else {
            key.push(c.to_ascii_lowercase());
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_txt_keeps_package_lines() {
        let text = "# made by mlflow\nmlflow==3.17.2\n\n-r extra.txt\n--index-url https://x\n\
                    scikit-learn>=1.0  # comment\npkg @ https://h/p.whl#sha256=ab\n";
        assert_eq!(
            requirements_txt(text),
            [
                "mlflow==3.17.2",
                "scikit-learn>=1.0",
                "pkg @ https://h/p.whl#sha256=ab"
            ]
        );
    }

    #[test]
    fn python_env_and_conda_are_read() {
        let env = "python: 3.11.4\nbuild_dependencies:\n- pip==24.0\ndependencies:\n\
                   - -r requirements.txt\n- numpy<3\n";
        let (python, deps) = python_env(env).unwrap();
        assert_eq!(python.as_deref(), Some("3.11.4"));
        assert_eq!(deps, ["numpy<3"]);

        let conda_text = "channels:\n- conda-forge\ndependencies:\n- python=3.11.4\n- pip<=24\n\
                          - pip:\n  - mlflow==3.17.2\n  - pandas\nname: mlflow-env\n";
        let (python, deps) = conda(conda_text).unwrap();
        assert_eq!(python.as_deref(), Some("3.11.4"));
        assert_eq!(deps, ["mlflow==3.17.2", "pandas"]);
    }

    #[test]
    fn duplicates_keep_the_first_file() {
        let mut env = RecordedEnv::default();
        env.add(REQUIREMENTS_TXT, vec!["scikit-learn==1.9.1".into()]);
        env.add(CONDA, vec!["Scikit_Learn==1.0".into(), "numpy".into()]);
        assert_eq!(
            env.requirements,
            [
                Recorded {
                    spec: "scikit-learn==1.9.1".into(),
                    source: REQUIREMENTS_TXT
                },
                Recorded {
                    spec: "numpy".into(),
                    source: CONDA
                }
            ]
        );
    }

    #[test]
    fn a_folder_without_files_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), RecordedEnv::default());
        std::fs::write(dir.path().join(PYTHON_ENV), "python: [unclosed").unwrap();
        std::fs::write(dir.path().join(REQUIREMENTS_TXT), "pandas\n").unwrap();
        let env = read(dir.path());
        assert_eq!(env.requirements.len(), 1);
        assert_eq!(env.python, None);
    }
}
