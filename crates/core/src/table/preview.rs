//! A table's preview for run pages and `when:` conditions: `rows`, `columns`, per-column
//! stats (`type`, `missing`; numbers: `min`, `max`, `mean`; text: `distinct`) and the first rows.

use super::{Table, Values};
use serde_json::{json, Map, Value};

/// Rows shown in a preview.
const HEAD: usize = 5;

impl Table {
    /// `{rows, columns, schema: [...], stats: {<column>: {...}}, head: [...]}`.
    pub fn preview(&self) -> Value {
        let mut stats = Map::new();
        let schema: Vec<Value> = self
            .columns
            .iter()
            .map(|c| {
                let mut s = json!({"type": c.values.type_name(), "missing": c.values.missing()});
                match &c.values {
                    Values::Number(v) => {
                        let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                        let n = present.len().max(1) as f64;
                        s["min"] = number(present.iter().copied().fold(f64::NAN, f64::min));
                        s["max"] = number(present.iter().copied().fold(f64::NAN, f64::max));
                        s["mean"] = number(present.iter().sum::<f64>() / n);
                    }
                    Values::Text(v) => {
                        let distinct: std::collections::BTreeSet<&String> =
                            v.iter().flatten().collect();
                        s["distinct"] = json!(distinct.len());
                    }
                }
                stats.insert(c.name.clone(), s.clone());
                s["name"] = json!(c.name);
                s
            })
            .collect();
        let head: Vec<Value> = (0..self.rows.min(HEAD))
            .map(|r| {
                let row: Map<String, Value> = self
                    .columns
                    .iter()
                    .map(|c| {
                        let v = match &c.values {
                            Values::Number(v) => number(v[r]),
                            Values::Text(v) => json!(v[r]),
                        };
                        (c.name.clone(), v)
                    })
                    .collect();
                Value::Object(row)
            })
            .collect();
        json!({"rows": self.rows, "columns": self.columns.len(), "schema": schema, "stats": stats, "head": head})
    }
}

/// A float as JSON, with null for a missing (NaN) value.
pub(crate) fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
