//! Classification metrics: accuracy, ROC AUC (Mann-Whitney, ties averaged),
//! and precision / recall / F1 for the positive class 1.
//!
//! The plain functions compare `y_true` and `y_pred` pairwise; a prediction
//! missing from a shorter `y_pred` counts as wrong, and undefined ratios are
//! 0.0 (scikit-learn's `zero_division=0`). [`ClassificationMetrics::compute`]
//! checks lengths and returns an error instead.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// Share of `y_true` that `y_pred` predicts exactly; 0.0 for empty input.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return 0.0;
    }
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    hits as f64 / y_true.len() as f64
}

/// (true positives, false positives, false negatives) for class 1.
fn confusion(y_true: &[usize], y_pred: &[usize]) -> (usize, usize, usize) {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (i, &t) in y_true.iter().enumerate() {
        let p = y_pred.get(i).copied();
        match (t == 1, p == Some(1)) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    (tp, fp, fn_)
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Precision of class 1, `tp / (tp + fp)`; 0.0 when nothing is predicted positive.
pub fn precision(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let (tp, fp, _) = confusion(y_true, y_pred);
    ratio(tp, tp + fp)
}

/// Recall of class 1, `tp / (tp + fn)`; 0.0 when there is no positive.
pub fn recall(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let (tp, _, fn_) = confusion(y_true, y_pred);
    ratio(tp, tp + fn_)
}

/// F1 score of class 1, `2 tp / (2 tp + fp + fn)`; 0.0 when undefined.
pub fn f1(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let (tp, fp, fn_) = confusion(y_true, y_pred);
    ratio(2 * tp, 2 * tp + fp + fn_)
}

/// Area under the ROC curve for a binary problem (labels 0 and 1, positive
/// class 1), from the ranks of the scores (Mann-Whitney U) with tied scores
/// given their average rank.
///
/// Errors on mismatched lengths, empty input, a label other than 0/1, a NaN
/// score, or when only one class is present.
pub fn roc_auc(y_true: &[usize], score: &[f64]) -> Result<f64> {
    if y_true.len() != score.len() {
        return Err(MlError::MismatchedLengths {
            what: "scores vs labels",
            expected: y_true.len(),
            actual: score.len(),
        });
    }
    if y_true.is_empty() {
        return Err(MlError::EmptyDataset);
    }
    if let Some((row, &label)) = y_true.iter().enumerate().find(|(_, &l)| l > 1) {
        return Err(MlError::InvalidLabel {
            row,
            label,
            reason: "roc auc needs binary labels 0 and 1",
        });
    }
    if let Some(row) = score.iter().position(|s| s.is_nan()) {
        return Err(MlError::NonFiniteValue { row, column: 0 });
    }
    let n_pos = y_true.iter().filter(|&&l| l == 1).count();
    let n_neg = y_true.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MlError::SingleClass { metric: "roc auc" });
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // sum of the (1-based, tie-averaged) ranks of the positives
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let positives = order[i..=j].iter().filter(|&&k| y_true[k] == 1).count();
        rank_sum += avg_rank * positives as f64;
        i = j + 1;
    }
    let (p, q) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

/// The standard set of metrics of a binary classifier on a test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Share of correct predictions.
    pub accuracy: f64,
    /// ROC AUC of the positive-class probabilities.
    pub auc_score: f64,
    /// Precision of class 1.
    pub precision: f64,
    /// Recall of class 1.
    pub recall: f64,
    /// F1 score of class 1.
    pub f1_score: f64,
}

impl ClassificationMetrics {
    /// Metrics of positive-class probabilities `proba_positive` against binary
    /// labels; a row is predicted positive when its probability is strictly
    /// above `threshold` (so at 0.5 this agrees with an argmax that breaks ties
    /// toward class 0).
    pub fn compute(y_true: &[usize], proba_positive: &[f64], threshold: f64) -> Result<Self> {
        if threshold.is_nan() {
            return Err(MlError::InvalidArgument {
                name: "threshold",
                reason: "must not be NaN".into(),
            });
        }
        let auc_score = roc_auc(y_true, proba_positive)?;
        let y_pred: Vec<usize> = proba_positive
            .iter()
            .map(|&p| usize::from(p > threshold))
            .collect();
        Ok(ClassificationMetrics {
            accuracy: accuracy(y_true, &y_pred),
            auc_score,
            precision: precision(y_true, &y_pred),
            recall: recall(y_true, &y_pred),
            f1_score: f1(y_true, &y_pred),
        })
    }
}

/// Root mean squared error of `y_pred` against `y_true` (over the common
/// length; 0 for empty input).
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let n = y_true.len().min(y_pred.len());
    if n == 0 {
        return 0.0;
    }
    let s: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    (s / n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn accuracy_precision_recall_f1_by_hand() {
        let t = [1, 1, 1, 0, 0, 0, 0, 1];
        let p = [1, 0, 1, 1, 0, 0, 0, 0];
        // tp = 2, fp = 1, fn = 2, tn = 3
        assert!(close(accuracy(&t, &p), 5.0 / 8.0));
        assert!(close(precision(&t, &p), 2.0 / 3.0));
        assert!(close(recall(&t, &p), 2.0 / 4.0));
        assert!(close(f1(&t, &p), 4.0 / 7.0));
    }

    #[test]
    fn undefined_ratios_are_zero() {
        assert_eq!(precision(&[1, 0], &[0, 0]), 0.0);
        assert_eq!(recall(&[0, 0], &[1, 0]), 0.0);
        assert_eq!(f1(&[0, 0], &[0, 0]), 0.0);
        assert_eq!(accuracy(&[], &[]), 0.0);
        // a missing prediction counts as wrong, never a panic
        assert!(close(accuracy(&[1, 1], &[1]), 0.5));
    }

    #[test]
    fn auc_without_ties() {
        // positives 0.8, 0.4; negatives 0.1, 0.35, 0.5 -> pairs won: 3 + 2 = 5 of 6
        let t = [1, 0, 1, 0, 0];
        let s = [0.8, 0.1, 0.4, 0.35, 0.5];
        assert!(close(roc_auc(&t, &s).unwrap(), 5.0 / 6.0));
    }

    #[test]
    fn auc_with_ties() {
        // scikit-learn: roc_auc_score([0,0,1,1,0,1], [0.1,0.4,0.4,0.8,0.8,0.8]) = 0.7222...
        // by hand: positives {0.4, 0.8, 0.8}, negatives {0.1, 0.4, 0.8}
        // 0.4 vs: win, tie, loss = 1.5; each 0.8 vs: win, win, tie = 2.5 -> 6.5 / 9
        let t = [0, 0, 1, 1, 0, 1];
        let s = [0.1, 0.4, 0.4, 0.8, 0.8, 0.8];
        assert!(close(roc_auc(&t, &s).unwrap(), 6.5 / 9.0));
        // all scores tied -> 0.5
        assert!(close(roc_auc(&[0, 1, 1, 0], &[0.3; 4]).unwrap(), 0.5));
        // perfect and inverted rankings
        assert!(close(roc_auc(&[0, 0, 1], &[0.1, 0.2, 0.9]).unwrap(), 1.0));
        assert!(close(roc_auc(&[0, 0, 1], &[0.9, 0.8, 0.1]).unwrap(), 0.0));
    }

    #[test]
    fn auc_errors() {
        assert!(matches!(
            roc_auc(&[1, 1], &[0.2, 0.3]),
            Err(MlError::SingleClass { .. })
        ));
        assert!(matches!(
            roc_auc(&[1, 0], &[0.2]),
            Err(MlError::MismatchedLengths { .. })
        ));
        assert!(matches!(roc_auc(&[], &[]), Err(MlError::EmptyDataset)));
        assert!(matches!(
            roc_auc(&[2, 0], &[0.2, 0.1]),
            Err(MlError::InvalidLabel { row: 0, .. })
        ));
        assert!(matches!(
            roc_auc(&[1, 0], &[0.2, f64::NAN]),
            Err(MlError::NonFiniteValue { row: 1, .. })
        ));
    }

    #[test]
    fn classification_metrics_compute() {
        let t = [0, 0, 1, 1, 0, 1];
        let p = [0.1, 0.4, 0.4, 0.8, 0.8, 0.5];
        let m = ClassificationMetrics::compute(&t, &p, 0.5).unwrap();
        // predicted (p > 0.5): 0 0 0 1 1 0 -> tp 1, fp 1, fn 2, tn 2
        assert!(close(m.accuracy, 3.0 / 6.0));
        assert!(close(m.precision, 0.5));
        assert!(close(m.recall, 1.0 / 3.0));
        assert!(close(m.f1_score, 2.0 / 5.0));
        // positives {0.4, 0.8, 0.5} vs negatives {0.1, 0.4, 0.8}: 1.5 + 2.5 + 2 = 6 of 9
        assert!(close(m.auc_score, 6.0 / 9.0));
        assert!(ClassificationMetrics::compute(&t, &p, f64::NAN).is_err());
        assert!(ClassificationMetrics::compute(&t, &p[..3], 0.5).is_err());
    }
}
