//! Side-by-side benchmark against scikit-learn, in one run (issue 6).
//!
//! Run it with `bash scripts/bench-sklearn.sh [sizes] [trees] [depth] [iters]` (defaults:
//! `1000,100000,1000000 100 10 100`), which makes the Python virtualenv. For each size it
//! generates churn customers (`synthetic::churn_customers`, seed 42, 2% missing in two columns),
//! splits 80/20 stratified (seed 0), imputes medians fitted on train, writes a CSV into
//! `IRONMAGE_BENCH_DIR`, fits and times our four models, then runs `bench/sklearn/sklearn_side.py`
//! with `IRONMAGE_BENCH_PYTHON` on the same file and split, and prints one table. The regression
//! target is a smooth nonlinear function of the features ([`regression_target`]).
//! `IRONMAGE_BENCH_MODELS` (comma-separated, default `rf_cls,rf_reg,gb_cls,gb_reg`) selects the
//! models; `IRONMAGE_BENCH_SKLEARN=0` skips scikit-learn (ours only, for profiling).
//! `IRONMAGE_BENCH_REPEATS` (default 3) fits every model that many times on both sides and keeps
//! the median fit time.

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;
use std::time::Instant;

use ironmage_core::ml::*;
use ironmage_core::synthetic::{churn_customers, ChurnSpec};
use ndarray::{Array2, Axis};

/// Where the CSV files go, and the Python with scikit-learn (set by the script).
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

type Results = HashMap<(String, String), f64>;

fn write_csv(path: &str, x: &Array2<f64>, y: &[usize], t: &[f64], test: &[usize]) {
    let mut part = vec![0u8; y.len()];
    test.iter().for_each(|&i| part[i] = 1);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    for i in 0..y.len() {
        write!(f, "{},{},{:?}", part[i], y[i], t[i]).expect("write");
        for v in x.row(i) {
            write!(f, ",{v:?}").expect("write");
        }
        writeln!(f).expect("write");
    }
}

/// The model of the last of `repeats` fits, and the median time of the fits
/// in seconds: one fit on a shared VM can be 30% off.
fn timed_fit<M>(repeats: usize, fit: impl Fn() -> M) -> (M, f64) {
    let mut times = Vec::new();
    let mut model = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        model = Some(fit());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (model.expect("at least one fit"), times[times.len() / 2])
}

/// Mean µs of `f` over 10k distinct single rows, mean µs of `f` on one row
/// repeated 10k times, and ms of `batch` on 10k rows.
fn time_predict(
    x10k: &Array2<f64>,
    f: impl Fn(&[f64]) -> f64,
    batch: impl Fn() -> f64,
) -> (f64, f64, f64) {
    let rows: Vec<Vec<f64>> = x10k.outer_iter().map(|r| r.to_vec()).collect();
    let mut sink = 0.0;
    for r in rows.iter().take(1000) {
        sink += f(r);
    }
    let t = Instant::now();
    for r in &rows {
        sink += f(r);
    }
    let p1 = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
    let t = Instant::now();
    for _ in 0..rows.len() {
        sink += f(std::hint::black_box(&rows[0]));
    }
    let hot = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
    let t = Instant::now();
    sink += batch();
    let p10k = t.elapsed().as_secs_f64() * 1e3;
    std::hint::black_box(sink);
    (p1, hot, p10k)
}

/// A regression target from the churn features: a smooth nonlinear function of tenure, charges,
/// calls and satisfaction (NaN-safe: missing values count as 0), deterministic.
fn regression_target(x: &Array2<f64>) -> Vec<f64> {
    let v = |i: usize, c: usize| if x[[i, c]].is_nan() { 0.0 } else { x[[i, c]] };
    (0..x.nrows())
        .map(|i| {
            1.5 * (v(i, 0) / 6.0).sin() + 0.02 * v(i, 1) + 0.4 * v(i, 4) - 2.0 * v(i, 9)
                + 0.3 * (v(i, 5) / 12.0).sqrt()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .get(1)
        .map_or("1000,100000,1000000", |s| s.as_str())
        .split(',')
        .map(|s| s.parse().expect("size"))
        .collect();
    let arg = |i: usize, d: usize| args.get(i).map_or(d, |s| s.parse().expect("number"));
    let (trees, depth, iters) = (arg(2, 100), arg(3, 10), arg(4, 100));
    let repeats: usize = setting("IRONMAGE_BENCH_REPEATS", "3")
        .parse()
        .expect("IRONMAGE_BENCH_REPEATS");
    let models = setting("IRONMAGE_BENCH_MODELS", "rf_cls,rf_reg,gb_cls,gb_reg");
    let want = |m: &str| models.split(',').any(|w| w == m);
    let mut table = Vec::new();
    for &n in &sizes {
        let spec = ChurnSpec {
            rows: n,
            seed: 42,
            churn_rate: 0.26,
            missing_rate: 0.02,
        };
        let data = churn_customers(&spec).expect("churn data");
        let (mut x, y) = (data.features, data.labels);
        let target = regression_target(&x);
        let (train, test) = stratified_split(&y, 0.2, 0).expect("split");
        let imp = MedianImputer::fit(x.select(Axis(0), &train).view()).expect("imputer");
        imp.transform_inplace(&mut x);
        let path = format!(
            "{}/churn_{n}.csv",
            setting("IRONMAGE_BENCH_DIR", "target/bench-sklearn")
        );
        write_csv(&path, &x, &y, &target, &test);
        let xtr = x.select(Axis(0), &train);
        let xte = x.select(Axis(0), &test);
        let idx10k: Vec<usize> = (0..10_000).map(|i| test[i % test.len()]).collect();
        let x10k = x.select(Axis(0), &idx10k);
        let ytr: Vec<usize> = train.iter().map(|&i| y[i]).collect();
        let yte: Vec<usize> = test.iter().map(|&i| y[i]).collect();
        let ttr: Vec<f64> = train.iter().map(|&i| target[i]).collect();
        let tte: Vec<f64> = test.iter().map(|&i| target[i]).collect();
        let ytr_f: Vec<f64> = ytr.iter().map(|&v| v as f64).collect();
        let mut ours: Results = HashMap::new();
        let mut put = |m: &str, k: &str, v: f64| {
            ours.insert((m.into(), k.into()), v);
        };
        let rf = RandomForestParams {
            n_estimators: trees,
            max_depth: Some(depth),
            ..Default::default()
        };
        let gb = GradientBoostingParams {
            max_iter: iters,
            ..Default::default()
        };
        let gbr = GradientBoostingParams {
            loss: GbdtLoss::SquaredError,
            ..gb.clone()
        };

        if want("rf_cls") {
            let (m, fit_s) = timed_fit(repeats, || rf.fit(xtr.view(), &ytr).expect("fit"));
            put("rf_cls", "fit_s", fit_s);
            // artifact load time: what the prediction service pays to pick up a new model
            let bytes = m.to_bytes().expect("encode");
            // median of 5 loads: one cold load mostly measures the allocator
            let mut loads = Vec::new();
            let mut back = None;
            for _ in 0..5 {
                let t = Instant::now();
                back = Some(RandomForestClassifier::from_bytes(&bytes).expect("decode"));
                loads.push(t.elapsed().as_secs_f64() * 1e3);
            }
            loads.sort_by(f64::total_cmp);
            put("rf_cls", "load_ms", loads[2]);
            let back = back.expect("loaded");
            put("rf_cls", "artifact_kb", bytes.len() as f64 / 1024.0);
            assert!(back == m, "artifact round trip");
            let (p1, hot, p10k) = time_predict(
                &x10k,
                |r| {
                    let mut b = [0.0; 2];
                    m.predict_proba_row_into(r, &mut b);
                    b[1]
                },
                || m.predict_proba(x10k.view())[[0, 1]],
            );
            put("rf_cls", "p1_us", p1);
            put("rf_cls", "p1_hot_us", hot);
            put("rf_cls", "p10k_ms", p10k);
            let p = m.predict_proba(xte.view()).column(1).to_vec();
            put("rf_cls", "auc", roc_auc(&yte, &p).expect("auc"));
        }

        if want("rf_reg") {
            let (m, fit_s) = timed_fit(repeats, || {
                rf.fit_regressor(xtr.view(), &ttr, None).expect("fit")
            });
            put("rf_reg", "fit_s", fit_s);
            let (p1, hot, p10k) =
                time_predict(&x10k, |r| m.predict_row(r), || m.predict(x10k.view())[0]);
            put("rf_reg", "p1_us", p1);
            put("rf_reg", "p1_hot_us", hot);
            put("rf_reg", "p10k_ms", p10k);
            put(
                "rf_reg",
                "rmse",
                rmse(&tte, &m.predict(xte.view()).to_vec()),
            );
        }

        if want("gb_cls") {
            let (m, fit_s) = timed_fit(repeats, || gb.fit(xtr.view(), &ytr_f, None).expect("fit"));
            put("gb_cls", "fit_s", fit_s);
            let (p1, hot, p10k) =
                time_predict(&x10k, |r| m.predict_row(r), || m.predict(x10k.view())[0]);
            put("gb_cls", "p1_us", p1);
            put("gb_cls", "p1_hot_us", hot);
            put("gb_cls", "p10k_ms", p10k);
            let p = m.predict(xte.view()).to_vec();
            put("gb_cls", "auc", roc_auc(&yte, &p).expect("auc"));
        }

        if want("gb_reg") {
            let (m, fit_s) = timed_fit(repeats, || gbr.fit(xtr.view(), &ttr, None).expect("fit"));
            put("gb_reg", "fit_s", fit_s);
            let (p1, hot, p10k) =
                time_predict(&x10k, |r| m.predict_row(r), || m.predict(x10k.view())[0]);
            put("gb_reg", "p1_us", p1);
            put("gb_reg", "p1_hot_us", hot);
            put("gb_reg", "p10k_ms", p10k);
            put(
                "gb_reg",
                "rmse",
                rmse(&tte, &m.predict(xte.view()).to_vec()),
            );
        }
        let mut ours_sorted: Vec<_> = ours.iter().collect();
        ours_sorted.sort_by(|a, b| a.0.cmp(b.0));
        eprintln!("n={n}: ours done ({ours_sorted:?}), running scikit-learn");

        if setting("IRONMAGE_BENCH_SKLEARN", "1") == "0" {
            table.push((n, ours, Results::new()));
            continue;
        }
        let out = Command::new(setting("IRONMAGE_BENCH_PYTHON", "python3"))
            .arg(setting(
                "IRONMAGE_BENCH_SCRIPT",
                "bench/sklearn/sklearn_side.py",
            ))
            .args([
                &path,
                &trees.to_string(),
                &depth.to_string(),
                &iters.to_string(),
            ])
            .env("OMP_NUM_THREADS", "2")
            .env("IRONMAGE_BENCH_REPEATS", repeats.to_string())
            .output()
            .expect("run python");
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        let mut theirs: Results = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [m, k, v] = f[..] {
                theirs.insert((m.into(), k.into()), v.parse().unwrap_or(f64::NAN));
            }
        }
        eprintln!("n={n}: scikit-learn done ({} values)", theirs.len());
        table.push((n, ours, theirs));
    }
    println!(
        "\nmodels: rf = {trees} trees, max_depth {depth}, max_features sqrt, bootstrap; \
         gb = {iters} iterations, lr 0.1, 31 leaves, min_samples_leaf 20, no early stopping"
    );
    println!("scikit-learn: RandomForest n_jobs=2, HistGradientBoosting OMP_NUM_THREADS=2; ours: rayon, 2 cores");
    println!(
        "\n| rows | model | metric | ours | sklearn | ours/sklearn |\n|---|---|---|---|---|---|"
    );
    for (n, ours, theirs) in &table {
        for m in ["rf_cls", "rf_reg", "gb_cls", "gb_reg"] {
            if !want(m) {
                continue;
            }
            let score = if m.ends_with("cls") { "auc" } else { "rmse" };
            for k in [
                "fit_s",
                "p1_us",
                "p1_hot_us",
                "p10k_ms",
                "load_ms",
                "artifact_kb",
                score,
            ] {
                let key = (m.to_string(), k.to_string());
                let Some(&a) = ours.get(&key) else { continue };
                let b = theirs.get(&key).copied().unwrap_or(f64::NAN);
                let ratio = if b.is_nan() {
                    "n/a".to_string()
                } else if k == score {
                    format!("diff {:+.4}", a - b)
                } else {
                    format!("{:.3}", a / b)
                };
                println!("| {n} | {m} | {k} | {a:.4} | {b:.4} | {ratio} |");
            }
        }
    }
}
