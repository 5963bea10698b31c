//! The types the gradient tree's grower (`hist_tree.rs`) and its inner loops
//! (`histogram.rs`, `hist_split.rs`) share: its resolved hyperparameters, a
//! row's and a bin's gradient statistics, and a candidate split.

/// Resolved hyperparameters of one gradient tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GradConfig {
    /// Maximum depth (root has depth 0); `usize::MAX` for none.
    pub max_depth: usize,
    /// Maximum number of leaves; `usize::MAX` for none.
    pub max_leaf_nodes: usize,
    /// Minimum number of samples to split a node.
    pub min_samples_split: usize,
    /// Minimum number of samples in each child.
    pub min_samples_leaf: usize,
    /// Minimum sum of hessians in each child.
    pub min_hessian: f64,
    /// L2 regularisation of leaf values.
    pub l2: f64,
    /// Number of non-constant features to examine per split.
    pub max_features: usize,
    /// Whether histograms of large nodes are built in parallel over features.
    pub parallel: bool,
}

/// One row's gradient statistics: `(gradient, hessian)`, or the gradient
/// alone when every hessian is exactly 1 (squared error without weights),
/// which halves what the passes over a node read.
pub(crate) trait Grad: Copy + Default + Send + Sync {
    /// Whether the hessian is always 1: a sum of hessians is then a count.
    const UNIT: bool;
    fn g(self) -> f64;
    fn h(self) -> f64;
}

impl Grad for f64 {
    const UNIT: bool = true;
    #[inline]
    fn g(self) -> f64 {
        self
    }
    #[inline]
    fn h(self) -> f64 {
        1.0
    }
}

impl Grad for (f64, f64) {
    const UNIT: bool = false;
    #[inline]
    fn g(self) -> f64 {
        self.0
    }
    #[inline]
    fn h(self) -> f64 {
        self.1
    }
}

/// Gradient statistics of one bin.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bin {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

/// The best split so far: bins `..=bin` of `feature` go left; `next_bin` is
/// the next non-empty bin (for the threshold); `gl`, `hl` are the left sums.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    pub feature: usize,
    pub bin: u16,
    pub next_bin: u16,
    pub gain: f64,
    pub gl: f64,
    pub hl: f64,
}
