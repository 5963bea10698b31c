//! What a scoring request must hold, whatever trained the model: named, typed input columns,
//! and the parser that turns a JSON body into rows of cells in column order.
//!
//! Bodies accepted (the shapes ironmage's own clients, seed scripts and the official mlflow
//! client send):
//! - one object of features (`{"age": 40, …}`), or an array of them (a batch);
//! - arrays of values in column order (`[[0.5, 40, …], …]`), for models whose inputs have no
//!   names (an ONNX tensor);
//! - MLflow's scoring envelopes, as `mlflow models serve` takes them: `{"dataframe_split":
//!   {"columns": […], "data": [[…]]}}`, `{"dataframe_records": [{…}]}`, `{"instances": […]}` and
//!   `{"inputs": […] | {column: [values]}}`.
//!
//! Every error names its field (`monthly_charges`, or `[3].monthly_charges` in a batch).

use crate::error::{Error, Result};
use crate::table::steps::{Cell, Kind};
use serde_json::{Map, Value};

/// Most rows accepted in one request.
pub const MAX_BATCH: usize = 10_000;

/// The keys of MLflow's scoring envelopes; an object holding exactly one of them is an envelope.
const ENVELOPES: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

impl InputSchema {
    /// A schema of these columns. Each column whose name holds characters other than letters,
    /// digits and `_` is also accepted under the name with those characters turned into `_`
    /// (`NumberOfTime30-59DaysPastDueNotWorse` as `NumberOfTime30_59DaysPastDueNotWorse`), the
    /// spelling Python clients use for such columns.
    pub fn new(columns: impl IntoIterator<Item = (String, Kind)>) -> InputSchema {
        let columns = columns
            .into_iter()
            .map(|(name, kind)| {
                let underscored: String = name
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { '_' })
                    .collect();
                let alias = (underscored != name).then_some(underscored);
                InputColumn { name, kind, alias }
            })
            .collect();
        InputSchema { columns }
    }

    /// The column a request key names, by name or alias.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == key).or_else(|| {
            self.columns
                .iter()
                .position(|c| c.alias.as_deref() == Some(key))
        })
    }

    /// The column names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Check a body against the schema and return its rows in column order.
    pub fn parse(&self, body: &Value) -> Result<ParsedRequest> {
        match body {
            Value::Object(map) if map.len() == 1 && ENVELOPES.contains(&first_key(map)) => {
                self.parse_envelope(map)
            }
            Value::Object(_) => Ok(ParsedRequest {
                rows: vec![self.parse_row(body, "")?],
                batch: false,
            }),
            Value::Array(items) => Ok(ParsedRequest {
                rows: self.parse_items(items, "")?,
                batch: true,
            }),
            other => Err(Error::invalid_field(
                "body",
                format!(
                    "expected a JSON object of features or an array of them, got {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// MLflow's envelopes: always a batch, like `mlflow models serve` answers them.
    fn parse_envelope(&self, map: &Map<String, Value>) -> Result<ParsedRequest> {
        let key = first_key(map);
        let value = &map[key];
        let rows = match (key, value) {
            ("dataframe_split", Value::Object(split)) => self.parse_split(split, key)?,
            ("dataframe_records" | "instances" | "inputs", Value::Array(items)) => {
                self.parse_items(items, key)?
            }
            ("inputs" | "instances", Value::Object(columns)) => self.parse_columns(columns, key)?,
            (_, other) => {
                return Err(Error::invalid_field(
                    key,
                    format!("expected an object or an array, got {}", type_name(other)),
                ))
            }
        };
        Ok(ParsedRequest { rows, batch: true })
    }

    fn parse_items(&self, items: &[Value], prefix: &str) -> Result<Vec<Vec<Cell>>> {
        check_count(items.len(), if prefix.is_empty() { "body" } else { prefix })?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{prefix}[{i}]");
                match item {
                    Value::Array(values) => self.parse_positional(values, &at),
                    _ => self.parse_row(item, &at),
                }
            })
            .collect()
    }

    /// `{"columns": [...], "data": [[...]]}`: rows of values in the order `columns` gives.
    fn parse_split(&self, split: &Map<String, Value>, key: &str) -> Result<Vec<Vec<Cell>>> {
        let data = match split.get("data") {
            Some(Value::Array(data)) => data,
            _ => {
                return Err(Error::invalid_field(
                    format!("{key}.data"),
                    "expected an array of rows",
                ))
            }
        };
        let Some(Value::Array(columns)) = split.get("columns") else {
            // Without names, rows are in the schema's column order.
            return self.parse_items(data, &format!("{key}.data"));
        };
        let names: Vec<&str> = columns.iter().filter_map(Value::as_str).collect();
        if names.len() != columns.len() {
            return Err(Error::invalid_field(
                format!("{key}.columns"),
                "expected an array of column names",
            ));
        }
        check_count(data.len(), &format!("{key}.data"))?;
        data.iter()
            .enumerate()
            .map(|(i, row)| {
                let at = format!("{key}.data[{i}]");
                let Value::Array(values) = row else {
                    return Err(Error::invalid_field(at, "expected an array of values"));
                };
                if values.len() != names.len() {
                    return Err(Error::invalid_field(
                        at,
                        format!("{} values for {} columns", values.len(), names.len()),
                    ));
                }
                let object: Map<String, Value> = names
                    .iter()
                    .map(|n| n.to_string())
                    .zip(values.iter().cloned())
                    .collect();
                self.parse_row(&Value::Object(object), &at)
            })
            .collect()
    }

    /// `{"column": [values…], …}`: one array per column, all of one length.
    fn parse_columns(&self, columns: &Map<String, Value>, key: &str) -> Result<Vec<Vec<Cell>>> {
        let mut n_rows = None;
        for (name, values) in columns {
            let Value::Array(values) = values else {
                return Err(Error::invalid_field(
                    format!("{key}.{name}"),
                    "expected an array of values",
                ));
            };
            match n_rows {
                Some(n) if n != values.len() => {
                    return Err(Error::invalid_field(
                        format!("{key}.{name}"),
                        format!("{} values where other columns have {n}", values.len()),
                    ))
                }
                _ => n_rows = Some(values.len()),
            }
        }
        let n_rows = n_rows.unwrap_or(0);
        check_count(n_rows, key)?;
        (0..n_rows)
            .map(|i| {
                let object: Map<String, Value> = columns
                    .iter()
                    .map(|(name, values)| (name.clone(), values[i].clone()))
                    .collect();
                self.parse_row(&Value::Object(object), &format!("{key}[{i}]"))
            })
            .collect()
    }

    /// An array of values in column order.
    fn parse_positional(&self, values: &[Value], at: &str) -> Result<Vec<Cell>> {
        if values.len() != self.columns.len() {
            return Err(Error::invalid_field(
                at,
                format!(
                    "{} values for {} columns ({})",
                    values.len(),
                    self.columns.len(),
                    self.names().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        self.columns
            .iter()
            .zip(values)
            .map(|(column, value)| cell(column.kind, value, &join(at, &column.name)))
            .collect()
    }

    fn parse_row(&self, item: &Value, prefix: &str) -> Result<Vec<Cell>> {
        let Value::Object(map) = item else {
            let at = if prefix.is_empty() { "body" } else { prefix };
            return Err(Error::invalid_field(
                at,
                format!("expected an object of features, got {}", type_name(item)),
            ));
        };
        let mut row: Vec<Option<Cell>> = vec![None; self.columns.len()];
        for (key, value) in map {
            let Some(i) = self.position(key) else {
                return Err(Error::invalid_field(
                    join(prefix, key),
                    format!(
                        "unknown feature (expected: {})",
                        self.names().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            row[i] = Some(cell(self.columns[i].kind, value, &join(prefix, key))?);
        }
        row.into_iter()
            .zip(&self.columns)
            .map(|(cell, column)| {
                cell.ok_or_else(|| {
                    Error::invalid_field(join(prefix, &column.name), "missing feature")
                })
            })
            .collect()
    }
}

fn cell(kind: Kind, value: &Value, field: &str) -> Result<Cell> {
    match (kind, value) {
        (Kind::Number, Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() => Ok(Cell::Number(v)),
            _ => Err(Error::invalid_field(field, "must be a finite number")),
        },
        (Kind::Text, Value::String(s)) => Ok(Cell::Text(Some(s.clone()))),
        (Kind::Text, Value::Null) => Ok(Cell::Text(None)),
        (Kind::Number, other) => Err(Error::invalid_field(
            field,
            format!("expected a number, got {}", type_name(other)),
        )),
        (Kind::Text, other) => Err(Error::invalid_field(
            field,
            format!("expected a string, got {}", type_name(other)),
        )),
    }
}

fn check_count(n: usize, field: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid_field(
            field,
            "an empty batch: send at least one row",
        ));
    }
    if n > MAX_BATCH {
        return Err(Error::invalid_field(
            field,
            format!("a batch holds at most {MAX_BATCH} rows, got {n}"),
        ));
    }
    Ok(())
}

fn first_key(map: &Map<String, Value>) -> &str {
    map.keys().next().map(String::as_str).unwrap_or("")
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// How a JSON value is named in error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The input columns of a model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InputSchema {
    /// In the order rows are given to the model.
    pub columns: Vec<InputColumn>,
}

/// One input column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InputColumn {
    /// Its name.
    pub name: String,
    /// Number or text.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The name with `_` for other characters, also accepted, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// A parsed request: the rows, and whether they came as a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    /// Rows of cells in the schema's column order.
    pub rows: Vec<Vec<Cell>>,
    /// Whether the body was an array or an MLflow envelope (answered with an array).
    pub batch: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> InputSchema {
        InputSchema::new([
            ("a".to_string(), Kind::Number),
            ("b-c".to_string(), Kind::Number),
            ("city".to_string(), Kind::Text),
        ])
    }

    fn numbers(rows: &[Vec<Cell>]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Number(v) => *v,
                        Cell::Text(_) => -1.0,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_shape_gives_the_same_rows() {
        let expected = vec![vec![1.0, 2.0, -1.0], vec![3.0, 4.0, -1.0]];
        for body in [
            json!([{"a": 1, "b-c": 2, "city": "x"}, {"a": 3, "b_c": 4, "city": null}]),
            json!([[1, 2, "x"], [3, 4, null]]),
            json!({"dataframe_split": {"columns": ["city", "a", "b-c"], "data": [["x", 1, 2], [null, 3, 4]]}}),
            json!({"dataframe_records": [{"a": 1, "b-c": 2, "city": "x"}, {"a": 3, "b-c": 4, "city": null}]}),
            json!({"inputs": {"a": [1, 3], "b_c": [2, 4], "city": ["x", null]}}),
            json!({"instances": [[1, 2, "x"], [3, 4, null]]}),
        ] {
            let parsed = schema()
                .parse(&body)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
            assert!(parsed.batch, "{body}");
            assert_eq!(numbers(&parsed.rows), expected, "{body}");
        }
        let one = schema()
            .parse(&json!({"b_c": 2, "a": 1, "city": "x"}))
            .unwrap();
        assert!(!one.batch);
        assert_eq!(numbers(&one.rows), vec![vec![1.0, 2.0, -1.0]]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"a": 1, "city": "x"}), "b-c", "missing"),
            (
                json!({"a": 1, "b-c": "x", "city": "x"}),
                "b-c",
                "expected a number",
            ),
            (
                json!({"a": 1, "b-c": 2, "city": 3}),
                "city",
                "expected a string",
            ),
            (
                json!({"a": 1, "b-c": 2, "city": "x", "z": 3}),
                "z",
                "unknown feature",
            ),
            (
                json!([{"a": 1, "b-c": 2, "city": "x"}, {"a": true, "b-c": 2, "city": "x"}]),
                "[1].a",
                "expected a number",
            ),
            (json!([[1, 2]]), "[0]", "2 values for 3 columns"),
            (json!([]), "body", "empty batch"),
            (json!("text"), "body", "expected a JSON object"),
            (json!([1]), "[0]", "expected an object"),
            (
                json!({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}),
                "dataframe_split.data[0]",
                "2 values for 1 columns",
            ),
            (
                json!({"inputs": {"a": [1, 2], "b-c": [1]}}),
                "inputs.b-c",
                "values where other columns have 2",
            ),
            (
                json!({"instances": 3}),
                "instances",
                "expected an object or an array",
            ),
        ];
        for (body, field, message) in cases {
            let err = schema().parse(&body).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{body}: {err}");
            assert!(err.message.contains(message), "{body}: {}", err.message);
        }
    }

    #[test]
    fn aliases_are_declared_only_where_names_differ() {
        let s = schema();
        assert_eq!(s.columns[0].alias, None);
        assert_eq!(s.columns[1].alias.as_deref(), Some("b_c"));
        assert_eq!(s.position("b_c"), Some(1));
        assert_eq!(s.position("nope"), None);
    }
}
