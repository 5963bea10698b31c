//! An ONNX model loaded into a tract plan, scored from many threads at once.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::error::OnnxError;
use super::graph;
use super::ops::onnx_with_ml_ops;
use super::output::{InputType, Labels, OnnxOutput, Probabilities};

impl OnnxModel {
    /// Parses an ONNX model and plans it once for `[batch, n_features]` inputs, `batch`
    /// symbolic. Refuses, naming the problem, a model with several inputs, an input that is
    /// not a float or double `[batch, n_features]` tensor, operators tract cannot run, or
    /// outputs that are neither a classifier's nor a single-target regressor's.
    ///
    /// skl2onnx's ZipMap (probabilities as a list of maps) is dropped: the probabilities are
    /// read from its input tensor, in the order of [`OnnxModel::class_labels`].
    pub fn load(bytes: &[u8]) -> Result<OnnxModel, OnnxError> {
        let onnx = onnx_with_ml_ops();
        let mut proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| OnnxError::Decode(format!("{e:#}")))?;
        let graph = proto
            .graph
            .as_mut()
            .filter(|g| !g.node.is_empty() || !g.output.is_empty())
            .ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
        let input = graph::single_input(graph)?;
        graph::strip_zipmap(graph)?;
        graph::check_supported(graph, &onnx.op_register)?;
        graph::pad_binary_base_values(graph);
        let class_labels = graph::class_labels(graph);
        let indexed_labels = graph::index_string_labels(graph);

        let prepare = |e: TractError| OnnxError::Prepare(format!("{e:#}"));
        let model = onnx.model_for_proto_model(&proto).map_err(prepare)?;
        let batch = model.symbols.sym("batch");
        let shape = [batch.to_dim(), input.n_features.to_dim()];
        let fact = match input.input_type {
            InputType::F32 => f32::fact(shape),
            InputType::F64 => f64::fact(shape),
        };
        let typed = model
            .with_input_fact(0, fact.into())
            .and_then(|m| m.into_optimized())
            .map_err(prepare)?;
        let layout = OutputLayout::of(&typed, class_labels, indexed_labels)?;
        let plan = typed.into_runnable().map_err(prepare)?;
        Ok(OnnxModel {
            plan,
            input_name: input.name,
            input_type: input.input_type,
            n_features: input.n_features,
            layout,
        })
    }

    /// Scores `n_rows` rows of [`OnnxModel::n_features`] values each, laid end to end in `rows`.
    /// Safe to call from many threads at once.
    pub fn predict(&self, rows: &[f64], n_rows: usize) -> Result<OnnxOutput, OnnxError> {
        let n_features = self.n_features;
        if n_rows.checked_mul(n_features) != Some(rows.len()) {
            return Err(OnnxError::RowWidth {
                len: rows.len(),
                n_rows,
                n_features,
            });
        }
        let run = |e: TractError| OnnxError::Run(format!("{e:#}"));
        let input = match self.input_type {
            InputType::F32 => {
                let rows: Vec<f32> = rows.iter().map(|&v| v as f32).collect();
                Tensor::from_shape(&[n_rows, n_features], &rows)
            }
            InputType::F64 => Tensor::from_shape(&[n_rows, n_features], rows),
        }
        .map_err(run)?;
        let outputs = self.plan.run(tvec!(input.into_tvalue())).map_err(run)?;
        self.layout.read(&outputs, n_rows).map_err(run)
    }

    /// The class labels, in the order of the probability columns; `None` for a regressor.
    pub fn class_labels(&self) -> Option<&Labels> {
        match &self.layout {
            OutputLayout::Classifier { classes, .. } => classes.as_ref(),
            OutputLayout::Regressor { .. } => None,
        }
    }

    /// Whether the model is a classifier (labels and probabilities) rather than a regressor.
    pub fn is_classifier(&self) -> bool {
        matches!(self.layout, OutputLayout::Classifier { .. })
    }

    /// The name of the model's one input.
    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    /// The element type of the model's input (rows are converted to it).
    pub fn input_type(&self) -> InputType {
        self.input_type
    }

    /// How many values each row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

impl OutputLayout {
    /// Finds, among the planned model's outputs, the labels (int or string, one per row) and
    /// probabilities (float, one column per class) of a classifier, or a regressor's one float
    /// output with one value per row.
    fn of(
        model: &TypedModel,
        classes: Option<Labels>,
        indexed_labels: bool,
    ) -> Result<OutputLayout, OnnxError> {
        let mut labels = None;
        let mut floats = vec![];
        let mut described = vec![];
        for (at, outlet) in model.output_outlets().map_err(outputs)?.iter().enumerate() {
            let fact = model.outlet_fact(*outlet).map_err(outputs)?;
            let dt = fact.datum_type;
            described.push(format!("{dt:?} {:?}", fact.shape));
            // tract types an ONNX Cast to int64 (skl2onnx's, before ZipMap) as TDim.
            let is_label =
                dt == String::datum_type() || dt == TDim::datum_type() || dt.is_integer();
            if is_label && fact.rank() == 1 && labels.is_none() {
                labels = Some(at);
            } else if dt == f32::datum_type() || dt == f64::datum_type() {
                let width = fact
                    .shape
                    .get(1)
                    .and_then(|d| d.as_i64())
                    .map(|k| k as usize);
                floats.push((at, fact.rank(), width));
            }
        }
        if let Some(labels) = labels {
            let probabilities = floats.iter().find(|(_, rank, _)| *rank == 2).map(|f| f.0);
            return Ok(OutputLayout::Classifier {
                labels,
                probabilities,
                classes,
                indexed_labels,
            });
        }
        match floats.as_slice() {
            [(values, 1, _)] | [(values, 2, Some(1))] => {
                Ok(OutputLayout::Regressor { values: *values })
            }
            [(_, 2, Some(k))] => Err(OnnxError::Outputs(format!(
                "a regressor with {k} targets is not supported (the model outputs {})",
                described.join(", ")
            ))),
            _ => Err(OnnxError::Outputs(format!(
                "expected labels and probabilities, or one float value per row; the model \
                 outputs {}",
                described.join(", ")
            ))),
        }
    }

    fn read(&self, outputs: &[TValue], n_rows: usize) -> TractResult<OnnxOutput> {
        let count = |what: &str, n: usize| match n == n_rows {
            true => Ok(()),
            false => Err(TractError::msg(format!(
                "the model returned {n} {what} for {n_rows} rows"
            ))),
        };
        match self {
            OutputLayout::Regressor { values } => {
                let values = floats(&outputs[*values])?;
                count("values", values.len())?;
                Ok(OnnxOutput::Regression { values })
            }
            OutputLayout::Classifier {
                labels,
                probabilities,
                classes,
                indexed_labels,
            } => {
                let probabilities = match probabilities {
                    None => None,
                    Some(at) => {
                        let values = floats(&outputs[*at])?;
                        let n_classes = outputs[*at].shape().get(1).copied().unwrap_or(0);
                        Some(Probabilities { n_classes, values })
                    }
                };
                // The label of each row is the class of its highest probability, as
                // scikit-learn's predict: tract's own label output is wrong for binary tree
                // ensembles (it takes the argmax before expanding the one score column into
                // two), and cannot hold strings.
                let labels = match (classes, &probabilities) {
                    (Some(classes), Some(p)) if p.n_classes == classes.len() => {
                        classes.pick(&argmax_rows(p, n_rows))
                    }
                    (Some(classes), _) if *indexed_labels => {
                        let Labels::Int64(indices) = labels_of(&outputs[*labels])? else {
                            return Err(TractError::msg("string labels where indices were due"));
                        };
                        let n = classes.len();
                        let indices: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
                        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
                            return Err(TractError::msg(format!("class index {bad} of {n}")));
                        }
                        classes.pick(&indices)
                    }
                    _ => labels_of(&outputs[*labels])?,
                };
                count("labels", labels.len())?;
                Ok(OnnxOutput::Classification {
                    labels,
                    probabilities,
                })
            }
        }
    }
}

/// The column of each row's highest probability (the first of equal ones, as numpy's argmax).
fn argmax_rows(p: &Probabilities, n_rows: usize) -> Vec<usize> {
    (0..n_rows)
        .map(|r| {
            let row = p.row(r);
            (1..row.len()).fold(0, |best, c| if row[c] > row[best] { c } else { best })
        })
        .collect()
}

fn outputs(e: TractError) -> OnnxError {
    OnnxError::Outputs(format!("{e:#}"))
}

fn floats(t: &Tensor) -> TractResult<Vec<f64>> {
    let t = t.cast_to::<f64>()?;
    Ok(t.try_as_plain_ram()?.as_slice::<f64>()?.to_vec())
}

fn labels_of(t: &Tensor) -> TractResult<Labels> {
    if t.datum_type() == String::datum_type() {
        Ok(Labels::Strings(
            t.try_as_plain_ram()?.as_slice::<String>()?.to_vec(),
        ))
    } else {
        let t = t.cast_to::<i64>()?;
        Ok(Labels::Int64(
            t.try_as_plain_ram()?.as_slice::<i64>()?.to_vec(),
        ))
    }
}

/// Where the predictions are among the plan's outputs.
#[derive(Debug, Clone)]
enum OutputLayout {
    Classifier {
        labels: usize,
        probabilities: Option<usize>,
        classes: Option<Labels>,
        /// The graph's string labels were replaced by indices into `classes`.
        indexed_labels: bool,
    },
    Regressor {
        values: usize,
    },
}

/// An ONNX model planned by tract for `[batch, n_features]` float rows. Cheap to share: scoring
/// takes `&self` and runs a fresh state per call.
#[derive(Debug, Clone)]
pub struct OnnxModel {
    plan: Arc<TypedSimplePlan>,
    input_name: String,
    input_type: InputType,
    n_features: usize,
    layout: OutputLayout,
}
