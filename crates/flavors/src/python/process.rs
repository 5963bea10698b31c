//! One worker process: started, made to load the model, asked to predict, stopped. It knows
//! nothing of queues or batches; a [`Failure`] means the process is gone and must be replaced.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::config::PythonConfig;
use super::error::PythonError;
use super::info::{Requirement, RequirementStatus};
use super::protocol::{self, Answer};
use super::requirements::RecordedEnv;
use ironmage_core::subprocess::describe_status;

/// The worker program, run with `python -u -c`.
const WORKER_SCRIPT: &str = include_str!("worker.py");

/// Variables that size the thread pools of the numeric libraries.
const THREAD_VARS: [&str; 5] = [
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
];

/// Longest stderr line forwarded; the rest of the line is dropped.
const MAX_STDERR_LINE: usize = 4096;
/// Stderr lines kept to explain a crash.
const STDERR_TAIL: usize = 12;
/// Frames larger than this are encoded and parsed with [`heavy`] (about a millisecond of work).
pub(crate) const HEAVY_FRAME: usize = 1 << 20;
/// How long a worker asked to exit may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// What every worker of a pool is started with.
#[derive(Debug)]
pub(crate) struct Setup {
    pub config: PythonConfig,
    pub model_dir: PathBuf,
    pub recorded: RecordedEnv,
}

/// A worker that answered `hello` and loaded the model.
pub(crate) struct Started {
    pub process: WorkerProcess,
    pub hello: Answer,
    pub loaded: Answer,
    pub requirements: Vec<Requirement>,
}

/// A running worker process and its pipes.
pub(crate) struct WorkerProcess {
    index: usize,
    pid: u32,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_task: Option<JoinHandle<()>>,
}

/// The worker process is gone (or was killed): what to tell the callers.
#[derive(Debug)]
pub(crate) enum Failure {
    /// It died; how, and its last stderr lines.
    Crashed(String),
    /// It did not answer in time and was killed.
    TimedOut,
    /// It answered something that is not the protocol and was killed.
    Protocol(String),
}

/// The answer to a `predict` request.
#[derive(Debug)]
pub(crate) enum Outcome {
    Values(Vec<Value>),
    /// The worker caught an exception: `kind` is `predict` (the model raised), `output` (the
    /// output has no value per row) or `protocol`.
    Error {
        kind: String,
        message: String,
        traceback: Option<String>,
    },
}

impl WorkerProcess {
    /// Starts worker `index`, checks the requirements and loads the model, all within
    /// `load_timeout`. With `strict_requirements`, unmet requirements stop it before loading.
    pub async fn start(setup: &Setup, index: usize) -> Result<Started, PythonError> {
        let config = &setup.config;
        let model_dir = setup.model_dir.to_str().ok_or_else(|| {
            PythonError::load(format!(
                "the model folder {} is not valid UTF-8",
                setup.model_dir.display()
            ))
        })?;
        let mut process = Self::spawn(config, index)?;
        let specs: Vec<String> = setup
            .recorded
            .requirements
            .iter()
            .map(|r| r.spec.clone())
            .collect();
        let steps = async {
            let hello = process.expect(protocol::init(&specs), "hello").await?;
            let requirements = checked(setup, &hello);
            if config.strict_requirements {
                let unmet: Vec<String> = requirements
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.status,
                            RequirementStatus::Missing | RequirementStatus::Mismatched
                        )
                    })
                    .map(Requirement::describe)
                    .collect();
                if !unmet.is_empty() {
                    return Err(PythonError::Requirements { missing: unmet });
                }
            }
            let loaded = process.expect(protocol::load(model_dir), "loaded").await?;
            Ok((hello, loaded, requirements))
        };
        match tokio::time::timeout(config.load_timeout, steps).await {
            Ok(Ok((hello, loaded, requirements))) => Ok(Started {
                process,
                hello,
                loaded,
                requirements,
            }),
            Ok(Err(e)) => {
                process.kill().await;
                Err(e)
            }
            Err(_) => {
                process.kill().await;
                Err(PythonError::load(format!(
                    "the worker did not load the model within {:?}",
                    config.load_timeout
                )))
            }
        }
    }

    fn spawn(config: &PythonConfig, index: usize) -> Result<Self, PythonError> {
        let mut command = Command::new(&config.interpreter);
        command
            .arg("-u")
            .arg("-c")
            .arg(ironmage_core::subprocess::frames::python_program(
                WORKER_SCRIPT,
            ))
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let threads = config.threads_per_worker.to_string();
        for var in THREAD_VARS {
            command.env(var, &threads);
        }
        let spawn_error = |source| PythonError::Spawn {
            interpreter: config.interpreter.clone(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let missing = || {
            spawn_error(std::io::Error::other(
                "the child process has no stdin, stdout or stderr pipe",
            ))
        };
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stderr = child.stderr.take().ok_or_else(missing)?;
        let pid = child.id().unwrap_or(0);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let stderr_task = tokio::spawn(forward_stderr(stderr, index, pid, stderr_tail.clone()));
        tracing::debug!(worker = index, pid, "python worker started");
        Ok(WorkerProcess {
            index,
            pid,
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr_tail,
            stderr_task: Some(stderr_task),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends a predict frame and waits at most `timeout` for the answer; on timeout the process
    /// is killed.
    pub async fn predict(&mut self, frame: &[u8], timeout: Duration) -> Result<Outcome, Failure> {
        let answer = match tokio::time::timeout(timeout, self.call(frame)).await {
            Ok(answer) => answer?,
            Err(_) => {
                self.kill().await;
                return Err(Failure::TimedOut);
            }
        };
        match answer.op.as_str() {
            "result" => match answer.values {
                Some(values) => Ok(Outcome::Values(values)),
                None => Err(self.violation("a result without values").await),
            },
            "error" => Ok(Outcome::Error {
                kind: answer.kind.unwrap_or_default(),
                message: answer.message.unwrap_or_default(),
                traceback: answer.traceback,
            }),
            other => Err(self
                .violation(&format!("answer `{other}` to predict"))
                .await),
        }
    }

    /// Asks the worker to exit, and kills it if it has not within a few seconds.
    pub async fn exit(mut self) {
        if let Some(frame) = protocol::exit() {
            let _ = self.stdin.write_all(&frame).await;
            let _ = self.stdin.flush().await;
        }
        if tokio::time::timeout(EXIT_GRACE, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                worker = self.index,
                pid = self.pid,
                "python worker did not exit: killing it"
            );
            self.kill().await;
        }
    }

    /// Kills the process and reaps it.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// One request and its answer; any I/O or parse failure means the process is lost.
    async fn call(&mut self, frame: &[u8]) -> Result<Answer, Failure> {
        let exchange = async {
            self.stdin.write_all(frame).await?;
            self.stdin.flush().await?;
            protocol::read_frame(&mut self.stdout).await
        };
        // The pipes alone can miss a death: a child the model forked keeps them open.
        let sent = tokio::select! {
            sent = exchange => sent,
            status = self.child.wait() => Err(match status {
                Ok(status) => std::io::Error::other(describe_status(status)),
                Err(e) => e,
            }),
        };
        let body = match sent {
            Ok(body) => body,
            Err(e) => return Err(Failure::Crashed(self.death(&e).await)),
        };
        match heavy(body.len() > HEAVY_FRAME, || {
            serde_json::from_slice::<Answer>(&body)
        }) {
            Ok(answer) => Ok(answer),
            Err(e) => Err(self.violation(&format!("unreadable answer: {e}")).await),
        }
    }

    /// A startup request that must be answered with `op`; an `error` answer is the model's load
    /// error, anything else a failure to start.
    async fn expect(&mut self, frame: Option<Vec<u8>>, op: &str) -> Result<Answer, PythonError> {
        let frame = frame.ok_or_else(|| PythonError::protocol("startup request too large"))?;
        let answer = self.call(&frame).await.map_err(|failure| match failure {
            Failure::Crashed(message) => {
                PythonError::load(format!("the worker died before loading: {message}"))
            }
            Failure::TimedOut => PythonError::Timeout,
            Failure::Protocol(message) => PythonError::protocol(message),
        })?;
        if answer.op == op {
            return Ok(answer);
        }
        if answer.op == "error" {
            let mut message = answer.message.unwrap_or_default();
            if let Some(traceback) = answer.traceback.filter(|t| !t.is_empty()) {
                message = format!("{message}\n{traceback}");
            }
            return Err(PythonError::load(message));
        }
        self.kill().await;
        Err(PythonError::protocol(format!(
            "expected `{op}`, the worker answered `{}`",
            answer.op
        )))
    }

    /// Kills a worker that broke the protocol.
    async fn violation(&mut self, what: &str) -> Failure {
        self.kill().await;
        Failure::Protocol(format!("worker pid {}: {what}", self.pid))
    }

    /// How the process ended, after a broken pipe: its exit status and last stderr lines.
    async fn death(&mut self, error: &std::io::Error) -> String {
        match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(status)) => self.describe_exit(status).await,
            // Still running with a broken pipe: it is of no use any more.
            _ => {
                self.kill().await;
                let how = format!("stopped answering ({error}) and was killed");
                self.describe(how).await
            }
        }
    }

    /// Waits until the process ends by itself (cancel-safe: for a `select!` while idle).
    pub async fn wait_exit(&mut self) -> Option<ExitStatus> {
        self.child.wait().await.ok()
    }

    /// The exit status if the process has ended already.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `worker pid N exited with status S`, with the last stderr lines.
    pub async fn describe_exit(&mut self, status: ExitStatus) -> String {
        self.describe(describe_status(status)).await
    }

    async fn describe(&mut self, how: String) -> String {
        if let Some(task) = self.stderr_task.take() {
            // The pipe closes with the process: this only waits for the last lines.
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        tracing::warn!(worker = self.index, pid = self.pid, status = %how, "python worker died");
        let mut message = format!("worker pid {} {how}", self.pid);
        if !tail.is_empty() {
            message.push_str("; last stderr lines:\n");
            message.push_str(&tail);
        }
        message
    }
}

/// Runs `work` off the async worker threads when it is `heavy` (a large frame to encode or
/// parse) and the runtime has other threads to keep serving; inline otherwise.
pub(crate) fn heavy<R>(heavy: bool, work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi_thread =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if heavy && multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// The hello's verdicts joined to the files the requirements come from (same order).
fn checked(setup: &Setup, hello: &Answer) -> Vec<Requirement> {
    setup
        .recorded
        .requirements
        .iter()
        .enumerate()
        .map(|(i, recorded)| {
            let check = hello
                .requirements
                .get(i)
                .filter(|c| c.spec == recorded.spec);
            Requirement {
                spec: recorded.spec.clone(),
                name: check.and_then(|c| c.name.clone()),
                source: recorded.source.to_string(),
                installed: check.and_then(|c| c.installed.clone()),
                status: check.map_or(RequirementStatus::Unchecked, |c| c.status),
            }
        })
        .collect()
}

/// Forwards the worker's stderr to `tracing` line by line, each line cut at
/// [`MAX_STDERR_LINE`], and keeps the last lines for crash messages.
async fn forward_stderr(
    stderr: ChildStderr,
    index: usize,
    pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let emit = |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        tracing::warn!(worker = index, pid, line = %text, "python worker stderr");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(text.to_string());
        }
    };
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let (chunk, used, complete) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = MAX_STDERR_LINE.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if complete {
            emit(&line);
            line.clear();
        }
    }
    emit(&line);
}

/// Whether `dir` looks like an MLflow model folder; the reason when not.
pub(crate) fn check_model_dir(dir: &Path) -> Result<PathBuf, PythonError> {
    let canonical = dir
        .canonicalize()
        .map_err(|e| PythonError::load(format!("no model folder at {}: {e}", dir.display())))?;
    if !canonical.is_dir() {
        return Err(PythonError::load(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    if !canonical.join("MLmodel").is_file() {
        return Err(PythonError::load(format!(
            "{} has no MLmodel file: not an MLflow model folder",
            dir.display()
        )));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stderr_lines_are_cut_and_the_last_ones_kept() {
        let mut child = Command::new("sh")
            .args([
                "-c",
                "{ for i in $(seq 1 20); do echo line $i; done; \
                 head -c 10000 /dev/zero | tr '\\0' a; echo; printf tail; } 1>&2",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sh");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        forward_stderr(child.stderr.take().unwrap(), 0, 0, tail.clone()).await;
        let _ = child.wait().await;
        let tail: Vec<String> = tail.lock().unwrap().iter().cloned().collect();
        assert_eq!(tail.len(), STDERR_TAIL);
        assert_eq!(tail.last().map(String::as_str), Some("tail"));
        assert_eq!(tail[tail.len() - 2], "a".repeat(MAX_STDERR_LINE));
        assert_eq!(tail[0], format!("line {}", 20 - STDERR_TAIL + 3));
    }

    #[tokio::test]
    async fn a_program_that_is_not_python_is_a_load_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("MLmodel"), "flavors: {}\n").unwrap();
        let setup = Setup {
            config: PythonConfig {
                interpreter: "sh".into(),
                ..PythonConfig::default()
            },
            model_dir: check_model_dir(dir.path()).unwrap(),
            recorded: RecordedEnv::default(),
        };
        let err = WorkerProcess::start(&setup, 0)
            .await
            .err()
            .expect("an error");
        let PythonError::Load { message } = &err else {
            panic!("expected a load error, got {err:?}");
        };
        assert!(message.contains("exited with status"), "{message}");
    }
}
