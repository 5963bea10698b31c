//! `sql_transform`: a `SELECT` over the upstream blocks' tables, as Mage's SQL blocks do.
//!
//! Each upstream table is addressable by its block's name, and by Mage's positional names
//! `df_1`, `df_2`, … in upstream order. The query runs on a private in-memory SQLite database
//! that holds only copies of those tables ([`crate::table::query`] says why SQLite), and its
//! result is the block's table, fingerprinted and versioned like any loaded dataset.

use super::data::{version_table, VersionedDataset};
use super::output::Output;
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::table::query::{check_select, query_tables};
use crate::table::Table;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

/// The block's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A `SELECT` (or `WITH … SELECT`) over the upstream tables.
    pub query: String,
    /// The label column of the result (default: the upstream label, if the result has it).
    #[serde(default)]
    pub label: Option<String>,
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        check_select(&self.query)
    }
}

pub(super) async fn run(ctx: &BlockContext, config: Config, inputs: Vec<Output>) -> Result<Output> {
    let upstream = ctx.upstream_names();
    let mut named: Vec<(String, Arc<VersionedDataset>)> = Vec::new();
    for (name, output) in upstream.iter().zip(inputs) {
        // Upstream `noop` blocks only order the query.
        let Output::Dataset(data) = output else {
            continue;
        };
        if data.test.is_some() {
            return Err(Error::invalid(format!(
                "upstream block {name:?} gives a split table: put the sql_transform before the split"
            )));
        }
        named.push((name.clone(), data));
    }
    if named.is_empty() {
        return Err(Error::invalid(
            "sql_transform needs at least one upstream block that gives a table",
        ));
    }
    let positional: Vec<String> = (1..=named.len()).map(|i| format!("df_{i}")).collect();
    let mut tables: Vec<(&str, &Table)> = Vec::new();
    for (i, (name, data)) in named.iter().enumerate() {
        tables.push((name, &data.train));
        if !named.iter().any(|(n, _)| n == &positional[i]) {
            tables.push((&positional[i], &data.train));
        }
    }
    let started = Instant::now();
    let table = query_tables(&tables, &config.query)
        .await
        .map_err(|e| match e.field {
            Some(_) => e.with_field("config.query"),
            None => e,
        })?;
    ctx.log(format!(
        "   Query over {} returned {} rows, {} columns in {:.1} ms",
        named
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        table.rows(),
        table.columns().len(),
        started.elapsed().as_secs_f64() * 1e3
    ));
    let label = match config.label {
        Some(label) => {
            table
                .column(&label)
                .map_err(|e| e.with_field("config.label"))?;
            Some(label)
        }
        None => named
            .iter()
            .filter_map(|(_, d)| d.label.clone())
            .find(|l| table.column(l).is_ok()),
    };
    Ok(Output::Dataset(Arc::new(
        version_table(ctx, table, label).await?,
    )))
}
