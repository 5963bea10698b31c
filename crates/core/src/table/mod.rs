//! The table that flows between pipeline blocks: named columns, each numeric (f64, NaN for
//! missing) or text (a category, `None` for missing).
//!
//! A table's identity is the SHA-256 of its canonical form: columns in name order, rows sorted
//! by their encoded bytes, numbers as IEEE-754 bits (one bit pattern for every NaN and for ±0).
//! The same rows in another order give the same fingerprint.

mod arrow;
mod csv;
pub mod export;
mod preview;
pub mod query;
pub mod steps;

pub use self::arrow::{read_arrow, write_arrow};
pub use self::csv::{parse_csv, write_csv};

use crate::error::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"ironmage-table-v1\n";

/// The values of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Values {
    /// Numbers; NaN marks a missing value.
    Number(Vec<f64>),
    /// Categories; `None` marks a missing value.
    Text(Vec<Option<String>>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Number(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }

    /// Whether the column has no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `number` or `text`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Values::Number(_) => "number",
            Values::Text(_) => "text",
        }
    }

    /// Count of missing values.
    pub fn missing(&self) -> usize {
        match self {
            Values::Number(v) => v.iter().filter(|x| x.is_nan()).count(),
            Values::Text(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    fn select(&self, rows: &[usize]) -> Values {
        match self {
            Values::Number(v) => Values::Number(rows.iter().map(|&r| v[r]).collect()),
            Values::Text(v) => Values::Text(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name, unique in its table.
    pub name: String,
    /// Its values.
    pub values: Values,
}

impl Column {
    /// A numeric column.
    pub fn number(name: impl Into<String>, values: Vec<f64>) -> Column {
        Column {
            name: name.into(),
            values: Values::Number(values),
        }
    }

    /// A text column.
    pub fn text(name: impl Into<String>, values: Vec<Option<String>>) -> Column {
        Column {
            name: name.into(),
            values: Values::Text(values),
        }
    }

    /// The numbers, or an error naming the column when it holds text.
    pub fn numbers(&self) -> Result<&[f64]> {
        match &self.values {
            Values::Number(v) => Ok(v),
            Values::Text(_) => Err(Error::invalid(format!(
                "column {:?} holds text, not numbers (one_hot encode it first)",
                self.name
            ))),
        }
    }
}

/// Columns of equal length with unique names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    columns: Vec<Column>,
    rows: usize,
}

impl Table {
    /// Check lengths and names.
    pub fn new(columns: Vec<Column>) -> Result<Table> {
        let rows = columns.first().map_or(0, |c| c.values.len());
        let mut seen = std::collections::BTreeSet::new();
        for c in &columns {
            if c.values.len() != rows {
                return Err(Error::invalid(format!(
                    "column {:?} has {} values, the first column {rows}",
                    c.name,
                    c.values.len()
                )));
            }
            if c.name.is_empty() {
                return Err(Error::invalid("a column has an empty name"));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(Error::invalid(format!("column {:?} appears twice", c.name)));
            }
        }
        Ok(Table { columns, rows })
    }

    /// A table from a feature matrix and a label column.
    pub fn from_matrix(
        names: &[String],
        features: &Array2<f64>,
        label: Option<Column>,
    ) -> Result<Table> {
        let mut columns: Vec<Column> = names
            .iter()
            .enumerate()
            .map(|(c, n)| Column::number(n.clone(), features.column(c).to_vec()))
            .collect();
        columns.extend(label);
        Table::new(columns)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Take the columns out.
    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The column called `name`, or an error listing the ones there are.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            Error::invalid(format!(
                "no column {name:?} (columns: {})",
                self.names().join(", ")
            ))
        })
    }

    /// Keep only the given rows, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Table {
        Table {
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: c.values.select(rows),
                })
                .collect(),
            rows: rows.len(),
        }
    }

    /// This table's rows, then `below`'s, which must have the same columns of the same types.
    pub fn stacked(&self, below: &Table) -> Result<Table> {
        if self.names() != below.names() {
            return Err(Error::invalid(format!(
                "cannot stack tables with columns {} and {}",
                self.names().join(", "),
                below.names().join(", ")
            )));
        }
        let columns = (self.columns.iter().zip(&below.columns))
            .map(|(a, b)| {
                let values = match (&a.values, &b.values) {
                    (Values::Number(x), Values::Number(y)) => Values::Number([&x[..], y].concat()),
                    (Values::Text(x), Values::Text(y)) => Values::Text([&x[..], y].concat()),
                    _ => {
                        return Err(Error::invalid(format!(
                            "column {:?} is numeric in one table and text in the other",
                            a.name
                        )))
                    }
                };
                Ok(Column {
                    name: a.name.clone(),
                    values,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Table::new(columns)
    }

    /// The named numeric columns as a rows × columns matrix.
    pub fn matrix(&self, names: &[String]) -> Result<Array2<f64>> {
        let mut out = Array2::zeros((self.rows, names.len()));
        for (c, name) in names.iter().enumerate() {
            let values = self.column(name)?.numbers()?;
            for (r, v) in values.iter().enumerate() {
                out[[r, c]] = *v;
            }
        }
        Ok(out)
    }

    /// Class labels (0, 1, …) of a numeric column of whole non-negative numbers.
    pub fn class_labels(&self, name: &str) -> Result<Vec<usize>> {
        let values = self.column(name)?.numbers()?;
        values
            .iter()
            .enumerate()
            .map(|(r, &v)| {
                if v >= 0.0 && v.fract() == 0.0 && v < 1e9 {
                    Ok(v as usize)
                } else {
                    Err(Error::invalid(format!(
                        "label column {name:?} row {}: {v} is not a class (0, 1, …)",
                        r + 1
                    )))
                }
            })
            .collect()
    }

    /// Numeric targets of a column with no missing value.
    pub fn targets(&self, name: &str) -> Result<Vec<f64>> {
        let values = self.column(name)?.numbers()?;
        if let Some(r) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "label column {name:?} row {}: missing or not finite",
                r + 1
            )));
        }
        Ok(values.to_vec())
    }

    /// The canonical form: columns sorted by name, rows sorted by their encoded bytes.
    pub fn canonical(&self) -> Table {
        let mut columns = self.columns.clone();
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        let sorted = Table {
            columns,
            rows: self.rows,
        };
        let mut keys: Vec<(Vec<u8>, usize)> =
            (0..self.rows).map(|r| (sorted.encode_row(r), r)).collect();
        keys.sort_unstable();
        let order: Vec<usize> = keys.into_iter().map(|(_, r)| r).collect();
        sorted.select_rows(&order)
    }

    /// The canonical serialisation (what the fingerprint hashes and the artifact store keeps).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let canonical = self.canonical();
        let mut out = MAGIC.to_vec();
        let header: Vec<_> = canonical
            .columns
            .iter()
            .map(|c| serde_json::json!([c.name, c.values.type_name()]))
            .collect();
        let header = serde_json::json!({"columns": header, "rows": canonical.rows});
        out.extend_from_slice(header.to_string().as_bytes());
        out.push(b'\n');
        for r in 0..canonical.rows {
            out.extend(canonical.encode_row(r));
        }
        out
    }

    /// `sha256:<hex>` of the canonical serialisation.
    pub fn fingerprint(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.canonical_bytes()))
        )
    }

    /// One row's bytes: numbers as 8 big-endian bytes (so byte order sorts the same on every
    /// machine), text as a tag, a length and the UTF-8 bytes.
    fn encode_row(&self, r: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &self.columns {
            match &c.values {
                Values::Number(v) => out.extend_from_slice(&canonical_bits(v[r]).to_be_bytes()),
                Values::Text(v) => match &v[r] {
                    None => out.push(0),
                    Some(s) => {
                        out.push(1);
                        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                        out.extend_from_slice(s.as_bytes());
                    }
                },
            }
        }
        out
    }
}

fn canonical_bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else if value == 0.0 {
        0.0f64.to_bits()
    } else {
        value.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table::new(vec![
            Column::number("b", vec![1.0, f64::NAN, 3.0]),
            Column::text("a", vec![Some("x".into()), None, Some("y".into())]),
            Column::number("y", vec![1.0, 0.0, 1.0]),
        ])
        .unwrap()
    }

    #[test]
    fn fingerprint_ignores_row_and_column_order() {
        let t = sample();
        let reordered = Table::new(vec![
            Column::number("y", vec![1.0, 1.0, 0.0]),
            Column::text("a", vec![Some("y".into()), Some("x".into()), None]),
            Column::number("b", vec![3.0, 1.0, -0.0]),
        ])
        .unwrap();
        // -0.0 and NaN differ: the rows are not the same yet.
        assert_ne!(t.fingerprint(), reordered.fingerprint());
        let fixed = Table::new(vec![
            Column::number("y", vec![1.0, 1.0, 0.0]),
            Column::text("a", vec![Some("y".into()), Some("x".into()), None]),
            Column::number("b", vec![3.0, 1.0, f64::NAN]),
        ])
        .unwrap();
        assert_eq!(t.fingerprint(), fixed.fingerprint());
        let text_changed = Table::new(vec![
            Column::number("b", vec![1.0, f64::NAN, 3.0]),
            Column::text("a", vec![Some("x".into()), None, Some("z".into())]),
            Column::number("y", vec![1.0, 0.0, 1.0]),
        ])
        .unwrap();
        assert_ne!(t.fingerprint(), text_changed.fingerprint());
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(Table::new(vec![
            Column::number("a", vec![1.0]),
            Column::number("b", vec![])
        ])
        .is_err());
        assert!(Table::new(vec![
            Column::number("a", vec![1.0]),
            Column::number("a", vec![2.0])
        ])
        .is_err());
        let t = sample();
        assert!(t
            .matrix(&["a".into()])
            .unwrap_err()
            .message
            .contains("one_hot"));
        assert!(t
            .column("nope")
            .unwrap_err()
            .message
            .contains("columns: b, a, y"));
        assert_eq!(t.class_labels("y").unwrap(), vec![1, 0, 1]);
        assert!(t.class_labels("b").is_err());
    }
}
