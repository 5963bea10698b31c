//! Registry metadata beside the versions themselves: registered-model descriptions and tags,
//! version descriptions and tags, aliases (`champion` → version 3), and versions registered
//! through MLflow (whose files are MLflow's, not an ironmage model bundle).

use super::tracking::{key_values, now_ms, KeyValue};
use super::versions::{ArtifactRefs, ModelVersion, NewVersion};
use super::RegistryStore;
use crate::clock;
use crate::error::{Error, ErrorCode, Result};
use serde::Serialize;
use sqlx::Row;

/// A registered model's own fields.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RegisteredModel {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Epoch milliseconds.
    pub last_update_time: i64,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// (alias, version).
    pub aliases: Vec<(String, i64)>,
}

/// A version's metadata beyond its registry columns.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct VersionMeta {
    /// Description.
    pub description: String,
    /// Epoch milliseconds of the last change, when changed since registration.
    pub last_update_time: Option<i64>,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// Aliases pointing at it.
    pub aliases: Vec<String>,
}

/// Where a version registered through MLflow came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MlflowSource {
    /// `models:/m-…` or `runs:/<run>/model`.
    pub source: String,
    /// The logged model, when known.
    pub model_id: Option<String>,
}

/// The MLflow model folder written beside a version that a pipeline trained (see
/// [`crate::pyfunc`]), kept in the version's lineage under [`MlflowFolder::LINEAGE_KEY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MlflowFolder {
    /// What MLflow calls it: `runs:/<run>/model`.
    pub source: String,
    /// Its folder in the artifact path index: `<experiment>/<run>/artifacts/model`.
    pub folder: String,
}

impl MlflowFolder {
    /// Its key in a version's lineage. Not `mlflow`, which marks versions registered through
    /// MLflow (whose files are the only model they have).
    pub const LINEAGE_KEY: &'static str = "mlflow_model";

    /// Its lineage entry.
    pub fn lineage(&self) -> serde_json::Value {
        serde_json::json!({"source": self.source, "folder": self.folder})
    }
}

impl ModelVersion {
    /// The MLflow model folder of a version that a pipeline trained; `None` for versions
    /// registered before ironmage wrote such folders, and for versions registered through
    /// MLflow ([`Self::mlflow_source`]).
    pub fn mlflow_folder(&self) -> Option<MlflowFolder> {
        let m = self.lineage.get(MlflowFolder::LINEAGE_KEY)?;
        Some(MlflowFolder {
            source: m.get("source")?.as_str()?.to_string(),
            folder: m.get("folder")?.as_str()?.to_string(),
        })
    }

    /// The MLflow source of a version registered through MLflow; `None` for ironmage's own.
    /// Such a version holds MLflow's files (an MLmodel folder), which the prediction role
    /// serves by flavor (ironmage-flavors).
    pub fn mlflow_source(&self) -> Option<MlflowSource> {
        let m = self.lineage.get("mlflow")?;
        Some(MlflowSource {
            source: m.get("source")?.as_str()?.to_string(),
            model_id: m
                .get("model_id")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        })
    }

    /// Epoch milliseconds of registration.
    pub fn creation_time(&self) -> i64 {
        text_to_ms(&self.created_at)
    }
}

/// RFC 3339 text to epoch milliseconds (0 if unreadable, which a stored time never is).
pub fn text_to_ms(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// Check an alias name: letters, digits, `_` and `-`; not `latest` nor `v<number>`, which
/// name versions in `models:/` URIs.
pub fn check_alias(alias: &str) -> Result<()> {
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].bytes().all(|b| b.is_ascii_digit()));
    if alias.is_empty()
        || alias.len() > 255
        || reserved
        || !alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::invalid_field(
            "alias",
            format!("Invalid alias name: '{alias}'. Aliases use letters, digits, '_' and '-', and cannot be 'latest' or 'v<number>'"),
        ));
    }
    Ok(())
}

fn model_not_found(name: &str) -> Error {
    Error::not_found(format!("Registered Model with name={name} not found"))
}

impl RegistryStore {
    /// Create a registered model with no versions; a taken name is a conflict.
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[KeyValue],
    ) -> Result<RegisteredModel> {
        crate::names::check_model_name(name).map_err(|e| e.with_field("name"))?;
        let now = clock::now();
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query("INSERT INTO registered_models (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3)")
            .bind(name)
            .bind(description)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(Error::from);
        match inserted {
            Err(e) if e.code == ErrorCode::AlreadyExists => {
                return Err(Error::already_exists(format!(
                    "Registered Model (name={name}) already exists."
                )))
            }
            other => other?,
        };
        for tag in tags {
            sqlx::query("INSERT INTO registered_model_tags (model, key, value) VALUES ($1, $2, $3) ON CONFLICT (model, key) DO UPDATE SET value = excluded.value")
                .bind(name).bind(&tag.key).bind(&tag.value)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.registered_model(name).await
    }

    /// A registered model's fields, tags and aliases.
    pub async fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let row = sqlx::query("SELECT name, description, created_at, updated_at FROM registered_models WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| model_not_found(name))?;
        let tags = key_values(
            sqlx::query(
                "SELECT key, value FROM registered_model_tags WHERE model = $1 ORDER BY key",
            )
            .bind(name)
            .fetch_all(&self.pool)
            .await?,
        )?;
        let aliases =
            sqlx::query("SELECT alias, version FROM model_aliases WHERE model = $1 ORDER BY alias")
                .bind(name)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("alias")?, r.try_get("version")?)))
                .collect::<Result<Vec<_>>>()?;
        Ok(RegisteredModel {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            creation_time: text_to_ms(&row.try_get::<String, _>("created_at")?),
            last_update_time: text_to_ms(&row.try_get::<String, _>("updated_at")?),
            tags,
            aliases,
        })
    }

    /// Every registered model name, sorted.
    pub async fn registered_model_names(&self) -> Result<Vec<String>> {
        sqlx::query("SELECT name FROM registered_models ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("name").map_err(Error::from))
            .collect()
    }

    /// Change a registered model's description.
    pub async fn set_model_description(&self, name: &str, description: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE registered_models SET description = $2, updated_at = $3 WHERE name = $1",
        )
        .bind(name)
        .bind(description)
        .bind(clock::now())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(model_not_found(name));
        }
        Ok(())
    }

    /// Set (`Some`) or delete (`None`) a registered-model tag.
    pub async fn set_model_tag(&self, name: &str, key: &str, value: Option<&str>) -> Result<()> {
        self.registered_model(name).await?;
        if key.is_empty() {
            return Err(Error::invalid_field("key", "tag key must not be empty"));
        }
        match value {
            Some(v) => sqlx::query("INSERT INTO registered_model_tags (model, key, value) VALUES ($1, $2, $3) ON CONFLICT (model, key) DO UPDATE SET value = excluded.value")
                .bind(name).bind(key).bind(v)
                .execute(&self.writer).await?,
            None => sqlx::query("DELETE FROM registered_model_tags WHERE model = $1 AND key = $2")
                .bind(name).bind(key)
                .execute(&self.writer).await?,
        };
        Ok(())
    }

    /// Register a version whose files MLflow logged (`source` `models:/m-…` or `runs:/…`).
    /// The source goes into the version's lineage, written with the version in one transaction.
    pub async fn create_mlflow_version(
        &self,
        model: &str,
        source: &str,
        run_id: Option<&str>,
        model_id: Option<&str>,
        run_data: RunData,
    ) -> Result<ModelVersion> {
        if source.is_empty() {
            return Err(Error::invalid_field("source", "source must not be empty"));
        }
        self.registered_model(model).await?;
        let label = format!("v_{}", clock::version_stamp(chrono::Utc::now()));
        self.create_version(NewVersion {
            model: model.to_string(),
            label,
            run_id: run_id.map(str::to_string),
            dataset_version: None,
            // No ironmage bundle: the files are MLflow's, under the logged model's path.
            artifacts: ArtifactRefs {
                model: String::new(),
                scaler: String::new(),
                schema: String::new(),
            },
            metrics: run_data.metrics,
            hyperparameters: run_data.params,
            lineage: serde_json::json!({"mlflow": {"source": source, "run_id": run_id, "model_id": model_id}}),
        })
        .await
    }

    /// A version's description, tags and aliases.
    pub async fn version_meta(&self, model: &str, version: i64) -> Result<VersionMeta> {
        let meta = sqlx::query("SELECT description, updated_ms FROM model_version_meta WHERE model = $1 AND version = $2")
            .bind(model)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        let tags = key_values(
            sqlx::query("SELECT key, value FROM model_version_tags WHERE model = $1 AND version = $2 ORDER BY key")
                .bind(model)
                .bind(version)
                .fetch_all(&self.pool)
                .await?,
        )?;
        let aliases = sqlx::query(
            "SELECT alias FROM model_aliases WHERE model = $1 AND version = $2 ORDER BY alias",
        )
        .bind(model)
        .bind(version)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("alias").map_err(Error::from))
        .collect::<Result<Vec<_>>>()?;
        Ok(VersionMeta {
            description: match &meta {
                Some(r) => r.try_get("description")?,
                None => String::new(),
            },
            last_update_time: meta.as_ref().map(|r| r.try_get("updated_ms")).transpose()?,
            tags,
            aliases,
        })
    }

    /// Change a version's description.
    pub async fn set_version_description(
        &self,
        model: &str,
        version: i64,
        description: &str,
    ) -> Result<()> {
        self.version(model, version).await?;
        sqlx::query("INSERT INTO model_version_meta (model, version, description, updated_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (model, version) DO UPDATE SET description = excluded.description, updated_ms = excluded.updated_ms")
            .bind(model)
            .bind(version)
            .bind(description)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Set (`Some`) or delete (`None`) a version tag.
    pub async fn set_version_tag(
        &self,
        model: &str,
        version: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        self.version(model, version).await?;
        if key.is_empty() {
            return Err(Error::invalid_field("key", "tag key must not be empty"));
        }
        match value {
            Some(v) => sqlx::query("INSERT INTO model_version_tags (model, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (model, version, key) DO UPDATE SET value = excluded.value")
                .bind(model).bind(version).bind(key).bind(v)
                .execute(&self.writer).await?,
            None => sqlx::query("DELETE FROM model_version_tags WHERE model = $1 AND version = $2 AND key = $3")
                .bind(model).bind(version).bind(key)
                .execute(&self.writer).await?,
        };
        Ok(())
    }

    /// Point `alias` at a version (moving it if it pointed elsewhere).
    pub async fn set_alias(&self, model: &str, alias: &str, version: i64) -> Result<()> {
        check_alias(alias)?;
        self.version(model, version).await?;
        sqlx::query("INSERT INTO model_aliases (model, alias, version) VALUES ($1, $2, $3) ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version")
            .bind(model)
            .bind(alias)
            .bind(version)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The version an alias points at.
    pub async fn alias_version(&self, model: &str, alias: &str) -> Result<ModelVersion> {
        self.registered_model(model).await?;
        let row = sqlx::query("SELECT version FROM model_aliases WHERE model = $1 AND alias = $2")
            .bind(model)
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?
            // MLflow answers a missing alias as a bad parameter, not as a missing resource.
            .ok_or_else(|| {
                Error::invalid_field(
                    "alias",
                    format!("Registered model alias {alias} not found."),
                )
            })?;
        self.version(model, row.try_get("version")?).await
    }

    /// Remove an alias (a missing one is not an error, as in MLflow).
    pub async fn delete_alias(&self, model: &str, alias: &str) -> Result<()> {
        self.registered_model(model).await?;
        sqlx::query("DELETE FROM model_aliases WHERE model = $1 AND alias = $2")
            .bind(model)
            .bind(alias)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// What a version registered through MLflow takes from its run, so the registry's gates and
/// comparisons see it like a pipeline-trained version's.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    /// The run's metrics (latest value of each).
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// The run's params, numbers as numbers.
    pub params: serde_json::Map<String, serde_json::Value>,
}
