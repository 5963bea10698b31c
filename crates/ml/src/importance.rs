//! Feature importances: how the tree models turn their trees' per-feature impurity
//! decreases or gains into one distribution, and what a stored one must look like.

/// scikit-learn's forest importances: each tree's (non-negative) impurity
/// decreases normalised to sum to 1, averaged over trees, normalised again;
/// all zeros when no tree has a split.
pub(crate) fn forest_importances<'a>(
    n_features: usize,
    trees: impl IntoIterator<Item = &'a [f64]>,
) -> Vec<f64> {
    let mut out = vec![0.0; n_features];
    for tree in trees {
        let total: f64 = tree.iter().map(|v| v.max(0.0)).sum();
        if total > 0.0 {
            for (acc, v) in out.iter_mut().zip(tree) {
                *acc += v.max(0.0) / total;
            }
        }
    }
    normalised(out)
}

/// `v` scaled to sum to 1 (unchanged when its sum is not positive).
pub(crate) fn normalised(mut v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter_mut().for_each(|x| *x /= total);
    }
    v
}

/// Importances read from an artifact: none, or one finite value per feature.
pub(crate) fn check_importances(v: &[f64], n_features: usize) -> Result<(), String> {
    if !v.is_empty() && (v.len() != n_features || !v.iter().all(|x| x.is_finite())) {
        return Err("invalid feature importances".into());
    }
    Ok(())
}
