//! Loaders: blocks with no upstream that produce a versioned table (fingerprinted, recorded
//! as a `data_v_…` dataset version, a reused version when the same data was seen before).

use super::data::version_table;
use super::output::Output;
use crate::error::Result;
use crate::pipeline::context::BlockContext;
use crate::table::{Column, Table};
use std::sync::Arc;

/// `synthetic_churn`: the demo's customers.
pub(super) mod synthetic_churn {
    use super::*;
    use crate::synthetic::{churn_customers, ChurnSpec};

    /// The block's config.
    pub type Config = ChurnSpec;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        _inputs: Vec<Output>,
    ) -> Result<Output> {
        let table = ctx
            .blocking(move || {
                let data = churn_customers(&config)?;
                let label = data.labels.iter().map(|&l| l as f64).collect();
                Table::from_matrix(
                    &data.feature_names,
                    &data.features,
                    Some(Column::number(data.label_name.clone(), label)),
                )
            })
            .await?;
        let label = Some(crate::synthetic::CHURN_LABEL.to_string());
        Ok(Output::Dataset(Arc::new(
            version_table(ctx, table, label).await?,
        )))
    }
}

/// `synthetic_credit`: borrowers with the Give Me Some Credit columns, or the real
/// `cs-training.csv` when `csv_path` is set (its unnamed index column is dropped).
pub(super) mod synthetic_credit {
    use super::*;
    use crate::error::Error;
    use crate::synthetic_tables::{credit_borrowers, TableSpec, CREDIT_COLUMNS, CREDIT_LABEL};
    use serde::Deserialize;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Rows to generate.
        #[serde(default = "default_rows")]
        pub rows: usize,
        /// Seed of the generator.
        #[serde(default = "default_seed")]
        pub seed: u64,
        /// A CSV with the Kaggle columns to load instead (empty: generate).
        #[serde(default)]
        pub csv_path: String,
    }

    fn default_rows() -> usize {
        5000
    }
    fn default_seed() -> u64 {
        42
    }

    impl Config {
        fn spec(&self) -> TableSpec {
            TableSpec {
                rows: self.rows,
                seed: self.seed,
            }
        }

        pub(in super::super) fn validate(&self) -> Result<()> {
            self.spec().validate()
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        _inputs: Vec<Output>,
    ) -> Result<Output> {
        let table = if config.csv_path.trim().is_empty() {
            let spec = config.spec();
            ctx.blocking(move || credit_borrowers(&spec)).await?
        } else {
            let path = ctx.services.project_root.join(&config.csv_path);
            let shown = config.csv_path.clone();
            ctx.log(format!("   Reading {shown}"));
            ctx.blocking(move || {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::invalid_field("csv_path", format!("cannot read {}: {e}", path.display()))
                })?;
                // Kaggle's file starts with an unnamed row-index column.
                let text = match text.strip_prefix(',') {
                    Some(rest) => format!("Id,{rest}"),
                    None => text,
                };
                let table = crate::table::parse_csv(&text, &shown)?;
                let keep: Vec<String> = CREDIT_COLUMNS.iter().map(|c| c.to_string()).collect();
                crate::table::steps::FittedStep::Select { columns: keep }
                    .apply(&table)
                    .map_err(|e| {
                        Error::invalid_field(
                            "csv_path",
                            format!("{shown} lacks a Give Me Some Credit column: {}", e.message),
                        )
                    })
            })
            .await?
        };
        Ok(Output::Dataset(Arc::new(
            version_table(ctx, table, Some(CREDIT_LABEL.into())).await?,
        )))
    }
}

/// `synthetic_sales`: Rossmann-like daily store sales.
pub(super) mod synthetic_sales {
    use super::*;
    use crate::synthetic_tables::{store_sales, TableSpec, SALES_TARGET};

    /// The block's config.
    pub type Config = TableSpec;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        _inputs: Vec<Output>,
    ) -> Result<Output> {
        let table = ctx.blocking(move || store_sales(&config)).await?;
        Ok(Output::Dataset(Arc::new(
            version_table(ctx, table, Some(SALES_TARGET.into())).await?,
        )))
    }
}

/// `csv`: a CSV file, column types inferred.
pub(super) mod csv {
    use super::*;
    use crate::error::Error;
    use serde::Deserialize;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// The file, relative to the project folder or absolute.
        pub path: String,
        /// The label column, if the table has one.
        #[serde(default)]
        pub label: Option<String>,
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            if self.path.trim().is_empty() {
                return Err(Error::invalid_field("path", "must not be empty"));
            }
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        _inputs: Vec<Output>,
    ) -> Result<Output> {
        let path = ctx.services.project_root.join(&config.path);
        let shown = config.path.clone();
        let table = ctx
            .blocking(move || {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::invalid_field("path", format!("cannot read {}: {e}", path.display()))
                })?;
                crate::table::parse_csv(&text, &shown)
            })
            .await?;
        if let Some(label) = &config.label {
            table.column(label).map_err(|e| e.with_field("label"))?;
        }
        ctx.log(format!(
            "   Read {} ({} columns)",
            config.path,
            table.columns().len()
        ));
        Ok(Output::Dataset(Arc::new(
            version_table(ctx, table, config.label).await?,
        )))
    }
}
