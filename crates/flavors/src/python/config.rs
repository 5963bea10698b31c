//! How the Python workers are started and fed.

use std::path::PathBuf;
use std::time::Duration;

use super::error::PythonError;

/// The interpreter variable (also read by [`PythonConfig::default`]): core's, which Python
/// pipeline blocks read too, so one setting picks the Python of both.
pub use ironmage_core::environment::PYTHON_VAR;
/// Number of worker processes.
pub const WORKERS_VAR: &str = "IRONMAGE_PYTHON_WORKERS";
/// Most rows merged into one call of the model.
pub const MAX_BATCH_VAR: &str = "IRONMAGE_PYTHON_MAX_BATCH";
/// Refuse to start when the model's recorded requirements are not installed.
pub const STRICT_REQUIREMENTS_VAR: &str = "IRONMAGE_PYTHON_STRICT_REQUIREMENTS";

/// Settings of a [`crate::python::PythonModel`]'s worker pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonConfig {
    /// The Python with `mlflow` and the model's libraries installed.
    pub interpreter: PathBuf,
    /// Worker processes, each with its own copy of the model.
    pub workers: usize,
    /// Most rows merged into one call of the model's `predict`; a single larger request is
    /// still sent whole.
    pub max_batch_rows: usize,
    /// How long a free worker may wait for more requests to merge, counted from the arrival of
    /// the oldest one, and only while other workers are busy (an idle pool never waits).
    /// Zero disables the wait.
    pub batch_window: Duration,
    /// Time for a worker to start and load the model.
    pub load_timeout: Duration,
    /// Time for one call of the model's `predict`; past it the worker is killed and restarted.
    pub predict_timeout: Duration,
    /// Fail `start` when a requirement the model recorded is missing or at another version
    /// (otherwise it is only reported in [`crate::python::PythonInfo`]).
    pub strict_requirements: bool,
    /// Threads of the numeric libraries in each worker (`OMP_NUM_THREADS` and the like): one
    /// per worker keeps the workers from fighting over the cores.
    pub threads_per_worker: usize,
}

impl Default for PythonConfig {
    fn default() -> Self {
        PythonConfig {
            interpreter: ironmage_core::environment::interpreter_from_env(),
            workers: default_workers(),
            max_batch_rows: 1024,
            batch_window: Duration::from_millis(2),
            load_timeout: Duration::from_secs(120),
            predict_timeout: Duration::from_secs(30),
            strict_requirements: false,
            threads_per_worker: 1,
        }
    }
}

/// Workers per pyfunc model when none is configured: one per two cores, at least one. Each
/// worker is a single-threaded Python process and the micro-batcher hands a free worker every
/// request waiting, so a model whose call costs about the same for 1 row as for 16 (most
/// scikit-learn pipelines: their input checks dominate) serves most when few workers take big
/// batches; the other cores are left to the service's front end and its clients. Measured on
/// 2 cores with a scaler + logistic regression under 16 connections: one worker 5,016 req/s,
/// two workers 3,254 req/s.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

impl PythonConfig {
    /// The defaults overridden by `IRONMAGE_PYTHON`, `IRONMAGE_PYTHON_WORKERS`,
    /// `IRONMAGE_PYTHON_MAX_BATCH` and `IRONMAGE_PYTHON_STRICT_REQUIREMENTS`.
    pub fn from_env() -> Result<Self, PythonError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`PythonConfig::from_env`], with the variables looked up by `var` (tests pass a map).
    /// An empty variable counts as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, PythonError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut config = PythonConfig {
            interpreter: var(PYTHON_VAR).map_or_else(|| "python3".into(), PathBuf::from),
            ..PythonConfig::default()
        };
        if let Some(v) = var(WORKERS_VAR) {
            config.workers = positive(WORKERS_VAR, &v)?;
        }
        if let Some(v) = var(MAX_BATCH_VAR) {
            config.max_batch_rows = positive(MAX_BATCH_VAR, &v)?;
        }
        if let Some(v) = var(STRICT_REQUIREMENTS_VAR) {
            config.strict_requirements = boolean(STRICT_REQUIREMENTS_VAR, &v)?;
        }
        Ok(config)
    }

    /// Checks what `start` cannot work with.
    pub fn validate(&self) -> Result<(), PythonError> {
        if self.interpreter.as_os_str().is_empty() {
            return Err(PythonError::config("the interpreter path is empty"));
        }
        for (name, value) in [
            ("workers", self.workers),
            ("max_batch_rows", self.max_batch_rows),
            ("threads_per_worker", self.threads_per_worker),
        ] {
            if value == 0 {
                return Err(PythonError::config(format!("{name} must be at least 1")));
            }
        }
        for (name, value) in [
            ("load_timeout", self.load_timeout),
            ("predict_timeout", self.predict_timeout),
        ] {
            if value.is_zero() {
                return Err(PythonError::config(format!("{name} must not be zero")));
            }
        }
        Ok(())
    }
}

fn positive(name: &str, value: &str) -> Result<usize, PythonError> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(PythonError::config(format!(
            "{name} must be a whole number of at least 1, not `{value}`"
        ))),
    }
}

fn boolean(name: &str, value: &str) -> Result<bool, PythonError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(PythonError::config(format!(
            "{name} must be true or false, not `{value}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<PythonConfig, PythonError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PythonConfig::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_without_variables() {
        let config = from(&[]).unwrap();
        assert_eq!(config.interpreter, PathBuf::from("python3"));
        assert_eq!(config.workers, default_workers());
        assert!(config.workers >= 1);
        assert_eq!(config.max_batch_rows, 1024);
        assert!(config.batch_window <= Duration::from_millis(2));
        assert_eq!(config.load_timeout, Duration::from_secs(120));
        assert_eq!(config.predict_timeout, Duration::from_secs(30));
        assert!(!config.strict_requirements);
        assert_eq!(config.threads_per_worker, 1);
        config.validate().unwrap();
    }

    #[test]
    fn variables_override_the_defaults() {
        let config = from(&[
            (PYTHON_VAR, "/opt/py/bin/python"),
            (WORKERS_VAR, " 4 "),
            (MAX_BATCH_VAR, "64"),
            (STRICT_REQUIREMENTS_VAR, "Yes"),
        ])
        .unwrap();
        assert_eq!(config.interpreter, PathBuf::from("/opt/py/bin/python"));
        assert_eq!(config.workers, 4);
        assert_eq!(config.max_batch_rows, 64);
        assert!(config.strict_requirements);
        let config = from(&[(WORKERS_VAR, ""), (STRICT_REQUIREMENTS_VAR, "off")]).unwrap();
        assert_eq!(config.workers, default_workers());
        assert!(!config.strict_requirements);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            (WORKERS_VAR, "0"),
            (WORKERS_VAR, "two"),
            (MAX_BATCH_VAR, "-5"),
            (STRICT_REQUIREMENTS_VAR, "maybe"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, PythonError::Config { .. }), "{text}");
            assert!(text.contains(name) && text.contains(value), "{text}");
        }
    }

    #[test]
    fn validate_refuses_zeros() {
        let config = PythonConfig {
            workers: 0,
            ..from(&[]).unwrap()
        };
        assert!(config.validate().is_err());
        let config = PythonConfig {
            predict_timeout: Duration::ZERO,
            ..from(&[]).unwrap()
        };
        assert!(config.validate().is_err());
    }
}
