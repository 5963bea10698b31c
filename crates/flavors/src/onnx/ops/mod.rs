//! ONNX-ML operators that skl2onnx emits and tract-onnx 0.23 does not implement, registered on
//! top of tract's own: `Scaler` (StandardScaler, MinMaxScaler...) and `TreeEnsembleRegressor`
//! (forest and boosting regressors).

mod scaler;
mod tree_regressor;

/// tract's ONNX framework with the operators of this module added.
pub(crate) fn onnx_with_ml_ops() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert("Scaler", scaler::scaler);
    onnx.op_register
        .insert("TreeEnsembleRegressor", tree_regressor::tree_regressor);
    onnx
}
