//! One runner process: started, asked whether it has pandas and pyarrow, asked to run block
//! files one after the other, stopped. It is killed with its whole process group when dropped,
//! so a block dropped by its timeout or a cancel takes its runner (and whatever the block
//! started) with it; a runner that crashed or broke the protocol is not used again.

use crate::environment::PythonEnvironment;
use crate::error::{Error, Result};
use crate::subprocess::frames::{frame, read_frame};
use crate::subprocess::{describe_status, ProcessGroup};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// The runner program, run with `python -u -c`.
const RUNNER_SCRIPT: &str = include_str!("runner.py");
/// Stderr lines kept to explain a crash (a native crash's Python stack included).
const STDERR_TAIL: usize = 30;
/// Time to start Python and import pandas and pyarrow.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a runner asked to exit may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// What to run: the block file, where its inputs are and where its output goes.
#[derive(Debug, Serialize)]
pub struct BlockRequest {
    /// The block file's absolute path.
    pub file: String,
    /// The block's name (Mage's `block_uuid`).
    pub block: String,
    /// Arrow IPC files of the upstream tables, in upstream order: the positional arguments.
    pub inputs: Vec<String>,
    /// Where the runner writes the returned table as an Arrow IPC file.
    pub output: String,
    /// Set when a block downstream takes a model: the block must return one, which the runner
    /// saves there as an MLflow model folder (and writes no table).
    pub model_dir: Option<String>,
    /// The keyword arguments: variables, params, run and pipeline ids.
    pub kwargs: Map<String, Value>,
    /// Mage's `execution_date`, ISO 8601.
    pub execution_date: String,
    /// For a callback block, the parent's outcome (`success`, `failure`): the file's matching
    /// `@callback` functions run instead of its block function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
    /// For a sensor: the file's `@sensor` function runs and its truth is the answer's `value`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensor: bool,
    /// The inputs (indexes into `inputs`) that are one item of a dynamic block: handed to the
    /// function as that row's dict (or its value), as Mage hands items to a dynamic block's
    /// children.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<usize>,
}

/// How a block file ran.
#[derive(Debug, Clone, Deserialize)]
pub struct Finished {
    /// The decorated function that ran.
    pub function: String,
    /// Its decorator (`data_loader`, `transformer`, …).
    pub decorator: String,
    /// Whether it returned a table (written at the request's `output`).
    pub output: bool,
    /// Rows of that table.
    pub rows: Option<u64>,
    /// `@test` functions that passed.
    pub tests: usize,
    /// Time spent in Python: reading inputs, the block, its tests, writing the output.
    pub seconds: f64,
    /// Of which reading the inputs into DataFrames.
    pub read_seconds: f64,
    /// Of which writing the output table (or saving the model).
    pub write_seconds: f64,
    /// The model it returned, saved at the request's `model_dir`.
    #[serde(default)]
    pub model: Option<ReturnedModel>,
    /// What a `@sensor` function returned, as a truth value.
    #[serde(default)]
    pub value: Option<bool>,
}

/// A model a block returned, as the runner saved it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReturnedModel {
    /// The MLflow flavor it was saved with: `sklearn`, `lightgbm` or `xgboost`.
    pub flavor: String,
    /// Its Python class, `sklearn.ensemble._forest.RandomForestClassifier`.
    pub class: String,
    /// `classification` (it has `predict_proba`) or `regression`.
    pub task: String,
    /// The metrics the block returned.
    pub metrics: Map<String, Value>,
    /// The params the block returned; the estimator's own scalar params when it gave none.
    pub params: Map<String, Value>,
    /// The column names it was fitted on (`feature_names_in_`), when it knows them.
    pub features: Vec<String>,
    /// `(feature, importance)` from `feature_importances_`, when it has them.
    pub importances: Vec<(String, f64)>,
    /// The mlflow version that saved it.
    pub mlflow: String,
}

/// Any frame from the runner; `op` says which, the other fields depend on it.
#[derive(Debug, Deserialize)]
struct Answer {
    op: String,
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    traceback: Option<String>,
    #[serde(default)]
    python: Option<String>,
    #[serde(default)]
    pandas: Option<String>,
    #[serde(default)]
    pyarrow: Option<String>,
    #[serde(default)]
    executable: Option<String>,
    #[serde(default)]
    packages: BTreeMap<String, String>,
}

/// A running runner process and its pipes.
pub(super) struct Runner {
    pid: u32,
    interpreter: PathBuf,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    group: ProcessGroup,
    /// `python 3.11.7, pandas 2.2.3, pyarrow 18.1.0`.
    pub versions: String,
    /// The interpreter and its packages, as the runner reported them.
    pub environment: PythonEnvironment,
    /// Blocks it ran (a new runner has run none).
    pub blocks_run: usize,
    /// False once it crashed, broke the protocol or was asked to stop: it must not be reused.
    pub usable: bool,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("pid", &self.pid()).finish()
    }
}

impl Runner {
    /// Start a runner in the project folder and check it can run blocks.
    pub async fn start(interpreter: &Path, project_root: &Path) -> Result<Runner> {
        let mut runner = Self::spawn(interpreter, project_root)?;
        let hello = tokio::time::timeout(
            START_TIMEOUT,
            runner.call(&serde_json::json!({"op": "hello"})),
        )
        .await
        .map_err(|_| {
            Error::invalid(format!(
                "the Python runner ({}) did not start within {} s",
                interpreter.display(),
                START_TIMEOUT.as_secs()
            ))
        })??;
        match hello.op.as_str() {
            "hello" => {
                runner.versions = format!(
                    "python {}, pandas {}, pyarrow {}",
                    hello.python.as_deref().unwrap_or_default(),
                    hello.pandas.as_deref().unwrap_or_default(),
                    hello.pyarrow.as_deref().unwrap_or_default()
                );
                runner.environment = PythonEnvironment {
                    executable: hello
                        .executable
                        .unwrap_or_else(|| interpreter.display().to_string()),
                    version: hello.python.unwrap_or_default(),
                    packages: hello.packages,
                };
                tracing::debug!(pid = runner.pid, versions = %runner.versions, "python block runner started");
                Ok(runner)
            }
            "error" if hello.kind.as_deref() == Some("missing") => {
                let shown = interpreter.display();
                Err(Error::invalid(format!(
                    "Python blocks need pandas and pyarrow, and {shown} lacks them: {}. \
                     Install them with `{shown} -m pip install pandas pyarrow`, or set {} to a Python that has them",
                    hello.message.unwrap_or_default(),
                    crate::environment::PYTHON_VAR
                )))
            }
            other => Err(runner.broken(&format!("answered `{other}` to hello"))),
        }
    }

    fn spawn(interpreter: &Path, project_root: &Path) -> Result<Runner> {
        let mut command = Command::new(interpreter);
        command
            .arg("-u")
            .arg("-c")
            .arg(crate::subprocess::frames::python_program(RUNNER_SCRIPT))
            .current_dir(project_root)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = command.spawn().map_err(|e| {
            Error::invalid(format!(
                "cannot start the Python interpreter {} for Python blocks (set {}): {e}",
                interpreter.display(),
                crate::environment::PYTHON_VAR
            ))
        })?;
        let pid = child.id().unwrap_or(0);
        let group = ProcessGroup::new(child.id());
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            return Err(Error::internal(
                "the Python runner has no stdin, stdout or stderr pipe",
            ));
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        tokio::spawn(forward_stderr(stderr, pid, stderr_tail.clone()));
        Ok(Runner {
            pid,
            interpreter: interpreter.to_path_buf(),
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr_tail,
            group,
            versions: String::new(),
            environment: PythonEnvironment {
                executable: interpreter.display().to_string(),
                version: String::new(),
                packages: BTreeMap::new(),
            },
            blocks_run: 0,
            usable: true,
        })
    }

    /// The runner's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process still runs (an idle runner may have been killed from outside).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Run one block file; each line it prints goes to `log` as it comes. A block's exception
    /// or failed `@test` is an error with the Python traceback; so is a crash of the runner,
    /// with its exit status and last stderr lines, after which it is not usable.
    pub async fn run(
        &mut self,
        request: &BlockRequest,
        log: &(dyn Fn(String) + Sync),
    ) -> Result<Finished> {
        if let Ok(mut tail) = self.stderr_tail.lock() {
            tail.clear();
        }
        let mut message = serde_json::to_value(request)?;
        message["op"] = "run".into();
        self.blocks_run += 1;
        self.send(&message).await?;
        loop {
            let (answer, body) = self.read_answer().await?;
            match answer.op.as_str() {
                "log" => log(answer.line.unwrap_or_default()),
                // `done` has fields of its own: the same frame, read as what it is.
                "done" => {
                    return serde_json::from_slice(&body)
                        .map_err(|e| self.broken(&format!("sent an unreadable `done`: {e}")))
                }
                "error" => {
                    let mut text = answer.message.unwrap_or_default();
                    if let Some(traceback) = answer.traceback.filter(|t| !t.is_empty()) {
                        text = format!("{text}\n{traceback}");
                    }
                    return Err(Error::invalid(text));
                }
                other => return Err(self.broken(&format!("answered `{other}` to run"))),
            }
        }
    }

    /// Ask the runner to exit, and kill it (with its group) if it has not within a moment.
    pub async fn exit(mut self) {
        self.usable = false;
        if let Some(bytes) = frame(&serde_json::json!({"op": "exit"})) {
            let _ = self.stdin.write_all(&bytes).await;
            let _ = self.stdin.flush().await;
        }
        if let Ok(Ok(_)) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            tracing::debug!(pid = self.pid, "python block runner exited");
        }
        // Dropped here: the group guard kills whatever is left of it.
    }

    /// One request and its single answer.
    async fn call(&mut self, message: &Value) -> Result<Answer> {
        self.send(message).await?;
        Ok(self.read_answer().await?.0)
    }

    async fn send(&mut self, message: &Value) -> Result<()> {
        let bytes = frame(message)
            .ok_or_else(|| Error::invalid("a Python block request is larger than 1 GiB"))?;
        let written = async {
            self.stdin.write_all(&bytes).await?;
            self.stdin.flush().await
        };
        match written.await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.crashed(&e).await),
        }
    }

    /// The next frame, parsed as an [`Answer`], and its bytes.
    async fn read_answer(&mut self) -> Result<(Answer, Vec<u8>)> {
        // The pipes alone can miss a death: a child the block forked keeps them open.
        let read = tokio::select! {
            read = read_frame(&mut self.stdout) => read,
            status = self.child.wait() => Err(match status {
                Ok(status) => std::io::Error::other(describe_status(status)),
                Err(e) => e,
            }),
        };
        let body = match read {
            Ok(body) => body,
            Err(e) => return Err(self.crashed(&e).await),
        };
        match serde_json::from_slice::<Answer>(&body) {
            Ok(answer) => Ok((answer, body)),
            Err(e) => Err(self.broken(&format!("sent an unreadable frame: {e}"))),
        }
    }

    /// The runner broke the protocol: kill it.
    fn broken(&mut self, what: &str) -> Error {
        self.usable = false;
        self.group.kill();
        Error::internal(format!("the Python runner (pid {}) {what}", self.pid))
    }

    /// The runner died (or its pipes broke): how, with its last stderr lines.
    async fn crashed(&mut self, error: &std::io::Error) -> Error {
        self.usable = false;
        let how = match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(status)) => describe_status(status),
            _ => {
                self.group.kill();
                format!("stopped answering ({error}) and was killed")
            }
        };
        // The stderr pipe closes with the process: give its last lines a moment to arrive.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        tracing::warn!(pid = self.pid, interpreter = %self.interpreter.display(), status = %how, "python block runner died");
        let mut message = format!("the Python runner (pid {}) {how}", self.pid);
        if !tail.is_empty() {
            message.push_str("; its last stderr lines:\n");
            message.push_str(&tail);
        }
        Error::invalid(message)
    }
}

/// Forward the runner's stderr (what native code writes, a crash's stack) to `tracing`, and
/// keep the last lines for a crash message.
async fn forward_stderr(stderr: ChildStderr, pid: u32, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(pid, line = %line, "python block runner stderr");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}
