//! `sql`: a read-only query against the metadata database, or any PostgreSQL (or SQLite)
//! database named by `url`, as a versioned table. A column whose values are all numbers (or
//! NULL) is numeric, any other is text.

use super::data::version_table;
use super::output::Output;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::store::ReadOnlySql;
use crate::table::{Column, Table};
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::{Column as _, Row};
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
        let first = self
            .query
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if first != "select" && first != "with" {
            return Err(Error::invalid_field(
                "query",
                "must be a SELECT (or WITH … SELECT) query",
            ));
        }
        if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty()) {
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

/// One value as the table wants it.
enum Cell {
    Number(f64),
    Text(String),
    Null,
}

fn cell(row: &AnyRow, i: usize) -> Cell {
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Number);
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(v as f64));
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(f64::from(v)));
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(f64::from(u8::from(v))));
    }
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => v.map_or(Cell::Null, Cell::Text),
        Err(_) => Cell::Null,
    }
}

fn to_table(rows: &[AnyRow]) -> Result<Table> {
    let Some(first) = rows.first() else {
        return Err(Error::invalid_field("query", "the query returned no row"));
    };
    let columns = first
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cells: Vec<Cell> = rows.iter().map(|r| cell(r, i)).collect();
            let numeric = cells.iter().all(|c| !matches!(c, Cell::Text(_)));
            if numeric {
                let values = cells
                    .iter()
                    .map(|c| {
                        if let Cell::Number(v) = c {
                            *v
                        } else {
                            f64::NAN
                        }
                    })
                    .collect();
                Column::number(c.name(), values)
            } else {
                let values = cells
                    .into_iter()
                    .map(|c| match c {
                        Cell::Number(v) => Some(v.to_string()),
                        Cell::Text(t) => Some(t),
                        Cell::Null => None,
                    })
                    .collect();
                Column::text(c.name(), values)
            }
        })
        .collect();
    Table::new(columns)
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
    let table = to_table(&rows)?;
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
