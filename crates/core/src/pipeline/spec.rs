//! The pipeline file format (`pipelines/<name>/pipeline.yaml`) and its validation.
//!
//! Every error names the pipeline, the block and the field, so a typo is found from the
//! message alone. Variables are substituted into block configs where a value is exactly
//! `${name}`; the same checks run again at trigger time with the run's variables.

use super::blocks::{BlockKind, Port};
use super::condition::Condition;
use crate::error::{Error, Result};
use crate::store::RunScope;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A validated pipeline: blocks in topological order.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Pipeline name (the folder name).
    pub name: String,
    /// What it does.
    pub description: String,
    /// Variables and their defaults.
    pub variables: Map<String, Value>,
    /// Blocks, upstream before downstream (ties keep file order).
    pub blocks: Vec<Block>,
    /// How many blocks of one run may run at the same time.
    pub concurrency: usize,
    /// How many runs of this pipeline triggers may have queued or running at once.
    pub max_concurrent_runs: Option<u32>,
    /// `sha256:<hex>` of the pipeline file.
    pub file_hash: String,
    /// The file path relative to the project root.
    pub file: String,
}

/// One block of a pipeline.
#[derive(Debug, Clone)]
pub struct Block {
    /// Unique name within the pipeline.
    pub name: String,
    /// What it does.
    pub kind: BlockKind,
    /// Blocks whose outputs it takes, in order.
    pub upstream: Vec<String>,
    /// Configuration as written, with `${var}` references unresolved.
    pub config: Value,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Delay before the first retry, doubled for each further one.
    pub retry_delay_ms: u64,
    /// Time limit of one attempt.
    pub timeout: Option<std::time::Duration>,
    /// Run only when this holds (else the block and its downstream are skipped).
    pub when: Option<Condition>,
    /// The condition as written.
    pub when_text: Option<String>,
    /// Fans out (Mage's `is_dynamic`): each row of its output table is one item, and each
    /// direct downstream block runs once per item.
    pub dynamic: bool,
    /// The most items a dynamic block may fan out into; more fails it.
    pub max_fan_out: usize,
    /// Gathers its runs, one per item, back into one table for its downstream blocks (Mage's
    /// `reduce_output`).
    pub reduce_output: bool,
    /// The dynamic block whose items this block runs once per (set at load: a direct
    /// downstream block of a dynamic block, and its downstream until a reduce).
    pub fan: Option<String>,
    /// Blocks run after this block's final outcome (after retries).
    pub callbacks: Callbacks,
    /// The block this one is a callback of (set at load): it runs only on that block's
    /// outcome, never as a step of the DAG.
    pub callback_of: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    variables: Map<String, Value>,
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    max_concurrent_runs: Option<u32>,
    blocks: Vec<RawBlock>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    name: String,
    kind: String,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default = "empty_object")]
    config: Value,
    #[serde(default)]
    retries: u32,
    #[serde(default = "default_retry_delay")]
    retry_delay_ms: u64,
    timeout_secs: Option<f64>,
    when: Option<String>,
    #[serde(default)]
    dynamic: bool,
    max_fan_out: Option<usize>,
    #[serde(default)]
    reduce_output: bool,
    #[serde(default)]
    callbacks: Callbacks,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}
fn default_retry_delay() -> u64 {
    1000
}
fn default_concurrency() -> usize {
    4
}

/// How many items a dynamic block fans out into when `max_fan_out` is not set.
pub const DEFAULT_MAX_FAN_OUT: usize = 100;
/// The highest `max_fan_out` a pipeline may set: every item is a block run of its own.
pub const MAX_FAN_OUT: usize = 10_000;

/// Parse and validate a pipeline file's text. `name` is the folder name.
pub fn parse(name: &str, file: &str, text: &str) -> Result<Pipeline> {
    let err = |msg: String| Error::invalid(format!("pipeline {name}: {msg}"));
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let raw: RawPipeline = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!("field {path}: ")
        };
        err(format!("{field}{}", e.into_inner()))
    })?;
    if let Some(declared) = &raw.name {
        if declared != name {
            return Err(err(format!(
                "field name: {declared:?} does not match the folder name {name:?}"
            )));
        }
    }
    check_identifier(name).map_err(|m| err(format!("name {m}")))?;
    if raw.blocks.is_empty() {
        return Err(err(
            "field blocks: a pipeline needs at least one block".into()
        ));
    }
    for var in raw.variables.keys() {
        check_identifier(var).map_err(|m| err(format!("variable {var:?} {m}")))?;
    }
    let mut blocks = Vec::with_capacity(raw.blocks.len());
    let mut names = BTreeSet::new();
    for b in raw.blocks {
        let at = |msg: String| err(format!("block {}: {msg}", b.name));
        check_identifier(&b.name).map_err(|m| err(format!("block name {:?} {m}", b.name)))?;
        if !names.insert(b.name.clone()) {
            return Err(at("field name: another block has the same name".into()));
        }
        let kind = BlockKind::parse(&b.kind).map_err(|m| at(format!("field kind: {m}")))?;
        if !b.config.is_object() {
            return Err(at("field config: must be a mapping".into()));
        }
        if b.retries > 10 {
            return Err(at("field retries: at most 10".into()));
        }
        let timeout = match b.timeout_secs {
            None => None,
            Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 7.0 * 86400.0 => {
                Some(std::time::Duration::from_secs_f64(secs))
            }
            Some(_) => {
                return Err(at(
                    "field timeout_secs: must be above 0 and at most 604800 (a week)".into(),
                ))
            }
        };
        let when = match &b.when {
            None => None,
            Some(text) => Some(Condition::parse(text).map_err(|m| at(format!("field when: {m}")))?),
        };
        let max_fan_out = match b.max_fan_out {
            Some(_) if !b.dynamic => {
                return Err(at(
                    "field max_fan_out: only a dynamic block fans out (set dynamic: true)".into(),
                ))
            }
            Some(n) if !(1..=MAX_FAN_OUT).contains(&n) => {
                return Err(at(format!("field max_fan_out: must be 1 to {MAX_FAN_OUT}")))
            }
            Some(n) => n,
            None => DEFAULT_MAX_FAN_OUT,
        };
        blocks.push(Block {
            name: b.name,
            kind,
            upstream: b.upstream,
            config: b.config,
            retries: b.retries,
            retry_delay_ms: b.retry_delay_ms,
            timeout,
            when,
            when_text: b.when,
            dynamic: b.dynamic,
            max_fan_out,
            reduce_output: b.reduce_output,
            fan: None,
            callbacks: b.callbacks,
            callback_of: None,
        });
    }
    for b in &blocks {
        for up in &b.upstream {
            if up == &b.name {
                return Err(err(format!(
                    "block {}: field upstream: a block cannot depend on itself",
                    b.name
                )));
            }
            if !names.contains(up) {
                return Err(err(format!(
                    "block {}: field upstream: no block named {up:?}",
                    b.name
                )));
            }
        }
    }
    if !(1..=64).contains(&raw.concurrency) {
        return Err(err("field concurrency: must be 1 to 64".into()));
    }
    if raw.max_concurrent_runs == Some(0) {
        return Err(err("field max_concurrent_runs: must be at least 1".into()));
    }
    let mut blocks = topological_order(blocks).map_err(err)?;
    check_conditions(&blocks, &raw.variables).map_err(err)?;
    link_callbacks(&mut blocks).map_err(err)?;
    link_fan_outs(&mut blocks).map_err(err)?;
    let pipeline = Pipeline {
        name: name.to_string(),
        description: raw.description,
        variables: raw.variables,
        blocks,
        concurrency: raw.concurrency,
        max_concurrent_runs: raw.max_concurrent_runs,
        file_hash: crate::artifacts::sha256_ref(text.as_bytes()),
        file: file.to_string(),
    };
    pipeline.check_ports()?;
    pipeline.resolve_configs(&Map::new())?;
    Ok(pipeline)
}

/// What a run limited to some blocks does with each block: run it, take its stored output (a
/// block feeding one that runs), or leave it (the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPlan {
    /// The blocks that run.
    pub run: BTreeSet<String>,
    /// The blocks that feed a running block without running themselves: their outputs are
    /// taken from an earlier run.
    pub load: BTreeSet<String>,
    /// Why the other blocks do not run, for their log: "the run is limited to block x".
    pub why: String,
}

impl Pipeline {
    /// Which blocks a run limited to `scope` runs and which outputs it takes instead; an
    /// unknown block is an error naming the request field (`block` or `from_block`).
    pub fn plan(&self, scope: &RunScope) -> Result<BlockPlan> {
        let target = scope.block();
        if self.block(target).is_none() {
            let known: Vec<&String> = self.blocks.iter().map(|b| &b.name).collect();
            return Err(Error::invalid_field(
                scope.field(),
                format!(
                    "{}: pipeline {} has no block {target:?} (known: {known:?})",
                    scope.field(),
                    self.name
                ),
            ));
        }
        let mut run = BTreeSet::from([target.to_string()]);
        // A block's callbacks run with it.
        let with_callbacks = |run: &mut BTreeSet<String>| {
            for b in &self.blocks {
                if (b.callback_of.as_ref()).is_some_and(|p| run.contains(p)) {
                    run.insert(b.name.clone());
                }
            }
        };
        if let RunScope::FromBlock(_) = scope {
            // Blocks come in file order but may name upstream blocks further down, so grow the
            // set until no block joins.
            let mut grew = true;
            while grew {
                grew = false;
                for b in &self.blocks {
                    if !run.contains(&b.name) && b.upstream.iter().any(|u| run.contains(u)) {
                        run.insert(b.name.clone());
                        grew = true;
                    }
                }
            }
        }
        with_callbacks(&mut run);
        // Only the direct upstream blocks of the running ones are loaded: a loaded output
        // stands for everything above it.
        let load = (self.blocks.iter())
            .filter(|b| run.contains(&b.name))
            .flat_map(|b| b.upstream.iter())
            .filter(|u| !run.contains(*u))
            .cloned()
            .collect();
        let why = match scope {
            RunScope::Block(b) => format!("the run is limited to block {b}"),
            RunScope::FromBlock(b) => format!("the run starts from block {b}"),
        };
        Ok(BlockPlan { run, load, why })
    }

    /// The block named `name`.
    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// Merge run variables over the defaults; an unknown variable is an error.
    pub fn merge_variables(&self, overrides: &Map<String, Value>) -> Result<Map<String, Value>> {
        let mut merged = self.variables.clone();
        for (key, value) in overrides {
            if !self.variables.contains_key(key) {
                let known: Vec<&String> = self.variables.keys().collect();
                return Err(Error::invalid_field(
                    format!("variables.{key}"),
                    format!(
                        "pipeline {} has no variable {key:?} (known: {known:?})",
                        self.name
                    ),
                ));
            }
            merged.insert(key.clone(), value.clone());
        }
        Ok(merged)
    }

    /// Every block's config with variables substituted and type-checked, in block order.
    pub fn resolve_configs(&self, overrides: &Map<String, Value>) -> Result<Vec<Value>> {
        let variables = self.merge_variables(overrides)?;
        self.blocks
            .iter()
            .map(|b| {
                let at = |msg: String| {
                    Error::invalid(format!("pipeline {}: block {}: {msg}", self.name, b.name))
                };
                let config = substitute(&b.config, &variables, "config").map_err(at)?;
                b.kind.check_config(&config).map_err(|message| {
                    // A bad value that came from a variable is the variable's fault: name it.
                    match variable_behind(&b.config, &message) {
                        Some(var) => at(message).with_field(format!("variables.{var}")),
                        None => at(message),
                    }
                })?;
                Ok(config)
            })
            .collect()
    }

    /// The port `block` gives ([`BlockKind::output_to`] its downstream blocks).
    pub fn output_port(&self, block: &Block) -> Port {
        let downstream: Vec<BlockKind> = (self.blocks.iter())
            .filter(|d| d.upstream.contains(&block.name))
            .map(|d| d.kind)
            .collect();
        block.kind.output_to(&downstream)
    }

    fn check_ports(&self) -> Result<()> {
        for b in &self.blocks {
            let port = self.output_port(b);
            let fans = |field: &str, what: &str| {
                Error::invalid(format!(
                    "pipeline {}: block {}: field {field}: {what}, but a {} block gives {port:?}",
                    self.name,
                    b.name,
                    b.kind.as_str()
                ))
            };
            if b.dynamic && port != Port::Dataset {
                return Err(fans(
                    "dynamic",
                    "a dynamic block fans out over the rows of its table",
                ));
            }
            if b.reduce_output && !matches!(port, Port::Dataset | Port::Empty) {
                return Err(fans("reduce_output", "a reduce concatenates tables"));
            }
            let inputs: Vec<_> = b
                .upstream
                .iter()
                .filter_map(|u| self.block(u))
                .map(|u| self.output_port(u))
                .collect();
            if !b.kind.accepts(&inputs) {
                let wanted = match b.kind {
                    BlockKind::Command | BlockKind::Python | BlockKind::Sensor => {
                        "tables (Dataset) only".to_string()
                    }
                    BlockKind::SqlTransform => "one or more tables (Dataset)".to_string(),
                    kind => format!("{:?}", kind.inputs()),
                };
                return Err(Error::invalid(format!(
                    "pipeline {}: block {}: field upstream: a {} block takes {} but its upstream blocks give {:?}",
                    self.name,
                    b.name,
                    b.kind.as_str(),
                    wanted,
                    inputs
                )));
            }
        }
        Ok(())
    }
}

/// Every `when:` path must start at `variables.<declared>` or at a block upstream of it (directly
/// or not), whose output exists by the time the condition is evaluated.
fn check_conditions(
    blocks: &[Block],
    variables: &Map<String, Value>,
) -> std::result::Result<(), String> {
    let mut ancestors: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for b in blocks {
        let mut mine = BTreeSet::new();
        for up in &b.upstream {
            mine.insert(up.as_str());
            mine.extend(ancestors.get(up.as_str()).into_iter().flatten().copied());
        }
        if let Some(when) = &b.when {
            when.visit_paths(&mut |path| {
                let known = match path[0].as_str() {
                    "variables" => path.get(1).is_some_and(|v| variables.contains_key(v)),
                    root => mine.contains(root),
                };
                if known {
                    Ok(())
                } else {
                    Err(format!(
                        "block {}: field when: {:?} is neither a declared variable (variables.<name>) nor a block upstream of {}",
                        b.name,
                        path.join("."),
                        b.name
                    ))
                }
            })?;
        }
        ancestors.insert(b.name.as_str(), mine);
    }
    Ok(())
}

/// Mark every block named in a `callbacks:` list as a callback of that block: it must exist,
/// take no upstream blocks, feed none, and belong to one block only (it may be in both lists of
/// that block, as a Mage callback file holds both functions).
fn link_callbacks(blocks: &mut [Block]) -> std::result::Result<(), String> {
    let index_of = |blocks: &[Block], name: &str| blocks.iter().position(|b| b.name == name);
    for parent in 0..blocks.len() {
        let callbacks = blocks[parent].callbacks.clone();
        let parent_name = blocks[parent].name.clone();
        for (field, names) in [
            ("on_success", &callbacks.on_success),
            ("on_failure", &callbacks.on_failure),
        ] {
            let at = |msg: String| format!("block {parent_name}: field callbacks.{field}: {msg}");
            for name in names {
                let Some(cb) = index_of(blocks, name) else {
                    let known: Vec<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
                    return Err(at(format!("no block named {name:?} (known: {known:?})")));
                };
                if cb == parent {
                    return Err(at("a block cannot be its own callback".into()));
                }
                match &blocks[cb].callback_of {
                    Some(other) if other != &parent_name => {
                        return Err(at(format!(
                            "{name} is already a callback of {other}; a callback block belongs to one block"
                        )))
                    }
                    _ => blocks[cb].callback_of = Some(parent_name.clone()),
                }
            }
        }
    }
    for b in blocks.iter() {
        let Some(parent) = &b.callback_of else {
            continue;
        };
        let at = |msg: String| format!("block {}: {msg}", b.name);
        if !b.upstream.is_empty() {
            return Err(at(format!(
                "field upstream: a callback block (of {parent}) runs on {parent}'s outcome and takes no upstream blocks"
            )));
        }
        if !b.callbacks.is_empty() {
            return Err(at(
                "field callbacks: a callback block cannot have callbacks of its own".into(),
            ));
        }
        if b.dynamic {
            return Err(at("field dynamic: a callback block cannot fan out".into()));
        }
        if let Some(user) = blocks.iter().find(|d| d.upstream.contains(&b.name)) {
            return Err(format!(
                "block {}: field upstream: {} is a callback block (of {parent}); it feeds no block",
                user.name, b.name
            ));
        }
    }
    Ok(())
}

/// Set each block's fan-out (the dynamic block whose items it runs once per), in topological
/// order: a direct downstream block of a dynamic block is in its fan-out, and so is a block
/// downstream of one that does not reduce. Refuses nested fan-outs, a block in two fan-outs,
/// and a reduce with nothing to gather.
fn link_fan_outs(blocks: &mut [Block]) -> std::result::Result<(), String> {
    for i in 0..blocks.len() {
        let b = &blocks[i];
        let mut fans = BTreeSet::new();
        for up in &b.upstream {
            let u = blocks
                .iter()
                .find(|u| &u.name == up)
                .expect("checked above");
            if u.dynamic {
                fans.insert(u.name.clone());
            } else if let (Some(fan), false) = (&u.fan, u.reduce_output) {
                fans.insert(fan.clone());
            }
        }
        let at = |msg: String| format!("block {}: {msg}", b.name);
        if fans.len() > 1 {
            return Err(at(format!(
                "field upstream: {} is downstream of the fan-outs of {}; gather all but one first (reduce_output: true)",
                b.name,
                fans.iter().cloned().collect::<Vec<_>>().join(" and ")
            )));
        }
        let fan = fans.into_iter().next();
        if let (true, Some(fan)) = (b.dynamic, &fan) {
            return Err(at(format!(
                "field dynamic: {} already runs once per item of {fan}; nested dynamic blocks are not supported (reduce first: reduce_output: true)",
                b.name
            )));
        }
        if b.reduce_output && fan.is_none() {
            return Err(at(format!(
                "field reduce_output: {} has no dynamic block upstream of it whose items it could gather (set dynamic: true on the block that fans out)",
                b.name
            )));
        }
        blocks[i].fan = fan;
    }
    Ok(())
}

/// The variable referenced at the config field a check message names (`field config.rows: …`).
fn variable_behind(config: &Value, message: &str) -> Option<String> {
    let path = message.strip_prefix("field config.")?.split(':').next()?;
    let mut value = config;
    for key in path.split('.') {
        value = value.get(key)?;
    }
    let text = value.as_str()?;
    text.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(str::to_string)
}

pub(crate) fn check_identifier(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 64 characters of a-z, 0-9, _ or -".into())
    }
}

/// Replace every string value that is exactly `${name}` by the variable's value.
fn substitute(
    value: &Value,
    variables: &Map<String, Value>,
    path: &str,
) -> std::result::Result<Value, String> {
    Ok(match value {
        // `${secret.name}` is not a variable: secrets are put in when the block runs.
        Value::String(s) if s.starts_with("${secret.") => value.clone(),
        Value::String(s) => match s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            Some(var) => variables
                .get(var)
                .cloned()
                .ok_or_else(|| format!("field {path}: refers to an undefined variable {var:?}"))?,
            None => value.clone(),
        },
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, variables, &format!("{path}.{k}"))?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| substitute(v, variables, &format!("{path}[{i}]")))
                .collect::<std::result::Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Kahn's algorithm, taking ready blocks in file order; a cycle is reported by its members.
fn topological_order(blocks: Vec<Block>) -> std::result::Result<Vec<Block>, String> {
    let mut pending: BTreeMap<usize, Block> = blocks.into_iter().enumerate().collect();
    let mut done = BTreeSet::new();
    let mut order = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .find(|(_, b)| b.upstream.iter().all(|u| done.contains(u)))
            .map(|(&i, _)| i);
        match ready {
            Some(i) => {
                let block = pending.remove(&i).expect("index taken from the map");
                done.insert(block.name.clone());
                order.push(block);
            }
            None => {
                let stuck: Vec<&str> = pending.values().map(|b| b.name.as_str()).collect();
                return Err(format!(
                    "field upstream: the blocks {stuck:?} are in a cycle or depend on one"
                ));
            }
        }
    }
    Ok(order)
}

/// The blocks run after a block's final outcome: Mage's callback blocks, attached to a block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callbacks {
    /// Run when the block succeeded.
    #[serde(default)]
    pub on_success: Vec<String>,
    /// Run when the block failed (after its retries).
    #[serde(default)]
    pub on_failure: Vec<String>,
}

impl Callbacks {
    /// Whether no callback is attached.
    pub fn is_empty(&self) -> bool {
        self.on_success.is_empty() && self.on_failure.is_empty()
    }
}
