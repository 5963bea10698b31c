//! ironmage-ml's tree import against the real libraries: one test binary, one module per
//! subject. `common` trains the models with the Python script (crates/ml/tests/python).

mod agreement;
mod common;
mod garbled;
