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
mod tracking;
mod tracking_search;
mod triggers;
mod versions;

pub use approvals::{Approval, ApprovalOutcome, ApprovalRequest};
pub use datasets::DatasetRecord;
pub use experiments::{Experiment, ViewType};
pub use gates::{Gate, GateOp};
pub use logged_models::{ArtifactEntry, LoggedModel, LOGGED_MODEL_STATUSES};
pub use predictions::{to_json_text, Json, PredictionRecord, PredictionSummary};
pub use read_only::ReadOnlySql;
pub use registry_meta::{check_alias, text_to_ms, MlflowSource, RegisteredModel, VersionMeta};
pub use registry_policy::{Policy, PolicySettings, DEFAULT_APPROVALS};
pub use run_control::StoredOutput;
pub use runs::{BlockRun, BlockStatus, BlockUpdate, NewRun, Run, RunDetail, RunStatus};
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
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    read_only: ReadOnlySql,
}

macro_rules! concern_handles {
    ($($(#[$doc:meta])* $method:ident -> $handle:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug)]
            pub struct $handle {
                pool: AnyPool,
            }
        )*

        impl Store {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> $handle {
                    $handle { pool: self.pool.clone() }
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

impl Store {
    /// Connect to `url` (`sqlite://…` or `postgres://…`) and bring the schema up to date.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(backend.max_connections())
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (dashboard, prediction) run beside the one writer.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|e| Error::internal(format!("cannot open the metadata store at {}: {e}", redact(url))))?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Store {
            pool,
            read_only: ReadOnlySql::new(url),
        })
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

    /// Close every connection (graceful shutdown).
    pub async fn close(&self) {
        self.read_only.close().await;
        self.pool.close().await;
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

    fn max_connections(self) -> u32 {
        match self {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
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
