//! Why a Python model could not be started or could not answer.

use std::path::PathBuf;

/// Every failure of [`crate::python::PythonModel`]. [`PythonError::is_model_error`] tells the
/// errors caused by the caller's input (a 4xx/422 for an HTTP client) from those of the serving
/// machinery (5xx).
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// A setting is invalid (a bad `IRONMAGE_PYTHON_*` variable, zero workers).
    #[error("invalid Python serving setting: {message}")]
    Config { message: String },
    /// The interpreter could not be started at all (wrong path, not executable).
    #[error("could not start the Python interpreter {}: {source}", .interpreter.display())]
    Spawn {
        interpreter: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The model could not be loaded: no model folder, or `mlflow.pyfunc.load_model` raised (the
    /// message ends with the Python traceback's summary), or it did not finish in time.
    #[error("the Python model could not be loaded: {message}")]
    Load { message: String },
    /// With `strict_requirements`, packages the model recorded are absent from the interpreter
    /// or installed at another version; each entry says which and what is installed.
    #[error("the model's Python requirements are not met: {}", .missing.join(", "))]
    Requirements { missing: Vec<String> },
    /// The model raised on this input (`Type: message`), or the input cannot be a table: the
    /// caller's input is wrong for the model.
    #[error("the model could not predict on this input: {message}")]
    Predict { message: String },
    /// The model's answer cannot be split into one value per input row.
    #[error("the model's output cannot be returned: {message}")]
    Output { message: String },
    /// The worker process died while predicting (killed, crashed, exited); it is restarted.
    #[error("the Python worker crashed: {message}")]
    WorkerCrashed { message: String },
    /// The prediction did not finish within `predict_timeout`; the worker was killed and is
    /// restarted.
    #[error("the Python model did not answer in time")]
    Timeout,
    /// The request queue is full: the workers cannot keep up.
    #[error("too many requests are waiting for the Python workers")]
    Overloaded,
    /// The worker answered something that is not the protocol (it was restarted).
    #[error("the Python worker broke the protocol: {message}")]
    Protocol { message: String },
    /// The model was shut down.
    #[error("the Python model is shut down")]
    ShutDown,
}

impl PythonError {
    /// Whether the caller's input caused the error (the model raised on it, or rows do not fit
    /// the columns), as opposed to a failure of the serving itself.
    pub fn is_model_error(&self) -> bool {
        matches!(self, PythonError::Predict { .. })
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        PythonError::Config {
            message: message.into(),
        }
    }

    pub(crate) fn load(message: impl Into<String>) -> Self {
        PythonError::Load {
            message: message.into(),
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        PythonError::Protocol {
            message: message.into(),
        }
    }
}
