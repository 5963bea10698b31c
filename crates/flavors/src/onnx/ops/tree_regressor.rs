//! ONNX-ML `TreeEnsembleRegressor`, evaluated by tract-onnx-opl's tree ensemble (the kernel tract
//! uses for `TreeEnsembleClassifier`), one output column per target. The attribute parsing
//! follows tract-onnx's classifier parser, with the `target_*` leaf attributes.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx_opl::ml::tree::{Cmp, TreeEnsemble, TreeEnsembleData};
use tract_onnx_opl::ml::tree_ensemble_classifier::{self as opl, parse_aggregate};

pub(super) fn tree_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if node.get_attr_opt_vec::<f32>("nodes_values")?.is_none() {
        bail!("only float tree attributes are supported (not nodes_values_as_tensor)");
    }
    let post_transform: &str = node.get_attr_opt("post_transform")?.unwrap_or("NONE");
    ensure!(
        post_transform == "NONE",
        "post_transform {post_transform} is not supported"
    );
    let n_targets: usize = node.get_attr("n_targets")?;
    let aggregate = parse_aggregate(node.get_attr_opt("aggregate_function")?.unwrap_or("SUM"))?;
    let base_values: Option<Vec<f32>> = node.get_attr_opt_vec("base_values")?;
    if let Some(base) = &base_values {
        ensure!(
            base.len() == n_targets,
            "{} base_values for {n_targets} targets",
            base.len()
        );
    }
    let data = ensemble_data(node)?;
    let max_used_feature = node
        .get_attr_vec::<usize>("nodes_featureids")?
        .into_iter()
        .max()
        .unwrap_or(0);
    let ensemble = TreeEnsemble::build(data, max_used_feature, n_targets, aggregate)?;
    Ok((
        expand(TreeEnsembleRegressor {
            ensemble,
            base_values: base_values.map(|b| rctensor1(&b)),
        }),
        vec![],
    ))
}

fn node_mode(s: &str) -> TractResult<Option<Cmp>> {
    Ok(Some(match s {
        "BRANCH_LEQ" => Cmp::LessEqual,
        "BRANCH_LT" => Cmp::Less,
        "BRANCH_GTE" => Cmp::GreaterEqual,
        "BRANCH_GT" => Cmp::Greater,
        "BRANCH_EQ" => Cmp::Equal,
        "BRANCH_NEQ" => Cmp::NotEqual,
        "LEAF" => return Ok(None),
        _ => bail!("unsupported node mode {s}"),
    }))
}

/// The trees in tract's packed layout: per tree its root row; per node five u32 (internal:
/// feature, true row, false row, threshold bits, comparator | 0x100 when NaN goes true; leaf:
/// first and end row in `leaves`); per leaf contribution (target, weight bits).
fn ensemble_data(node: &NodeProto) -> TractResult<TreeEnsembleData> {
    let n_nodes = node.get_attr_slice::<i64>("nodes_featureids")?.len();
    ensure!(n_nodes > 0, "no tree nodes");
    let attr = |name: &str, n: usize| -> TractResult<Vec<usize>> {
        let v: Vec<usize> = node.get_attr_vec(name)?;
        ensure!(v.len() == n, "{name} has {} values, expected {n}", v.len());
        Ok(v)
    };
    let node_ids = attr("nodes_nodeids", n_nodes)?;
    let tree_ids = attr("nodes_treeids", n_nodes)?;
    let feature_ids = attr("nodes_featureids", n_nodes)?;
    let true_ids = attr("nodes_truenodeids", n_nodes)?;
    let false_ids = attr("nodes_falsenodeids", n_nodes)?;
    let values: Vec<f32> = node.get_attr_vec("nodes_values")?;
    ensure!(
        values.len() == n_nodes,
        "nodes_values has {} values",
        values.len()
    );
    let nan_is_true: Vec<bool> = node
        .get_attr_opt_vec("nodes_missing_value_tracks_true")?
        .unwrap_or_else(|| vec![false; n_nodes]);
    ensure!(
        nan_is_true.len() == n_nodes,
        "nodes_missing_value_tracks_true has the wrong length"
    );
    let modes: Vec<Option<Cmp>> = node
        .get_attr_vec::<&str>("nodes_modes")?
        .iter()
        .map(|s| node_mode(s))
        .collect::<TractResult<_>>()?;
    ensure!(
        modes.len() == n_nodes,
        "nodes_modes has {} values",
        modes.len()
    );

    let n_leaves = node.get_attr_slice::<i64>("target_ids")?.len();
    let leaf_node_ids = attr("target_nodeids", n_leaves)?;
    let leaf_tree_ids = attr("target_treeids", n_leaves)?;
    let leaf_targets = attr("target_ids", n_leaves)?;
    let leaf_weights: Vec<f32> = node.get_attr_vec("target_weights")?;
    ensure!(
        leaf_weights.len() == n_leaves,
        "target_weights has {} values",
        leaf_weights.len()
    );

    let mut node_order: Vec<usize> = (0..n_nodes).collect();
    node_order.sort_by_key(|&i| (tree_ids[i], node_ids[i]));
    let mut leaf_order: Vec<usize> = (0..n_leaves).collect();
    leaf_order.sort_by_key(|&i| (leaf_tree_ids[i], leaf_node_ids[i]));

    let mut trees: Vec<u32> = vec![];
    let mut nodes: Vec<u32> = vec![];
    let mut leaves: Vec<u32> = vec![];
    let mut current_tree = None;
    let mut next_leaf = 0;
    for n in node_order {
        let tree_id = tree_ids[n];
        if current_tree != Some(tree_id) {
            ensure!(
                current_tree.map_or(tree_id == 0, |t| tree_id == t + 1),
                "tree ids must count up from 0"
            );
            current_tree = Some(tree_id);
            trees.push(nodes.len() as u32 / 5);
        }
        let root = *trees.last().unwrap_or(&0);
        let row = if let Some(mode) = modes[n] {
            [
                feature_ids[n] as u32,
                true_ids[n] as u32 + root,
                false_ids[n] as u32 + root,
                values[n].to_bits(),
                (0x0100u32 * nan_is_true[n] as u32) | mode as u32,
            ]
        } else {
            let first = leaves.len() as u32 / 2;
            while let Some(&l) = leaf_order.get(next_leaf) {
                if leaf_tree_ids[l] != tree_id || leaf_node_ids[l] != node_ids[n] {
                    break;
                }
                leaves.push(leaf_targets[l] as u32);
                leaves.push(leaf_weights[l].to_bits());
                next_leaf += 1;
            }
            [first, leaves.len() as u32 / 2, 0, 0, 0]
        };
        nodes.extend(row);
    }
    ensure!(
        next_leaf == n_leaves,
        "leaf weights refer to nodes that are not leaves"
    );
    let n_rows = nodes.len() / 5;
    let n_leaf_rows = leaves.len() / 2;
    Ok(TreeEnsembleData {
        trees: rctensor1(&trees),
        nodes: tensor1(&nodes).into_shape(&[n_rows, 5])?.into_arc_tensor(),
        leaves: tensor1(&leaves)
            .into_shape(&[n_leaf_rows, 2])?
            .into_arc_tensor(),
    })
}

impl Expansion for TreeEnsembleRegressor {
    fn name(&self) -> StaticName {
        "TreeEnsembleRegressor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], self.ensemble.n_classes().to_dim())?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let scores = model.wire_node(
            format!("{prefix}.trees"),
            opl::TreeEnsembleClassifier {
                ensemble: self.ensemble.clone(),
            },
            inputs,
        )?;
        let Some(base) = &self.base_values else {
            return Ok(scores);
        };
        let base = (**base).clone().broadcast_into_rank(2)?.into_arc_tensor();
        let base = model.add_const(format!("{prefix}.base"), base)?;
        model.wire_node(
            format!("{prefix}.base_values"),
            tract_core::ops::math::add(),
            &[scores[0], base],
        )
    }
}

#[derive(Debug, Clone)]
struct TreeEnsembleRegressor {
    ensemble: TreeEnsemble,
    base_values: Option<Arc<Tensor>>,
}
