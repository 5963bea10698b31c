//! `ironmage predict-batch`: score a CSV file with a model's Production version (seed 004's
//! default), or the version in another stage, or a version number, straight from the store and
//! the artifact folder like `ironmage run`. Models of any origin load as the prediction
//! service loads them; every scored row is logged like an online prediction (source `batch`).

use anyhow::Context;
use clap::Args;
use ironmage_core::batch_predict::{read_csv_batch, write_csv_batch};
use ironmage_core::store::Stage;
use ironmage_core::Platform;
use ironmage_prediction::{
    answer_rows, csv_values, load_version, logged_inputs, PredictionConfig, ServingSources,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Columns the output adds to the input's.
const ADDED: [&str; 5] = [
    "model_name",
    "model_version",
    "prediction",
    "probability",
    "prediction_id",
];

/// Rows scored per call.
const SCORE_CHUNK: usize = 1_000;

/// Rows logged per transaction.
const LOG_CHUNK: usize = 1_000;

/// `ironmage predict-batch`.
#[derive(Debug, Args)]
pub struct PredictBatchArgs {
    /// Model name.
    #[arg(long)]
    pub model: String,
    /// Use the newest version in this stage (production, staging…); Production by default.
    #[arg(long, conflicts_with = "version")]
    pub stage: Option<String>,
    /// Use this version.
    #[arg(long)]
    pub version: Option<i64>,
    /// Input CSV with a header holding the model's features.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV: the input columns plus model_name, model_version, prediction, probability
    /// (of the positive class, for a two-class model) and prediction_id.
    #[arg(long)]
    pub output: PathBuf,
    /// Python interpreter for MLflow pyfunc models.
    #[arg(long, env = "IRONMAGE_PYTHON", default_value = "python3")]
    pub python: PathBuf,
}

/// Run `predict-batch`.
pub async fn predict_batch(platform: Platform, args: PredictBatchArgs) -> anyhow::Result<ExitCode> {
    let registry = platform.registry.read();
    let version = match args.version {
        Some(n) => registry.version(&args.model, n).await?,
        None => {
            let stage = match &args.stage {
                Some(s) => Stage::parse_user(s).map_err(|e| e.with_field("--stage"))?,
                None => Stage::Production,
            };
            registry
                .newest_in_stage(&args.model, stage)
                .await?
                .with_context(|| {
                    format!(
                        "model {:?} has no version in {} (give --stage or --version)",
                        args.model,
                        stage.as_str()
                    )
                })?
        }
    };
    let input = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let sources = ServingSources::of(&platform);
    let mut config = PredictionConfig::default();
    config.python.interpreter = args.python.clone();
    let (number, label) = (version.version, version.label.clone());
    eprintln!("loading {} v{number} ({label})…", args.model);
    let served = load_version(&sources, &config, version).await?;
    let batch = read_csv_batch(served.scorer.input(), &input, &ADDED)
        .map_err(|e| anyhow::anyhow!("{}: {}", args.input.display(), e.message))?;
    let rows = batch.rows.len();
    eprintln!(
        "scoring {rows} rows with the {} flavor…",
        served.info.flavor
    );
    let started = Instant::now();
    // In chunks: a Python model's workers take bounded batches, and progress shows.
    let mut predictions = Vec::with_capacity(rows);
    for chunk in batch.rows.chunks(SCORE_CHUNK) {
        predictions.extend(served.scorer.score(chunk.to_vec()).await?);
        if rows > SCORE_CHUNK {
            eprintln!("  {}/{rows} rows", predictions.len());
        }
    }
    let latency_us = (started.elapsed().as_micros() as usize / rows.max(1)) as i64;
    let inputs = logged_inputs(&served, &batch.rows);
    let (answers, records): (Vec<_>, Vec<_>) =
        answer_rows(&served, &predictions, inputs, latency_us, "batch")
            .into_iter()
            .unzip();
    let csv = write_csv_batch(&batch, &ADDED, |i| csv_values(&predictions[i], &answers[i]));
    // Write beside the target and rename: the output is whole or absent.
    let partial = args.output.with_extension("partial");
    std::fs::write(&partial, csv).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let log = platform.prediction_log();
    for chunk in records.chunks(LOG_CHUNK) {
        log.insert_predictions(chunk).await?;
    }
    println!(
        "scored {rows} rows with {} v{number} ({label}) -> {}",
        args.model,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
