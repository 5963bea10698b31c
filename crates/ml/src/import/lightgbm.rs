//! LightGBM's text model (`booster.save_model("model.txt")`, what
//! `mlflow.lightgbm` logs), read into an [`ImportedModel`].
//!
//! Read: objectives whose output is the raw score (`regression` and the
//! other regressions, `lambdarank`, `rank_xendcg`), `reg_sqrt`, the log-link
//! ones (`poisson`, `gamma`, `tweedie`), `binary` and `cross_entropy`
//! (sigmoid), `multiclass` (softmax) and `multiclassova` (a sigmoid per
//! class); `average_output` (random forests). Splits decide as LightGBM's
//! predictor does on a dense f64 row: values within ±1e-35 count as 0; a
//! numerical split sends `x <= threshold` left and a missing value where its
//! `decision_type` says (missing type None: NaN is 0; Zero: NaN and 0 go the
//! default way; NaN: NaN goes the default way); a categorical split sends the
//! categories of its bitset left, NaN and negative values right. Linear trees
//! are refused.

use super::assemble::{Assembler, RawNode};
use super::link::Link;
use super::model::{ImportedModel, Origin, Parts, Task};
use super::thresholds::snapped_at_most;
use crate::error::{MlError, Result};
use crate::split_test::SplitTest;

/// Reads a LightGBM text model.
pub fn load(text: &str) -> Result<ImportedModel> {
    let parts = read(text).map_err(|reason| MlError::InvalidModel {
        origin: Origin::LightGbm.name(),
        reason,
    })?;
    ImportedModel::new(parts)
}

fn read(text: &str) -> std::result::Result<Parts, String> {
    let mut lines = text.lines().map(str::trim).peekable();
    match lines.next() {
        Some("tree") => {}
        _ => return Err("not a LightGBM text model: the first line is not `tree`".into()),
    }
    let header = Section::read(&mut lines, "the header");
    let version = header.get("version")?;
    if !["v2", "v3", "v4"].contains(&version) {
        return Err(format!("unsupported model version `{version}`"));
    }
    let n_features = header.number::<usize>("max_feature_idx")? + 1;
    let n_classes: usize = header.number("num_class")?;
    let per_iteration: usize = header.number("num_tree_per_iteration")?;
    let objective = header.get("objective")?.to_string();
    let (task, link) = objective_of(&objective, n_classes)?;
    let n_groups = match link {
        Link::Softmax | Link::SigmoidEach { .. } => n_classes,
        _ => 1,
    };
    if per_iteration != n_groups {
        return Err(format!(
            "num_tree_per_iteration={per_iteration} does not fit objective `{objective}` \
             with num_class={n_classes}"
        ));
    }
    let feature_names: Vec<String> = header
        .get("feature_names")?
        .split_whitespace()
        .map(String::from)
        .collect();
    if feature_names.len() != n_features {
        return Err(format!(
            "{} feature names for max_feature_idx={}",
            feature_names.len(),
            n_features - 1
        ));
    }
    let mut assembler = Assembler::new(n_features, ZERO_BAND);
    let mut n_trees = 0;
    while let Some(&line) = lines.peek() {
        if line.is_empty() {
            lines.next();
            continue;
        }
        if line == "end of trees" {
            break;
        }
        let Some(index) = line.strip_prefix("Tree=") else {
            return Err(format!(
                "expected `Tree=` or `end of trees`, found `{}`",
                clip(line)
            ));
        };
        if index.trim() != n_trees.to_string() {
            return Err(format!("tree {n_trees} is numbered `{}`", clip(index)));
        }
        lines.next();
        let section = Section::read(&mut lines, &format!("tree {n_trees}"));
        push_tree(&mut assembler, n_trees, &section, &feature_names)?;
        n_trees += 1;
    }
    if lines.next() != Some("end of trees") {
        return Err(format!(
            "truncated: no `end of trees` after {n_trees} trees"
        ));
    }
    if n_trees == 0 || n_trees % n_groups != 0 {
        return Err(format!(
            "{n_trees} trees is not a whole number of iterations of {n_groups} trees"
        ));
    }
    let average_over = header
        .flags
        .contains(&"average_output")
        .then(|| (n_trees / n_groups) as f64);
    let (nodes, tests) = assembler.finish();
    Ok(Parts {
        origin: Origin::LightGbm,
        objective,
        n_features,
        feature_names,
        task,
        link,
        base: vec![0.0; n_groups],
        tree_group: (0..n_trees).map(|t| (t % n_groups) as u32).collect(),
        nodes,
        tests,
        f32_sums: false,
        average_over,
    })
}

/// The task and inverse link of an `objective=` line.
fn objective_of(objective: &str, n_classes: usize) -> std::result::Result<(Task, Link), String> {
    let mut words = objective.split_whitespace();
    let name = words.next().unwrap_or("");
    let mut sigmoid = 1.0;
    let mut sqrt = false;
    for w in words {
        if let Some(v) = w.strip_prefix("sigmoid:") {
            sigmoid = v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| format!("bad sigmoid in objective `{objective}`"))?;
        }
        sqrt |= w == "sqrt";
    }
    let single = |task, link| {
        if n_classes == 1 {
            Ok((task, link))
        } else {
            Err(format!("objective `{name}` with num_class={n_classes}"))
        }
    };
    let classes = || {
        if (2..=u32::MAX as usize).contains(&n_classes) {
            Ok(Task::Classification { n_classes })
        } else {
            Err(format!("objective `{name}` with num_class={n_classes}"))
        }
    };
    match name {
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" => {
            let link = if sqrt {
                Link::SignedSquare
            } else {
                Link::Identity
            };
            single(Task::Regression, link)
        }
        "lambdarank" | "rank_xendcg" => single(Task::Regression, Link::Identity),
        "poisson" | "gamma" | "tweedie" => single(Task::Regression, Link::Exp),
        "cross_entropy" => single(Task::Regression, Link::Sigmoid { scale: 1.0 }),
        "binary" => single(
            Task::Classification { n_classes: 2 },
            Link::BinarySigmoid { scale: sigmoid },
        ),
        "multiclass" => Ok((classes()?, Link::Softmax)),
        "multiclassova" => Ok((classes()?, Link::SigmoidEach { scale: sigmoid })),
        _ => Err(format!("objective `{objective}` is not supported")),
    }
}

/// Appends tree `t` of `s` to `assembler`.
fn push_tree(
    assembler: &mut Assembler,
    t: usize,
    s: &Section,
    feature_names: &[String],
) -> std::result::Result<(), String> {
    if s.values.iter().any(|(k, v)| *k == "is_linear" && *v != "0") {
        return Err(format!("tree {t} is a linear tree, which is not supported"));
    }
    let n_leaves: usize = s.number("num_leaves")?;
    if n_leaves == 0 {
        return Err(format!("tree {t} has no leaves"));
    }
    let leaf_value: Vec<f64> = s.list("leaf_value", n_leaves)?;
    if n_leaves == 1 {
        return assembler.push_tree(t, 1, 0, |_| Ok(RawNode::Leaf(leaf_value[0])));
    }
    let n_splits = n_leaves - 1;
    let feature: Vec<usize> = s.list("split_feature", n_splits)?;
    let threshold: Vec<f64> = s.list("threshold", n_splits)?;
    let decision: Vec<u8> = s.list("decision_type", n_splits)?;
    let left: Vec<i64> = s.list("left_child", n_splits)?;
    let right: Vec<i64> = s.list("right_child", n_splits)?;
    let n_cat: usize = s.number("num_cat").unwrap_or(0);
    let first_set = assembler_sets(assembler, t, s, n_cat)?;
    // internal nodes keep their index; leaf l becomes node n_splits + l
    let child = |c: i64| -> std::result::Result<usize, String> {
        let i = if c >= 0 { c } else { n_splits as i64 + !c };
        usize::try_from(i)
            .ok()
            .filter(|&i| i < n_splits + n_leaves)
            .ok_or_else(|| format!("tree {t}: child {c} out of range"))
    };
    assembler.push_tree(t, n_splits + n_leaves, 0, |i| {
        if i >= n_splits {
            return Ok(RawNode::Leaf(leaf_value[i - n_splits]));
        }
        let d = decision[i];
        let (f, th) = (feature[i], threshold[i]);
        let name = feature_names.get(f).map_or("?", String::as_str);
        let (test, threshold) = if d & CATEGORICAL != 0 {
            let k = th as usize;
            if th.fract() != 0.0 || th < 0.0 || k >= n_cat {
                return Err(format!(
                    "tree {t}: categorical split {i} on feature {f} (`{name}`) names category set {th} of {n_cat}"
                ));
            }
            (SplitTest::In { set: first_set + k as u32 }, 0.0)
        } else {
            let default_left = d & DEFAULT_LEFT != 0;
            let test = match (d >> 2) & 3 {
                // NaN is taken as 0
                0 => SplitTest::LeMissing { left: 0.0 <= th, zero_missing: false },
                1 => SplitTest::LeMissing { left: default_left, zero_missing: true },
                2 => SplitTest::LeMissing { left: default_left, zero_missing: false },
                m => {
                    return Err(format!(
                        "tree {t}: split {i} on feature {f} (`{name}`) has missing type {m}"
                    ))
                }
            };
            let test = if test == (SplitTest::LeMissing { left: false, zero_missing: false }) {
                SplitTest::Le
            } else {
                test
            };
            (test, snapped_at_most(th, ZERO_BAND))
        };
        Ok(RawNode::Split {
            feature: f,
            threshold,
            test,
            left: child(left[i])?,
            right: child(right[i])?,
        })
    })
}

/// Adds the `n_cat` category sets of tree `t`; returns the index of the first.
fn assembler_sets(
    assembler: &mut Assembler,
    t: usize,
    s: &Section,
    n_cat: usize,
) -> std::result::Result<u32, String> {
    let mut first = None;
    if n_cat == 0 {
        return Ok(0);
    }
    let bounds: Vec<usize> = s.list("cat_boundaries", n_cat + 1)?;
    let words: Vec<u32> = s.list_any("cat_threshold")?;
    for k in 0..n_cat {
        let (a, b) = (bounds[k], bounds[k + 1]);
        if a > b || b > words.len() {
            return Err(format!("tree {t}: cat_boundaries out of range"));
        }
        let id = assembler.add_set(words[a..b].to_vec());
        first.get_or_insert(id);
    }
    Ok(first.unwrap_or(0))
}

/// A section's at most 80 first characters, for messages.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

impl<'a> Section<'a> {
    /// `key=value` lines up to an empty line, `Tree=` or `end of trees`; a
    /// line without `=` is a flag.
    fn read(lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>, name: &str) -> Self {
        let mut s = Section {
            name: name.to_string(),
            values: Vec::new(),
            flags: Vec::new(),
        };
        while let Some(&line) = lines.peek() {
            if line.is_empty() && !s.values.is_empty() {
                break;
            }
            if line.starts_with("Tree=") || line == "end of trees" {
                break;
            }
            lines.next();
            match line.split_once('=') {
                Some((k, v)) => s.values.push((k, v)),
                None if !line.is_empty() => s.flags.push(line),
                None => {}
            }
        }
        s
    }

    fn get(&self, key: &str) -> std::result::Result<&'a str, String> {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("{}: no `{key}=` line", self.name))
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> std::result::Result<T, String> {
        let v = self.get(key)?;
        v.trim()
            .parse()
            .map_err(|_| format!("{}: `{key}={}` is not a valid number", self.name, clip(v)))
    }

    /// The `n` numbers of `key`.
    fn list<T: std::str::FromStr>(
        &self,
        key: &str,
        n: usize,
    ) -> std::result::Result<Vec<T>, String> {
        let v = self.list_any(key)?;
        if v.len() != n {
            return Err(format!(
                "{}: `{key}` has {} values, expected {n}",
                self.name,
                v.len()
            ));
        }
        Ok(v)
    }

    fn list_any<T: std::str::FromStr>(&self, key: &str) -> std::result::Result<Vec<T>, String> {
        self.get(key)?
            .split_whitespace()
            .map(|w| {
                w.parse().map_err(|_| {
                    format!(
                        "{}: `{key}` has `{}`, not a valid number",
                        self.name,
                        clip(w)
                    )
                })
            })
            .collect()
    }
}

/// LightGBM's `kZeroThreshold` (a float widened to double): values within it
/// are zero.
const ZERO_BAND: f64 = 1e-35f32 as f64;
/// `decision_type` bit of a categorical split.
const CATEGORICAL: u8 = 1;
/// `decision_type` bit sending missing values left.
const DEFAULT_LEFT: u8 = 2;

/// The `key=value` lines of the header or of one tree.
struct Section<'a> {
    name: String,
    values: Vec<(&'a str, &'a str)>,
    flags: Vec<&'a str>,
}
