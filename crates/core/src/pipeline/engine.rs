//! The engine: runs a pipeline's blocks as a DAG. A block starts when all its upstream blocks
//! have ended, up to `concurrency` blocks at once; its `when:` condition decides whether it runs
//! or is skipped (with everything downstream of it); a failure marks its downstream
//! `upstream_failed` while independent branches carry on. Each block's status, attempts,
//! timing, log and output preview are recorded as it goes (see `attempts.rs`). A run limited
//! to some blocks (see [`Limited`]) runs only those; the blocks feeding them get the stored
//! outputs of earlier runs, and the rest are recorded skipped.
//!
//! A dynamic block's output table fans out: each of its rows is one item, and each block in its
//! fan-out (its direct downstream blocks, and theirs until a `reduce_output` block) runs once
//! per item, recorded as `name:0`, `name:1`, … next to an aggregate record under `name`; a
//! reducing block gathers its runs' tables back into one for its downstream. Item runs are
//! jobs like any block's, within the same concurrency. A block's callback blocks run once it
//! has ended (after its retries), with its status and error; their failure is recorded but
//! fails neither the block nor the run.
//!
//! Blocks run on the async runtime but do their CPU work through [`BlockContext::blocking`],
//! so training never stalls the threads that serve HTTP.

use super::attempts::{BlockJob, Ended};
use super::blocks::{BlockKind, Output, Port};
use super::context::{
    BlockContext, BlockInfo, BlockServices, PipelineInfo, Progress, RunOutcome, StopReason,
    StopSignal,
};
use super::fan_out;
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

/// What a task of the run is: a block (callbacks included), or one item's run of a block in
/// a fan-out.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Block(usize),
    Item(usize, usize),
}

/// One item's run of a block in a fan-out.
#[derive(Debug, Clone)]
struct ItemRun {
    state: State,
    output: Option<Output>,
    logs: Arc<Mutex<Vec<String>>>,
}

/// What to do with a waiting block whose turn may have come.
enum Decision {
    /// Its upstream blocks (or its parent, for a callback) have not all ended.
    Wait,
    /// It does not run: recorded with this status and why.
    NotRun(BlockStatus, String),
    /// It runs with these inputs (a callback block: on this outcome of this parent).
    Run {
        inputs: Vec<Output>,
        callback: Option<(&'static str, usize)>,
    },
    /// It runs once per item, this many items.
    FanOut(usize),
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
    /// Each block's error, once it failed (its callbacks get it).
    errors: Vec<Option<String>>,
    /// A dynamic block's items, once it succeeded.
    items: Vec<Option<Arc<Vec<Output>>>>,
    /// A block in a fan-out: its runs, one per item, once their number is known.
    fanned: Vec<Option<Vec<ItemRun>>>,
    /// When a fanned-out block's item runs were recorded.
    fan_started: Vec<Option<String>>,
    /// Callback blocks that failed (they fail neither their parent nor the run): name, error.
    callback_failures: Vec<(String, String)>,
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
            errors: vec![None; n],
            items: vec![None; n],
            fanned: vec![None; n],
            fan_started: vec![None; n],
            callback_failures: Vec::new(),
        }
    }

    async fn drive(&mut self) -> Result<RunOutcome> {
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks: JoinSet<Result<Ended>> = JoinSet::new();
        let mut task_block: HashMap<tokio::task::Id, Unit> = HashMap::new();
        let mut aborted = false;
        loop {
            if self.execution.stop.reason().is_none() {
                for (unit, job) in self.start_ready_blocks(tasks.len(), &progress_tx).await? {
                    let handle = tasks.spawn(job.run());
                    task_block.insert(handle.id(), unit);
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
                    let unit = task_block.remove(&id).expect("every task is mapped to its block");
                    self.task_ended(unit, result, aborted).await?;
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
    /// failed or skipped, condition false), reused from the re-run run, fanned out into item
    /// runs, or started (as jobs, within the concurrency left); and the same for the item runs
    /// of fan-outs and the callbacks of ended blocks.
    async fn start_ready_blocks(
        &mut self,
        mut running: usize,
        progress: &tokio::sync::mpsc::UnboundedSender<super::engine::Progress>,
    ) -> Result<Vec<(Unit, BlockJob)>> {
        let mut jobs = Vec::new();
        let mut decided_one = true;
        while decided_one {
            decided_one = false;
            for index in 0..self.pipeline.blocks.len() {
                if self.state[index] == State::Running && self.fanned[index].is_some() {
                    decided_one |= self
                        .start_ready_items(index, &mut running, &mut jobs, progress)
                        .await?;
                    continue;
                }
                if self.state[index] != State::Waiting {
                    continue;
                }
                // Settled at once: what they do depends on no other block.
                if self.outside_limits(index).await? {
                    decided_one = true;
                    continue;
                }
                let pipeline = self.pipeline.clone();
                let block = &pipeline.blocks[index];
                let decision = if let Some(parent) = &block.callback_of {
                    self.decide_callback(index, parent)
                } else if block.fan.is_some() {
                    self.decide_fanned(index)
                } else {
                    self.decide_block(index)
                };
                let (inputs, callback) = match decision {
                    Decision::Wait => continue,
                    Decision::NotRun(status, why) => {
                        decided_one = true;
                        self.record_not_run(index, status, why).await?;
                        continue;
                    }
                    Decision::FanOut(items) => {
                        decided_one = true;
                        self.fan_out(index, items).await?;
                        continue;
                    }
                    Decision::Run { inputs, callback } => (inputs, callback),
                };
                decided_one = true;
                self.fingerprints[index] = self.fingerprint(index);
                if callback.is_none() && self.reuse(index).await? {
                    continue;
                }
                if running >= self.pipeline.concurrency {
                    decided_one = false;
                    continue;
                }
                running += 1;
                self.state[index] = State::Running;
                let mut variables = self.variables.clone();
                if let Some((status, parent)) = callback {
                    let parent_name = &pipeline.blocks[parent].name;
                    self.engine
                        .runs
                        .set_block_parent(self.execution.run_id, &block.name, parent_name)
                        .await?;
                    variables = Arc::new(self.callback_variables(parent, status));
                }
                let mut ctx = self.context(index, self.logs[index].clone(), variables);
                ctx.callback = callback.map(|(status, _)| status);
                let job = BlockJob {
                    ctx,
                    block: block.clone(),
                    record_as: block.name.clone(),
                    max_items: block.dynamic.then_some(block.max_fan_out),
                    runs: self.engine.runs.clone(),
                    config: self.configs[index].clone(),
                    inputs: orders_only_dropped(block.kind, inputs),
                    fingerprint: self.fingerprints[index].clone(),
                    progress: progress.clone(),
                };
                jobs.push((Unit::Block(index), job));
            }
        }
        Ok(jobs)
    }

    /// A block outside any fan-out: it runs once its upstream blocks all succeeded and its
    /// condition holds.
    fn decide_block(&self, index: usize) -> Decision {
        let Some(upstream) = self.ended_upstream(index) else {
            return Decision::Wait;
        };
        if let Some((status, why)) = not_run_for(&upstream) {
            return Decision::NotRun(status, why);
        }
        if let Some(why) = self.condition_fails(index, &self.condition_context) {
            return Decision::NotRun(BlockStatus::Skipped, why);
        }
        let inputs = self.upstream[index]
            .iter()
            .filter_map(|&i| self.outputs[i].clone())
            .collect();
        Decision::Run {
            inputs,
            callback: None,
        }
    }

    /// A callback block: once its parent has ended, it runs if it is attached to that outcome,
    /// with the parent's output as its input when it takes one.
    fn decide_callback(&self, index: usize, parent: &str) -> Decision {
        let Some(p) = self.pipeline.blocks.iter().position(|b| b.name == parent) else {
            return Decision::NotRun(BlockStatus::Skipped, format!("no block {parent}"));
        };
        let State::Ended(status) = self.state[p] else {
            return Decision::Wait;
        };
        let callbacks = &self.pipeline.blocks[p].callbacks;
        let name = &self.pipeline.blocks[index].name;
        let (attached, outcome) = match status {
            BlockStatus::Success => (callbacks.on_success.contains(name), "success"),
            BlockStatus::Failed => (callbacks.on_failure.contains(name), "failure"),
            other => {
                return Decision::NotRun(
                    BlockStatus::Skipped,
                    format!("not run: {parent} did not run ({})", other.as_str()),
                )
            }
        };
        if !attached {
            let (ended, list) = match outcome {
                "success" => ("succeeded", "on_failure"),
                _ => ("failed", "on_success"),
            };
            return Decision::NotRun(
                BlockStatus::Skipped,
                format!("not run: {parent} {ended} and this is one of its {list} callbacks"),
            );
        }
        if let Some(why) = self.condition_fails(index, &self.condition_context) {
            return Decision::NotRun(BlockStatus::Skipped, why);
        }
        // The parent's output, for a callback that takes it (a Python block gets its table).
        let kind = self.pipeline.blocks[index].kind;
        let port = self.pipeline.output_port(&self.pipeline.blocks[p]);
        let inputs = match &self.outputs[p] {
            Some(output) if kind.accepts(&[port]) => vec![output.clone()],
            _ => Vec::new(),
        };
        Decision::Run {
            inputs,
            callback: Some((outcome, p)),
        }
    }

    /// A block in a fan-out: once the blocks it takes as a whole have succeeded and its
    /// upstream blocks of the same fan-out have their item runs, it fans out into as many.
    fn decide_fanned(&self, index: usize) -> Decision {
        let mut whole = Vec::new();
        let mut items = None;
        for &u in &self.upstream[index] {
            let name = self.pipeline.blocks[u].name.as_str();
            match (&self.fanned[u], self.state[u]) {
                (Some(runs), _) if self.per_item(index, u) => items = Some(runs.len()),
                (_, State::Ended(status)) => whole.push((name, status)),
                _ => return Decision::Wait,
            }
        }
        if let Some((status, why)) = not_run_for(&whole) {
            return Decision::NotRun(status, why);
        }
        let fan = self.pipeline.blocks[index].fan.clone().unwrap_or_default();
        let items = items.or_else(|| {
            let d = self.pipeline.blocks.iter().position(|b| b.name == fan)?;
            self.items[d].as_ref().map(|items| items.len())
        });
        match items {
            Some(0) | None => Decision::NotRun(
                BlockStatus::Skipped,
                format!("not run: dynamic block {fan} gave no items"),
            ),
            Some(n) => Decision::FanOut(n),
        }
    }

    /// Whether `index` takes upstream block `u` item by item: `u` runs in the same fan-out and
    /// does not gather its items back.
    fn per_item(&self, index: usize, u: usize) -> bool {
        let (b, up) = (&self.pipeline.blocks[index], &self.pipeline.blocks[u]);
        up.fan.is_some() && up.fan == b.fan && !up.reduce_output
    }

    /// Why the block's `when` condition keeps it from running, if it does.
    fn condition_fails(&self, index: usize, context: &Map<String, Value>) -> Option<String> {
        let when = self.pipeline.blocks[index].when.as_ref()?;
        (!when.holds(&Value::Object(context.clone())))
            .then(|| "skipped: its `when` condition does not hold".to_string())
    }

    /// Start a block's item runs: record one pending run per item.
    async fn fan_out(&mut self, index: usize, items: usize) -> Result<()> {
        let block = &self.pipeline.blocks[index];
        self.engine
            .runs
            .add_item_runs(
                self.execution.run_id,
                &block.name,
                index as i64,
                block.kind.as_str(),
                items,
            )
            .await?;
        let line = format!(
            "runs once per item of dynamic block {}: {items} runs, {}:0 to {}:{}",
            block.fan.as_deref().unwrap_or_default(),
            block.name,
            block.name,
            items - 1
        );
        if let Ok(mut logs) = self.logs[index].lock() {
            logs.push(line.clone());
        }
        self.fan_started[index] = Some(clock::now());
        let update = BlockUpdate {
            status: BlockStatus::Running,
            attempts: 0,
            started_at: self.fan_started[index].clone(),
            ended_at: None,
            error: None,
            logs: vec![line],
            preview: None,
            fingerprint: None,
            output_ref: None,
        };
        self.engine
            .runs
            .update_block(self.execution.run_id, &block.name, &update)
            .await?;
        self.fingerprints[index] = self.fingerprint(index);
        self.state[index] = State::Running;
        let runs = (0..items)
            .map(|_| ItemRun {
                state: State::Waiting,
                output: None,
                logs: Arc::default(),
            })
            .collect();
        self.fanned[index] = Some(runs);
        Ok(())
    }

    /// Decide the waiting item runs of a fanned-out block whose upstream item runs have ended,
    /// and end the block once all its item runs have. True when anything was decided.
    async fn start_ready_items(
        &mut self,
        index: usize,
        running: &mut usize,
        jobs: &mut Vec<(Unit, BlockJob)>,
        progress: &tokio::sync::mpsc::UnboundedSender<Progress>,
    ) -> Result<bool> {
        let pipeline = self.pipeline.clone();
        let block = &pipeline.blocks[index];
        let items = self.fanned[index].as_ref().map_or(0, Vec::len);
        let mut decided = false;
        for item in 0..items {
            if self.item(index, item).state != State::Waiting {
                continue;
            }
            let mut upstream = Vec::new();
            let mut context = self.condition_context.clone();
            let mut inputs = Vec::new();
            let mut ready = true;
            for &u in &self.upstream[index] {
                let up = &pipeline.blocks[u];
                if self.per_item(index, u) && self.fanned[u].is_some() {
                    let run = self.item(u, item);
                    match run.state {
                        State::Ended(status) => upstream.push((up.name.as_str(), status)),
                        _ => ready = false,
                    }
                    if let Some(output) = &run.output {
                        context.insert(up.name.clone(), output.preview());
                        inputs.push(output.clone());
                    }
                } else if up.dynamic && block.fan.as_deref() == Some(up.name.as_str()) {
                    let output = (self.items[u].as_ref()).and_then(|items| items.get(item));
                    if let Some(output) = output {
                        context.insert(up.name.clone(), output.preview());
                        inputs.push(output.clone());
                    }
                } else if let Some(output) = &self.outputs[u] {
                    inputs.push(output.clone());
                }
            }
            if !ready {
                continue;
            }
            let name = format!("{}:{item}", block.name);
            let not_run = not_run_for(&upstream).or_else(|| {
                self.condition_fails(index, &context)
                    .map(|why| (BlockStatus::Skipped, why))
            });
            if let Some((status, why)) = not_run {
                decided = true;
                self.record_not_run_as(&name, status, why).await?;
                self.item_mut(index, item).state = State::Ended(status);
                continue;
            }
            if *running >= self.pipeline.concurrency {
                break;
            }
            *running += 1;
            decided = true;
            self.item_mut(index, item).state = State::Running;
            let logs = self.item(index, item).logs.clone();
            let mut ctx = self.context(index, logs, self.variables.clone());
            ctx.item_of = (block.fan.clone()).filter(|fan| block.upstream.contains(fan));
            jobs.push((
                Unit::Item(index, item),
                BlockJob {
                    ctx,
                    block: block.clone(),
                    record_as: name,
                    max_items: None,
                    runs: self.engine.runs.clone(),
                    config: self.configs[index].clone(),
                    inputs: orders_only_dropped(block.kind, inputs),
                    fingerprint: format!("{}:{item}", self.fingerprints[index]),
                    progress: progress.clone(),
                },
            ));
        }
        let all_ended =
            (self.fanned[index].iter().flatten()).all(|run| matches!(run.state, State::Ended(_)));
        if all_ended {
            self.fan_ended(index).await?;
            decided = true;
        }
        Ok(decided)
    }

    /// Every item run of a fanned-out block has ended: record the block's own outcome, and
    /// for a reducing block gather its item runs' tables into its output.
    async fn fan_ended(&mut self, index: usize) -> Result<()> {
        let block = self.pipeline.blocks[index].clone();
        let runs = self.fanned[index].clone().unwrap_or_default();
        let count = |status: BlockStatus| {
            runs.iter()
                .filter(|r| r.state == State::Ended(status))
                .count()
        };
        let (failed, upstream_failed, skipped, cancelled) = (
            count(BlockStatus::Failed),
            count(BlockStatus::UpstreamFailed),
            count(BlockStatus::Skipped),
            count(BlockStatus::Cancelled),
        );
        let succeeded = count(BlockStatus::Success);
        let mut logs = self.logs[index]
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        logs.push(format!(
            "{} item runs: {succeeded} succeeded, {failed} failed, {upstream_failed} upstream failed, {skipped} skipped",
            runs.len()
        ));
        let mut status = if cancelled > 0 {
            BlockStatus::Cancelled
        } else if failed > 0 {
            BlockStatus::Failed
        } else if upstream_failed > 0 {
            BlockStatus::UpstreamFailed
        } else if succeeded == 0 {
            BlockStatus::Skipped
        } else {
            BlockStatus::Success
        };
        let mut error = (status == BlockStatus::Failed).then(|| {
            let names: Vec<String> = (runs.iter().enumerate())
                .filter(|(_, r)| r.state == State::Ended(BlockStatus::Failed))
                .map(|(i, _)| format!("{}:{i}", block.name))
                .collect();
            format!(
                "{failed} of {} item runs failed: {}",
                runs.len(),
                names.join(", ")
            )
        });
        let mut output = None;
        if status == BlockStatus::Success && block.reduce_output {
            let outputs: Vec<(String, Output)> = (runs.iter().enumerate())
                .filter_map(|(i, r)| Some((format!("{}:{i}", block.name), r.output.clone()?)))
                .collect();
            let reduced = tokio::task::spawn_blocking(move || fan_out::reduce(&outputs))
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
            match reduced {
                Ok(reduced) => {
                    logs.push(format!(
                        "reduce_output: gathered {succeeded} item runs into {} rows",
                        fan_out::count(&reduced)
                    ));
                    output = Some(reduced);
                }
                Err(e) => {
                    status = BlockStatus::Failed;
                    error = Some(format!("reduce_output: {}", e.message));
                }
            }
        }
        let output_ref = match &output {
            Some(o) if !matches!(o, Output::Empty) => {
                let (o, artifacts) = (o.clone(), self.engine.blocks.artifacts.clone());
                let stored = tokio::task::spawn_blocking(move || artifacts.put(&o.encode()?))
                    .await
                    .map_err(|e| Error::internal(e.to_string()))?;
                Some(stored?)
            }
            _ => None,
        };
        let update = BlockUpdate {
            status,
            attempts: 0,
            started_at: self.fan_started[index].clone(),
            ended_at: Some(clock::now()),
            error: error.clone(),
            logs,
            preview: output.as_ref().map(Output::preview),
            // Only a reduced output stands for the block as a whole (re-runs, single-block runs).
            fingerprint: output_ref
                .as_ref()
                .map(|_| self.fingerprints[index].clone()),
            output_ref,
        };
        self.engine
            .runs
            .update_block(self.execution.run_id, &block.name, &update)
            .await?;
        if let Some(error) = &error {
            self.first_error
                .get_or_insert(format!("block {} failed: {error}", block.name));
            self.errors[index] = Some(error.clone());
        }
        match (status, output) {
            (BlockStatus::Success, Some(output)) => self.succeeded(index, output),
            (status, _) => self.state[index] = State::Ended(status),
        }
        (self.execution.progress)(&Progress::Finished {
            block: block.name.clone(),
            status,
            elapsed: Duration::ZERO,
            error,
        });
        Ok(())
    }

    fn item(&self, index: usize, item: usize) -> &ItemRun {
        &self.fanned[index].as_ref().expect("a fanned-out block")[item]
    }

    fn item_mut(&mut self, index: usize, item: usize) -> &mut ItemRun {
        &mut self.fanned[index].as_mut().expect("a fanned-out block")[item]
    }

    /// The context a block (or one of its item runs) runs in.
    fn context(
        &self,
        index: usize,
        logs: Arc<Mutex<Vec<String>>>,
        variables: Arc<Map<String, Value>>,
    ) -> BlockContext {
        BlockContext {
            services: self.engine.blocks.clone(),
            run_id: self.execution.run_id.to_string(),
            pipeline: self.info.clone(),
            variables,
            block: self.pipeline.blocks[index].name.clone(),
            logs,
            python: self.python.clone(),
            callback: None,
            item_of: None,
        }
    }

    /// A callback's variables: the run's, and its parent's name, outcome and error (Mage
    /// passes the error as `__error`).
    fn callback_variables(&self, parent: usize, status: &str) -> Map<String, Value> {
        let mut variables = (*self.variables).clone();
        let error = self.errors[parent].clone();
        variables.insert(
            "parent_block_uuid".into(),
            json!(self.pipeline.blocks[parent].name),
        );
        variables.insert("parent_status".into(), json!(status));
        variables.insert("parent_error".into(), json!(error));
        if let Some(error) = error {
            variables.insert("__error".into(), json!(error));
        }
        variables
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
        if self.pipeline.blocks[index].dynamic {
            self.items[index] = Some(Arc::new(fan_out::items(&output)));
        }
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
        self.record_not_run_as(&name, status, why).await?;
        self.state[index] = State::Ended(status);
        Ok(())
    }

    /// Record that the block run `name` (a block, or one item's run) did not run, and why.
    async fn record_not_run_as(&self, name: &str, status: BlockStatus, why: String) -> Result<()> {
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
            .update_block(self.execution.run_id, name, &update)
            .await?;
        (self.execution.progress)(&Progress::Finished {
            block: name.to_string(),
            status,
            elapsed: Duration::ZERO,
            error: (status == BlockStatus::UpstreamFailed).then_some(why),
        });
        Ok(())
    }

    async fn task_ended(&mut self, unit: Unit, result: Result<Ended>, aborted: bool) -> Result<()> {
        let index = match unit {
            Unit::Block(index) | Unit::Item(index, _) => index,
        };
        let block = &self.pipeline.blocks[index];
        let (name, is_callback) = (block.name.clone(), block.callback_of.is_some());
        let status = match result {
            Ok(Ended::Succeeded(output)) => match unit {
                Unit::Item(_, item) => {
                    self.item_mut(index, item).output = Some(output);
                    BlockStatus::Success
                }
                Unit::Block(_) => {
                    self.succeeded(index, output);
                    return Ok(());
                }
            },
            Ok(Ended::Failed(message)) => {
                if is_callback {
                    // Recorded on its own block run; the parent and the run keep their result.
                    tracing::warn!(run = %self.execution.run_id, block = %name, error = %message, "a callback block failed");
                    self.callback_failures.push((name, message));
                } else {
                    let failed = match unit {
                        Unit::Item(_, item) => format!("{name}:{item}"),
                        Unit::Block(_) => name,
                    };
                    self.first_error
                        .get_or_insert(format!("block {failed} failed: {message}"));
                    self.errors[index] = Some(message);
                }
                BlockStatus::Failed
            }
            Err(_) if aborted => BlockStatus::Cancelled,
            Err(e) => return Err(e),
        };
        match unit {
            Unit::Item(_, item) => self.item_mut(index, item).state = State::Ended(status),
            Unit::Block(_) => self.state[index] = State::Ended(status),
        }
        Ok(())
    }

    async fn outcome(&mut self) -> Result<RunOutcome> {
        let mut summary = summarize(self.outputs.iter().flatten());
        summary["environment"] = json!(Environment::current(self.python.environment()));
        if !self.callback_failures.is_empty() {
            summary["callbacks_failed"] = (self.callback_failures.iter())
                .map(|(block, error)| json!({"block": block, "error": error}))
                .collect();
        }
        match self.execution.stop.reason() {
            // The run belongs to another executor now: write nothing more.
            Some(StopReason::LeaseLost) => Ok(ended(
                RunStatus::Failed,
                Some("stopped: another executor holds this run now".into()),
                summary,
            )),
            Some(StopReason::Cancelled) => {
                let not_ended = |state: State| {
                    matches!(state, State::Waiting | State::Ended(BlockStatus::Cancelled))
                };
                let mut cancelled = Vec::new();
                for index in 0..self.state.len() {
                    let name = &self.pipeline.blocks[index].name;
                    // A fanned-out block is running while any of its item runs is.
                    let fanning =
                        self.state[index] == State::Running && self.fanned[index].is_some();
                    if not_ended(self.state[index]) || fanning {
                        cancelled.push((name.clone(), self.logs[index].clone()));
                    }
                    for (item, run) in self.fanned[index].iter().flatten().enumerate() {
                        if not_ended(run.state) {
                            cancelled.push((format!("{name}:{item}"), run.logs.clone()));
                        }
                    }
                }
                for (name, logs) in cancelled {
                    let update = BlockUpdate {
                        status: BlockStatus::Cancelled,
                        attempts: 0,
                        started_at: None,
                        ended_at: Some(clock::now()),
                        error: None,
                        logs: logs.lock().map(|l| l.clone()).unwrap_or_default(),
                        preview: None,
                        fingerprint: None,
                        output_ref: None,
                    };
                    self.engine
                        .runs
                        .update_block(self.execution.run_id, &name, &update)
                        .await?;
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

/// Why a block does not run, from its upstream blocks' (name, status): one did not succeed
/// (`upstream_failed`) or was skipped (`skipped`); `None` when they all succeeded.
fn not_run_for(upstream: &[(&str, BlockStatus)]) -> Option<(BlockStatus, String)> {
    if let Some(up) = upstream.iter().find(|&&(_, s)| {
        matches!(
            s,
            BlockStatus::Failed | BlockStatus::UpstreamFailed | BlockStatus::Cancelled
        )
    }) {
        return Some((
            BlockStatus::UpstreamFailed,
            format!("not run: upstream block {} did not succeed", up.0),
        ));
    }
    upstream
        .iter()
        .find(|&&(_, s)| s == BlockStatus::Skipped)
        .map(|up| {
            (
                BlockStatus::Skipped,
                format!("skipped: upstream block {} was skipped", up.0),
            )
        })
}

/// The inputs a block of `kind` is given: none of the empty outputs of the upstream blocks that
/// only order it (`noop`, a sensor), so a kind taking fixed inputs finds its own by position;
/// except for the kinds that pair each input with its upstream block's name, which get them all.
fn orders_only_dropped(kind: BlockKind, mut inputs: Vec<Output>) -> Vec<Output> {
    if !matches!(
        kind,
        BlockKind::Command | BlockKind::SqlTransform | BlockKind::Python
    ) {
        inputs.retain(|o| !matches!(o, Output::Empty));
    }
    inputs
}
