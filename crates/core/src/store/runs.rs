//! Pipeline runs and their block runs: the truth about what ran, where, and how it ended.

use super::{json_column, opt_json_column, RunStore};
use crate::clock;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Life cycle of a run: queued → running → success | failed | cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for an executor.
    Queued,
    /// Held by an executor.
    Running,
    /// Every block succeeded or was skipped.
    Success,
    /// A block failed after its retries.
    Failed,
    /// Stopped on request.
    Cancelled,
}

/// Life cycle of a block within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlockStatus {
    /// Not started.
    Pending,
    /// Running now.
    Running,
    /// Finished with an output.
    Success,
    /// Failed after its retries.
    Failed,
    /// Not run because a condition did not hold.
    Skipped,
    /// Not run because an upstream block failed.
    UpstreamFailed,
    /// Stopped because the run was cancelled.
    Cancelled,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The stored text of this value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            /// Parse the stored text.
            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    other => Err(Error::internal(format!("unknown {} {other:?}", stringify!($ty)))),
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(RunStatus { Queued => "queued", Running => "running", Success => "success", Failed => "failed", Cancelled => "cancelled" });
text_enum!(BlockStatus { Pending => "pending", Running => "running", Success => "success", Failed => "failed", Skipped => "skipped", UpstreamFailed => "upstream_failed", Cancelled => "cancelled" });

/// What a caller gives to create a run.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Pipeline name.
    pub pipeline: String,
    /// What started it: `api`, `cli`, `demo`, a trigger id…
    pub trigger: String,
    /// Variables, merged over the pipeline's defaults at run time.
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// The blocks, in execution order, as (name, kind).
    pub blocks: Vec<(String, String)>,
    /// The failed run this one re-runs from its failed block.
    pub rerun_of: Option<String>,
    /// The blocks it is limited to; `None` runs the whole pipeline.
    pub scope: Option<RunScope>,
}

/// The blocks a run is limited to, as Mage's `--block-uuid`: one block alone, or a block and
/// every block downstream of it. The blocks feeding them do not run: their outputs are the
/// stored ones of the newest run in which they succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(tag = "mode", content = "block", rename_all = "snake_case")]
pub enum RunScope {
    /// Only this block runs.
    Block(String),
    /// This block and every block downstream of it run.
    FromBlock(String),
}

impl RunScope {
    /// The scope the request fields `block` and `from_block` ask for (at most one of them).
    pub fn from_fields(block: Option<String>, from_block: Option<String>) -> Result<Option<Self>> {
        match (block, from_block) {
            (Some(_), Some(_)) => Err(Error::invalid_field(
                "from_block",
                "from_block: give either block (run one block alone) or from_block (run a block and its downstream), not both",
            )),
            (Some(block), None) => Ok(Some(RunScope::Block(block))),
            (None, Some(block)) => Ok(Some(RunScope::FromBlock(block))),
            (None, None) => Ok(None),
        }
    }

    /// The request field (and stored mode) of this scope: `block` or `from_block`.
    pub fn field(&self) -> &'static str {
        match self {
            RunScope::Block(_) => "block",
            RunScope::FromBlock(_) => "from_block",
        }
    }

    /// The block it names.
    pub fn block(&self) -> &str {
        match self {
            RunScope::Block(block) | RunScope::FromBlock(block) => block,
        }
    }

    /// The scope stored as (mode, block).
    fn from_columns(mode: Option<String>, block: Option<String>) -> Result<Option<Self>> {
        match (mode.as_deref(), block) {
            (None, _) => Ok(None),
            (Some("block"), Some(block)) => Ok(Some(RunScope::Block(block))),
            (Some("from_block"), Some(block)) => Ok(Some(RunScope::FromBlock(block))),
            (Some(other), _) => Err(Error::internal(format!("unknown run scope {other:?}"))),
        }
    }
}

/// One pipeline run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Run {
    /// Run id (32 hex digits).
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// What started it.
    pub trigger: String,
    /// Variables given for this run.
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// Current status.
    pub status: RunStatus,
    /// Executor holding it while running.
    pub holder: Option<String>,
    /// Last heartbeat of the holder.
    pub heartbeat_at: Option<String>,
    /// When it was queued.
    pub created_at: String,
    /// When an executor started it.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// What it produced: data version, model version, metrics, deployment.
    pub summary: serde_json::Value,
    /// The failed run this one re-runs.
    pub rerun_of: Option<String>,
    /// Whether a cancel was asked for while it ran.
    pub cancel_requested: bool,
    /// The blocks it is limited to (`null`: the whole pipeline).
    pub scope: Option<RunScope>,
}

/// One block of one run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct BlockRun {
    /// Block name.
    pub block: String,
    /// Position in execution order.
    pub position: i64,
    /// Block kind.
    pub kind: String,
    /// Current status.
    pub status: BlockStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// Start of the last attempt.
    pub started_at: Option<String>,
    /// End of the last attempt.
    pub ended_at: Option<String>,
    /// Error of the last failed attempt.
    pub error: Option<String>,
    /// Log lines (left out of run lists).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    /// A small preview of the output (left out of run lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<serde_json::Value>,
    /// What the output was computed from (see [`BlockUpdate::fingerprint`]).
    #[serde(skip)]
    pub fingerprint: Option<String>,
    /// Where the output is stored.
    #[serde(skip)]
    pub output_ref: Option<String>,
    /// For one item's run of a block in a fan-out (`name:3`), that block; for a callback
    /// block, the block whose outcome it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// For one item's run of a block in a fan-out, the item's index (from 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<i64>,
}

/// A run with its blocks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its blocks in execution order.
    pub blocks: Vec<BlockRun>,
}

/// A change to a block run's record.
#[derive(Debug, Clone)]
pub struct BlockUpdate {
    /// New status.
    pub status: BlockStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// Start of the last attempt.
    pub started_at: Option<String>,
    /// End of the last attempt.
    pub ended_at: Option<String>,
    /// Error of the last failed attempt.
    pub error: Option<String>,
    /// All log lines so far.
    pub logs: Vec<String>,
    /// Output preview.
    pub preview: Option<serde_json::Value>,
    /// SHA-256 of the block's kind, resolved config and upstream fingerprints.
    pub fingerprint: Option<String>,
    /// Artifact holding the encoded output, kept to re-run a failed run from its failed block.
    pub output_ref: Option<String>,
}

const RUN_COLUMNS: &str = "id, pipeline, trigger, variables, status, holder, heartbeat_at, created_at, started_at, ended_at, error, summary, rerun_of, cancel_requested, scope, scope_block";
const BLOCK_COLUMNS: &str = "block, position, kind, status, attempts, started_at, ended_at, error, logs, preview, fingerprint, output_ref, parent, item";

impl RunStore {
    /// Record a new queued run with its blocks pending, atomically.
    pub async fn create_run(&self, new: NewRun) -> Result<Run> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut tx = self.begin_write().await?;
        insert_run(&mut tx, &id, new).await?;
        tx.commit().await?;
        self.run(&id).await
    }

    /// Move a queued run to running for `holder`. `None` when it is not queued any more
    /// (another executor took it, or it was cancelled): the caller must not run it.
    pub async fn claim_run(&self, id: &str, holder: &str) -> Result<Option<Run>> {
        let now = clock::now();
        let row = sqlx::query(&format!("UPDATE runs SET status = 'running', holder = $2, started_at = $3, heartbeat_at = $3 WHERE id = $1 AND status = 'queued' RETURNING {RUN_COLUMNS}"))
            .bind(id)
            .bind(holder)
            .bind(&now)
            .fetch_optional(&self.writer)
            .await?;
        if row.is_some() {
            // A run given back by a dead executor starts again from a clean slate.
            sqlx::query("UPDATE block_runs SET status = 'pending', attempts = 0, started_at = NULL, ended_at = NULL, error = NULL, logs = '', preview = NULL, fingerprint = NULL, output_ref = NULL, parent = NULL WHERE run_id = $1")
                .bind(id)
                .execute(&self.writer)
                .await?;
            // The items of a fan-out are counted again when it runs again.
            sqlx::query("DELETE FROM block_runs WHERE run_id = $1 AND item IS NOT NULL")
                .bind(id)
                .execute(&self.writer)
                .await?;
        }
        row.as_ref().map(run_from_row).transpose()
    }

    /// Renew the holder's lease on a running run: `None` if it no longer holds it, else whether
    /// a cancel was asked for.
    pub async fn heartbeat(&self, id: &str, holder: &str) -> Result<Option<bool>> {
        let row = sqlx::query("UPDATE runs SET heartbeat_at = $3 WHERE id = $1 AND holder = $2 AND status = 'running' RETURNING cancel_requested")
            .bind(id)
            .bind(holder)
            .bind(clock::now())
            .fetch_optional(&self.writer)
            .await?;
        row.map(|r| Ok(r.try_get::<i64, _>("cancel_requested")? != 0))
            .transpose()
    }

    /// End a running run held by `holder`; false if it was not (so it ends exactly once).
    pub async fn finish_run(
        &self,
        id: &str,
        holder: &str,
        status: RunStatus,
        error: Option<&str>,
        summary: &serde_json::Value,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE runs SET status = $3, error = $4, summary = $5, ended_at = $6 WHERE id = $1 AND holder = $2 AND status = 'running'")
            .bind(id)
            .bind(holder)
            .bind(status.as_str())
            .bind(error)
            .bind(summary.to_string())
            .bind(clock::now())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Write a block run's current state.
    pub async fn update_block(
        &self,
        run_id: &str,
        block: &str,
        update: &BlockUpdate,
    ) -> Result<()> {
        sqlx::query("UPDATE block_runs SET status = $3, attempts = $4, started_at = $5, ended_at = $6, error = $7, logs = $8, preview = $9, fingerprint = $10, output_ref = $11 WHERE run_id = $1 AND block = $2")
            .bind(run_id)
            .bind(block)
            .bind(update.status.as_str())
            .bind(update.attempts)
            .bind(update.started_at.as_deref())
            .bind(update.ended_at.as_deref())
            .bind(update.error.as_deref())
            .bind(update.logs.join("\n"))
            .bind(update.preview.as_ref().map(|p| p.to_string()))
            .bind(update.fingerprint.as_deref())
            .bind(update.output_ref.as_deref())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Record the pending runs of `block` (at `position`, of `kind`) for each of `items`
    /// items of a fan-out, named `block:0`, `block:1`, …
    pub async fn add_item_runs(
        &self,
        run_id: &str,
        block: &str,
        position: i64,
        kind: &str,
        items: usize,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for item in 0..items {
            sqlx::query("INSERT INTO block_runs (run_id, block, position, kind, status, parent, item) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(run_id)
                .bind(format!("{block}:{item}"))
                .bind(position)
                .bind(kind)
                .bind(BlockStatus::Pending.as_str())
                .bind(block)
                .bind(item as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Record which block's outcome a callback block runs on.
    pub async fn set_block_parent(&self, run_id: &str, block: &str, parent: &str) -> Result<()> {
        sqlx::query("UPDATE block_runs SET parent = $3 WHERE run_id = $1 AND block = $2")
            .bind(run_id)
            .bind(block)
            .bind(parent)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// One run, without blocks.
    pub async fn run(&self, id: &str) -> Result<Run> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found(format!("run {id:?} not found")))?;
        run_from_row(&row)
    }

    /// One run with its blocks.
    pub async fn run_detail(&self, id: &str) -> Result<RunDetail> {
        let run = self.run(id).await?;
        let blocks = self.block_runs(id).await?;
        Ok(RunDetail { run, blocks })
    }

    /// The blocks of a run in execution order, with their logs and previews.
    pub async fn block_runs(&self, run_id: &str) -> Result<Vec<BlockRun>> {
        let rows = sqlx::query(&format!(
            "SELECT {BLOCK_COLUMNS} FROM block_runs WHERE run_id = $1 ORDER BY position, COALESCE(item, -1)"
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_from_row).collect()
    }

    /// The newest runs first, optionally of one pipeline, with their blocks' statuses (not
    /// their logs and previews: [`RunStore::run_detail`] has those). Two queries for up to 1000
    /// runs: the runs, then the blocks of exactly those runs (not of "the newest N" again: a
    /// run created in between would push the oldest listed run out, which would come without
    /// its blocks).
    pub async fn list_runs(&self, pipeline: Option<&str>, limit: i64) -> Result<Vec<RunDetail>> {
        // Far below SQLite's (32766) and PostgreSQL's (65535) bound-parameter limits.
        const IDS_PER_STATEMENT: usize = 1000;
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1 IS NULL OR pipeline = $1) ORDER BY created_at DESC, id LIMIT $2"
        ))
        .bind(pipeline)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let runs = rows.iter().map(run_from_row).collect::<Result<Vec<_>>>()?;
        let mut blocks: std::collections::HashMap<String, Vec<BlockRun>> =
            std::collections::HashMap::new();
        for chunk in runs.chunks(IDS_PER_STATEMENT) {
            let placeholders = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT run_id, block, position, kind, status, attempts, started_at, ended_at, error, '' AS logs, NULL AS preview, fingerprint, output_ref, parent, item \
                 FROM block_runs WHERE run_id IN ({placeholders}) ORDER BY run_id, position, COALESCE(item, -1)"
            );
            let mut query = sqlx::query(&sql);
            for run in chunk {
                query = query.bind(&run.id);
            }
            for row in &query.fetch_all(&self.pool).await? {
                blocks
                    .entry(row.try_get("run_id")?)
                    .or_default()
                    .push(block_from_row(row)?);
            }
        }
        Ok(runs
            .into_iter()
            .map(|run| {
                let blocks = blocks.remove(&run.id).unwrap_or_default();
                RunDetail { run, blocks }
            })
            .collect())
    }

    /// Ids of queued runs, oldest first (to re-enqueue after a restart or a lost queue).
    pub async fn queued_run_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM runs WHERE status = 'queued' ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        ids(&rows)
    }

    /// Ids of runs queued before `cutoff`, oldest first.
    pub async fn queued_run_ids_before(&self, cutoff: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM runs WHERE status = 'queued' AND created_at < $1 ORDER BY created_at",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    /// Put back to queued every running run whose holder's heartbeat is older than `cutoff`
    /// (its executor died); returns their ids.
    pub async fn requeue_stale(&self, cutoff: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("UPDATE runs SET status = 'queued', holder = NULL WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < $1) RETURNING id")
            .bind(cutoff)
            .fetch_all(&self.writer)
            .await?;
        ids(&rows)
    }
}

/// Insert a queued run `id` and its pending blocks inside `tx`.
pub(super) async fn insert_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    new: NewRun,
) -> Result<()> {
    sqlx::query("INSERT INTO runs (id, pipeline, trigger, variables, status, created_at, summary, rerun_of, scope, scope_block) VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8, $9)")
        .bind(id)
        .bind(&new.pipeline)
        .bind(&new.trigger)
        .bind(serde_json::Value::Object(new.variables).to_string())
        .bind(RunStatus::Queued.as_str())
        .bind(clock::now())
        .bind(new.rerun_of.as_deref())
        .bind(new.scope.as_ref().map(RunScope::field))
        .bind(new.scope.as_ref().map(RunScope::block))
        .execute(&mut **tx)
        .await?;
    for (position, (block, kind)) in new.blocks.iter().enumerate() {
        sqlx::query("INSERT INTO block_runs (run_id, block, position, kind, status) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(block)
            .bind(position as i64)
            .bind(kind)
            .bind(BlockStatus::Pending.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The `id` column of each row.
fn ids(rows: &[AnyRow]) -> Result<Vec<String>> {
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("id")?))
        .collect()
}

fn run_from_row(row: &AnyRow) -> Result<Run> {
    Ok(Run {
        id: row.try_get("id")?,
        pipeline: row.try_get("pipeline")?,
        trigger: row.try_get("trigger")?,
        variables: json_column(row, "variables")?,
        status: RunStatus::parse(&row.try_get::<String, _>("status")?)?,
        holder: row.try_get("holder")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        error: row.try_get("error")?,
        summary: json_column(row, "summary")?,
        rerun_of: row.try_get("rerun_of")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        scope: RunScope::from_columns(row.try_get("scope")?, row.try_get("scope_block")?)?,
    })
}

fn block_from_row(row: &AnyRow) -> Result<BlockRun> {
    let logs: String = row.try_get("logs")?;
    Ok(BlockRun {
        block: row.try_get("block")?,
        position: row.try_get("position")?,
        kind: row.try_get("kind")?,
        status: BlockStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        error: row.try_get("error")?,
        logs: if logs.is_empty() {
            Vec::new()
        } else {
            logs.lines().map(str::to_string).collect()
        },
        preview: opt_json_column(row, "preview")?,
        fingerprint: row.try_get("fingerprint")?,
        output_ref: row.try_get("output_ref")?,
        parent: row.try_get("parent")?,
        item: row.try_get("item")?,
    })
}
