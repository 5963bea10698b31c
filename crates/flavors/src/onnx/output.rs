//! What scoring an ONNX model returns.

impl Labels {
    /// How many labels there are.
    pub fn len(&self) -> usize {
        match self {
            Labels::Int64(v) => v.len(),
            Labels::Strings(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels at `indices`, e.g. the class of each row from its argmax.
    pub(crate) fn pick(&self, indices: &[usize]) -> Labels {
        match self {
            Labels::Int64(v) => Labels::Int64(indices.iter().map(|&i| v[i]).collect()),
            Labels::Strings(v) => Labels::Strings(indices.iter().map(|&i| v[i].clone()).collect()),
        }
    }
}

impl Probabilities {
    /// The probabilities of row `row`, one per class, in the order of the class labels.
    pub fn row(&self, row: usize) -> &[f64] {
        &self.values[row * self.n_classes..(row + 1) * self.n_classes]
    }

    /// How many rows there are.
    pub fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.n_classes).unwrap_or(0)
    }
}

impl OnnxOutput {
    /// The predicted labels, for a classifier.
    pub fn labels(&self) -> Option<&Labels> {
        match self {
            OnnxOutput::Classification { labels, .. } => Some(labels),
            OnnxOutput::Regression { .. } => None,
        }
    }

    /// The per-class probabilities, for a classifier that outputs them.
    pub fn probabilities(&self) -> Option<&Probabilities> {
        match self {
            OnnxOutput::Classification { probabilities, .. } => probabilities.as_ref(),
            OnnxOutput::Regression { .. } => None,
        }
    }

    /// The predicted values, one per row, for a regressor.
    pub fn values(&self) -> Option<&[f64]> {
        match self {
            OnnxOutput::Classification { .. } => None,
            OnnxOutput::Regression { values } => Some(values),
        }
    }
}

/// Class labels, or one predicted label per row: int64 or string, as the model declares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    Int64(Vec<i64>),
    Strings(Vec<String>),
}

/// Per-class probabilities, row-major: `n_classes` values per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities {
    pub n_classes: usize,
    pub values: Vec<f64>,
}

/// The predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum OnnxOutput {
    /// A classifier: one label per row and, when the model outputs them, per-class
    /// probabilities.
    Classification {
        labels: Labels,
        probabilities: Option<Probabilities>,
    },
    /// A single-target regressor: one value per row.
    Regression { values: Vec<f64> },
}

/// The element type the model's input declares; rows are converted to it before scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    F32,
    F64,
}
