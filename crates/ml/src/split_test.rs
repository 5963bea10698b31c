//! What a split node tests besides ironmage's own `x <= threshold, NaN goes
//! right`: the tests of models trained elsewhere (LightGBM, XGBoost), which
//! send missing values either way, may count values near zero as missing, or
//! test membership in a set of categories.
//!
//! The packed walk (`packed.rs`) compares a per-feature rank with a per-node
//! position and knows nothing of these: each distinct (column, test) pair is a
//! split feature of its own, whose rank encodes the test. A missing value gets
//! rank 0 (at or below every position: left) or the NaN rank (above every
//! position: right); a category test's rank is 0 for a member (left) and 1
//! otherwise. So the walk, and with it every native model, is unchanged.

/// How the split nodes of one split feature route a row's value `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) enum SplitTest {
    /// `x <= threshold` goes left; NaN goes right (ironmage's own splits).
    #[default]
    Le,
    /// `x <= threshold` goes left; a missing value goes left when `left`.
    /// Missing is NaN, and also `|x| <= zero_band` when `zero_missing`
    /// (LightGBM's `zero_as_missing`).
    LeMissing {
        /// Whether a missing value goes left.
        left: bool,
        /// Whether values within the model's zero band count as missing.
        zero_missing: bool,
    },
    /// Left when `x`, truncated toward zero, is a category of set `set` (an
    /// index into [`SplitTests::sets`]); NaN, negative and huge values go
    /// right.
    In {
        /// Index of the category set.
        set: u32,
    },
}

/// The tests of every node of a [`crate::nodes::TreeNodes`] whose nodes are
/// not all [`SplitTest::Le`]: `per_node[i]` is node `i`'s (ignored for leaves;
/// an `In` node's threshold is ignored too).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SplitTests {
    pub per_node: Vec<SplitTest>,
    /// Category sets as bitsets of 32-bit words: category `c` is a member
    /// when bit `c % 32` of word `c / 32` is set.
    pub sets: Vec<Vec<u32>>,
    /// `|x| <= zero_band` is missing for a test with `zero_missing`.
    pub zero_band: f64,
}

/// Whether `x` truncated toward zero is in `set` (a bitset of 32-bit words);
/// NaN, values below 0 after truncation, and values past the set are not.
#[inline]
pub(crate) fn in_category_set(set: &[u32], x: f64) -> bool {
    // -0.9 truncates to category 0, as a C cast does; NaN fails both tests
    if !(x > -1.0 && x < 4_294_967_296.0) {
        return false;
    }
    let c = x as u64;
    let word = (c / 32) as usize;
    word < set.len() && set[word] >> (c % 32) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_membership_truncates_toward_zero() {
        let set = [0b101, 1 << 1]; // categories 0, 2 and 33
        for (x, member) in [
            (0.0, true),
            (-0.5, true),
            (0.99, true),
            (1.0, false),
            (2.5, true),
            (33.0, true),
            (34.0, false),
            (64.0, false),
            (-1.0, false),
            (f64::NAN, false),
            (f64::INFINITY, false),
            (1e300, false),
        ] {
            assert_eq!(in_category_set(&set, x), member, "x = {x}");
        }
    }
}
