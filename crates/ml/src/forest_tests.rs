//! Tests of the random forest: determinism, probabilities, agreement with a
//! brute-force CART, learning quality, importances, artifacts and linfa traits.

use linfa::traits::{Fit, Predict};
use linfa::Dataset;
use ndarray::{Array1, Array2};
use rand::Rng;

use crate::classifier::RandomForestClassifier;
use crate::error::MlError;
use crate::forest_params::{MaxFeatures, RandomForestParams};
use crate::metrics::{accuracy, roc_auc};
use crate::rng::seeded_rng;

/// `n` rows of `d` uniform features; the label is 1 with probability
/// `sigmoid(sharpness * (2 x0 - x1 + 0.5 x2 - 0.75))`, other features are noise.
pub(crate) fn noisy_data(
    n: usize,
    d: usize,
    sharpness: f64,
    seed: u64,
) -> (Array2<f64>, Vec<usize>) {
    let mut rng = seeded_rng(seed, 99);
    let x = Array2::from_shape_fn((n, d), |_| rng.gen::<f64>());
    let y = x
        .outer_iter()
        .map(|r| {
            let z = sharpness * (2.0 * r[0] - r[1] + 0.5 * r.get(2).copied().unwrap_or(0.0) - 0.75);
            usize::from(rng.gen::<f64>() < 1.0 / (1.0 + (-z).exp()))
        })
        .collect();
    (x, y)
}

fn small_params() -> RandomForestParams {
    RandomForestParams {
        n_estimators: 20,
        max_depth: Some(8),
        ..Default::default()
    }
}

#[test]
fn fit_is_deterministic_across_runs_and_thread_counts() {
    let (x, y) = noisy_data(600, 6, 4.0, 1);
    let params = RandomForestParams {
        n_estimators: 24,
        ..Default::default()
    };
    let a = params.fit(x.view(), &y).unwrap().to_bytes().unwrap();
    let b = params.fit(x.view(), &y).unwrap().to_bytes().unwrap();
    assert_eq!(a, b);
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let c = pool.install(|| params.fit(x.view(), &y).unwrap().to_bytes().unwrap());
        assert_eq!(a, c, "{threads} threads");
    }
    let other = RandomForestParams {
        random_state: 1,
        ..params
    };
    assert_ne!(a, other.fit(x.view(), &y).unwrap().to_bytes().unwrap());
}

#[test]
fn probabilities_are_distributions() {
    let (x, y3) = noisy_data(400, 5, 3.0, 2);
    // three classes: split class 1 by the sign of feature 3
    let y: Vec<usize> = y3
        .iter()
        .zip(x.outer_iter())
        .map(|(&c, r)| if c == 1 && r[3] > 0.5 { 2 } else { c })
        .collect();
    let model = small_params().fit(x.view(), &y).unwrap();
    assert_eq!(model.n_classes(), 3);
    let (xt, _) = noisy_data(200, 5, 3.0, 3);
    let p = model.predict_proba(xt.view());
    assert_eq!(p.dim(), (200, 3));
    for (i, row) in p.outer_iter().enumerate() {
        let s: f64 = row.sum();
        assert!((s - 1.0).abs() <= 1e-12, "row {i} sums to {s}");
        assert!(row.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let single = model.predict_proba_row(xt.row(i).as_slice().unwrap());
        assert_eq!(single, row.to_vec());
        // the lane-interleaved walk agrees with a plain walk, summed in tree order
        let r = xt.row(i).to_vec();
        let mut plain = vec![0.0; 3];
        let nodes = model.trees.nodes();
        for &root in &nodes.roots {
            let leaf = nodes.leaf_of(root as usize, &r);
            for (p, v) in plain.iter_mut().zip(&nodes.leaf_values[leaf * 3..]) {
                *p += v;
            }
        }
        plain.iter_mut().for_each(|v| *v /= model.n_trees() as f64);
        assert_eq!(plain, single);
        let mut buf = [0.0; 3];
        model.predict_proba_row_into(xt.row(i).as_slice().unwrap(), &mut buf);
        assert_eq!(buf.to_vec(), single);
    }
    // column-major input and short rows are handled, not panics
    let xf = xt.t().as_standard_layout().to_owned().reversed_axes();
    assert_eq!(model.predict_proba(xf.view()), p);
    let short = model.predict_proba_row(&[0.5]);
    assert!((short.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn separable_data_is_learned_perfectly() {
    let mut rng = seeded_rng(5, 0);
    let x = Array2::from_shape_fn((500, 3), |_| rng.gen::<f64>());
    let y: Vec<usize> = x.outer_iter().map(|r| usize::from(r[1] > 0.4)).collect();
    let model = small_params().fit(x.view(), &y).unwrap();
    let pred: Vec<usize> = x
        .outer_iter()
        .map(|r| model.predict_row(r.as_slice().unwrap()))
        .collect();
    assert_eq!(accuracy(&y, &pred), 1.0);
    // fresh points away from the boundary too
    for v in [0.0, 0.1, 0.3, 0.37, 0.43, 0.6, 0.99] {
        assert_eq!(
            model.predict_row(&[0.5, v, 0.5]),
            usize::from(v > 0.4),
            "x1 = {v}"
        );
    }
}

#[test]
fn noisy_data_gets_a_good_auc() {
    let (x, y) = noisy_data(2000, 10, 6.0, 7);
    let (xt, yt) = noisy_data(1000, 10, 6.0, 8);
    let model = RandomForestParams {
        n_estimators: 50,
        ..Default::default()
    }
    .fit(x.view(), &y)
    .unwrap();
    let p = model.predict_proba(xt.view());
    let auc = roc_auc(
        &yt,
        p.column(1)
            .as_slice_memory_order()
            .unwrap_or(&p.column(1).to_vec()),
    )
    .unwrap();
    // the Bayes-optimal scorer reaches about 0.85 on this data
    assert!(auc > 0.78, "auc {auc}");
    let pred: Vec<usize> = (0..yt.len())
        .map(|i| usize::from(p[[i, 1]] > 0.5))
        .collect();
    assert!(accuracy(&yt, &pred) > 0.70);
}

#[test]
fn importances_sum_to_one_and_rank_the_informative_feature_first() {
    let mut rng = seeded_rng(11, 0);
    let x = Array2::from_shape_fn((800, 6), |_| rng.gen::<f64>());
    let y: Vec<usize> = x
        .outer_iter()
        .map(|r| usize::from(r[4] + 0.1 * (rng.gen::<f64>() - 0.5) > 0.5))
        .collect();
    let model = small_params().fit(x.view(), &y).unwrap();
    let imp = model.feature_importances();
    assert_eq!(imp.len(), 6);
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(imp.iter().all(|&v| v >= 0.0));
    let top = (0..6).fold(0, |b, k| if imp[k] > imp[b] { k } else { b });
    assert_eq!(top, 4, "{imp:?}");
    assert!(imp[4] > 0.5, "{imp:?}");
}

#[test]
fn artifacts_round_trip_and_corruption_is_an_error() {
    let (x, y) = noisy_data(200, 4, 3.0, 12);
    let model = RandomForestParams {
        n_estimators: 5,
        max_depth: Some(4),
        ..Default::default()
    }
    .fit(x.view(), &y)
    .unwrap();
    let bytes = model.to_bytes().unwrap();
    let back = RandomForestClassifier::from_bytes(&bytes).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    for len in 0..bytes.len() {
        assert!(
            RandomForestClassifier::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(RandomForestClassifier::from_bytes(&extra).is_err());
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(
        RandomForestClassifier::from_bytes(&bad),
        Err(MlError::CorruptArtifact(_))
    ));
    let mut bad = bytes.clone();
    bad[8] = 9;
    assert!(matches!(
        RandomForestClassifier::from_bytes(&bad),
        Err(MlError::UnsupportedVersion { found: 9, .. })
    ));
    // random byte flips: an error, or a model that predicts without panicking
    let mut rng = seeded_rng(13, 0);
    let row = [0.5; 4];
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(12..b.len());
            b[i] = rng.gen();
        }
        if let Ok(m) = RandomForestClassifier::from_bytes(&b) {
            let p = m.predict_proba_row(&row);
            assert_eq!(p.len(), m.n_classes());
        }
    }
    // well-encoded but structurally invalid models are rejected
    let mut cyc = model.clone();
    let split = (cyc.trees.nodes().feature.iter())
        .position(|&f| f != u32::MAX)
        .unwrap();
    cyc.trees.nodes_mut().left[split] = split as u32;
    let e = RandomForestClassifier::from_bytes(&cyc.to_bytes().unwrap()).unwrap_err();
    assert!(
        e.to_string().starts_with("corrupt model artifact: node"),
        "{e}"
    );
    // any serde path validates, not only from_bytes
    let plain = bincode::serialize(&cyc).unwrap();
    assert!(bincode::deserialize::<RandomForestClassifier>(&plain).is_err());
    assert_eq!(
        bincode::deserialize::<RandomForestClassifier>(&bincode::serialize(&model).unwrap())
            .unwrap(),
        model
    );
    let mut far = model.clone();
    far.trees.nodes_mut().feature[split] = 4;
    assert!(RandomForestClassifier::from_bytes(&far.to_bytes().unwrap()).is_err());
    let mut leaf = model.clone();
    let l = (leaf.trees.nodes().feature.iter())
        .position(|&f| f == u32::MAX)
        .unwrap();
    leaf.trees.nodes_mut().left[l] = 1_000_000;
    assert!(RandomForestClassifier::from_bytes(&leaf.to_bytes().unwrap()).is_err());
}

#[test]
fn linfa_fit_and_predict() {
    let (x, y) = noisy_data(300, 4, 5.0, 14);
    let ds = Dataset::new(x.clone(), Array1::from(y.clone()));
    let params = small_params();
    let model = Fit::fit(&params, &ds).unwrap();
    assert_eq!(model, params.fit(x.view(), &y).unwrap());
    let pred: Array1<usize> = model.predict(&x);
    let by_row: Vec<usize> = x
        .outer_iter()
        .map(|r| model.predict_row(r.as_slice().unwrap()))
        .collect();
    assert_eq!(pred.to_vec(), by_row);
    // a linfa error converts into MlError
    let e: MlError = linfa::Error::NotEnoughSamples.into();
    assert!(e.to_string().contains("not enough samples"));
}

#[test]
fn bad_input_gives_errors() {
    let (mut x, y) = noisy_data(20, 3, 1.0, 15);
    let p = RandomForestParams::default();
    assert!(matches!(
        p.fit(x.view(), &y[..5]),
        Err(MlError::MismatchedLengths { .. })
    ));
    assert!(matches!(
        p.fit(Array2::zeros((0, 3)).view(), &[]),
        Err(MlError::EmptyDataset)
    ));
    assert!(matches!(
        p.fit(Array2::zeros((2, 0)).view(), &[0, 1]),
        Err(MlError::NoFeatures)
    ));
    let mut big = y.clone();
    big[3] = usize::MAX;
    assert!(matches!(
        p.fit(x.view(), &big),
        Err(MlError::InvalidLabel { row: 3, .. })
    ));
    x[[7, 2]] = f64::NAN;
    let e = p.fit(x.view(), &y).unwrap_err();
    assert!(matches!(e, MlError::NonFiniteValue { row: 7, column: 2 }));
    assert_eq!(e.to_string(), "non-finite value at row 7, column 2");
    x[[7, 2]] = 0.5;
    let bad = [
        (
            "n_estimators",
            RandomForestParams {
                n_estimators: 0,
                ..p.clone()
            },
        ),
        (
            "max_depth",
            RandomForestParams {
                max_depth: Some(0),
                ..p.clone()
            },
        ),
        (
            "min_samples_split",
            RandomForestParams {
                min_samples_split: 1,
                ..p.clone()
            },
        ),
        (
            "min_samples_leaf",
            RandomForestParams {
                min_samples_leaf: 0,
                ..p.clone()
            },
        ),
        (
            "max_features",
            RandomForestParams {
                max_features: MaxFeatures::Fraction(0.0),
                ..p.clone()
            },
        ),
        (
            "max_features",
            RandomForestParams {
                max_features: MaxFeatures::Fraction(f64::NAN),
                ..p.clone()
            },
        ),
        (
            "max_features",
            RandomForestParams {
                max_features: MaxFeatures::Count(4),
                ..p.clone()
            },
        ),
        (
            "n_bins",
            RandomForestParams {
                n_bins: 1,
                ..p.clone()
            },
        ),
    ];
    for (name, params) in bad {
        match params.fit(x.view(), &y) {
            Err(MlError::InvalidHyperparameter { name: n, reason }) => {
                assert_eq!(n, name);
                assert!(!reason.is_empty());
            }
            other => panic!("{name}: expected an invalid hyperparameter, got {other:?}"),
        }
    }
    // extreme but valid hyperparameters give a stump, not an overflow
    let stump = RandomForestParams {
        n_estimators: 2,
        min_samples_leaf: usize::MAX,
        min_samples_split: usize::MAX,
        max_depth: Some(usize::MAX),
        ..p.clone()
    };
    assert_eq!(stump.fit(x.view(), &y).unwrap().n_nodes(), 2);
    // a single class is fine: probability 1
    let m = RandomForestParams {
        n_estimators: 3,
        ..p
    }
    .fit(x.view(), &[0; 20])
    .unwrap();
    assert_eq!(m.predict_proba_row(&[0.1, 0.2, 0.3]), vec![1.0]);
}

#[test]
fn max_features_resolution() {
    assert_eq!(MaxFeatures::Sqrt.resolve(10).unwrap(), 3);
    assert_eq!(MaxFeatures::Log2.resolve(10).unwrap(), 3);
    assert_eq!(MaxFeatures::Log2.resolve(1).unwrap(), 1);
    assert_eq!(MaxFeatures::All.resolve(7).unwrap(), 7);
    assert_eq!(MaxFeatures::Fraction(0.5).resolve(7).unwrap(), 3);
    assert_eq!(MaxFeatures::Fraction(0.01).resolve(7).unwrap(), 1);
    assert_eq!(MaxFeatures::Count(7).resolve(7).unwrap(), 7);
    assert!(MaxFeatures::Count(8).resolve(7).is_err());
}

/// Release-mode micro benchmark: `cargo test --release -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_fit_and_predict() {
    use std::time::Instant;
    let params = RandomForestParams {
        n_estimators: 100,
        max_depth: Some(10),
        ..Default::default()
    };
    for n in [1_000usize, 100_000] {
        let (x, y) = noisy_data(n, 10, 3.0, 21);
        let (train, test) = crate::preprocess::stratified_split(&y, 0.2, 0).unwrap();
        let xtr = x.select(ndarray::Axis(0), &train);
        let ytr: Vec<usize> = train.iter().map(|&i| y[i]).collect();
        let t = Instant::now();
        let model = params.fit(xtr.view(), &ytr).unwrap();
        let fit_s = t.elapsed().as_secs_f64();
        let xte = x.select(ndarray::Axis(0), &test);
        let yte: Vec<usize> = test.iter().map(|&i| y[i]).collect();
        let p = model.predict_proba(xte.view());
        let auc = roc_auc(&yte, &p.column(1).to_vec()).unwrap();
        let rows: Vec<Vec<f64>> = xte.outer_iter().take(1000).map(|r| r.to_vec()).collect();
        let mut out = [0.0; 2];
        let reps = 20;
        let t = Instant::now();
        let mut sink = 0.0;
        for _ in 0..reps {
            for r in &rows {
                model.predict_proba_row_into(r, &mut out);
                sink += out[1];
            }
        }
        let per_row_us = t.elapsed().as_secs_f64() * 1e6 / (reps * rows.len()) as f64;
        let t = Instant::now();
        let _ = model.predict_proba(xte.view());
        let batch_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "n={n} (train {}) fit {fit_s:.3} s, nodes {}, test auc {auc:.4}, single-row predict {per_row_us:.2} us, batch of {} rows {batch_ms:.2} ms, bytes {} (sink {sink:.1})",
            train.len(),
            model.n_nodes(),
            test.len(),
            model.to_bytes().unwrap().len()
        );
    }
}
