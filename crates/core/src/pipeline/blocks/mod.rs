//! The built-in block kinds: what each takes, gives, and how its config is typed.

mod boosting;
mod command;
mod data;
mod deploy;
mod evaluate;
mod exporters;
pub mod gates;
mod loaders;
mod noop;
pub mod output;
mod python;
mod register;
mod sensor;
mod sql;
mod sql_transform;
mod train;
mod trainers;
mod transforms;
mod workdir;

pub use data::{Exported, VersionedDataset};
pub use output::{Deployed, MlflowModel, Output, Port, Registered, Trained, TrainedModel};
pub use train::regression_metrics;

use boosting::{gradient_boosting_classifier, gradient_boosting_regressor};
use exporters::{file_export, sql_export};
use loaders::{csv, synthetic_churn, synthetic_credit, synthetic_sales};
use trainers::{
    decision_tree, linear_regression, logistic_regression, random_forest_classifier,
    random_forest_regressor,
};
use transforms::{impute, one_hot, preprocess, rename_columns, scale, select_columns, split};

use super::context::BlockContext;
use crate::error::Result;
use serde::de::DeserializeOwned;
use serde_json::Value;

macro_rules! block_kinds {
    ($($variant:ident => $name:literal, $module:ident, [$($input:ident),*] -> $output:ident;)*) => {
        /// A built-in block kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BlockKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl BlockKind {
            /// The kind as written in pipeline files.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }

            /// Parse a kind name, listing the known ones on error.
            pub fn parse(text: &str) -> std::result::Result<BlockKind, String> {
                match text {
                    $($name => Ok(Self::$variant),)*
                    other => Err(format!("unknown block kind {other:?} (known: {})", [$($name),*].join(", "))),
                }
            }

            /// The ports its upstream blocks must give, in order.
            pub fn inputs(self) -> Vec<Port> {
                match self { $(Self::$variant => vec![$(Port::$input),*]),* }
            }

            /// The port it gives.
            pub fn output(self) -> Port {
                match self { $(Self::$variant => Port::$output),* }
            }

            /// Type-check a resolved config, naming the field at fault.
            pub fn check_config(self, config: &Value) -> std::result::Result<(), String> {
                match self { $(Self::$variant => typed::<$module::Config>(config).and_then(|c| c.validate().map_err(config_error))),* }
            }

            /// Run the block.
            pub(crate) async fn run(self, ctx: &BlockContext, config: &Value, inputs: Vec<Output>) -> Result<Output> {
                match self {
                    $(Self::$variant => {
                        // Secrets go in last, so nothing before this point holds their values.
                        let config = ctx.services.secrets.resolve(config)?;
                        let config = typed::<$module::Config>(&config).map_err(crate::error::Error::invalid)?;
                        $module::run(ctx, config, inputs).await
                    })*
                }
            }
        }
    };
}

block_kinds! {
    SyntheticChurn => "synthetic_churn", synthetic_churn, [] -> Dataset;
    SyntheticCredit => "synthetic_credit", synthetic_credit, [] -> Dataset;
    SyntheticSales => "synthetic_sales", synthetic_sales, [] -> Dataset;
    Csv => "csv", csv, [] -> Dataset;
    Sql => "sql", sql, [] -> Dataset;
    SqlTransform => "sql_transform", sql_transform, [] -> Dataset;
    Command => "command", command, [] -> Dataset;
    Python => "python", python, [] -> Dataset;
    Split => "split", split, [Dataset] -> Dataset;
    Impute => "impute", impute, [Dataset] -> Dataset;
    Scale => "scale", scale, [Dataset] -> Dataset;
    OneHot => "one_hot", one_hot, [Dataset] -> Dataset;
    SelectColumns => "select_columns", select_columns, [Dataset] -> Dataset;
    RenameColumns => "rename_columns", rename_columns, [Dataset] -> Dataset;
    Preprocess => "preprocess", preprocess, [Dataset] -> Dataset;
    SqlExport => "sql_export", sql_export, [Dataset] -> Dataset;
    FileExport => "file_export", file_export, [Dataset] -> Dataset;
    RandomForestClassifier => "random_forest_classifier", random_forest_classifier, [Dataset] -> Trained;
    RandomForestRegressor => "random_forest_regressor", random_forest_regressor, [Dataset] -> Trained;
    DecisionTree => "decision_tree", decision_tree, [Dataset] -> Trained;
    GradientBoostingClassifier => "gradient_boosting_classifier", gradient_boosting_classifier, [Dataset] -> Trained;
    GradientBoostingRegressor => "gradient_boosting_regressor", gradient_boosting_regressor, [Dataset] -> Trained;
    LogisticRegression => "logistic_regression", logistic_regression, [Dataset] -> Trained;
    LinearRegression => "linear_regression", linear_regression, [Dataset] -> Trained;
    Evaluate => "evaluate", evaluate, [Trained] -> Trained;
    RegisterModel => "register_model", register, [Trained] -> Registered;
    Deploy => "deploy", deploy, [Registered] -> Deployed;
    Noop => "noop", noop, [] -> Empty;
    Sensor => "sensor", sensor, [] -> Empty;
    Promote => "promote", deploy, [Registered] -> Deployed;
}

impl BlockKind {
    /// Whether upstream blocks giving `given` fit this kind: a `command`, `python` or `sensor`
    /// block takes any number of tables (and `noop` blocks, to order it), a `sql_transform` the
    /// same with at least one table, a `noop` anything, every other kind exactly its
    /// [`BlockKind::inputs`] besides the blocks that only order it (`noop`, `sensor`: nothing).
    pub fn accepts(self, given: &[Port]) -> bool {
        let tables_or_noops = given
            .iter()
            .all(|p| matches!(p, Port::Dataset | Port::Empty));
        match self {
            BlockKind::Command | BlockKind::Python | BlockKind::Sensor => tables_or_noops,
            BlockKind::SqlTransform => tables_or_noops && given.contains(&Port::Dataset),
            BlockKind::Noop => true,
            _ => given
                .iter()
                .filter(|p| **p != Port::Empty)
                .eq(self.inputs().iter()),
        }
    }

    /// The port a block of this kind gives, knowing the kinds of the blocks downstream of it:
    /// a `python` block gives a model when a block downstream takes one (`register_model`,
    /// `evaluate`), as a Mage block returns whatever the next block uses; a table otherwise.
    pub fn output_to(self, downstream: &[BlockKind]) -> Port {
        let model_wanted = downstream
            .iter()
            .any(|d| d.inputs().contains(&Port::Trained));
        match self {
            BlockKind::Python if model_wanted => Port::Trained,
            kind => kind.output(),
        }
    }

    /// The project file holding the block's own code, for the kinds that run one (`python`):
    /// its content is part of the block's fingerprint, so an edited file is not reused by a
    /// re-run.
    pub fn code_file(self, config: &Value) -> Option<&str> {
        match self {
            BlockKind::Python | BlockKind::Sensor => config.get("file").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// A config check's error as `field config.<field>: <message>`, like the type errors.
fn config_error(e: crate::error::Error) -> String {
    match &e.field {
        Some(field) => format!("field config.{field}: {}", e.message),
        None => format!("field config: {}", e.message),
    }
}

/// Deserialize a config, with the path of the offending field in the message.
fn typed<T: DeserializeOwned>(config: &Value) -> std::result::Result<T, String> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("field config: {}", e.into_inner())
        } else {
            format!("field config.{path}: {}", e.into_inner())
        }
    })
}
