//! Scoring speed of a 100-tree RandomForestClassifier converted by skl2onnx (ignored: run with
//! `cargo test --release -p ironmage-flavors --test it -- --ignored onnx_bench --nocapture`).

use std::time::Instant;

use ironmage_flavors::onnx::OnnxModel;

use crate::common::python::script_output;

#[test]
#[ignore = "benchmark: prints figures, asserts nothing about speed"]
fn onnx_random_forest_100_trees() {
    let Some(dir) = script_output("make_onnx_models.py", &["--bench"]) else {
        return;
    };
    let bytes = std::fs::read(dir.join("bench_rf100.onnx")).expect("read bench model");
    let started = Instant::now();
    let model = OnnxModel::load(&bytes).expect("load");
    let load = started.elapsed();
    let n = model.n_features();
    let batch = 10_000;
    let rows: Vec<f64> = (0..batch * n)
        .map(|i| ((i * 7919) % 1009) as f64 / 168.0 - 3.0)
        .collect();

    for _ in 0..200 {
        model.predict(&rows[..n], 1).unwrap();
    }
    let singles = 5_000;
    let started = Instant::now();
    for i in 0..singles {
        let row = &rows[(i % batch) * n..(i % batch + 1) * n];
        model.predict(row, 1).unwrap();
    }
    let per_row = started.elapsed().as_secs_f64() / singles as f64;

    model.predict(&rows, batch).unwrap();
    let rounds = 5;
    let started = Instant::now();
    for _ in 0..rounds {
        model.predict(&rows, batch).unwrap();
    }
    let per_batch = started.elapsed().as_secs_f64() / rounds as f64;

    println!(
        "ONNX RandomForestClassifier, 100 trees, {n} features, {} classes, {} bytes: \
         load {:.1} ms; 1-row predict {:.1} µs ({:.0} predictions/s); \
         {batch}-row batch {:.2} ms ({:.0} rows/s)",
        model.class_labels().map_or(0, |c| c.len()),
        bytes.len(),
        load.as_secs_f64() * 1e3,
        per_row * 1e6,
        1.0 / per_row,
        per_batch * 1e3,
        batch as f64 / per_batch,
    );
    let sklearn = std::fs::read_to_string(dir.join("bench.json")).expect("read bench.json");
    let sklearn: serde_json::Value = serde_json::from_str(&sklearn).unwrap();
    let single = sklearn["sklearn_single_row_s"].as_f64().unwrap();
    let whole = sklearn["sklearn_10k_batch_s"].as_f64().unwrap();
    println!(
        "scikit-learn predict_proba on the same forest (n_jobs=1): 1 row {:.1} µs; \
         {batch}-row batch {:.2} ms ({:.0} rows/s)",
        single * 1e6,
        whole * 1e3,
        batch as f64 / whole,
    );
}
