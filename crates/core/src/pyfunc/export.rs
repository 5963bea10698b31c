//! `model.json`: a model bundle as plain JSON, for the MLflow folder's Python scorer.
//!
//! The document holds what scoring reads and nothing else: the raw input columns, the fitted
//! preprocessing steps, the feature order, the threshold, and the model's numbers (trees as
//! node arrays, linear weights). Every float is written as the shortest decimal that reads
//! back to the same bits (ryu; Python's `json` and Rust's `str::parse` both read it exactly);
//! a float that is not finite, which JSON has no number for, is the string `"NaN"`,
//! `"Infinity"` or `"-Infinity"`, which Python's `float()` reads.
//!
//! The layout is its own, not the artifacts' serde forms: those are the model files' formats
//! and change with them, while this one is read by code shipped with older folders.

use crate::error::{Error, Result};
use crate::ml::{GbdtLoss, TreeArrays, LEAF_FEATURE};
use crate::model::{Model, ModelBundle, Task};
use crate::table::steps::{FittedStep, Kind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// `format` of the document.
pub const FORMAT: &str = "ironmage-pyfunc";
/// `format_version` written; the Python scorer refuses others.
pub const FORMAT_VERSION: u32 = 1;

/// A float written so that it reads back to the same bits. Equal when the bits are (any NaN
/// equals any NaN: the document writes them all as `"NaN"`).
#[derive(Debug, Clone, Copy)]
pub struct Exact(pub f64);

impl PartialEq for Exact {
    fn eq(&self, other: &Exact) -> bool {
        self.0.to_bits() == other.0.to_bits() || (self.0.is_nan() && other.0.is_nan())
    }
}

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Exact, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(f64),
            Text(String),
        }
        match Written::deserialize(d)? {
            Written::Number(v) => Ok(Exact(v)),
            Written::Text(t) => match t.as_str() {
                "NaN" => Ok(Exact(f64::NAN)),
                "Infinity" => Ok(Exact(f64::INFINITY)),
                "-Infinity" => Ok(Exact(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, NaN, Infinity or -Infinity, got {other:?}"
                ))),
            },
        }
    }
}

fn exact(values: &[f64]) -> Vec<Exact> {
    values.iter().copied().map(Exact).collect()
}

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Classification (answers class 0 or 1) or regression (answers the value).
    pub task: Task,
    /// The label's raw column: among `inputs`, never in a request, always missing when scored.
    pub label: String,
    /// Class names by index; empty for a regressor.
    pub classes: Vec<String>,
    /// A classifier answers class 1 when the positive-class probability is above this.
    pub threshold: Exact,
    /// The raw columns the steps start from, in order.
    pub inputs: Vec<Input>,
    /// The fitted preprocessing, in the order it is applied.
    pub steps: Vec<Step>,
    /// The model's features, in its column order: names of numeric columns after the steps.
    pub features: Vec<String>,
    /// The fitted model.
    pub model: ExportedModel,
}

/// One raw input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Column name.
    pub name: String,
    /// `number` (a float, NaN when missing) or `text` (a category, null when missing).
    pub kind: Kind,
}

/// One preprocessing step, as [`crate::table::steps::Plan::apply`] replays it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// A missing (NaN) number of each column becomes its value.
    Impute {
        /// Numeric columns.
        columns: Vec<String>,
        /// Fill values, one per column.
        values: Vec<Exact>,
    },
    /// Each column becomes `(x - mean) / scale`.
    Scale {
        /// Numeric columns.
        columns: Vec<String>,
        /// One per column.
        mean: Vec<Exact>,
        /// One per column.
        scale: Vec<Exact>,
    },
    /// A text column is replaced, where it stands, by one `<column>=<category>` number per
    /// category: 1 when the value is that category, else 0 (missing and unknown give zeros).
    OneHot {
        /// The text column.
        column: String,
        /// Categories, in indicator order.
        categories: Vec<String>,
    },
    /// The columns become these, in this order (the first column of each name).
    SelectColumns {
        /// Kept columns.
        columns: Vec<String>,
    },
    /// Pair by pair, the first column named `from[i]` is renamed `to[i]`.
    RenameColumns {
        /// Old names.
        from: Vec<String>,
        /// New names.
        to: Vec<String>,
    },
}

/// The model's kind and numbers. Every sum below runs in the order given, from zero, and the
/// logistic function is `1 / (1 + exp(-z))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportedModel {
    /// Probability of class 1: the sum over trees of the reached leaf's value for class 1
    /// (`leaf_values[leaf * n_classes + 1]`), divided by the number of trees.
    ForestClassifier {
        /// Features read.
        n_features: usize,
        /// Values per leaf.
        n_classes: usize,
        /// The trees.
        trees: Trees,
    },
    /// The sum over trees of the reached leaf's value.
    ForestRegressor {
        /// Features read.
        n_features: usize,
        /// The trees.
        trees: Trees,
    },
    /// `z = baseline + sum over trees of the reached leaf's value`; the answer is `z` for
    /// `squared_error`, the logistic of `z` (the probability of class 1) for `log_loss`.
    GradientBoosting {
        /// Features read.
        n_features: usize,
        /// `log_loss` (a classifier) or `squared_error` (a regressor).
        loss: Loss,
        /// Raw score before any tree.
        baseline: Exact,
        /// The trees.
        trees: Trees,
    },
    /// The logistic of `intercept + sum of x[i] * weights[i]`: the probability of class 1.
    LogisticRegression {
        /// One per feature.
        weights: Vec<Exact>,
        /// Added after the sum.
        intercept: Exact,
    },
    /// `intercept + sum of x[i] * weights[i]`.
    LinearRegression {
        /// One per feature.
        weights: Vec<Exact>,
        /// Added after the sum.
        intercept: Exact,
    },
}

/// Gradient boosting's loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Binary log-loss: a classifier.
    LogLoss,
    /// Squared error: a regressor.
    SquaredError,
}

/// Trees as node arrays. `roots[t]` is the first node of tree `t`. Node `i` is a leaf when
/// `feature[i]` is -1, and then `left[i]` is its index among the leaves; otherwise a row goes
/// to node `left[i]` when `x[feature[i]] <= threshold[i]` and to `right[i]` when not, NaN
/// included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trees {
    /// First node of each tree.
    pub roots: Vec<u32>,
    /// Split feature, -1 for a leaf.
    pub feature: Vec<i64>,
    /// Split threshold (0 for a leaf).
    pub threshold: Vec<Exact>,
    /// Left child, or the leaf index.
    pub left: Vec<u32>,
    /// Right child (0 for a leaf).
    pub right: Vec<u32>,
    /// The leaves' values, the same number per leaf.
    pub leaf_values: Vec<Exact>,
}

impl From<TreeArrays<'_>> for Trees {
    fn from(t: TreeArrays<'_>) -> Trees {
        Trees {
            roots: t.roots.to_vec(),
            feature: t
                .feature
                .iter()
                .map(|&f| if f == LEAF_FEATURE { -1 } else { i64::from(f) })
                .collect(),
            threshold: exact(t.threshold),
            left: t.left.to_vec(),
            right: t.right.to_vec(),
            leaf_values: exact(t.leaf_values),
        }
    }
}

impl Export {
    /// The document of `bundle`.
    pub fn new(bundle: &ModelBundle) -> Export {
        let schema = &bundle.schema;
        Export {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            task: schema.task,
            label: schema.label.clone(),
            classes: schema.classes.clone(),
            threshold: Exact(schema.threshold),
            inputs: schema
                .inputs
                .iter()
                .map(|(name, kind)| Input {
                    name: name.clone(),
                    kind: *kind,
                })
                .collect(),
            steps: bundle.preprocessing.steps.iter().map(step).collect(),
            features: schema.features.clone(),
            model: model(&bundle.model),
        }
    }

    /// The document's text.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// Read a document, every float exactly as written (serde_json's own float parsing is
    /// faster but may miss the last bit).
    pub fn from_json(text: &str) -> Result<Export> {
        let value = exact_value(text)?;
        serde_json::from_value(value)
            .map_err(|e| Error::invalid(format!("not an ironmage model document: {e}")))
    }
}

fn step(s: &FittedStep) -> Step {
    match s {
        FittedStep::Impute { columns, values } => Step::Impute {
            columns: columns.clone(),
            values: exact(values),
        },
        FittedStep::Scale {
            columns,
            mean,
            scale,
        } => Step::Scale {
            columns: columns.clone(),
            mean: exact(mean),
            scale: exact(scale),
        },
        FittedStep::OneHot { column, categories } => Step::OneHot {
            column: column.clone(),
            categories: categories.clone(),
        },
        FittedStep::Select { columns } => Step::SelectColumns {
            columns: columns.clone(),
        },
        FittedStep::Rename { from, to } => Step::RenameColumns {
            from: from.clone(),
            to: to.clone(),
        },
    }
}

fn model(m: &Model) -> ExportedModel {
    match m {
        Model::ForestClassifier(f) => ExportedModel::ForestClassifier {
            n_features: f.n_features(),
            n_classes: f.n_classes(),
            trees: f.tree_arrays().into(),
        },
        Model::ForestRegressor(f) => ExportedModel::ForestRegressor {
            n_features: f.n_features(),
            trees: f.tree_arrays().into(),
        },
        Model::Boosting(b) => ExportedModel::GradientBoosting {
            n_features: b.n_features(),
            loss: match b.params().loss {
                GbdtLoss::LogLoss => Loss::LogLoss,
                GbdtLoss::SquaredError => Loss::SquaredError,
            },
            baseline: Exact(b.baseline()),
            trees: b.tree_arrays().into(),
        },
        Model::Logistic(l) => ExportedModel::LogisticRegression {
            weights: exact(&l.weights),
            intercept: Exact(l.intercept),
        },
        Model::Linear(l) => ExportedModel::LinearRegression {
            weights: exact(&l.weights),
            intercept: Exact(l.intercept),
        },
    }
}

/// Parse JSON text into a value whose floats are read with `str::parse` (correctly rounded),
/// walking the text one nesting level at a time through raw values.
fn exact_value(text: &str) -> Result<Value> {
    let raw: &RawValue = serde_json::from_str(text)?;
    exact_raw(raw, 0)
}

/// Deeper than any document this module writes; a guard against a crafted one.
const MAX_DEPTH: usize = 32;

fn exact_raw(raw: &RawValue, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid("the document nests too deeply"));
    }
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            items
                .into_iter()
                .map(|item| exact_raw(item, depth + 1))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array)
        }
        Some(b'{') => {
            let fields: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            let mut map = Map::new();
            for (key, item) in fields {
                map.insert(key, exact_raw(item, depth + 1)?);
            }
            Ok(Value::Object(map))
        }
        Some(b'-' | b'0'..=b'9') if text.contains(['.', 'e', 'E']) => {
            let v: f64 = text
                .parse()
                .map_err(|e| Error::invalid(format!("number {text}: {e}")))?;
            Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(|| Error::invalid(format!("number {text} is out of range")))
        }
        _ => Ok(serde_json::from_str(text)?),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ml::linear::LinearParams;
    use crate::ml::{GradientBoostingParams, MaxFeatures, RandomForestParams};
    use crate::model::{FeatureSchema, Preprocessing};
    use crate::table::steps::{Cell, Plan};
    use ndarray::Array2;

    /// A reference scorer of the document, written from its documentation alone (as the
    /// Python scorer is): it must give the bundle's scores bit for bit.
    fn score(doc: &Export, row: &[Cell]) -> f64 {
        let mut cols: Vec<(String, Cell)> = doc
            .inputs
            .iter()
            .zip(row)
            .map(|(input, cell)| (input.name.clone(), cell.clone()))
            .collect();
        let find = |cols: &[(String, Cell)], name: &str| {
            cols.iter().position(|(n, _)| n == name).expect("column")
        };
        for step in &doc.steps {
            match step {
                Step::Impute { columns, values } => {
                    for (c, v) in columns.iter().zip(values) {
                        let i = find(&cols, c);
                        if let Cell::Number(x) = &mut cols[i].1 {
                            if x.is_nan() {
                                *x = v.0;
                            }
                        }
                    }
                }
                Step::Scale {
                    columns,
                    mean,
                    scale,
                } => {
                    for ((c, m), s) in columns.iter().zip(mean).zip(scale) {
                        let i = find(&cols, c);
                        if let Cell::Number(x) = &mut cols[i].1 {
                            *x = (*x - m.0) / s.0;
                        }
                    }
                }
                Step::OneHot { column, categories } => {
                    let i = find(&cols, column);
                    let Cell::Text(value) = cols[i].1.clone() else {
                        panic!("one_hot of a number")
                    };
                    let indicators = categories.iter().map(|c| {
                        let hit = value.as_deref() == Some(c.as_str());
                        (format!("{column}={c}"), Cell::Number(f64::from(hit)))
                    });
                    cols.splice(i..=i, indicators);
                }
                Step::SelectColumns { columns } => {
                    cols = columns
                        .iter()
                        .map(|c| cols[find(&cols, c)].clone())
                        .collect();
                }
                Step::RenameColumns { from, to } => {
                    for (f, t) in from.iter().zip(to) {
                        let i = find(&cols, f);
                        cols[i].0 = t.clone();
                    }
                }
            }
        }
        let x: Vec<f64> = doc
            .features
            .iter()
            .map(|f| {
                let cell = cols
                    .iter()
                    .find(|(n, c)| n == f && matches!(c, Cell::Number(_)));
                match cell {
                    Some((_, Cell::Number(v))) => *v,
                    _ => panic!("feature {f} missing"),
                }
            })
            .collect();
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let leaves = |t: &Trees| -> Vec<usize> {
            t.roots
                .iter()
                .map(|&root| {
                    let mut i = root as usize;
                    while t.feature[i] >= 0 {
                        let v = x[t.feature[i] as usize];
                        i = if v <= t.threshold[i].0 {
                            t.left[i]
                        } else {
                            t.right[i]
                        } as usize;
                    }
                    t.left[i] as usize
                })
                .collect()
        };
        let linear = |w: &[Exact], b: Exact| {
            let mut sum = -0.0;
            for (v, w) in x.iter().zip(w) {
                sum += v * w.0;
            }
            b.0 + sum
        };
        match &doc.model {
            ExportedModel::ForestClassifier {
                n_classes, trees, ..
            } => {
                let mut sum = 0.0;
                for leaf in leaves(trees) {
                    sum += trees.leaf_values[leaf * n_classes + 1].0;
                }
                sum / trees.roots.len() as f64
            }
            ExportedModel::ForestRegressor { trees, .. } => {
                let mut sum = 0.0;
                for leaf in leaves(trees) {
                    sum += trees.leaf_values[leaf].0;
                }
                sum
            }
            ExportedModel::GradientBoosting {
                loss,
                baseline,
                trees,
                ..
            } => {
                let mut sum = 0.0;
                for leaf in leaves(trees) {
                    sum += trees.leaf_values[leaf].0;
                }
                let z = baseline.0 + sum;
                match loss {
                    Loss::LogLoss => sigmoid(z),
                    Loss::SquaredError => z,
                }
            }
            ExportedModel::LogisticRegression { weights, intercept } => {
                sigmoid(linear(weights, *intercept))
            }
            ExportedModel::LinearRegression { weights, intercept } => linear(weights, *intercept),
        }
    }

    /// A deterministic stream of floats in [0, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    const CITIES: [&str; 3] = ["Oslo", "Rome", "Lima"];

    /// Raw rows of `(age, city, income, label)`: awkward decimals, missing ages and cities,
    /// and a city the training never saw.
    fn raw_rows(n: usize, seed: u64) -> Vec<Vec<Cell>> {
        let mut rng = Lcg(seed);
        (0..n)
            .map(|i| {
                let age = if i % 7 == 3 {
                    f64::NAN
                } else {
                    18.0 + 60.0 * rng.next()
                };
                let city = match i % 9 {
                    4 => None,
                    8 => Some("Paris".to_string()),
                    k => Some(CITIES[k % 3].to_string()),
                };
                let income = 1e4 + 9e4 * rng.next() + 1e-7 * rng.next();
                vec![
                    Cell::Number(age),
                    Cell::Text(city),
                    Cell::Number(income),
                    Cell::Number(f64::NAN),
                ]
            })
            .collect()
    }

    /// Every preprocessing step, and the plan's inputs.
    pub(crate) fn preprocessing() -> (Preprocessing, Vec<(String, Kind)>) {
        let inputs = vec![
            ("age".to_string(), Kind::Number),
            ("city".to_string(), Kind::Text),
            ("income".to_string(), Kind::Number),
            ("y".to_string(), Kind::Number),
        ];
        let steps = vec![
            FittedStep::Impute {
                columns: vec!["age".into(), "income".into()],
                values: vec![41.123456789012345, 0.1 + 0.2],
            },
            FittedStep::Scale {
                columns: vec!["age".into(), "income".into()],
                mean: vec![40.000000000000014, 55_000.123],
                scale: vec![17.320508075688775, 3.0_f64.sqrt() * 15_000.0],
            },
            FittedStep::OneHot {
                column: "city".into(),
                categories: vec!["Lima".into(), "Oslo".into(), "Rome".into()],
            },
            FittedStep::Rename {
                from: vec!["income".into()],
                to: vec!["salary".into()],
            },
            FittedStep::Select {
                columns: vec![
                    "salary".into(),
                    "age".into(),
                    "city=Oslo".into(),
                    "city=Rome".into(),
                    "city=Lima".into(),
                ],
            },
        ];
        (Preprocessing { steps }, inputs)
    }

    const FEATURES: [&str; 5] = ["age", "city=Lima", "city=Oslo", "city=Rome", "salary"];

    /// Training features (after preprocessing) and a label, from the raw rows.
    fn training(n: usize) -> (Array2<f64>, Vec<usize>, Vec<f64>) {
        let (pre, inputs) = preprocessing();
        let plan = Plan::compile(&pre.steps, &inputs).unwrap();
        let names: Vec<String> = plan.outputs.iter().map(|(n, _)| n.clone()).collect();
        let mut x = Array2::zeros((n, FEATURES.len()));
        let (mut classes, mut values) = (Vec::new(), Vec::new());
        for (r, row) in raw_rows(n, 7).into_iter().enumerate() {
            let cells = plan.apply(row);
            for (c, f) in FEATURES.iter().enumerate() {
                let i = names.iter().position(|n| n == f).unwrap();
                let Cell::Number(v) = cells[i] else { panic!() };
                x[[r, c]] = v;
            }
            let score = x[[r, 0]] * 1.5 - x[[r, 4]] + x[[r, 2]] + 0.3 * (r % 5) as f64;
            classes.push(usize::from(score > 0.0));
            values.push(1000.0 + 250.0 * score);
        }
        (x, classes, values)
    }

    /// One bundle of each model kind the trainers give, over every preprocessing step.
    pub(crate) fn bundles() -> Vec<(&'static str, ModelBundle)> {
        let (x, classes, values) = training(300);
        let forest = RandomForestParams {
            n_estimators: 12,
            max_depth: Some(6),
            max_features: MaxFeatures::All,
            ..RandomForestParams::default()
        };
        let boosting = GradientBoostingParams {
            max_iter: 15,
            ..GradientBoostingParams::default()
        };
        let linear = LinearParams::default();
        let models = vec![
            (
                "forest_classifier",
                Model::ForestClassifier(forest.fit(x.view(), &classes).unwrap()),
            ),
            (
                "decision_tree",
                Model::ForestClassifier(
                    RandomForestParams {
                        n_estimators: 1,
                        bootstrap: false,
                        ..forest.clone()
                    }
                    .fit(x.view(), &classes)
                    .unwrap(),
                ),
            ),
            (
                "forest_regressor",
                Model::ForestRegressor(forest.fit_regressor(x.view(), &values, None).unwrap()),
            ),
            (
                "boosting_classifier",
                Model::Boosting(
                    boosting
                        .fit(
                            x.view(),
                            &classes.iter().map(|&c| c as f64).collect::<Vec<_>>(),
                            None,
                        )
                        .unwrap(),
                ),
            ),
            (
                "boosting_regressor",
                Model::Boosting(
                    GradientBoostingParams {
                        loss: GbdtLoss::SquaredError,
                        ..boosting
                    }
                    .fit(x.view(), &values, None)
                    .unwrap(),
                ),
            ),
            (
                "logistic",
                Model::Logistic(linear.fit_logistic(x.view(), &classes).unwrap()),
            ),
            (
                "linear",
                Model::Linear(linear.fit_linear(x.view(), &values).unwrap()),
            ),
        ];
        models
            .into_iter()
            .map(|(name, model)| {
                let classifier = model.is_classifier();
                let schema = FeatureSchema {
                    inputs: preprocessing().1,
                    features: FEATURES.iter().map(|f| f.to_string()).collect(),
                    label: "y".into(),
                    task: if classifier {
                        Task::Classification
                    } else {
                        Task::Regression
                    },
                    classes: if classifier {
                        vec!["no_y".into(), "y".into()]
                    } else {
                        Vec::new()
                    },
                    threshold: 0.35,
                };
                let bundle = ModelBundle::new(model, preprocessing().0, schema).unwrap();
                (name, bundle)
            })
            .collect()
    }

    #[test]
    fn every_model_kind_and_step_round_trips_with_exact_numbers() {
        for (name, bundle) in bundles() {
            let doc = Export::new(&bundle);
            let text = doc.to_json().unwrap();
            let back = Export::from_json(&text).unwrap();
            assert_eq!(back, doc, "{name}");
            // Every float of the document is written with the fewest digits that read back.
            let reread = Export::from_json(&back.to_json().unwrap()).unwrap();
            assert_eq!(reread.to_json().unwrap(), text, "{name}");
            for row in raw_rows(200, 99) {
                let want = bundle.score_cells(row.clone());
                let got = score(&back, &row);
                assert_eq!(got.to_bits(), want.to_bits(), "{name}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn the_document_says_what_each_model_is() {
        let kinds: Vec<(&str, String)> = bundles()
            .iter()
            .map(|(name, b)| {
                let v = serde_json::to_value(Export::new(b)).unwrap();
                let kind = v["model"]["kind"].as_str().unwrap().to_string();
                assert_eq!(v["format"], FORMAT);
                assert_eq!(v["steps"][3]["step"], "rename_columns", "{name}");
                (*name, kind)
            })
            .collect();
        let want = [
            ("forest_classifier", "forest_classifier"),
            ("decision_tree", "forest_classifier"),
            ("forest_regressor", "forest_regressor"),
            ("boosting_classifier", "gradient_boosting"),
            ("boosting_regressor", "gradient_boosting"),
            ("logistic", "logistic_regression"),
            ("linear", "linear_regression"),
        ];
        assert_eq!(
            kinds,
            want.iter()
                .map(|(a, b)| (*a, b.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn numbers_that_json_cannot_hold_are_named() {
        let values = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            5e-324,
            f64::MAX,
            0.1 + 0.2,
            1.0 / 3.0,
        ];
        let text = serde_json::to_string(&exact(&values)).unwrap();
        assert_eq!(
            text,
            r#"["NaN","Infinity","-Infinity",-0.0,5e-324,1.7976931348623157e+308,0.30000000000000004,0.3333333333333333]"#
        );
        let back: Vec<Exact> = serde_json::from_value(exact_value(&text).unwrap()).unwrap();
        assert_eq!(back, exact(&values));
        assert!(serde_json::from_str::<Exact>("\"nan\"").is_err());
    }

    #[test]
    fn floats_are_read_exactly() {
        // 17 significant digits: serde_json's default parsing may land one bit off.
        let mut rng = Lcg(3);
        for _ in 0..2000 {
            let v = (rng.next() - 0.5) * 10f64.powi((rng.next() * 40.0) as i32 - 20);
            let text = format!("[{}]", serde_json::to_string(&v).unwrap());
            let back = exact_value(&text).unwrap();
            assert_eq!(back[0].as_f64().unwrap().to_bits(), v.to_bits(), "{text}");
        }
    }

    #[test]
    fn a_bad_document_is_an_error() {
        assert!(Export::from_json("{").is_err());
        assert!(Export::from_json("{\"format\": 1}").is_err());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(exact_value(&deep).is_err());
    }
}
