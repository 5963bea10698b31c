//! MLflow 3 logged models (a model's files, logged from a run, before any registration) and the
//! path index that lays MLflow's artifact paths over the content-addressed artifact store.

use super::tracking::{key_values, now_ms, KeyValue, MetricPoint};
use super::TrackingStore;
use crate::error::{Error, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A logged model.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedModel {
    /// `m-<32 hex>`.
    pub id: String,
    /// Its experiment.
    pub experiment_id: i64,
    /// Name given at logging (`model`).
    pub name: String,
    /// The run that logged it.
    pub source_run_id: Option<String>,
    /// LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.
    pub status: String,
    /// Free text.
    pub model_type: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Epoch milliseconds.
    pub last_update_time: i64,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// Params.
    pub params: Vec<KeyValue>,
    /// Metrics its run logged for it.
    pub metrics: Vec<MetricPoint>,
}

impl LoggedModel {
    /// Where its files live, as MLflow clients address them.
    pub fn artifact_uri(&self) -> String {
        format!("mlflow-artifacts:/{}", self.artifact_path())
    }

    /// Its folder in the artifact path index.
    pub fn artifact_path(&self) -> String {
        format!("{}/models/{}/artifacts", self.experiment_id, self.id)
    }
}

/// Statuses a logged model can have.
pub const LOGGED_MODEL_STATUSES: [&str; 3] = [
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];

/// One entry of an artifact folder listing.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactEntry {
    /// Path relative to the listed folder.
    pub path: String,
    /// A folder.
    pub is_dir: bool,
    /// Bytes, for files.
    pub file_size: Option<i64>,
}

const MODEL_COLUMNS: &str =
    "id, experiment_id, name, source_run_id, status, model_type, created_ms, updated_ms";

impl TrackingStore {
    /// Create a logged model (status PENDING) in an existing experiment.
    pub async fn create_logged_model(
        &self,
        experiment_id: i64,
        name: &str,
        source_run_id: Option<&str>,
        model_type: &str,
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<LoggedModel> {
        self.experiment(experiment_id).await?;
        if let Some(run) = source_run_id {
            self.tracking_run_info(run).await?;
        }
        let id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!("INSERT INTO logged_models ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, 'LOGGED_MODEL_PENDING', $5, $6, $6)"))
            .bind(&id)
            .bind(experiment_id)
            .bind(name)
            .bind(source_run_id)
            .bind(model_type)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for (table, pairs) in [("logged_model_params", params), ("logged_model_tags", tags)] {
            for kv in pairs {
                sqlx::query(&format!("INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"))
                    .bind(&id)
                    .bind(&kv.key)
                    .bind(&kv.value)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.logged_model(&id).await
    }

    /// One logged model.
    pub async fn logged_model(&self, id: &str) -> Result<LoggedModel> {
        let row = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS} FROM logged_models WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("Logged model with ID '{id}' not found")))?;
        self.logged_model_from_row(&row).await
    }

    /// Set a logged model's status.
    pub async fn set_logged_model_status(&self, id: &str, status: &str) -> Result<LoggedModel> {
        if !LOGGED_MODEL_STATUSES.contains(&status) {
            return Err(Error::invalid_field(
                "status",
                format!(
                    "unknown logged model status {status:?}: expected one of {}",
                    LOGGED_MODEL_STATUSES.join(", ")
                ),
            ));
        }
        let done =
            sqlx::query("UPDATE logged_models SET status = $2, updated_ms = $3 WHERE id = $1")
                .bind(id)
                .bind(status)
                .bind(now_ms())
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "Logged model with ID '{id}' not found"
            )));
        }
        self.logged_model(id).await
    }

    /// Set tags on a logged model.
    pub async fn set_logged_model_tags(&self, id: &str, tags: &[KeyValue]) -> Result<()> {
        self.logged_model(id).await?;
        for kv in tags {
            sqlx::query("INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(&kv.key)
                .bind(&kv.value)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    /// Logged models of some experiments, newest first, optionally with one name.
    pub async fn search_logged_models(
        &self,
        experiment_ids: &[i64],
        name: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<LoggedModel>> {
        let mut out = Vec::new();
        // Few experiments per search: one query each keeps the SQL static.
        for exp in experiment_ids {
            let rows = sqlx::query(&format!("SELECT {MODEL_COLUMNS} FROM logged_models WHERE experiment_id = $1 ORDER BY created_ms DESC, id"))
                .bind(exp)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                if name.is_some_and(|n| row.try_get::<String, _>("name").ok().as_deref() != Some(n))
                {
                    continue;
                }
                out.push(self.logged_model_from_row(row).await?);
            }
        }
        out.sort_by(|a, b| b.creation_time.cmp(&a.creation_time).then(a.id.cmp(&b.id)));
        Ok(out
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .collect())
    }

    async fn logged_model_from_row(&self, row: &AnyRow) -> Result<LoggedModel> {
        let id: String = row.try_get("id")?;
        let pairs = |table: &'static str| {
            let id = id.clone();
            async move {
                key_values(
                    sqlx::query(&format!(
                        "SELECT key, value FROM {table} WHERE model_id = $1 ORDER BY key"
                    ))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?,
                )
            }
        };
        let metrics = sqlx::query("SELECT DISTINCT key, value, timestamp_ms, step FROM metric_history WHERE model_id = $1 ORDER BY key, step")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(MetricPoint {
                    key: r.try_get("key")?,
                    value: r.try_get("value")?,
                    timestamp: r.try_get("timestamp_ms")?,
                    step: r.try_get("step")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LoggedModel {
            tags: pairs("logged_model_tags").await?,
            params: pairs("logged_model_params").await?,
            metrics,
            experiment_id: row.try_get("experiment_id")?,
            name: row.try_get("name")?,
            source_run_id: row.try_get("source_run_id")?,
            status: row.try_get("status")?,
            model_type: row.try_get("model_type")?,
            creation_time: row.try_get("created_ms")?,
            last_update_time: row.try_get("updated_ms")?,
            id,
        })
    }

    /// Point an artifact path at stored content (the latest write wins).
    pub async fn index_artifact(&self, path: &str, sha: &str, size: i64) -> Result<()> {
        sqlx::query("INSERT INTO artifact_files (path, sha, size, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO UPDATE SET sha = excluded.sha, size = excluded.size, created_ms = excluded.created_ms")
            .bind(path)
            .bind(sha)
            .bind(size)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The content reference of an artifact file, if there is one at `path`.
    pub async fn artifact_file(&self, path: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT sha FROM artifact_files WHERE path = $1")
            .bind(path)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("sha").map_err(Error::from))
            .transpose()
    }

    /// The direct children of folder `dir` (files and sub-folders), by name.
    pub async fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>> {
        let dir = dir.trim_end_matches('/');
        let prefix = format!("{dir}/");
        // Paths are compared by prefix in Rust: LIKE would treat `_` and `%` in names as wildcards.
        let rows = sqlx::query(
            "SELECT path, size FROM artifact_files WHERE path > $1 AND path < $2 ORDER BY path",
        )
        .bind(&prefix)
        .bind(format!("{dir}0")) // '0' is the character after '/'
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<ArtifactEntry> = Vec::new();
        for row in &rows {
            let path: String = row.try_get("path")?;
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((folder, _)) => {
                    if out.last().map(|e| e.path.as_str()) != Some(folder) {
                        out.push(ArtifactEntry {
                            path: folder.to_string(),
                            is_dir: true,
                            file_size: None,
                        });
                    }
                }
                None => out.push(ArtifactEntry {
                    path: rest.to_string(),
                    is_dir: false,
                    file_size: Some(row.try_get("size")?),
                }),
            }
        }
        Ok(out)
    }
}
