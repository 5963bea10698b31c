//! ironmage-flavors' integration tests: one test binary, one module per subject.
//! Shared helpers are in `common`.

mod common;
mod onnx;
mod onnx_bench;
mod python;
mod python_bench;
