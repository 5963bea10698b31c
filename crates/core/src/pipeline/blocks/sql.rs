//! `sql`: a read-only query against the metadata database, or any PostgreSQL (or SQLite)
//! database named by `url`, as a versioned table. A column whose values are all numbers (or
//! NULL) is numeric, any other is text ([`rows_to_table`]).

use super::data::version_table;
use super::output::Output;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::store::ReadOnlySql;
use crate::table::query::{check_select, rows_to_table};
use serde::Deserialize;
use std::sync::Arc;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A `SELECT` (or `WITH … SELECT`) query.
    pub query: String,
    /// Database URL (`postgres://…`); the metadata database when absent or empty.
    #[serde(default)]
    pub url: Option<String>,
    /// The label column, if the result has one.
    #[serde(default)]
    pub label: Option<String>,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        check_select(&self.query)?;
        // A URL holding a secret is checked when the block runs, once the secret is in.
        if let Some(url) =
            (self.url.as_deref()).filter(|u| !u.is_empty() && !u.contains("${secret."))
        {
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                return Err(Error::invalid_field(
                    "url",
                    "expected a postgres:// or sqlite: URL",
                ));
            }
        }
        Ok(())
    }
}

pub(super) async fn run(
    ctx: &BlockContext,
    config: Config,
    _inputs: Vec<Output>,
) -> Result<Output> {
    // Read-only connections: the database refuses any write the query text may hide.
    let rows = match config.url.as_deref().filter(|u| !u.is_empty()) {
        None => ctx.services.sql.fetch_all(&config.query).await?,
        Some(url) => {
            let source = ReadOnlySql::new(url);
            let rows = source.fetch_all(&config.query).await;
            source.close().await;
            rows?
        }
    };
    let table = rows_to_table(&rows)?;
    if let Some(label) = &config.label {
        table
            .column(label)
            .map_err(|e| e.with_field("config.label"))?;
    }
    ctx.log(format!(
        "   Query returned {} rows, {} columns",
        table.rows(),
        table.columns().len()
    ));
    Ok(Output::Dataset(Arc::new(
        version_table(ctx, table, config.label).await?,
    )))
}
