//! The frames exchanged with a worker (see `worker.py`): a 4-byte big-endian length, then that
//! many bytes of JSON.

use std::io;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::info::RequirementStatus;

/// Largest frame either side accepts; the worker has the same limit.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// Frames the message, JSON behind its length; `None` when it is larger than [`MAX_FRAME`].
pub(crate) fn frame<T: Serialize + ?Sized>(message: &T) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4];
    // Serializing to memory fails only for maps with non-string keys, which no message has.
    serde_json::to_writer(&mut buf, message).ok()?;
    let len = u32::try_from(buf.len() - 4)
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Some(buf)
}

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

/// Reads one frame's body. End of stream, even between frames, is an error: a worker never
/// closes its output while the pool waits for an answer.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let len = reader.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is larger than the limit"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

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

    #[tokio::test]
    async fn truncated_and_oversized_frames_are_errors() {
        let bytes = exit().unwrap();
        assert!(read_frame(&mut &bytes[..bytes.len() - 1]).await.is_err());
        assert!(read_frame(&mut &[0u8, 0][..]).await.is_err());
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        let err = read_frame(&mut &huge[..]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
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
