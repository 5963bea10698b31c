//! Tests of the regression forest and of gradient boosting.

use ndarray::Array2;
use rand::Rng;

use crate::rng::seeded_rng;
use crate::*;

/// `n` rows, 4 features in [0, 1); target `3*x0 + 2*(x1 > 0.5) + noise*N`.
fn regression_data(n: usize, noise: f64, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = seeded_rng(seed, 7);
    let x = Array2::from_shape_fn((n, 4), |_| rng.gen::<f64>());
    let y = (0..n)
        .map(|i| {
            let e: f64 = rng.gen::<f64>() - 0.5;
            3.0 * x[[i, 0]] + 2.0 * f64::from(u8::from(x[[i, 1]] > 0.5)) + noise * e
        })
        .collect();
    (x, y)
}

fn binary_data(n: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let (x, y) = regression_data(n, 2.0, seed);
    let y = y.iter().map(|&v| f64::from(u8::from(v > 2.5))).collect();
    (x, y)
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn rf_params() -> RandomForestParams {
    RandomForestParams {
        n_estimators: 20,
        max_depth: Some(8),
        max_features: MaxFeatures::All,
        ..Default::default()
    }
}

/// The artifacts of `gb` fitted with log-loss on the `binary` data and with
/// squared error on the `regression` data: the gradient-pair and the
/// gradient-only paths of the grower.
fn boosting_artifacts(
    gb: &GradientBoostingParams,
    (xb, yb): (&Array2<f64>, &[f64]),
    (x, y): (&Array2<f64>, &[f64]),
) -> (Vec<u8>, Vec<u8>) {
    let sq = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        ..gb.clone()
    };
    (
        gb.fit(xb.view(), yb, None).unwrap().to_bytes().unwrap(),
        sq.fit(x.view(), y, None).unwrap().to_bytes().unwrap(),
    )
}

#[test]
fn fits_are_deterministic_across_thread_counts() {
    let (x, y) = regression_data(3000, 0.5, 1);
    let (xb, yb) = binary_data(3000, 2);
    let gb = GradientBoostingParams {
        max_iter: 20,
        early_stopping: true,
        ..Default::default()
    };
    let run = |t| {
        in_pool(t, || {
            let sampled = RandomForestParams {
                max_features: MaxFeatures::Sqrt,
                ..rf_params()
            };
            (
                rf_params()
                    .fit_regressor(x.view(), &y, None)
                    .unwrap()
                    .to_bytes()
                    .unwrap(),
                sampled
                    .fit_regressor(x.view(), &y, None)
                    .unwrap()
                    .to_bytes()
                    .unwrap(),
                boosting_artifacts(&gb, (&xb, &yb), (&x, &y)),
            )
        })
    };
    let one = run(1);
    assert_eq!(one, run(4));
    assert_eq!(one, run(3));
}

/// Large enough for the parallel paths of boosting: the chunked partition of
/// nodes of 64k rows and more, histograms of nodes of 16k rows and more, and
/// the root's sums over several blocks.
#[test]
fn boosting_on_large_nodes_is_deterministic_across_thread_counts() {
    let (x, y) = regression_data(140_000, 0.5, 3);
    let (xb, yb) = binary_data(140_000, 4);
    let gb = GradientBoostingParams {
        max_iter: 3,
        ..Default::default()
    };
    let run = |t| in_pool(t, || boosting_artifacts(&gb, (&xb, &yb), (&x, &y)));
    assert_eq!(run(1), run(3));
}

#[test]
fn gbdt_probabilities_sum_to_one_and_auc_is_high() {
    let (x, y) = binary_data(4000, 3);
    let (xt, yt) = binary_data(2000, 4);
    let m = GradientBoostingParams::default()
        .fit(x.view(), &y, None)
        .unwrap();
    let p = m.predict_proba(xt.view());
    for r in p.outer_iter() {
        assert!((r[0] + r[1] - 1.0).abs() < 1e-12 && r[1] >= 0.0 && r[1] <= 1.0);
    }
    for i in 0..50 {
        let row = xt.row(i).to_vec();
        let q = m.predict_proba_row(&row);
        assert!((q[0] + q[1] - 1.0).abs() < 1e-12);
        assert_eq!(q[1], p[[i, 1]]);
    }
    let labels: Vec<usize> = yt.iter().map(|&v| v as usize).collect();
    let auc = roc_auc(&labels, &p.column(1).to_vec()).unwrap();
    assert!(auc > 0.85, "auc {auc}");
}

/// The best stump by exhaustive search over all midpoints (weighted SSE).
fn brute_force_stump(x: &Array2<f64>, y: &[f64], w: &[f64]) -> (usize, f64, f64, f64) {
    let mut best = (f64::INFINITY, 0, 0.0, 0.0, 0.0);
    for f in 0..x.ncols() {
        let mut vals: Vec<f64> = x.column(f).to_vec();
        vals.sort_by(f64::total_cmp);
        vals.dedup();
        for pair in vals.windows(2) {
            let t = 0.5 * (pair[0] + pair[1]);
            let side = |left: bool| {
                let (mut sw, mut swy) = (0.0, 0.0);
                for i in 0..y.len() {
                    if (x[[i, f]] <= t) == left {
                        sw += w[i];
                        swy += w[i] * y[i];
                    }
                }
                let mean = swy / sw;
                let sse: f64 = (0..y.len())
                    .filter(|&i| (x[[i, f]] <= t) == left)
                    .map(|i| w[i] * (y[i] - mean) * (y[i] - mean))
                    .sum();
                (mean, sse)
            };
            let ((ml, sl), (mr, sr)) = (side(true), side(false));
            if sl + sr < best.0 - 1e-9 {
                best = (sl + sr, f, t, ml, mr);
            }
        }
    }
    (best.1, best.2, best.3, best.4)
}

#[test]
fn regression_stump_agrees_with_brute_force() {
    for seed in 0..20 {
        let (x, y) = regression_data(40, 1.0, 100 + seed);
        let mut rng = seeded_rng(seed, 9);
        let w: Vec<f64> = (0..40).map(|_| rng.gen_range(0.5..2.0)).collect();
        let params = RandomForestParams {
            n_estimators: 1,
            bootstrap: false,
            max_depth: Some(1),
            max_features: MaxFeatures::All,
            ..Default::default()
        };
        let m = params.fit_regressor(x.view(), &y, Some(&w)).unwrap();
        let (f, t, ml, mr) = brute_force_stump(&x, &y, &w);
        for i in 0..40 {
            let row = x.row(i).to_vec();
            let want = if row[f] <= t { ml } else { mr };
            assert!(
                (m.predict_row(&row) - want).abs() < 1e-9,
                "seed {seed} row {i}"
            );
        }
    }
}

#[test]
fn regression_errors_are_bounded() {
    let (x, y) = regression_data(5000, 0.5, 5);
    let (xt, yt) = regression_data(2000, 0.5, 6);
    // noise is uniform of width 0.5: irreducible RMSE 0.144
    let rf = rf_params().fit_regressor(x.view(), &y, None).unwrap();
    let e = rmse(&yt, rf.predict(xt.view()).as_slice().unwrap());
    assert!(e < 0.25, "forest rmse {e}");
    let gb = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        ..Default::default()
    };
    let m = gb.fit(x.view(), &y, None).unwrap();
    let e = rmse(&yt, m.predict(xt.view()).as_slice().unwrap());
    assert!(e < 0.2, "gbdt rmse {e}");
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let base = rmse(&yt, &vec![mean; yt.len()]);
    assert!(base > 1.0, "baseline {base}");
}

#[test]
fn early_stopping_stops_on_pure_noise() {
    let mut rng = seeded_rng(1, 1);
    let x = Array2::from_shape_fn((3000, 3), |_| rng.gen::<f64>());
    let y: Vec<f64> = (0..3000)
        .map(|_| f64::from(u8::from(rng.gen::<bool>())))
        .collect();
    let p = GradientBoostingParams {
        max_iter: 500,
        early_stopping: true,
        ..Default::default()
    };
    let m = p.fit(x.view(), &y, None).unwrap();
    assert!(m.n_iter() < 100, "{} iterations", m.n_iter());
    assert_eq!(m.validation_loss().len(), m.n_iter() + 1);
}

#[test]
fn zero_weights_equal_dropped_rows() {
    let (x, y) = regression_data(600, 1.0, 8);
    let w: Vec<f64> = (0..600).map(|i| f64::from(u8::from(i % 3 != 0))).collect();
    let keep: Vec<usize> = (0..600).filter(|i| i % 3 != 0).collect();
    let xs = x.select(ndarray::Axis(0), &keep);
    let ys: Vec<f64> = keep.iter().map(|&i| y[i]).collect();
    let gb = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 10,
        ..Default::default()
    };
    let a = gb.fit(x.view(), &y, Some(&w)).unwrap();
    let b = gb.fit(xs.view(), &ys, None).unwrap();
    // bins differ (they see the zero-weight rows) but predictions stay close
    let (pa, pb) = (a.predict(xs.view()), b.predict(xs.view()));
    let d = rmse(pa.as_slice().unwrap(), pb.as_slice().unwrap());
    assert!(d < 0.15, "{d}");
    // doubling every weight changes nothing for a forest without bootstrap
    let p = RandomForestParams {
        bootstrap: false,
        ..rf_params()
    };
    let w2: Vec<f64> = w.iter().map(|v| 2.0 * v).collect();
    let m1 = p.fit_regressor(x.view(), &y, Some(&w)).unwrap();
    let m2 = p.fit_regressor(x.view(), &y, Some(&w2)).unwrap();
    let (p1, p2) = (m1.predict(xs.view()), m2.predict(xs.view()));
    assert!(p1.iter().zip(p2.iter()).all(|(a, b)| (a - b).abs() < 1e-9));
}

#[test]
fn artifacts_round_trip_and_reject_corruption() {
    let (x, y) = regression_data(500, 0.5, 9);
    let rf = rf_params().fit_regressor(x.view(), &y, None).unwrap();
    let bytes = rf.to_bytes().unwrap();
    assert_eq!(RandomForestRegressor::from_bytes(&bytes).unwrap(), rf);
    let gb = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 5,
        ..Default::default()
    }
    .fit(x.view(), &y, None)
    .unwrap();
    let gbytes = gb.to_bytes().unwrap();
    assert_eq!(GradientBoostingModel::from_bytes(&gbytes).unwrap(), gb);
    // wrong kind, truncation, bad version, and every single-byte flip: errors or valid models, never panics
    assert!(GradientBoostingModel::from_bytes(&bytes).is_err());
    assert!(RandomForestRegressor::from_bytes(&gbytes[..gbytes.len() / 2]).is_err());
    let mut v = gbytes.clone();
    v[8] = 9;
    assert!(matches!(
        GradientBoostingModel::from_bytes(&v),
        Err(MlError::UnsupportedVersion { .. })
    ));
    for i in 12..gbytes.len() {
        let mut c = gbytes.clone();
        c[i] ^= 0xA5;
        if let Ok(m) = GradientBoostingModel::from_bytes(&c) {
            let _ = m.predict_row(&[0.5; 4]);
        }
    }
}

#[test]
fn bad_input_gives_errors() {
    let (x, y) = regression_data(50, 0.5, 10);
    let gb = GradientBoostingParams::default();
    assert!(gb.fit(x.view(), &y, None).is_err()); // log-loss on non 0/1 targets
    let sq = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        ..Default::default()
    };
    assert!(sq.fit(x.view(), &y[..10], None).is_err());
    assert!(sq.fit(x.view(), &y, Some(&[1.0; 3])).is_err());
    assert!(sq.fit(x.view(), &y, Some(&vec![-1.0; 50])).is_err());
    let mut xn = x.clone();
    xn[[3, 2]] = f64::NAN;
    assert!(sq.fit(xn.view(), &y, None).is_err());
    assert!(sq.fit(Array2::zeros((0, 4)).view(), &[], None).is_err());
    for bad in [
        GradientBoostingParams {
            learning_rate: 0.0,
            ..sq.clone()
        },
        GradientBoostingParams {
            max_iter: 0,
            ..sq.clone()
        },
        GradientBoostingParams {
            max_leaf_nodes: Some(1),
            ..sq.clone()
        },
        GradientBoostingParams {
            validation_fraction: 1.0,
            ..sq.clone()
        },
        GradientBoostingParams {
            l2_regularization: -1.0,
            ..sq.clone()
        },
    ] {
        assert!(bad.fit(x.view(), &y, None).is_err());
    }
    let early = GradientBoostingParams {
        early_stopping: true,
        ..sq.clone()
    };
    assert!(early
        .fit(x.select(ndarray::Axis(0), &[0]).view(), &y[..1], None)
        .is_err());
    assert!(rf_params()
        .fit_regressor(x.view(), &[f64::NAN; 50], None)
        .is_err());
    // short rows are padded, not a panic
    let m = sq.fit(x.view(), &y, None).unwrap();
    assert!(m.predict_row(&[0.1]).is_finite());
}

#[test]
fn linfa_fit_and_predict_with_weights() {
    use linfa::traits::{Fit, Predict};
    let (x, y) = regression_data(400, 0.5, 11);
    let w = ndarray::Array1::from_elem(400, 2.0f32);
    let ds =
        linfa::DatasetBase::new(x.clone(), ndarray::Array1::from_vec(y.clone())).with_weights(w);
    let gb = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 10,
        ..Default::default()
    };
    let m: GradientBoostingModel = Fit::fit(&gb, &ds).unwrap();
    let direct = gb.fit(x.view(), &y, Some(&[2.0; 400])).unwrap();
    assert_eq!(m, direct);
    let p: ndarray::Array1<f64> = Predict::predict(&m, &x);
    assert_eq!(p, direct.predict(x.view()));
    let rf: RandomForestRegressor = Fit::fit(&rf_params(), &ds).unwrap();
    let p: ndarray::Array1<f64> = Predict::predict(&rf, &x);
    assert!(rmse(&y, p.as_slice().unwrap()) < 0.5);
}

#[test]
fn weighted_classifier_matches_duplicated_rows() {
    let (x, yb) = binary_data(600, 12);
    let y: Vec<usize> = yb.iter().map(|&v| v as usize).collect();
    let w: Vec<f64> = (0..600)
        .map(|i| if i % 4 == 0 { 2.0 } else { 1.0 })
        .collect();
    let dup: Vec<usize> = (0..600).chain((0..600).filter(|i| i % 4 == 0)).collect();
    let xd = x.select(ndarray::Axis(0), &dup);
    let yd: Vec<usize> = dup.iter().map(|&i| y[i]).collect();
    let p = RandomForestParams {
        n_estimators: 1,
        bootstrap: false,
        max_depth: Some(4),
        max_features: MaxFeatures::All,
        // one bin per distinct value, so both fits see the same thresholds
        n_bins: 4096,
        ..Default::default()
    };
    let a = p.fit_weighted(x.view(), &y, &w).unwrap();
    let b = p.fit(xd.view(), &yd).unwrap();
    let (pa, pb) = (a.predict_proba(x.view()), b.predict_proba(x.view()));
    for (ra, rb) in pa.outer_iter().zip(pb.outer_iter()) {
        assert!((ra[1] - rb[1]).abs() < 1e-9 && (ra[0] + ra[1] - 1.0).abs() < 1e-12);
    }
    // a forest with weights: round trip through the classifier artifact
    let f = RandomForestParams {
        n_estimators: 10,
        ..p
    }
    .fit_weighted(x.view(), &y, &w)
    .unwrap();
    assert_eq!(
        RandomForestClassifier::from_bytes(&f.to_bytes().unwrap()).unwrap(),
        f
    );
    let three: Vec<usize> = (0..600).map(|i| i % 3).collect();
    assert!(p.fit_weighted(x.view(), &three, &w).is_err());
    assert!(p.fit_weighted(x.view(), &y, &w[..5]).is_err());
}

#[test]
fn importances_sum_to_one_and_rank_the_informative_features_first() {
    // the target is 3*x0 + 2*(x1 > 0.5): x1 carries a variance of 1, x0 of 0.75, the rest none
    let (x, y) = regression_data(2000, 0.1, 21);
    let rf = rf_params().fit_regressor(x.view(), &y, None).unwrap();
    let gb = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 30,
        ..Default::default()
    }
    .fit(x.view(), &y, None)
    .unwrap();
    for imp in [rf.feature_importances(), gb.feature_importances()] {
        assert_eq!(imp.len(), 4);
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{imp:?}");
        assert!(imp.iter().all(|&v| v >= 0.0), "{imp:?}");
        assert!(imp[1] > imp[0] && imp[0] > 0.3, "{imp:?}");
        assert!(imp[2] + imp[3] < 0.05, "{imp:?}");
    }
}

/// A version 1 artifact: the version 2 bytes without the trailing importances
/// (a varint length and `n` f64 values), marked version 1.
fn as_version_1(v2: &[u8], n_features: usize) -> Vec<u8> {
    let mut v1 = v2[..v2.len() - 1 - 8 * n_features].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    v1
}

#[test]
fn version_1_artifacts_load_without_importances() {
    let (x, y) = regression_data(500, 0.5, 9);
    let rf = rf_params().fit_regressor(x.view(), &y, None).unwrap();
    let old = RandomForestRegressor::from_bytes(&as_version_1(&rf.to_bytes().unwrap(), 4)).unwrap();
    assert_eq!(old.feature_importances(), vec![0.0; 4]);
    assert_eq!(old.predict(x.view()), rf.predict(x.view()));
    let gb = GradientBoostingParams {
        max_iter: 5,
        ..Default::default()
    }
    .fit(
        x.view(),
        &y.iter()
            .map(|&v| f64::from(u8::from(v > 2.5)))
            .collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let old = GradientBoostingModel::from_bytes(&as_version_1(&gb.to_bytes().unwrap(), 4)).unwrap();
    assert_eq!(old.feature_importances(), vec![0.0; 4]);
    assert_eq!(old.predict(x.view()), gb.predict(x.view()));
}
