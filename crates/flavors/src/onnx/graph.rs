//! Reading and adjusting an ONNX graph before tract parses it: its one input, the operators it
//! uses, its class labels, and the ZipMap that skl2onnx appends to classifiers.

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::{type_proto, AttributeProto, GraphProto, NodeProto};

use super::error::OnnxError;
use super::output::{InputType, Labels};

/// The graph's single input: its name, element type and feature count (the second dimension).
pub(crate) fn single_input(graph: &GraphProto) -> Result<InputSpec, OnnxError> {
    let initialized: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !initialized.contains(&i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(OnnxError::InputCount {
            names: inputs.iter().map(|i| i.name.clone()).collect(),
        });
    };
    let problem = |problem: String| OnnxError::InputShape {
        name: input.name.clone(),
        problem,
    };
    let Some(type_proto::Value::TensorType(tensor)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(problem("is not a tensor".into()));
    };
    let input_type = match DataType::try_from(tensor.elem_type) {
        Ok(DataType::Float) => InputType::F32,
        Ok(DataType::Double) => InputType::F64,
        Ok(other) => {
            return Err(problem(format!(
                "holds {}, not float or double",
                other.as_str_name().to_lowercase()
            )))
        }
        Err(_) => {
            return Err(problem(format!(
                "has unknown element type {}",
                tensor.elem_type
            )))
        }
    };
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    let [_batch, features] = dims else {
        return Err(problem(format!(
            "has {} dimensions, not two ([batch, n_features])",
            dims.len()
        )));
    };
    let n_features = match features.value {
        Some(dimension::Value::DimValue(n)) if n > 0 => n as usize,
        _ => return Err(problem("does not declare a fixed feature count".into())),
    };
    Ok(InputSpec {
        name: input.name.clone(),
        input_type,
        n_features,
    })
}

/// Refuses a graph that uses operators tract has no implementation for, naming each with the
/// nodes that use it.
pub(crate) fn check_supported(graph: &GraphProto, ops: &OnnxOpRegister) -> Result<(), OnnxError> {
    let mut missing: Vec<String> = Vec::new();
    for node in graph
        .node
        .iter()
        .filter(|n| !ops.0.contains_key(&n.op_type))
    {
        let domain = if node.domain.is_empty() {
            "ai.onnx"
        } else {
            &node.domain
        };
        let what = format!("{} ({domain}, node `{}`)", node.op_type, node.name);
        if !missing.contains(&what) {
            missing.push(what);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OnnxError::UnsupportedOps(missing))
    }
}

/// Removes each ZipMap node, whose output (a sequence of maps) tract cannot produce: the graph
/// then outputs the ZipMap's input, the probability tensor, under its own name. The class labels
/// that ZipMap carried are the classifier's, read by [`class_labels`].
pub(crate) fn strip_zipmap(graph: &mut GraphProto) -> Result<(), OnnxError> {
    while let Some(at) = graph.node.iter().position(|n| n.op_type == "ZipMap") {
        let node = graph.node.remove(at);
        let (Some(probabilities), Some(map)) = (node.input.first(), node.output.first()) else {
            return Err(OnnxError::Outputs(format!(
                "ZipMap node `{}` is not wired",
                node.name
            )));
        };
        if graph.node.iter().any(|n| n.input.contains(map)) {
            return Err(OnnxError::Outputs(format!(
                "the output of ZipMap node `{}` feeds other nodes; only a ZipMap at the end of \
                 the graph can be dropped",
                node.name
            )));
        }
        for output in graph.output.iter_mut().filter(|o| &o.name == map) {
            output.name = probabilities.clone();
            output.r#type = None;
        }
    }
    Ok(())
}

/// skl2onnx writes one base value for a binary boosting classifier (the log-odds of the positive
/// class), where tract expects one per class: the second, for the unused column that tract's
/// binary layout fills with zeros, is 0.
pub(crate) fn pad_binary_base_values(graph: &mut GraphProto) {
    for node in graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "TreeEnsembleClassifier")
    {
        let n_classes = labels_of(node).map_or(0, |l| l.len());
        if let Some(base) = attribute_mut(node, "base_values") {
            if n_classes == 2 && base.floats.len() == 1 {
                base.floats.push(0.0);
            }
        }
    }
}

/// tract cannot output string labels (its label lookup needs a numeric zero): the classifier
/// nodes get the class indices as int64 labels instead, and the caller maps them back to the
/// strings, which it read first with [`class_labels`]. Returns whether any node was changed.
pub(crate) fn index_string_labels(graph: &mut GraphProto) -> bool {
    let mut changed = false;
    for node in &mut graph.node {
        let Some(at) = node
            .attribute
            .iter()
            .position(|a| a.name == "classlabels_strings")
        else {
            continue;
        };
        let int_name = match node.op_type.as_str() {
            "TreeEnsembleClassifier" => "classlabels_int64s",
            _ => "classlabels_ints",
        };
        let attribute = &mut node.attribute[at];
        attribute.ints = (0..attribute.strings.len() as i64).collect();
        attribute.strings.clear();
        attribute.name = int_name.into();
        attribute.r#type = AttributeType::Ints as i32;
        changed = true;
    }
    changed
}

/// The class labels of the graph's classifier: those of the last node that declares any
/// (ZipMap, TreeEnsembleClassifier, LinearClassifier, SVMClassifier...).
pub(crate) fn class_labels(graph: &GraphProto) -> Option<Labels> {
    graph.node.iter().rev().find_map(labels_of)
}

fn labels_of(node: &NodeProto) -> Option<Labels> {
    for attribute in &node.attribute {
        match attribute.name.as_str() {
            "classlabels_int64s" | "classlabels_ints" => {
                return Some(Labels::Int64(attribute.ints.clone()))
            }
            "classlabels_strings" => {
                let strings = attribute
                    .strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned());
                return Some(Labels::Strings(strings.collect()));
            }
            _ => {}
        }
    }
    None
}

fn attribute_mut<'a>(node: &'a mut NodeProto, name: &str) -> Option<&'a mut AttributeProto> {
    node.attribute.iter_mut().find(|a| a.name == name)
}

/// The model's one input, as the graph declares it.
#[derive(Debug, Clone)]
pub(crate) struct InputSpec {
    pub name: String,
    pub input_type: InputType,
    pub n_features: usize,
}
