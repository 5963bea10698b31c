//! The metadata store: everything ironmage knows about runs, datasets, models and predictions.
//!
//! One implementation over sqlx's `Any` driver serves SQLite (embedded default) and PostgreSQL
//! (production topology): the SQL is written once, with `$N` placeholders, text timestamps and
//! JSON as text, and only the migrations differ per backend.

mod approvals;
mod audit;
mod datasets;
mod experiments;
mod gates;
mod leases;
mod logged_models;
mod predictions;
mod read_only;
mod registry;
mod registry_meta;
mod registry_policy;
mod run_control;
mod run_logging;
mod runs;
mod stage_change;
mod tracked_runs;
mod tracking;
mod tracking_search;
mod triggers;
mod version_search;
mod versions;

pub use approvals::{Approval, ApprovalOutcome, ApprovalRequest};
pub use datasets::DatasetRecord;
pub use experiments::{Experiment, ViewType};
pub use gates::{Gate, GateOp};
pub use logged_models::{ArtifactEntry, LoggedModel, LOGGED_MODEL_STATUSES};
pub use predictions::{
    new_prediction_id, to_json_text, Json, PredictionQuery, PredictionRecord, PredictionSummary,
};
pub use read_only::ReadOnlySql;
pub use registry_meta::{
    check_alias, text_to_ms, MlflowFolder, MlflowSource, RegisteredModel, RunData, VersionMeta,
};
pub use registry_policy::{Policy, PolicySettings, DEFAULT_APPROVALS};
pub use run_control::StoredOutput;
pub use runs::{BlockRun, BlockStatus, BlockUpdate, NewRun, Run, RunDetail, RunScope, RunStatus};
pub use stage_change::{Promotion, StageChange, WhenApprovalsNeeded};
pub use tracking::{
    now_ms, KeyValue, MetricPoint, NewTrackingRun, TrackingRun, TrackingRunInfo, RUN_STATUSES,
};
pub use tracking_search::{parse_filter, Clause, Entity, Literal, RunSearch};
pub use triggers::{NewTrigger, Trigger};
pub use versions::{
    ArtifactRefs, Deployment, ModelSummary, ModelVersion, NewVersion, Stage, Transition,
};

use crate::error::{Error, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Handle on the metadata database; cheap to clone. It opens, checks and closes the database;
/// what is stored is reached through one handle per concern ([`Store::runs`],
/// [`Store::registry`], …), so a caller holds only the concern it works on.
///
/// Reads and writes go through separate pools. On SQLite that is what keeps writes from
/// failing under load: the file has one write lock, and a transaction that reads before it
/// writes (`BEGIN` is deferred) cannot wait for it: when another connection committed since
/// its read, SQLite answers `SQLITE_BUSY_SNAPSHOT` ("database is locked") at once, without the
/// busy timeout. A burst of runs lost tracking data to exactly that (issue 13). So on SQLite:
///
/// - every write of this process goes through `writer`, one connection, so writers queue here
///   in order instead of racing for the file lock;
/// - transactions that write begin `IMMEDIATE` (`begin_write`): the write lock is
///   taken at `BEGIN`, under the busy timeout, and nothing inside can then meet a lock. That
///   matters when other processes share the file (roles started separately on one data
///   folder): waiting at `BEGIN` is SQLite's own bounded retry of the whole transaction, 10 s
///   (`busy_timeout`), before anything was done;
/// - the 8 read connections are `query_only`, so a write sent to them by mistake fails at once
///   in the tests instead of contending with the writer. In WAL mode reads never wait for it.
///
/// On PostgreSQL both are the same pool: row locks and MVCC need none of this.
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (and the `sql` loader's queries).
    pool: AnyPool,
    /// Writes: on SQLite one connection of its own, on PostgreSQL `pool` again.
    writer: AnyPool,
    backend: Backend,
    read_only: ReadOnlySql,
}

macro_rules! concern_handles {
    ($($(#[$doc:meta])* $method:ident -> $handle:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug)]
            pub struct $handle {
                /// Reads (a handle that only writes, like the leases', leaves it unread).
                #[allow(dead_code)]
                pool: AnyPool,
                /// Writes (see [`Store`]).
                writer: AnyPool,
                backend: Backend,
            }

            impl $handle {
                /// Begin a transaction that writes; see [`Store`] for why it is `IMMEDIATE` on
                /// SQLite.
                #[allow(dead_code)]
                pub(crate) async fn begin_write(
                    &self,
                ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
                    begin_write(&self.writer, self.backend).await
                }
            }
        )*

        impl Store {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> $handle {
                    $handle {
                        pool: self.pool.clone(),
                        writer: self.writer.clone(),
                        backend: self.backend,
                    }
                }
            )*
        }
    };
}

concern_handles! {
    /// Pipeline runs, their blocks, leases on runs and stored outputs.
    runs -> RunStore;
    /// Named leases (the scheduler's).
    leases -> LeaseStore;
    /// Registered models, versions, stages, the audit log, policies, approvals, deployments.
    registry -> RegistryStore;
    /// Experiments, tracking runs, their params, metrics, tags, logged models and artifacts.
    tracking -> TrackingStore;
    /// Dataset versions.
    datasets -> DatasetStore;
    /// The prediction log.
    predictions -> PredictionStore;
    /// Triggers and their firing state.
    triggers -> TriggerStore;
}

/// Begin a transaction on `writer`: `IMMEDIATE` on SQLite (see [`Store`]).
async fn begin_write(
    writer: &AnyPool,
    backend: Backend,
) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(match backend {
        Backend::Sqlite => writer.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => writer.begin().await?,
    })
}

/// PRAGMAs of every SQLite connection. WAL lets readers (dashboard, prediction) run beside the
/// writer; the busy timeout covers the write lock held by another process and WAL recovery.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";

impl Store {
    /// Connect to `url` (`sqlite://…` or `postgres://…`) and bring the schema up to date.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let open = |max_connections: u32, read_only: bool| {
            AnyPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            if read_only {
                                conn.execute("PRAGMA query_only = ON").await?;
                            }
                        }
                        Ok(())
                    })
                })
                .connect(url)
        };
        let failed = |e: sqlx::Error| {
            Error::internal(format!(
                "cannot open the metadata store at {}: {e}",
                redact(url)
            ))
        };
        let store = match backend {
            Backend::Sqlite => {
                // The writer first: it creates the file and switches it to WAL.
                let writer = open(1, false).await.map_err(failed)?;
                SQLITE_MIGRATIONS.run(&writer).await?;
                let reader = open(8, true).await.map_err(failed)?;
                Store {
                    pool: reader,
                    writer,
                    backend,
                    read_only: ReadOnlySql::new(url),
                }
            }
            Backend::Postgres => {
                let pool = open(16, false).await.map_err(failed)?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Store {
                    writer: pool.clone(),
                    pool,
                    backend,
                    read_only: ReadOnlySql::new(url),
                }
            }
        };
        Ok(store)
    }

    /// Read-only queries on this database, on connections of their own (the `sql` block's).
    pub fn read_only(&self) -> ReadOnlySql {
        self.read_only.clone()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close every connection (graceful shutdown). The writer last: on SQLite the last
    /// connection to close checkpoints the WAL into the database file.
    pub async fn close(&self) {
        self.read_only.close().await;
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::invalid_field(
                "DATABASE_URL",
                format!(
                    "unsupported scheme in {}: expected sqlite:// or postgres://",
                    redact(url)
                ),
            ))
        }
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Read a JSON text column into a value.
fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("column {column} holds invalid json: {e}")))
}

fn opt_json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| Error::internal(format!("column {column} holds invalid json: {e}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
