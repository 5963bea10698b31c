//! The messages exchanged with a worker (see `worker.py`), in core's frames (a 4-byte big-endian
//! length, then that many bytes of JSON), shared with the pipeline's Python block runner.

use ironmage_core::subprocess::frames::frame;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::info::RequirementStatus;

/// The first request: check these requirements and say who you are.
pub(crate) fn init(requirements: &[String]) -> Option<Vec<u8>> {
    #[derive(Serialize)]
    struct Init<'a> {
        op: &'static str,
        requirements: &'a [String],
    }
    frame(&Init {
        op: "init",
        requirements,
    })
}

/// Load the model in this folder.
pub(crate) fn load(model_dir: &str) -> Option<Vec<u8>> {
    frame(&serde_json::json!({"op": "load", "model_dir": model_dir}))
}

/// Exit now.
pub(crate) fn exit() -> Option<Vec<u8>> {
    frame(&serde_json::json!({"op": "exit"}))
}

/// Predict these rows: the groups of rows of the merged requests, in order, sent as one table.
pub(crate) fn predict(columns: &[String], groups: &[&[Vec<Value>]]) -> Option<Vec<u8>> {
    struct Rows<'a>(&'a [&'a [Vec<Value>]]);
    impl Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().flat_map(|g| g.iter()))
        }
    }
    #[derive(Serialize)]
    struct Predict<'a> {
        op: &'static str,
        columns: &'a [String],
        rows: Rows<'a>,
    }
    frame(&Predict {
        op: "predict",
        columns,
        rows: Rows(groups),
    })
}

pub(crate) use ironmage_core::subprocess::frames::read_frame;

/// Any answer: `op` says which, the other fields depend on it. One flat struct rather than a
/// tagged enum, so that large `values` are parsed once, without serde's buffering.
#[derive(Debug, Deserialize)]
pub(crate) struct Answer {
    pub op: String,
    #[serde(default)]
    pub values: Option<Vec<Value>>,
    /// For `error`: `load`, `predict`, `output` or `protocol`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub traceback: Option<String>,
    // `hello`
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub executable: Option<String>,
    #[serde(default)]
    pub mlflow: Option<String>,
    #[serde(default)]
    pub requirements: Vec<CheckedRequirement>,
    // `loaded`
    #[serde(default)]
    pub flavors: Vec<String>,
    #[serde(default)]
    pub loader_module: Option<String>,
    #[serde(default)]
    pub input_schema: Option<Value>,
}

/// The worker's verdict on one recorded requirement.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CheckedRequirement {
    pub spec: String,
    pub name: Option<String>,
    pub installed: Option<String>,
    pub status: RequirementStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip() {
        let rows = vec![vec![Value::from(1.5), Value::Null]];
        let more = vec![vec![Value::from("a"), Value::from(2)]];
        let bytes = predict(&["x".into(), "y".into()], &[&rows, &more]).unwrap();
        let body = read_frame(&mut bytes.as_slice()).await.unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"op": "predict", "columns": ["x", "y"],
                               "rows": [[1.5, null], ["a", 2]]})
        );
    }

    #[test]
    fn answers_parse() {
        let answer: Answer =
            serde_json::from_str(r#"{"op":"result","values":[1,{"a":null}]}"#).unwrap();
        assert_eq!(answer.op, "result");
        assert_eq!(answer.values.unwrap().len(), 2);
        let answer: Answer = serde_json::from_str(
            r#"{"op":"hello","pid":3,"python":"3.12.1","executable":"/p","mlflow":null,
                "requirements":[{"spec":"x==1","name":"x","installed":null,"status":"missing"}]}"#,
        )
        .unwrap();
        assert_eq!(answer.requirements[0].status, RequirementStatus::Missing);
    }
}
