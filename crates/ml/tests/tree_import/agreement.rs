//! Every test model's predictions equal its library's, row by row, within 1e-6: held-out rows
//! with NaNs and zeros, rows at and around every split threshold, odd values and categories.

use ironmage_ml::{Origin, Task};

use crate::common::{load, loader_of, Models};

const TOLERANCE: f64 = 1e-6;

#[test]
fn imported_models_predict_as_their_library() {
    let Some(models) = Models::train() else {
        return;
    };
    for (name, loader, file) in models.cases() {
        let bytes = std::fs::read(models.path(&file)).unwrap();
        let model = load(&loader, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let rows = models.numbers(&format!("{name}.rows"));
        let want = models.numbers(&format!("{name}.preds"));
        assert_eq!(rows.len(), want.len());
        assert_eq!(model.n_features(), rows[0].len(), "{file}");
        assert_eq!(model.n_outputs(), want[0].len(), "{file}");
        let expected_task = if name.contains("binary") || name.contains("categorical") {
            Task::Classification { n_classes: 2 }
        } else if name.contains("multiclass") {
            Task::Classification { n_classes: 3 }
        } else {
            Task::Regression
        };
        assert_eq!(model.task(), expected_task, "{file}");
        let origin = if loader == "lightgbm" {
            Origin::LightGbm
        } else {
            Origin::XgBoost
        };
        assert_eq!(model.origin(), origin);
        if name.ends_with("unnamed") {
            assert!(model.feature_names().is_empty(), "{file}");
        } else {
            assert_eq!(model.feature_names()[3], "feat_3", "{file}");
        }

        // one row at a time, and the whole batch into one buffer
        let mut worst = 0.0f64;
        for (i, (row, want)) in rows.iter().zip(&want).enumerate() {
            let got = model.predict_row(row).unwrap();
            for (k, (g, w)) in got.iter().zip(want).enumerate() {
                let diff = (g - w).abs();
                worst = worst.max(diff);
                assert!(
                    diff <= TOLERANCE,
                    "{file}: row {i} {row:?} output {k}: ironmage {g}, library {w}"
                );
            }
        }
        let flat: Vec<f64> = rows.concat();
        let mut out = vec![f64::NAN; rows.len() * model.n_outputs()];
        model.predict_into(&flat, &mut out).unwrap();
        for (i, row) in rows.iter().enumerate() {
            let single = model.predict_row(row).unwrap();
            assert_eq!(
                &out[i * single.len()..(i + 1) * single.len()],
                &single[..],
                "{file} row {i}"
            );
        }
        eprintln!(
            "{file:32} {} rows, {} trees, largest difference {worst:.1e}",
            rows.len(),
            model.n_trees()
        );
    }
}

#[test]
fn unsupported_models_are_refused_by_name() {
    let Some(models) = Models::train() else {
        return;
    };
    for r in models.table("refusals.tsv") {
        let (file, word) = (&r[0], &r[1]);
        let bytes = std::fs::read(models.path(file)).unwrap();
        let e = load(loader_of(file), &bytes).expect_err(file).to_string();
        assert!(e.contains(word), "{file}: `{e}` does not say `{word}`");
        assert!(e.contains("not supported"), "{file}: {e}");
        eprintln!("{file}: {e}");
    }
}
