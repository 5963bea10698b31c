//! MLflow's `model-versions/search` as one SQL query: the filter (`name`, `run_id`,
//! `tag.<key>`, with `=`, `!=`, `LIKE`, `ILIKE`) becomes the WHERE clause and the page its
//! LIMIT/OFFSET, and the page's descriptions, tags and aliases are read in three more queries,
//! whatever the page's size. (It was one query per model and three per version, in memory.)

use super::registry_meta::VersionMeta;
use super::tracking::key_values;
use super::tracking_search::{parse_filter, Clause, Entity, Literal};
use super::versions::{version_from_row, ModelVersion, VERSION_COLUMNS};
use super::RegistryStore;
use crate::error::{Error, Result};
use sqlx::Row;
use std::collections::HashMap;

impl RegistryStore {
    /// The live versions matching an MLflow `filter`, ordered by model name and then newest
    /// first, `limit` of them from `offset`, each with its meta; and whether more follow.
    pub async fn search_versions(
        &self,
        filter: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<(ModelVersion, VersionMeta)>, bool)> {
        let clauses = parse_filter(filter)?;
        let mut binds: Vec<String> = Vec::new();
        let mut conditions = vec!["v.deleted_at IS NULL".to_string()];
        for clause in &clauses {
            conditions.push(condition(clause, &mut binds)?);
        }
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE {} ORDER BY v.model, v.version DESC LIMIT {} OFFSET {}",
            conditions.join(" AND "),
            // One more than the page tells whether another page follows.
            limit + 1,
            offset
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        let versions = rows
            .iter()
            .take(limit as usize)
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        let mut metas = self.metas_of(&versions).await?;
        let page = versions
            .into_iter()
            .map(|v| {
                let meta = metas
                    .remove(&(v.model.clone(), v.version))
                    .unwrap_or_default();
                (v, meta)
            })
            .collect();
        Ok((page, more))
    }

    /// Descriptions, tags and aliases of `versions`, in three queries over their models.
    async fn metas_of(
        &self,
        versions: &[ModelVersion],
    ) -> Result<HashMap<(String, i64), VersionMeta>> {
        let mut models: Vec<&str> = versions.iter().map(|v| v.model.as_str()).collect();
        models.sort_unstable();
        models.dedup();
        let mut metas: HashMap<(String, i64), VersionMeta> = versions
            .iter()
            .map(|v| ((v.model.clone(), v.version), VersionMeta::default()))
            .collect();
        if models.is_empty() {
            return Ok(metas);
        }
        let list = (1..=models.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let fetch = |sql: String| {
            let models = models.clone();
            let pool = self.pool.clone();
            async move {
                let mut query = sqlx::query(&sql);
                for m in &models {
                    query = query.bind(*m);
                }
                query.fetch_all(&pool).await
            }
        };
        for row in fetch(format!(
            "SELECT model, version, description, updated_ms FROM model_version_meta WHERE model IN ({list})"
        ))
        .await?
        {
            let key = (row.try_get("model")?, row.try_get("version")?);
            if let Some(meta) = metas.get_mut(&key) {
                meta.description = row.try_get("description")?;
                meta.last_update_time = Some(row.try_get("updated_ms")?);
            }
        }
        let tag_rows = fetch(format!(
            "SELECT model, version, key, value FROM model_version_tags WHERE model IN ({list}) ORDER BY key"
        ))
        .await?;
        let mut tags: HashMap<(String, i64), Vec<sqlx::any::AnyRow>> = HashMap::new();
        for row in tag_rows {
            let key = (row.try_get("model")?, row.try_get("version")?);
            tags.entry(key).or_default().push(row);
        }
        for (key, rows) in tags {
            if let Some(meta) = metas.get_mut(&key) {
                meta.tags = key_values(rows)?;
            }
        }
        for row in fetch(format!(
            "SELECT model, version, alias FROM model_aliases WHERE model IN ({list}) ORDER BY alias"
        ))
        .await?
        {
            let key = (row.try_get("model")?, row.try_get("version")?);
            if let Some(meta) = metas.get_mut(&key) {
                meta.aliases.push(row.try_get("alias")?);
            }
        }
        Ok(metas)
    }
}

/// One clause as SQL over `model_versions v`, its values appended to `binds`.
fn condition(clause: &Clause, binds: &mut Vec<String>) -> Result<String> {
    let Literal::Text(want) = &clause.value else {
        return Err(Error::invalid_field(
            "filter",
            "compare names, run ids and tags with quoted strings",
        ));
    };
    let ci = clause.op == "ILIKE";
    let op = match clause.op.as_str() {
        "=" | "!=" | "LIKE" => clause.op.as_str(),
        "ILIKE" => "LIKE",
        other => {
            return Err(Error::invalid_field(
                "filter",
                format!("unsupported comparator {other:?} for names, run ids and tags"),
            ))
        }
    };
    binds.push(if ci {
        want.to_lowercase()
    } else {
        want.clone()
    });
    let value = format!("${}", binds.len());
    let lower = |column: &str| {
        if ci {
            format!("LOWER({column})")
        } else {
            column.to_string()
        }
    };
    Ok(match &clause.entity {
        Entity::Attribute(a) if a == "name" => format!("{} {op} {value}", lower("v.model")),
        // A version without a run differs from every run id.
        Entity::Attribute(a) if a == "run_id" && op == "!=" => {
            format!("(v.run_id IS NULL OR v.run_id != {value})")
        }
        Entity::Attribute(a) if a == "run_id" => format!("{} {op} {value}", lower("v.run_id")),
        // A version without the tag matches `!=`, as MLflow's does.
        Entity::Tag(key) if op == "!=" => {
            binds.push(key.clone());
            format!(
                "NOT EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model = v.model AND t.version = v.version AND t.key = ${} AND t.value = {value})",
                binds.len()
            )
        }
        Entity::Tag(key) => {
            binds.push(key.clone());
            format!(
                "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model = v.model AND t.version = v.version AND t.key = ${} AND {} {op} {value})",
                binds.len(),
                lower("t.value")
            )
        }
        other => {
            return Err(Error::invalid_field(
                "filter",
                format!("unsupported filter on {other:?}: use name, run_id or tag.<key>"),
            ))
        }
    })
}
