//! `--var NAME=VALUE`: a pipeline variable given on the command line (`ironmage run`,
//! `ironmage triggers create` and `fire`). Parsed by clap, so a malformed one is refused with the
//! flag's name before anything runs.

use serde_json::{Map, Value};
use std::str::FromStr;

/// One `--var NAME=VALUE`: the value is read as JSON (`seed=7` is a number), else as text
/// (`tag=nightly`).
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// The variable's name.
    pub name: String,
    /// Its value.
    pub value: Value,
}

impl FromStr for Var {
    type Err = String;

    fn from_str(text: &str) -> Result<Var, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected NAME=VALUE"))?;
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        Ok(Var {
            name: name.to_string(),
            value,
        })
    }
}

/// The variables map of a run; a name given twice keeps its last value.
pub fn variables(vars: &[Var]) -> Map<String, Value> {
    vars.iter()
        .map(|var| (var.name.clone(), var.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_else_text_and_the_last_one_wins() {
        let vars: Vec<Var> = ["seed=7", "tag=nightly", "list=[1,2]", "seed=8", "empty="]
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(
            Value::Object(variables(&vars)),
            json!({"seed": 8, "tag": "nightly", "list": [1, 2], "empty": ""})
        );
    }

    #[test]
    fn a_var_without_equals_is_refused() {
        assert_eq!(
            "seed".parse::<Var>().unwrap_err(),
            "\"seed\": expected NAME=VALUE"
        );
    }
}
