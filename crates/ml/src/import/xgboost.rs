//! XGBoost's model files, JSON (`save_model("m.json")`, what `mlflow.xgboost`
//! logs) and UBJSON (`save_model("m.ubj")`), read into an [`ImportedModel`].
//!
//! Read: `gbtree` boosters (random forests too) with one target, objectives
//! `reg:squarederror` and the other identity-link regressions, `reg:logistic`,
//! `binary:logistic`, `binary:logitraw`, `count:poisson`, `reg:gamma`,
//! `reg:tweedie`, `multi:softprob` and `multi:softmax` (both give the class
//! probabilities here, where XGBoost's `predict` gives `multi:softmax`'s
//! argmax). `base_score` is read as XGBoost 1.x/2.x (`"5E-1"`) and 3.x
//! (`"[5E-1]"`, or one value per class) write it, in the objective's output
//! space, and turned into a margin. Splits decide as XGBoost does: the input
//! is cast to f32, `x < split_condition` goes left, NaN goes the
//! `default_left` way; leaf values add up in f32, tree after tree, from the
//! base margin. `dart` and `gblinear` boosters, multi-target trees and
//! categorical splits are refused.

use serde_json::Value;

use super::assemble::{Assembler, RawNode};
use super::link::Link;
use super::model::{ImportedModel, Origin, Parts, Task};
use super::thresholds::f32_less_than;
use super::ubjson;
use crate::error::{MlError, Result};
use crate::split_test::SplitTest;

/// Reads an XGBoost JSON model.
pub fn load_json(bytes: &[u8]) -> Result<ImportedModel> {
    let v = serde_json::from_slice::<Value>(bytes)
        .map_err(|e| invalid(format!("not a JSON model: {e}")))?;
    from_value(&v)
}

/// Reads an XGBoost UBJSON (`.ubj`) model.
pub fn load_ubj(bytes: &[u8]) -> Result<ImportedModel> {
    let v = ubjson::parse(bytes).map_err(|e| invalid(format!("not a UBJSON model: {e}")))?;
    from_value(&v)
}

fn invalid(reason: String) -> MlError {
    MlError::InvalidModel {
        origin: Origin::XgBoost.name(),
        reason,
    }
}

fn from_value(v: &Value) -> Result<ImportedModel> {
    ImportedModel::new(read(v).map_err(invalid)?)
}

fn read(root: &Value) -> std::result::Result<Parts, String> {
    let learner = field(root, "learner")?;
    let params = field(learner, "learner_model_param")?;
    let n_features: usize = param(params, "num_feature")?;
    let n_targets: usize = param(params, "num_target").unwrap_or(1);
    if n_targets != 1 {
        return Err(format!(
            "{n_targets} targets: only single-target models are supported"
        ));
    }
    let n_class: usize = param(params, "num_class")?;
    let objective = text(
        field(field(learner, "objective")?, "name")?,
        "objective name",
    )?;
    let (task, link, margin) = objective_of(objective, n_class)?;
    let n_groups = if link == Link::Softmax { n_class } else { 1 };
    let base = base_margins(
        text(field(params, "base_score")?, "base_score")?,
        n_groups,
        margin,
    )?;

    let booster = field(learner, "gradient_booster")?;
    match text(field(booster, "name")?, "booster name")? {
        "gbtree" => {}
        other => return Err(format!("booster `{other}` is not supported (only gbtree)")),
    }
    let model = field(booster, "model")?;
    let trees = array(field(model, "trees")?, "trees")?;
    let tree_info = numbers(field(model, "tree_info")?, "tree_info")?;
    if tree_info.len() != trees.len() {
        return Err(format!(
            "{} trees but {} tree_info entries",
            trees.len(),
            tree_info.len()
        ));
    }
    let tree_group = tree_info
        .iter()
        .map(|&g| {
            u32::try_from(g as i64)
                .ok()
                .filter(|&g| f64::from(g) == g as f64 && (g as usize) < n_groups)
                .ok_or_else(|| format!("tree_info names group {g} of {n_groups}"))
        })
        .collect::<std::result::Result<Vec<u32>, String>>()?;
    let feature_names = match learner.get("feature_names") {
        None => Vec::new(),
        Some(names) => array(names, "feature_names")?
            .iter()
            .map(|n| text(n, "feature name").map(String::from))
            .collect::<std::result::Result<Vec<_>, _>>()?,
    };

    let mut assembler = Assembler::new(n_features, 0.0);
    for (t, tree) in trees.iter().enumerate() {
        push_tree(&mut assembler, t, tree, &feature_names)?;
    }
    let (nodes, tests) = assembler.finish();
    Ok(Parts {
        origin: Origin::XgBoost,
        objective: objective.to_string(),
        n_features,
        feature_names,
        task,
        link,
        base,
        tree_group,
        nodes,
        tests,
        f32_sums: true,
        average_over: None,
    })
}

/// Appends tree `t` to `assembler`.
fn push_tree(
    assembler: &mut Assembler,
    t: usize,
    tree: &Value,
    names: &[String],
) -> std::result::Result<(), String> {
    let at = |what: &str| format!("tree {t}: {what}");
    let param = field(tree, "tree_param").map_err(|e| at(&e))?;
    let leaf_size: usize = self::param(param, "size_leaf_vector").unwrap_or(1);
    if leaf_size > 1 {
        return Err(at("vector leaves (multi-target trees) are not supported"));
    }
    let n: usize = self::param(param, "num_nodes").map_err(|e| at(&e))?;
    let list = |key: &str| -> std::result::Result<Vec<f64>, String> {
        let v = numbers(field(tree, key).map_err(|e| at(&e))?, key).map_err(|e| at(&e))?;
        if v.len() != n {
            return Err(at(&format!("`{key}` has {} values for {n} nodes", v.len())));
        }
        Ok(v)
    };
    let left = list("left_children")?;
    let right = list("right_children")?;
    let feature = list("split_indices")?;
    let condition = list("split_conditions")?;
    let default_left = list("default_left")?;
    let split_type = match tree.get("split_type") {
        Some(_) => list("split_type")?,
        None => vec![0.0; n],
    };
    let index = |c: f64| -> std::result::Result<usize, String> {
        Some(c)
            .filter(|&c| c >= 0.0 && c.fract() == 0.0 && c < n as f64)
            .map(|c| c as usize)
            .ok_or_else(|| at(&format!("child {c} out of range")))
    };
    if n == 0 {
        return Err(at("no nodes"));
    }
    assembler.push_tree(t, n, 0, |i| {
        let value = condition[i] as f32;
        if left[i] == -1.0 {
            return Ok(RawNode::Leaf(f64::from(value)));
        }
        let f = feature[i];
        if !(f >= 0.0 && f.fract() == 0.0 && f < f64::from(u32::MAX)) {
            return Err(at(&format!("node {i} splits on feature {f}")));
        }
        let f = f as usize;
        let name = names.get(f).map_or("?", String::as_str);
        if split_type[i] != 0.0 {
            return Err(at(&format!(
                "node {i} splits feature {f} (`{name}`) on categories, which is not supported"
            )));
        }
        let threshold = f32_less_than(value)
            .ok_or_else(|| at(&format!("node {i} has split condition {value}")))?;
        let test = if default_left[i] != 0.0 {
            SplitTest::LeMissing {
                left: true,
                zero_missing: false,
            }
        } else {
            SplitTest::Le
        };
        Ok(RawNode::Split {
            feature: f,
            threshold,
            test,
            left: index(left[i])?,
            right: index(right[i])?,
        })
    })
}

/// The task, inverse link and base-score-to-margin function of an objective.
fn objective_of(name: &str, n_class: usize) -> std::result::Result<(Task, Link, Margin), String> {
    let identity: Margin = |p| p;
    let logit: Margin = |p| -(1.0 / p - 1.0).ln();
    let log: Margin = f32::ln;
    let single = |task, link, margin| {
        if n_class <= 1 {
            Ok((task, link, margin))
        } else {
            Err(format!("objective `{name}` with num_class={n_class}"))
        }
    };
    match name {
        "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "rank:pairwise"
        | "rank:ndcg"
        | "rank:map" => single(Task::Regression, Link::Identity, identity),
        "binary:logitraw" => single(Task::Regression, Link::Identity, logit),
        "reg:logistic" => single(Task::Regression, Link::Sigmoid { scale: 1.0 }, logit),
        "binary:logistic" => single(
            Task::Classification { n_classes: 2 },
            Link::BinarySigmoid { scale: 1.0 },
            logit,
        ),
        "count:poisson" | "reg:gamma" | "reg:tweedie" => single(Task::Regression, Link::Exp, log),
        "multi:softprob" | "multi:softmax" => {
            if !(2..=u32::MAX as usize).contains(&n_class) {
                return Err(format!("objective `{name}` with num_class={n_class}"));
            }
            Ok((
                Task::Classification { n_classes: n_class },
                Link::Softmax,
                identity,
            ))
        }
        _ => Err(format!("objective `{name}` is not supported")),
    }
}

/// The margin of each group from `base_score`: `"5E-1"` (one value, for
/// every group) or `"[5E-1]"` / `"[a,b,c]"` (3.x: one, or one per group).
fn base_margins(
    text: &str,
    n_groups: usize,
    margin: Margin,
) -> std::result::Result<Vec<f64>, String> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    let values = inner
        .split(',')
        .map(|s| s.trim().parse::<f32>())
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|_| format!("base_score `{text}` is not a number or a list of numbers"))?;
    let values = match values.len() {
        1 => vec![values[0]; n_groups],
        n if n == n_groups => values,
        n => return Err(format!("base_score has {n} values for {n_groups} groups")),
    };
    values
        .into_iter()
        .map(|p| {
            let m = margin(p);
            if m.is_finite() {
                Ok(f64::from(m))
            } else {
                Err(format!(
                    "base_score {p} has no finite margin for this objective"
                ))
            }
        })
        .collect()
}

fn field<'a>(v: &'a Value, key: &str) -> std::result::Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("no `{key}` field"))
}

fn text<'a>(v: &'a Value, what: &str) -> std::result::Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("{what} is not a string"))
}

fn array<'a>(v: &'a Value, what: &str) -> std::result::Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("`{what}` is not an array"))
}

/// An array of numbers (booleans count as 0 and 1).
fn numbers(v: &Value, what: &str) -> std::result::Result<Vec<f64>, String> {
    array(v, what)?
        .iter()
        .map(|x| match x {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        })
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| format!("`{what}` holds a value that is not a number"))
}

/// A parameter, which XGBoost writes as a string (`"num_feature": "4"`).
fn param<T: std::str::FromStr>(params: &Value, key: &str) -> std::result::Result<T, String> {
    let v = field(params, key)?;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(format!("`{key}` is not a string")),
    };
    s.trim()
        .parse()
        .map_err(|_| format!("`{key}` = `{s}` is not a valid value"))
}

/// An objective's map from `base_score` (in its output space) to a margin,
/// in f32 as XGBoost computes it.
type Margin = fn(f32) -> f32;
