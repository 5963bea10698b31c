//! Transformers: `split` (stratified train/test), and the fitted steps `impute`, `scale`,
//! `one_hot`, `select_columns`, `rename_columns`. Each step is fitted on the training part
//! only, applied to every part, and recorded so the served model replays it on requests.
//! `preprocess` is the demo's split + median impute + standard scale in one block.

use super::data::VersionedDataset;
use super::output::{single_input, Output};
use crate::error::{Error, Result};
use crate::ml::stratified_split;
use crate::pipeline::context::BlockContext;
use crate::table::steps::{fit_impute, fit_one_hot, fit_scale, FittedStep, Strategy};
use serde::Deserialize;
use std::sync::Arc;

/// Run `work` on the block's single input off the async threads and log what changed.
async fn transform(
    ctx: &BlockContext,
    inputs: Vec<Output>,
    work: impl FnOnce(&VersionedDataset) -> Result<VersionedDataset> + Send + 'static,
) -> Result<Output> {
    let data = single_input!(inputs, Dataset);
    let next = ctx.blocking(move || work(&data)).await?;
    if let Some(step) = next.steps.last() {
        ctx.log(format!("✅ {}: {}", step.name(), describe(step)));
    }
    Ok(Output::Dataset(Arc::new(next)))
}

fn describe(step: &FittedStep) -> String {
    match step {
        FittedStep::Impute { columns, values } => {
            format!("filled {} column(s) with {values:?}", columns.len())
        }
        FittedStep::Scale { columns, .. } => format!(
            "scaled {} column(s) with training means and deviations",
            columns.len()
        ),
        FittedStep::OneHot { column, categories } => {
            format!("{column} → {} indicator column(s)", categories.len())
        }
        FittedStep::Select { columns } => format!("kept {}", columns.join(", ")),
        FittedStep::Rename { from, to } => format!("renamed {from:?} to {to:?}"),
    }
}

/// The configured columns, or the numeric non-label ones.
fn columns_or_numeric(data: &VersionedDataset, columns: &Option<Vec<String>>) -> Vec<String> {
    columns.clone().unwrap_or_else(|| data.numeric_features())
}

/// Most distinct label values `split` stratifies on.
const MAX_STRATA: usize = 50;

fn distinct(values: &[usize]) -> usize {
    values
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn fill(data: &VersionedDataset, test_size: f64, seed: u64) -> Result<VersionedDataset> {
    if data.test.is_some() {
        return Err(Error::invalid("the data is already split"));
    }
    // Stratify on a class label (whole numbers, few distinct values); a regression target or
    // no label gives a plain seeded shuffle.
    let none = vec![0; data.train.rows()];
    let strata = match data.label.as_ref().map(|l| data.train.class_labels(l)) {
        Some(Ok(classes)) if distinct(&classes) <= MAX_STRATA => classes,
        _ => none,
    };
    let (train, test) = stratified_split(&strata, test_size, seed)?;
    let mut next = data.clone();
    next.exported = None;
    next.train = data.train.select_rows(&train);
    next.test = Some(data.train.select_rows(&test));
    Ok(next)
}

/// `split`: hold out a test part, stratified on the label when it is a class.
pub(super) mod split {
    use super::*;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Share of rows held out for evaluation.
        #[serde(default = "default_test_size")]
        pub test_size: f64,
        /// Seed of the split.
        #[serde(default = "default_seed")]
        pub seed: u64,
    }

    pub(super) fn default_test_size() -> f64 {
        0.2
    }
    pub(super) fn default_seed() -> u64 {
        42
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            if !(self.test_size > 0.0 && self.test_size < 1.0) {
                return Err(Error::invalid_field(
                    "test_size",
                    "must be strictly between 0 and 1",
                ));
            }
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let output =
            transform(ctx, inputs, move |d| fill(d, config.test_size, config.seed)).await?;
        if let Output::Dataset(d) = &output {
            let test = d.test.as_ref().map_or(0, |t| t.rows());
            ctx.log(format!(
                "✅ Split into {} train / {test} test (seed {})",
                d.train.rows(),
                config.seed
            ));
        }
        Ok(output)
    }
}

/// `impute`: fill missing numbers with a training statistic or a constant.
pub(super) mod impute {
    use super::*;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// `median` (default), `mean` or `constant`.
        #[serde(default = "median")]
        pub strategy: Strategy,
        /// The fill value of `constant`.
        #[serde(default)]
        pub value: Option<f64>,
        /// Columns to impute (default: every numeric column but the label).
        #[serde(default)]
        pub columns: Option<Vec<String>>,
    }

    fn median() -> Strategy {
        Strategy::Median
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            match (self.strategy, self.value) {
                (Strategy::Constant, None) => Err(Error::invalid_field(
                    "value",
                    "the constant strategy needs a value",
                )),
                (Strategy::Constant, Some(v)) if !v.is_finite() => {
                    Err(Error::invalid_field("value", "must be a finite number"))
                }
                _ => Ok(()),
            }
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        transform(ctx, inputs, move |d| {
            let columns = columns_or_numeric(d, &config.columns);
            let step = fit_impute(
                &d.train,
                &columns,
                config.strategy,
                config.value.unwrap_or(0.0),
            )
            .map_err(|e| e.with_field("columns"))?;
            d.with_step(step)
        })
        .await
    }
}

/// `scale`: standard scaling with the training means and deviations.
pub(super) mod scale {
    use super::*;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Columns to scale (default: every numeric column but the label).
        #[serde(default)]
        pub columns: Option<Vec<String>>,
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        transform(ctx, inputs, move |d| {
            let columns = columns_or_numeric(d, &config.columns);
            d.with_step(fit_scale(&d.train, &columns).map_err(|e| e.with_field("columns"))?)
        })
        .await
    }
}

/// `one_hot`: text columns become indicator columns.
pub(super) mod one_hot {
    use super::*;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Text columns to encode (default: every text column).
        #[serde(default)]
        pub columns: Option<Vec<String>>,
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        transform(ctx, inputs, move |d| {
            let columns = config.columns.clone().unwrap_or_else(|| {
                d.train
                    .columns()
                    .iter()
                    .filter(|c| c.values.type_name() == "text")
                    .map(|c| c.name.clone())
                    .collect()
            });
            let mut next = d.clone();
            for column in columns {
                next = next.with_step(
                    fit_one_hot(&next.train, &column).map_err(|e| e.with_field("columns"))?,
                )?;
            }
            Ok(next)
        })
        .await
    }
}

/// `select_columns`: keep these columns, in this order (the label is kept when present).
pub(super) mod select_columns {
    use super::*;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Columns to keep.
        pub columns: Vec<String>,
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            if self.columns.is_empty() {
                return Err(Error::invalid_field("columns", "list at least one column"));
            }
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        transform(ctx, inputs, move |d| {
            let mut columns = config.columns.clone();
            if let Some(label) = &d.label {
                if !columns.contains(label) && d.train.column(label).is_ok() {
                    columns.push(label.clone());
                }
            }
            for c in &columns {
                d.train.column(c).map_err(|e| e.with_field("columns"))?;
            }
            d.with_step(FittedStep::Select { columns })
        })
        .await
    }
}

/// `rename_columns`: rename columns (the label follows its column).
pub(super) mod rename_columns {
    use super::*;
    use std::collections::BTreeMap;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Old name → new name.
        pub columns: BTreeMap<String, String>,
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            if self.columns.values().any(|v| v.is_empty()) {
                return Err(Error::invalid_field("columns", "a new name is empty"));
            }
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        transform(ctx, inputs, move |d| {
            for old in config.columns.keys() {
                d.train.column(old).map_err(|e| e.with_field("columns"))?;
            }
            let (from, to) = config.columns.clone().into_iter().unzip();
            d.with_step(FittedStep::Rename { from, to })
        })
        .await
    }
}

/// `preprocess`: the demo's split, median imputation and standard scaling in one block.
pub(super) mod preprocess {
    use super::*;

    /// The block's config.
    pub type Config = split::Config;

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let seed = config.seed;
        let output = transform(ctx, inputs, move |d| {
            let split = fill(d, config.test_size, config.seed)?;
            let columns = split.numeric_features();
            let imputed =
                split.with_step(fit_impute(&split.train, &columns, Strategy::Median, 0.0)?)?;
            imputed.with_step(fit_scale(&imputed.train, &columns)?)
        })
        .await?;
        if let Output::Dataset(d) = &output {
            let test = d.test.as_ref().map_or(0, |t| t.rows());
            ctx.log(format!(
                "✅ Split into {} train / {test} test (stratified, seed {seed})",
                d.train.rows()
            ));
            ctx.log("   Imputed missing values with training medians");
            ctx.log("   Scaled features with a StandardScaler fitted on the training part");
        }
        Ok(output)
    }
}
