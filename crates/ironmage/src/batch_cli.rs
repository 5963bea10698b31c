//! `ironmage predict-batch`: score a CSV file with a version chosen by stage or number
//! (seed 004's `predict.py --stage Staging --output …`), straight from the store and the
//! artifact folder like `ironmage run`.

use anyhow::{bail, Context};
use clap::Args;
use ironmage_core::batch_predict::predict_csv;
use ironmage_core::serving::ServedModel;
use ironmage_core::store::Stage;
use ironmage_core::Platform;
use std::path::PathBuf;
use std::process::ExitCode;

/// `ironmage predict-batch`.
#[derive(Debug, Args)]
pub struct PredictBatchArgs {
    /// Model name.
    #[arg(long)]
    pub model: String,
    /// Use the version in this stage (staging or production).
    #[arg(long, conflicts_with = "version", required_unless_present = "version")]
    pub stage: Option<String>,
    /// Use this version.
    #[arg(long)]
    pub version: Option<i64>,
    /// Input CSV with a header holding the model's features.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV: the input columns plus prediction and probability.
    #[arg(long)]
    pub output: PathBuf,
}

/// Run `predict-batch`.
pub async fn predict_batch(platform: Platform, args: PredictBatchArgs) -> anyhow::Result<ExitCode> {
    let version = match (args.version, &args.stage) {
        (Some(n), _) => platform.registry.read().version(&args.model, n).await?,
        (None, Some(stage)) => {
            let stage = Stage::parse_user(stage).map_err(|e| e.with_field("--stage"))?;
            let versions = platform.registry.read().versions(&args.model).await?;
            if versions.is_empty() {
                bail!("model {:?} not found", args.model);
            }
            versions
                .into_iter()
                .find(|v| v.stage == stage)
                .with_context(|| {
                    format!(
                        "model {:?} has no version in {}",
                        args.model,
                        stage.as_str()
                    )
                })?
        }
        (None, None) => bail!("give --stage or --version"),
    };
    let input = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let artifacts = platform.artifacts.clone();
    let (number, label) = (version.version, version.label.clone());
    let (csv, rows) = tokio::task::spawn_blocking(move || {
        let model = ServedModel::load(&artifacts, version)?;
        predict_csv(&model, &input)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("{}: {}", args.input.display(), e.message))?;
    // Write beside the target and rename: the output is whole or absent.
    let partial = args.output.with_extension("partial");
    std::fs::write(&partial, csv).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "scored {rows} rows with {} v{number} ({label}) -> {}",
        args.model,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
