//! The engine: runs a pipeline's blocks as a DAG. A block starts when all its upstream blocks
//! have ended, up to `concurrency` blocks at once; its `when:` condition decides whether it runs
//! or is skipped (with everything downstream of it); a failure marks its downstream
//! `upstream_failed` while independent branches carry on. Each block's status, attempts,
//! timing, log and output preview are recorded as it goes (see `attempts.rs`). A run limited
//! to some blocks (see [`Limited`]) runs only those; the blocks feeding them get the stored
//! outputs of earlier runs, and the rest are recorded skipped.
//!
//! Blocks run on the async runtime but do their CPU work through [`BlockContext::blocking`],
//! so training never stalls the threads that serve HTTP.

use super::attempts::{BlockJob, Ended};
use super::blocks::{Output, Port};
use super::context::{
    BlockContext, BlockInfo, BlockServices, PipelineInfo, Progress, RunOutcome, StopReason,
    StopSignal,
};
use super::python::PythonRunners;
use super::spec::{BlockPlan, Pipeline};
use crate::clock;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::store::{BlockStatus, BlockUpdate, RunStatus, RunStore, StoredOutput};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// One execution of a pipeline: which run, with what, and how to stop it.
pub struct Execution<'a> {
    /// The run being executed.
    pub run_id: &'a str,
    /// The run's variables (merged over the pipeline's defaults here).
    pub variables: &'a Map<String, Value>,
    /// Outputs of the run this one re-runs: a block whose fingerprint matches is not run again.
    pub reuse: HashMap<String, StoredOutput>,
    /// For a run limited to some blocks: which run, and the stored outputs that feed them.
    pub limited: Option<Limited>,
    /// Raised to cancel the run or when its lease is lost.
    pub stop: &'a StopSignal,
    /// Told of every block start and end.
    pub progress: &'a (dyn Fn(&Progress) + Send + Sync),
}

/// A run limited to some blocks (`--block`, `--from-block`).
#[derive(Debug, Clone)]
pub struct Limited {
    /// Which blocks run, and which are loaded.
    pub plan: BlockPlan,
    /// The stored output of every block in `plan.load`, by block name.
    pub inputs: HashMap<String, StoredOutput>,
}

/// Where a block stands in this execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Ended(BlockStatus),
}

/// What the engine records as it goes (block runs, through `runs`) and hands to blocks.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Where block runs are recorded.
    pub runs: RunStore,
    /// What blocks may use.
    pub blocks: Arc<BlockServices>,
}

/// Run every block of `pipeline` as `execution` says.
pub async fn execute(
    engine: &Engine,
    pipeline: Arc<Pipeline>,
    execution: Execution<'_>,
) -> Result<RunOutcome> {
    let resolved = pipeline
        .resolve_configs(execution.variables)
        .and_then(|configs| Ok((configs, pipeline.merge_variables(execution.variables)?)));
    let (configs, variables) = match resolved {
        Ok(resolved) => resolved,
        Err(e) => return Ok(ended(RunStatus::Failed, Some(e.to_string()), json!({}))),
    };
    let mut run = RunState::new(engine, pipeline, execution, configs, variables);
    run.drive().await
}

/// The pipeline as blocks see it.
fn pipeline_info(pipeline: &Pipeline) -> PipelineInfo {
    PipelineInfo {
        name: pipeline.name.clone(),
        file: pipeline.file.clone(),
        file_hash: pipeline.file_hash.clone(),
        blocks: (pipeline.blocks.iter())
            .map(|b| BlockInfo {
                name: b.name.clone(),
                kind: b.kind.as_str().to_string(),
                upstream: b.upstream.clone(),
                // A trainer, or a Python block returning a model; not `evaluate`, which
                // passes one on.
                trains: pipeline.output_port(b) == Port::Trained
                    && !b.kind.inputs().contains(&Port::Trained),
            })
            .collect(),
    }
}

struct RunState<'a> {
    engine: &'a Engine,
    pipeline: Arc<Pipeline>,
    info: Arc<PipelineInfo>,
    execution: Execution<'a>,
    configs: Vec<Value>,
    variables: Arc<Map<String, Value>>,
    state: Vec<State>,
    outputs: Vec<Option<Output>>,
    fingerprints: Vec<String>,
    /// Each block's upstream blocks, by index, in the order the file names them.
    upstream: Vec<Vec<usize>>,
    logs: Vec<Arc<Mutex<Vec<String>>>>,
    /// What `when:` conditions see: the variables and each succeeded block's preview.
    condition_context: Map<String, Value>,
    first_error: Option<String>,
    /// The run's Python block runners, started by its first Python block.
    python: Arc<PythonRunners>,
}

impl<'a> RunState<'a> {
    fn new(
        engine: &'a Engine,
        pipeline: Arc<Pipeline>,
        execution: Execution<'a>,
        configs: Vec<Value>,
        variables: Map<String, Value>,
    ) -> Self {
        let n = pipeline.blocks.len();
        // names were checked when the file loaded, so every upstream name is a block
        let index_of = |name: &String| pipeline.blocks.iter().position(|b| &b.name == name);
        let upstream = (pipeline.blocks.iter())
            .map(|b| b.upstream.iter().filter_map(index_of).collect())
            .collect();
        let mut condition_context = Map::new();
        condition_context.insert("variables".into(), Value::Object(variables.clone()));
        RunState {
            engine,
            info: Arc::new(pipeline_info(&pipeline)),
            pipeline,
            execution,
            configs,
            variables: Arc::new(variables),
            state: vec![State::Waiting; n],
            outputs: vec![None; n],
            fingerprints: vec![String::new(); n],
            upstream,
            logs: (0..n).map(|_| Arc::default()).collect(),
            condition_context,
            first_error: None,
            python: Arc::new(PythonRunners::new(
                engine.blocks.python.clone(),
                engine.blocks.project_root.clone(),
            )),
        }
    }

    async fn drive(&mut self) -> Result<RunOutcome> {
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks: JoinSet<Result<Ended>> = JoinSet::new();
        let mut task_block: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut aborted = false;
        loop {
            if self.execution.stop.reason().is_none() {
                for (index, job) in self.start_ready_blocks(tasks.len(), &progress_tx).await? {
                    let handle = tasks.spawn(job.run());
                    task_block.insert(handle.id(), index);
                }
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                joined = tasks.join_next_with_id() => {
                    let Some(joined) = joined else { continue };
                    let (id, result) = match joined {
                        Ok((id, result)) => (id, result),
                        Err(e) => (e.id(), Err(Error::internal(format!("block task ended abnormally: {e}")))),
                    };
                    let index = task_block.remove(&id).expect("every task is mapped to its block");
                    self.task_ended(index, result, aborted).await?;
                }
                Some(p) = progress_rx.recv() => (self.execution.progress)(&p),
                _ = self.execution.stop.stopped(), if !aborted => {
                    // Dropping the tasks' futures stops them (and kills a command's process).
                    tasks.abort_all();
                    aborted = true;
                }
            }
        }
        while let Ok(p) = progress_rx.try_recv() {
            (self.execution.progress)(&p);
        }
        // Every block has ended: the runners go with the run.
        self.python.shutdown().await;
        self.outcome().await
    }

    /// Decide every waiting block whose upstream blocks have all ended: not run (upstream
    /// failed or skipped, condition false), reused from the re-run run, or started (as jobs,
    /// within the concurrency left).
    async fn start_ready_blocks(
        &mut self,
        mut running: usize,
        progress: &tokio::sync::mpsc::UnboundedSender<super::engine::Progress>,
    ) -> Result<Vec<(usize, BlockJob)>> {
        let mut jobs = Vec::new();
        let mut decided_one = true;
        while decided_one {
            decided_one = false;
            for index in 0..self.pipeline.blocks.len() {
                if self.state[index] != State::Waiting {
                    continue;
                }
                // Settled at once: what they do depends on no other block.
                if self.outside_limits(index).await? {
                    decided_one = true;
                    continue;
                }
                let Some(upstream) = self.ended_upstream(index) else {
                    continue;
                };
                let pipeline = self.pipeline.clone();
                let block = &pipeline.blocks[index];
                let not_run = if let Some(up) = upstream.iter().find(|&&(_, s)| {
                    matches!(
                        s,
                        BlockStatus::Failed | BlockStatus::UpstreamFailed | BlockStatus::Cancelled
                    )
                }) {
                    Some((
                        BlockStatus::UpstreamFailed,
                        format!("not run: upstream block {} did not succeed", up.0),
                    ))
                } else if let Some(up) = upstream.iter().find(|&&(_, s)| s == BlockStatus::Skipped)
                {
                    Some((
                        BlockStatus::Skipped,
                        format!("skipped: upstream block {} was skipped", up.0),
                    ))
                } else if let Some(when) = &block.when {
                    let context = Value::Object(self.condition_context.clone());
                    (!when.holds(&context)).then(|| {
                        (
                            BlockStatus::Skipped,
                            "skipped: its `when` condition does not hold".to_string(),
                        )
                    })
                } else {
                    None
                };
                decided_one = true;
                if let Some((status, why)) = not_run {
                    self.record_not_run(index, status, why).await?;
                    continue;
                }
                self.fingerprints[index] = self.fingerprint(index);
                if self.reuse(index).await? {
                    continue;
                }
                if running >= self.pipeline.concurrency {
                    decided_one = false;
                    continue;
                }
                running += 1;
                self.state[index] = State::Running;
                let inputs = self.upstream[index]
                    .iter()
                    .filter_map(|&i| self.outputs[i].clone())
                    .collect();
                jobs.push((
                    index,
                    BlockJob {
                        ctx: BlockContext {
                            services: self.engine.blocks.clone(),
                            run_id: self.execution.run_id.to_string(),
                            pipeline: self.info.clone(),
                            variables: self.variables.clone(),
                            block: block.name.clone(),
                            logs: self.logs[index].clone(),
                            python: self.python.clone(),
                        },
                        block: block.clone(),
                        runs: self.engine.runs.clone(),
                        config: self.configs[index].clone(),
                        inputs,
                        fingerprint: self.fingerprints[index].clone(),
                        progress: progress.clone(),
                    },
                ));
            }
        }
        Ok(jobs)
    }

    /// The (name, status) of each upstream block, if they have all ended.
    fn ended_upstream(&self, index: usize) -> Option<Vec<(&str, BlockStatus)>> {
        self.upstream[index]
            .iter()
            .map(|&i| match self.state[i] {
                State::Ended(status) => Some((self.pipeline.blocks[i].name.as_str(), status)),
                _ => None,
            })
            .collect()
    }

    /// SHA-256 over the block's kind, resolved config, code file (a `python` block's) and
    /// upstream fingerprints: equal fingerprints mean the same computation on the same inputs.
    fn fingerprint(&self, index: usize) -> String {
        let block = &self.pipeline.blocks[index];
        let mut hasher = Sha256::new();
        hasher.update(block.kind.as_str());
        hasher.update([0]);
        hasher.update(self.configs[index].to_string());
        if let Some(file) = block.kind.code_file(&self.configs[index]) {
            // A small file, read once per block and run: an unreadable one fails the block later.
            let code = std::fs::read(self.engine.blocks.project_root.join(file));
            hasher.update([0]);
            hasher.update(code.as_deref().unwrap_or(b"(unreadable)"));
        }
        for &i in &self.upstream[index] {
            hasher.update([0]);
            hasher.update(&self.fingerprints[i]);
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }

    /// In a run limited to some blocks, settle a block that does not run: take its stored
    /// output when a running block needs it, else record it not run. False for a block that
    /// runs (or any block of an unlimited run).
    async fn outside_limits(&mut self, index: usize) -> Result<bool> {
        let Some(limited) = &self.execution.limited else {
            return Ok(false);
        };
        let name = self.pipeline.blocks[index].name.clone();
        if limited.plan.run.contains(&name) {
            return Ok(false);
        }
        let why = limited.plan.why.clone();
        let Some(stored) = limited.inputs.get(&name).cloned() else {
            self.record_not_run(index, BlockStatus::Skipped, format!("not run: {why}"))
                .await?;
            return Ok(true);
        };
        let output = match self.load_output(&stored).await {
            Ok(output) => output,
            Err(e) => {
                // No fallback: running it is what the caller asked not to do.
                let error = format!("cannot load its stored output (run {}): {e}", stored.run_id);
                self.first_error
                    .get_or_insert(format!("block {name} failed: {error}"));
                let update = BlockUpdate {
                    status: BlockStatus::Failed,
                    attempts: 0,
                    started_at: None,
                    ended_at: Some(clock::now()),
                    error: Some(error.clone()),
                    logs: vec![],
                    preview: None,
                    fingerprint: None,
                    output_ref: None,
                };
                self.engine
                    .runs
                    .update_block(self.execution.run_id, &name, &update)
                    .await?;
                self.state[index] = State::Ended(BlockStatus::Failed);
                (self.execution.progress)(&Progress::Finished {
                    block: name,
                    status: BlockStatus::Failed,
                    elapsed: Duration::ZERO,
                    error: Some(error),
                });
                return Ok(true);
            }
        };
        // Recorded as skipped (it did not run here), with the preview and fingerprint of the
        // output its downstream blocks get, so the run page shows what they started from.
        let update = BlockUpdate {
            status: BlockStatus::Skipped,
            attempts: 0,
            started_at: None,
            ended_at: None,
            error: None,
            logs: vec![format!(
                "not run: {why}; its output is the stored one of run {}",
                stored.run_id
            )],
            preview: Some(output.preview()),
            fingerprint: Some(stored.fingerprint.clone()),
            output_ref: Some(stored.output_ref.clone()),
        };
        self.engine
            .runs
            .update_block(self.execution.run_id, &name, &update)
            .await?;
        // Its fingerprint is the stored one, so the blocks it feeds get the fingerprints they
        // would have had in the run that computed it.
        self.fingerprints[index] = stored.fingerprint;
        self.succeeded(index, output);
        (self.execution.progress)(&Progress::Finished {
            block: name,
            status: BlockStatus::Skipped,
            elapsed: Duration::ZERO,
            error: None,
        });
        Ok(true)
    }

    /// Read and decode a stored output (off the async threads: it may be a large dataset).
    async fn load_output(&self, stored: &StoredOutput) -> Result<Output> {
        let artifacts = self.engine.blocks.artifacts.clone();
        let reference = stored.output_ref.clone();
        tokio::task::spawn_blocking(move || Output::decode(&artifacts.get(&reference)?))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
    }

    /// Take the block's output from the run being re-run when it was computed the same way.
    async fn reuse(&mut self, index: usize) -> Result<bool> {
        let pipeline = self.pipeline.clone();
        let block = &pipeline.blocks[index];
        let Some(stored) = self.execution.reuse.get(&block.name) else {
            return Ok(false);
        };
        if stored.fingerprint != self.fingerprints[index] {
            return Ok(false);
        }
        let output = match self.load_output(stored).await {
            Ok(output) => output,
            Err(e) => {
                tracing::warn!(block = %block.name, error = %e, "cannot reuse the stored output; running the block again");
                return Ok(false);
            }
        };
        let now = clock::now();
        let update = BlockUpdate {
            status: BlockStatus::Success,
            attempts: 0,
            started_at: Some(now.clone()),
            ended_at: Some(now),
            error: None,
            logs: vec!["reused the output of the re-run run (same kind, config and inputs)".into()],
            preview: Some(output.preview()),
            fingerprint: Some(self.fingerprints[index].clone()),
            output_ref: Some(stored.output_ref.clone()),
        };
        self.engine
            .runs
            .update_block(self.execution.run_id, &block.name, &update)
            .await?;
        self.succeeded(index, output);
        (self.execution.progress)(&Progress::Finished {
            block: block.name.clone(),
            status: BlockStatus::Success,
            elapsed: Duration::ZERO,
            error: None,
        });
        Ok(true)
    }

    fn succeeded(&mut self, index: usize, output: Output) {
        let name = self.pipeline.blocks[index].name.clone();
        self.condition_context.insert(name, output.preview());
        self.outputs[index] = Some(output);
        self.state[index] = State::Ended(BlockStatus::Success);
    }

    async fn record_not_run(
        &mut self,
        index: usize,
        status: BlockStatus,
        why: String,
    ) -> Result<()> {
        let name = self.pipeline.blocks[index].name.clone();
        let update = BlockUpdate {
            status,
            attempts: 0,
            started_at: None,
            ended_at: None,
            error: None,
            logs: vec![why.clone()],
            preview: None,
            fingerprint: None,
            output_ref: None,
        };
        self.engine
            .runs
            .update_block(self.execution.run_id, &name, &update)
            .await?;
        self.state[index] = State::Ended(status);
        (self.execution.progress)(&Progress::Finished {
            block: name,
            status,
            elapsed: Duration::ZERO,
            error: (status == BlockStatus::UpstreamFailed).then_some(why),
        });
        Ok(())
    }

    async fn task_ended(
        &mut self,
        index: usize,
        result: Result<Ended>,
        aborted: bool,
    ) -> Result<()> {
        let name = self.pipeline.blocks[index].name.clone();
        match result {
            Ok(Ended::Succeeded(output)) => self.succeeded(index, output),
            Ok(Ended::Failed(message)) => {
                self.first_error
                    .get_or_insert(format!("block {name} failed: {message}"));
                self.state[index] = State::Ended(BlockStatus::Failed);
            }
            Err(_) if aborted => self.state[index] = State::Ended(BlockStatus::Cancelled),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn outcome(&mut self) -> Result<RunOutcome> {
        let mut summary = summarize(self.outputs.iter().flatten());
        summary["environment"] = json!(Environment::current(self.python.environment()));
        match self.execution.stop.reason() {
            // The run belongs to another executor now: write nothing more.
            Some(StopReason::LeaseLost) => Ok(ended(
                RunStatus::Failed,
                Some("stopped: another executor holds this run now".into()),
                summary,
            )),
            Some(StopReason::Cancelled) => {
                for index in 0..self.state.len() {
                    if matches!(
                        self.state[index],
                        State::Waiting | State::Ended(BlockStatus::Cancelled)
                    ) {
                        let update = BlockUpdate {
                            status: BlockStatus::Cancelled,
                            attempts: 0,
                            started_at: None,
                            ended_at: Some(clock::now()),
                            error: None,
                            logs: self.logs[index]
                                .lock()
                                .map(|l| l.clone())
                                .unwrap_or_default(),
                            preview: None,
                            fingerprint: None,
                            output_ref: None,
                        };
                        let name = &self.pipeline.blocks[index].name;
                        self.engine
                            .runs
                            .update_block(self.execution.run_id, name, &update)
                            .await?;
                    }
                }
                Ok(ended(
                    RunStatus::Cancelled,
                    Some("cancelled".into()),
                    summary,
                ))
            }
            None => Ok(match self.first_error.take() {
                Some(error) => ended(RunStatus::Failed, Some(error), summary),
                None => ended(RunStatus::Success, None, summary),
            }),
        }
    }
}

fn ended(status: RunStatus, error: Option<String>, summary: Value) -> RunOutcome {
    RunOutcome {
        status,
        error,
        summary,
    }
}

/// What a run produced, for the run record and the terminal.
fn summarize<'a>(outputs: impl Iterator<Item = &'a Output>) -> Value {
    let mut summary = Map::new();
    for output in outputs {
        match output {
            Output::Dataset(d) => {
                if let Some(record) = &d.record {
                    summary.insert("data_version".into(), json!(record.version));
                    summary.insert("data_hash".into(), json!(record.hash));
                }
            }
            Output::Trained(t) => {
                // Scalars only: importances stay with the version's metrics.
                let scalars: Map<String, Value> = t
                    .metrics
                    .iter()
                    .filter(|(_, v)| v.is_number())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                summary.insert("metrics".into(), Value::Object(scalars));
            }
            Output::Registered(r) => {
                summary.insert("model".into(), json!(r.version.model));
                summary.insert("model_version".into(), json!(r.version.label));
                summary.insert("model_version_number".into(), json!(r.version.version));
            }
            Output::Deployed(d) => {
                summary.insert(
                    "deployment".into(),
                    json!({"status": d.deployment.status, "reason": d.deployment.reason}),
                );
            }
            Output::Empty => {}
        }
    }
    Value::Object(summary)
}
