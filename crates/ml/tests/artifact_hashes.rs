//! The SHA-256 of the artifact of every model kind, fitted on fixed data with a fixed seed.
//!
//! Stored models must keep loading and the same data and seed must keep giving the same
//! artifact, so a change of any of these hashes is a change of the artifact format or of what
//! a fit computes: both need a new format version or a deliberate decision, never an accident.
//! (Log-loss fits call `exp` and `ln`, so they pin this platform's libm as well.)

use ironmage_ml::linear::LinearParams;
use ironmage_ml::{
    GbdtLoss, GradientBoostingModel, GradientBoostingParams, MaxFeatures, RandomForestClassifier,
    RandomForestParams, RandomForestRegressor, GBDT_MAGIC, MAGIC, REGRESSOR_MAGIC,
};
use ndarray::Array2;
use sha2::{Digest, Sha256};

/// A uniform value in [0, 1) from a counter (SplitMix64), independent of any RNG crate.
fn uniform(i: u64) -> f64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / 2f64.powi(64)
}

/// 600 rows of 5 features (continuous, integer with ties, bell-shaped, wide, noise), a
/// regression target, a binary and a three-class label, and positive weights.
struct Data {
    x: Array2<f64>,
    target: Vec<f64>,
    binary: Vec<usize>,
    classes: Vec<usize>,
    weights: Vec<f64>,
}

fn data() -> Data {
    let n = 600;
    let u = |row: usize, k: u64| uniform(row as u64 * 16 + k);
    let x = Array2::from_shape_fn((n, 5), |(i, f)| match f {
        0 => u(i, 0),
        1 => (u(i, 1) * 10.0).floor(),
        2 => u(i, 2) + u(i, 3) + u(i, 4) - 1.5,
        3 => u(i, 5) * 1000.0 - 200.0,
        _ => u(i, 6),
    });
    let target: Vec<f64> = (0..n)
        .map(|i| {
            let r = x.row(i);
            3.0 * r[0] + 2.0 * f64::from(u8::from(r[1] > 5.0)) + r[2] * r[2] + u(i, 7) - 0.5
        })
        .collect();
    let binary = target.iter().map(|&t| usize::from(t > 2.5)).collect();
    let classes = target
        .iter()
        .map(|&t| (t / 1.6).clamp(0.0, 2.0) as usize)
        .collect();
    let weights = (0..n).map(|i| 0.25 + u(i, 8) * 2.0).collect();
    Data {
        x,
        target,
        binary,
        classes,
        weights,
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The linear models have no binary format of their own: their artifact is their serde JSON.
fn json<T: serde::Serialize>(model: &T) -> Vec<u8> {
    serde_json::to_vec(model).unwrap()
}

/// Every model kind's artifact, by name.
fn artifacts() -> Vec<(&'static str, Vec<u8>)> {
    let d = data();
    let x = d.x.view();
    let forest = RandomForestParams {
        n_estimators: 10,
        max_depth: Some(6),
        random_state: 7,
        ..Default::default()
    };
    let tree = RandomForestParams {
        n_estimators: 1,
        max_features: MaxFeatures::All,
        bootstrap: false,
        random_state: 7,
        ..Default::default()
    };
    let every_feature = RandomForestParams {
        max_features: MaxFeatures::All,
        min_samples_leaf: 3,
        ..forest.clone()
    };
    let boosting = GradientBoostingParams {
        max_iter: 15,
        early_stopping: true,
        random_state: 7,
        ..Default::default()
    };
    let squared = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 15,
        max_leaf_nodes: Some(15),
        ..Default::default()
    };
    let shallow = GradientBoostingParams {
        loss: GbdtLoss::SquaredError,
        max_iter: 15,
        max_leaf_nodes: None,
        max_depth: Some(3),
        l2_regularization: 1.0,
        n_bins: 32,
        ..Default::default()
    };
    let y01: Vec<f64> = d.binary.iter().map(|&c| c as f64).collect();
    let w = Some(&d.weights[..]);
    let linear = LinearParams::default();
    vec![
        (
            "forest_classifier",
            forest.fit(x, &d.classes).unwrap().to_bytes().unwrap(),
        ),
        (
            "decision_tree_classifier",
            tree.fit(x, &d.binary).unwrap().to_bytes().unwrap(),
        ),
        (
            "weighted_forest_classifier",
            every_feature
                .fit_weighted(x, &d.binary, &d.weights)
                .unwrap()
                .to_bytes()
                .unwrap(),
        ),
        (
            "forest_regressor",
            forest
                .fit_regressor(x, &d.target, None)
                .unwrap()
                .to_bytes()
                .unwrap(),
        ),
        (
            "weighted_forest_regressor",
            every_feature
                .fit_regressor(x, &d.target, w)
                .unwrap()
                .to_bytes()
                .unwrap(),
        ),
        (
            "decision_tree_regressor",
            tree.fit_regressor(x, &d.target, None)
                .unwrap()
                .to_bytes()
                .unwrap(),
        ),
        (
            "boosting_classifier",
            boosting.fit(x, &y01, None).unwrap().to_bytes().unwrap(),
        ),
        (
            "boosting_regressor",
            squared.fit(x, &d.target, None).unwrap().to_bytes().unwrap(),
        ),
        (
            "weighted_boosting_regressor",
            shallow.fit(x, &d.target, w).unwrap().to_bytes().unwrap(),
        ),
        (
            "linear_regression",
            json(&linear.fit_linear(x, &d.target).unwrap()),
        ),
        (
            "logistic_regression",
            json(&linear.fit_logistic(x, &d.binary).unwrap()),
        ),
    ]
}

const PINNED: &[(&str, &str)] = &[
    (
        "forest_classifier",
        "21c2eadf60ad64fc412839e6c8488b15570ceb6ef951840a267458c044a8587f",
    ),
    (
        "decision_tree_classifier",
        "0c74b9547aca3873b48888b9e1844fae203e15078b1ae547c69a367e4fefd078",
    ),
    (
        "weighted_forest_classifier",
        "57e707c1da742cdb799302c452867f105dc249c32c7fb55ac252071d30f71b84",
    ),
    (
        "forest_regressor",
        "b7289e18b44b94c94c58be3aeaae5ec77a2ee4fa567e21d3faa104fb4c5b3597",
    ),
    (
        "weighted_forest_regressor",
        "227ed9cd485d59efab3c0ea5fd64fcf6e1122da503780f283fe91450ee0f7a78",
    ),
    (
        "decision_tree_regressor",
        "d0696a53671bb983b042205c9cedb552d926e67b84b96d47d705aba0ea899ef1",
    ),
    (
        "boosting_classifier",
        "8b54615cfbc40fc4c1acff308e92f003fb295b4404282ce6baaebef00a3a7833",
    ),
    (
        "boosting_regressor",
        "715adc34a8477444ce2f002420a357208282814d120b6bc7f340e1540b148f86",
    ),
    (
        "weighted_boosting_regressor",
        "9fbb267b8a1456b52b63bb49cc87a731130ac6437ad4829cdcddb28d9f08a367",
    ),
    (
        "linear_regression",
        "0203834084628af3bb6649ac3bff69807da8d730e0e2384df5903ecfc163cebd",
    ),
    (
        "logistic_regression",
        "571d53f5103b4a90ec4d2b6075339c8141bd475ddc805480ca84006a0c5562e3",
    ),
];

#[test]
fn artifacts_keep_their_hashes() {
    let actual: Vec<(&str, String)> = artifacts()
        .into_iter()
        .map(|(k, b)| (k, sha256(&b)))
        .collect();
    for (kind, hash) in &actual {
        println!("{kind} {hash}");
    }
    let pinned: Vec<(&str, String)> = PINNED.iter().map(|&(k, h)| (k, h.to_string())).collect();
    assert_eq!(actual, pinned);
}

/// The tree models' artifacts, whose hashes are pinned above, load and give the same bytes back:
/// stored models of every kind still load.
#[test]
fn artifacts_load_and_write_back_the_same_bytes() {
    for (kind, bytes) in artifacts() {
        let magic: [u8; 8] = bytes[..8].try_into().unwrap();
        let again = match magic {
            MAGIC => RandomForestClassifier::from_bytes(&bytes).map(|m| m.to_bytes()),
            REGRESSOR_MAGIC => RandomForestRegressor::from_bytes(&bytes).map(|m| m.to_bytes()),
            GBDT_MAGIC => GradientBoostingModel::from_bytes(&bytes).map(|m| m.to_bytes()),
            _ => continue,
        };
        assert_eq!(again.unwrap().unwrap(), bytes, "{kind}");
    }
}
