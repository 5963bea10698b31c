//! The `ironmage` command. See `ironmage --help`.

use anyhow::Context;
use clap::Parser;
use ironmage::config::{Cli, Command, RunArgs, UpArgs};
use ironmage::orchestration_cli;
use ironmage::stack::{wait_for_signal, Stack, StackOptions};
use ironmage::vars::variables;
use ironmage_core::pipeline::{Progress, Project};
use ironmage_core::store::{BlockStatus, RunScope, RunStatus};
use ironmage_core::Platform;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(
        cli.log_json,
        !matches!(
            cli.command,
            Command::Up(_)
                | Command::Web(_)
                | Command::Scheduler(_)
                | Command::Executor(_)
                | Command::Predict(_)
        ),
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool, quiet: bool) {
    // Terminal commands print their own progress; logs would repeat it.
    let default = if quiet { "warn" } else { "info,sqlx=warn" };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.storage.platform_config();
    match cli.command {
        Command::Init(args) => {
            let written = Project::init(&args.dir)
                .with_context(|| format!("cannot create {}", args.dir.display()))?;
            println!(
                "project ready in {} ({} files written)",
                args.dir.display(),
                written.len()
            );
            for file in written {
                println!("  {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Deps(args) => ironmage::deps_cli::deps(&config.project_dir, args).await,
        Command::Run(args) => run_now(Platform::open(&config).await?, args).await,
        Command::Triggers { command } => {
            Ok(orchestration_cli::triggers(Platform::open(&config).await?, command).await)
        }
        Command::Cancel(args) => {
            Ok(orchestration_cli::cancel(Platform::open(&config).await?, args).await)
        }
        Command::Rerun(args) => {
            Ok(orchestration_cli::rerun(Platform::open(&config).await?, args).await)
        }
        Command::Models(args) => {
            ironmage::registry_cli::models(Platform::open(&config).await?, args).await
        }
        Command::PredictBatch(args) => {
            ironmage::batch_cli::predict_batch(Platform::open(&config).await?, args).await
        }
        Command::Up(args) => {
            if args.demo && !config.project_dir.join("pipelines").exists() {
                Project::init(&config.project_dir)?;
                println!(
                    "created the demo project in {}",
                    config.project_dir.display()
                );
            }
            let platform = Platform::open(&config).await?;
            let options = StackOptions {
                web_addr: Some(args.web.web_addr.clone()),
                predict: Some((
                    args.predict.predict_addr.clone(),
                    args.predict.prediction_config(),
                )),
                executor: Some(args.executor.executor_config()),
                scheduler: Some(args.scheduler.scheduler_config()),
                health: None,
            };
            serve(platform, options, args.demo.then_some(args)).await
        }
        Command::Web(args) => {
            let options = StackOptions {
                web_addr: Some(args.web_addr),
                ..Default::default()
            };
            serve(Platform::open(&config).await?, options, None).await
        }
        Command::Scheduler(args) => {
            let options = StackOptions {
                scheduler: Some(args.scheduler_config()),
                health: Some((args.scheduler_health_addr.clone(), "scheduler")),
                ..Default::default()
            };
            serve(Platform::open(&config).await?, options, None).await
        }
        Command::Executor(args) => {
            let options = StackOptions {
                executor: Some(args.executor_config()),
                health: Some((args.executor_health_addr.clone(), "executor")),
                ..Default::default()
            };
            serve(Platform::open(&config).await?, options, None).await
        }
        Command::Predict(args) => {
            let options = StackOptions {
                predict: Some((args.predict_addr.clone(), args.prediction_config())),
                ..Default::default()
            };
            serve(Platform::open(&config).await?, options, None).await
        }
    }
}

/// Start the roles, run the demo if asked, and wait for a signal.
async fn serve(
    platform: Platform,
    options: StackOptions,
    demo: Option<UpArgs>,
) -> anyhow::Result<ExitCode> {
    let stack = Stack::start(platform.clone(), options).await?;
    if let Some(addr) = stack.web_addr {
        println!("dashboard and API: http://{addr}/  (REST under /api)");
    }
    if let Some(addr) = stack.predict_addr {
        println!("prediction service: http://{addr}/predict");
    }
    if demo.is_some() {
        let run = platform
            .runs
            .trigger_run("demo_mlops", Default::default(), "demo")
            .await?;
        println!("demo: running demo_mlops (run {}) ...", run.id);
        let platform = platform.clone();
        let predict = stack.predict_addr;
        tokio::spawn(async move { report_demo(platform, run.id, predict).await });
    }
    wait_for_signal().await;
    stack.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn report_demo(platform: Platform, run_id: String, predict: Option<std::net::SocketAddr>) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(run) = platform.runs.run(&run_id).await else {
            continue;
        };
        match run.status {
            RunStatus::Queued | RunStatus::Running => continue,
            RunStatus::Success => {
                print_summary(&run.summary);
                if let Some(addr) = predict {
                    println!("\ntry it:\n  curl -s -X POST http://127.0.0.1:{}/predict -H 'Content-Type: application/json' \\\n    -d '{}'", addr.port(), DEMO_CUSTOMER);
                }
            }
            _ => println!(
                "demo: run {run_id} ended {}: {}",
                run.status.as_str(),
                run.error.unwrap_or_default()
            ),
        }
        return;
    }
}

const DEMO_CUSTOMER: &str = r#"{"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}"#;

/// `ironmage run`: execute in this process with a line per block.
async fn run_now(platform: Platform, args: RunArgs) -> anyhow::Result<ExitCode> {
    let created = match RunScope::from_fields(args.block, args.from_block) {
        Ok(scope) => {
            platform
                .runs
                .create_limited_run(&args.pipeline, variables(&args.vars), "cli", scope)
                .await
        }
        Err(e) => Err(e),
    };
    let run = match created {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    match &run.scope {
        Some(RunScope::Block(block)) => println!(
            "Executing block {block} of pipeline {} (run {})",
            run.pipeline, run.id
        ),
        Some(RunScope::FromBlock(block)) => println!(
            "Executing pipeline {} from block {block} (run {})",
            run.pipeline, run.id
        ),
        None => println!("Executing pipeline {} (run {})", run.pipeline, run.id),
    }
    let started = Instant::now();
    let progress = |p: &Progress| {
        if let Progress::Finished {
            block,
            status,
            elapsed,
            error,
        } = p
        {
            let mark = match status {
                BlockStatus::Success => "✅",
                BlockStatus::Skipped => "⏭ ",
                BlockStatus::Cancelled => "⏹ ",
                _ => "❌",
            };
            let detail = error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            println!(
                "{mark} Block: {block} ({}, {:.2} s){detail}",
                status.as_str(),
                elapsed.as_secs_f64()
            );
        }
    };
    let holder = format!("cli-{}", std::process::id());
    let outcome = platform
        .runs
        .execute_run(&run.id, &holder, &progress)
        .await?
        .context("the run was taken by another process")?;
    let seconds = started.elapsed().as_secs_f64();
    if outcome.status == RunStatus::Success {
        println!(
            "Pipeline {} completed successfully in {seconds:.2} s",
            run.pipeline
        );
        print_summary(&outcome.summary);
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "Pipeline {} failed after {seconds:.2} s: {}",
            run.pipeline,
            outcome.error.unwrap_or_default()
        );
        Ok(ExitCode::FAILURE)
    }
}

fn print_summary(summary: &serde_json::Value) {
    let s = |k: &str| {
        summary.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    if let Some(data) = s("data_version") {
        println!(
            "  Data version:  {data} ({})",
            s("data_hash").unwrap_or_default()
        );
    }
    if let Some(label) = s("model_version") {
        println!(
            "  Model version: {} {label} (version {})",
            s("model").unwrap_or_default(),
            s("model_version_number").unwrap_or_default()
        );
    }
    if let Some(metrics) = summary.get("metrics").and_then(|m| m.as_object()) {
        let line: Vec<String> = metrics
            .iter()
            .map(|(k, v)| format!("{k} {:.4}", v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        println!("  Metrics:       {}", line.join(", "));
    }
    if let Some(d) = summary.get("deployment") {
        println!(
            "  Deployment:    {}: {}",
            d["status"].as_str().unwrap_or("?"),
            d["reason"].as_str().unwrap_or("")
        );
    }
}
