//! Truncated, garbled and wrong files give an error that says what is wrong, never a panic.

use ironmage_ml::import::{lightgbm, xgboost};

use crate::common::{load, Models};

/// A small deterministic stream of positions and bytes (SplitMix64).
fn stream(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn truncated_and_garbled_model_files_are_errors() {
    let Some(models) = Models::train() else {
        return;
    };
    let mut next = stream(11);
    for (_, loader, file) in models.cases() {
        let bytes = std::fs::read(models.path(&file)).unwrap();
        // LightGBM's trailer (importances, parameters) may go: the trees end at `end of trees`
        let needed = if loader == "lightgbm" {
            let text = String::from_utf8_lossy(&bytes);
            text.find("end of trees").unwrap() + "end of trees".len()
        } else {
            bytes.len()
        };
        for k in 0..150 {
            let cut = if k < 20 {
                k
            } else {
                (next() % bytes.len() as u64) as usize
            };
            if cut < needed {
                let e = load(&loader, &bytes[..cut]).expect_err(&format!("{file} cut at {cut}"));
                assert!(!e.to_string().is_empty());
            }
        }
        for _ in 0..150 {
            let mut garbled = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                garbled[at] = next() as u8;
            }
            // anything but a panic: a flipped digit may still be a valid model
            let _ = load(&loader, &garbled).map(|m| m.predict_row(&vec![0.5; m.n_features()]));
        }
    }
}

#[test]
fn wrong_inputs_say_what_is_wrong() {
    let err = |r: ironmage_ml::Result<ironmage_ml::ImportedModel>| r.unwrap_err().to_string();
    let cases = [
        ("first line", err(lightgbm::load(""))),
        ("first line", err(lightgbm::load("{\"learner\": 1}"))),
        ("max_feature_idx", err(lightgbm::load("tree\nversion=v4\n"))),
        (
            "not a JSON model",
            err(xgboost::load_json(b"tree\nversion=v4")),
        ),
        ("no `learner`", err(xgboost::load_json(b"{}"))),
        ("truncated", err(xgboost::load_ubj(b"{L\x00\x00"))),
        (
            "count",
            err(xgboost::load_ubj(b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff")),
        ),
        ("nested too deep", err(xgboost::load_ubj(&[b'['; 100_000]))),
    ];
    for (word, e) in cases {
        assert!(e.contains(word), "`{e}` does not say `{word}`");
        assert!(e.starts_with("cannot import"), "{e}");
    }
    let mut next = stream(3);
    for n in 0..2000 {
        let junk: Vec<u8> = (0..n % 64).map(|_| next() as u8).collect();
        assert!(xgboost::load_ubj(&junk).is_err());
        assert!(xgboost::load_json(&junk).is_err());
        assert!(lightgbm::load(&String::from_utf8_lossy(&junk)).is_err());
    }
}
