//! Fitted preprocessing steps: fitted on a training table by the transformer blocks, stored in
//! the model bundle, and replayed in the same order on every table and on every raw request
//! row the prediction service scores. One implementation serves both: a [`Plan`] compiled
//! against the input columns, applied row by row.

use super::{Column, Table, Values};
use crate::error::{Error, Result};
use crate::ml::{MedianImputer, StandardScaler};
use serde::{Deserialize, Serialize};

/// One fitted step, in the order the pipeline applied it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FittedStep {
    /// Replace missing numbers with a per-column value (training median, mean or a constant).
    Impute {
        /// Columns imputed.
        columns: Vec<String>,
        /// Their fill values.
        values: Vec<f64>,
    },
    /// `(x - mean) / scale` with the training statistics.
    Scale {
        /// Columns scaled.
        columns: Vec<String>,
        /// Training means.
        mean: Vec<f64>,
        /// Training standard deviations (1 for a constant column).
        scale: Vec<f64>,
    },
    /// A text column becomes one `<column>=<category>` indicator per training category; an
    /// unknown or missing category gives all zeros.
    OneHot {
        /// The text column.
        column: String,
        /// Categories seen in training, sorted.
        categories: Vec<String>,
    },
    /// Keep these columns, in this order.
    Select {
        /// Kept columns.
        columns: Vec<String>,
    },
    /// Rename columns.
    Rename {
        /// Old names.
        from: Vec<String>,
        /// New names.
        to: Vec<String>,
    },
}

/// A column's type, for plans and request schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// f64, NaN for missing.
    Number,
    /// A category.
    Text,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number (NaN for missing).
    Number(f64),
    /// A category (`None` for missing).
    Text(Option<String>),
}

#[derive(Debug, Clone)]
enum Op {
    Fill(Vec<usize>, Vec<f64>),
    Scale(Vec<usize>, Vec<f64>, Vec<f64>),
    OneHot(usize, Vec<String>),
    Keep(Vec<usize>),
}

/// Steps resolved against named, typed input columns.
#[derive(Debug, Clone)]
pub struct Plan {
    ops: Vec<Op>,
    /// The columns it gives, in order.
    pub outputs: Vec<(String, Kind)>,
}

impl Plan {
    /// Resolve `steps` against `inputs`; an error names the step and the column.
    pub fn compile(steps: &[FittedStep], inputs: &[(String, Kind)]) -> Result<Plan> {
        let mut cols: Vec<(String, Kind)> = inputs.to_vec();
        let mut ops = Vec::new();
        for (n, step) in steps.iter().enumerate() {
            let at = |name: &str, what: &str| {
                Error::invalid(format!(
                    "preprocessing step {} ({}): column {name:?} {what}",
                    n + 1,
                    step.name()
                ))
            };
            let find = |cols: &[(String, Kind)], name: &str, kind: Option<Kind>| {
                let i = cols
                    .iter()
                    .position(|(c, _)| c == name)
                    .ok_or_else(|| at(name, "is missing"))?;
                match kind {
                    Some(k) if cols[i].1 != k => Err(at(name, &format!("is not {k:?}"))),
                    _ => Ok(i),
                }
            };
            match step {
                FittedStep::Impute { columns, values } => {
                    let idx = columns
                        .iter()
                        .map(|c| find(&cols, c, Some(Kind::Number)))
                        .collect::<Result<_>>()?;
                    ops.push(Op::Fill(idx, values.clone()));
                }
                FittedStep::Scale {
                    columns,
                    mean,
                    scale,
                } => {
                    let idx = columns
                        .iter()
                        .map(|c| find(&cols, c, Some(Kind::Number)))
                        .collect::<Result<_>>()?;
                    ops.push(Op::Scale(idx, mean.clone(), scale.clone()));
                }
                FittedStep::OneHot { column, categories } => {
                    let i = find(&cols, column, Some(Kind::Text))?;
                    let indicators = categories
                        .iter()
                        .map(|c| (indicator(column, c), Kind::Number));
                    cols.splice(i..=i, indicators);
                    ops.push(Op::OneHot(i, categories.clone()));
                }
                FittedStep::Select { columns } => {
                    let idx: Vec<usize> = columns
                        .iter()
                        .map(|c| find(&cols, c, None))
                        .collect::<Result<_>>()?;
                    cols = idx.iter().map(|&i| cols[i].clone()).collect();
                    ops.push(Op::Keep(idx));
                }
                FittedStep::Rename { from, to } => {
                    for (f, t) in from.iter().zip(to) {
                        let i = find(&cols, f, None)?;
                        cols[i].0 = t.clone();
                    }
                }
            }
        }
        Ok(Plan { ops, outputs: cols })
    }

    /// Transform one row of input cells.
    pub fn apply(&self, mut row: Vec<Cell>) -> Vec<Cell> {
        for op in &self.ops {
            match op {
                Op::Fill(idx, values) => {
                    for (&i, &v) in idx.iter().zip(values) {
                        if let Cell::Number(x) = &mut row[i] {
                            if x.is_nan() {
                                *x = v;
                            }
                        }
                    }
                }
                Op::Scale(idx, mean, scale) => {
                    for ((&i, &m), &s) in idx.iter().zip(mean).zip(scale) {
                        if let Cell::Number(x) = &mut row[i] {
                            *x = (*x - m) / s;
                        }
                    }
                }
                Op::OneHot(i, categories) => {
                    let value = match &row[*i] {
                        Cell::Text(t) => t.clone(),
                        Cell::Number(_) => None,
                    };
                    let cells = categories
                        .iter()
                        .map(|c| Cell::Number(f64::from(value.as_deref() == Some(c.as_str()))));
                    row.splice(*i..=*i, cells);
                }
                Op::Keep(idx) => row = idx.iter().map(|&i| row[i].clone()).collect(),
            }
        }
        row
    }

    /// Transform every row of a table whose columns are this plan's inputs.
    pub fn apply_table(&self, table: &Table) -> Result<Table> {
        let mut out: Vec<Column> = self
            .outputs
            .iter()
            .map(|(name, kind)| match kind {
                Kind::Number => Column::number(name.clone(), Vec::with_capacity(table.rows())),
                Kind::Text => Column::text(name.clone(), Vec::with_capacity(table.rows())),
            })
            .collect();
        for r in 0..table.rows() {
            let row = table.columns().iter().map(|c| cell(&c.values, r)).collect();
            for (column, value) in out.iter_mut().zip(self.apply(row)) {
                match (&mut column.values, value) {
                    (Values::Number(v), Cell::Number(x)) => v.push(x),
                    (Values::Text(v), Cell::Text(t)) => v.push(t),
                    _ => return Err(Error::internal("a plan gave a cell of the wrong type")),
                }
            }
        }
        Table::new(out)
    }
}

impl FittedStep {
    /// The step's name as written in pipelines.
    pub fn name(&self) -> &'static str {
        match self {
            FittedStep::Impute { .. } => "impute",
            FittedStep::Scale { .. } => "scale",
            FittedStep::OneHot { .. } => "one_hot",
            FittedStep::Select { .. } => "select_columns",
            FittedStep::Rename { .. } => "rename_columns",
        }
    }

    /// Apply this step alone to a table.
    pub fn apply(&self, table: &Table) -> Result<Table> {
        Plan::compile(std::slice::from_ref(self), &kinds(table))?.apply_table(table)
    }
}

/// The name of a one-hot indicator column.
pub fn indicator(column: &str, category: &str) -> String {
    format!("{column}={category}")
}

/// A table's columns with their kinds.
pub fn kinds(table: &Table) -> Vec<(String, Kind)> {
    table
        .columns()
        .iter()
        .map(|c| {
            let kind = match c.values {
                Values::Number(_) => Kind::Number,
                Values::Text(_) => Kind::Text,
            };
            (c.name.clone(), kind)
        })
        .collect()
}

fn cell(values: &Values, r: usize) -> Cell {
    match values {
        Values::Number(v) => Cell::Number(v[r]),
        Values::Text(v) => Cell::Text(v[r].clone()),
    }
}

/// How `impute` fills a column.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Training median.
    Median,
    /// Training mean.
    Mean,
    /// The configured value.
    Constant,
}

/// Fit an imputer on `columns` of the training table.
pub fn fit_impute(
    train: &Table,
    columns: &[String],
    strategy: Strategy,
    value: f64,
) -> Result<FittedStep> {
    let x = train.matrix(columns)?;
    let values = match strategy {
        Strategy::Constant => vec![value; columns.len()],
        Strategy::Median => {
            MedianImputer::fit(x.view())
                .map_err(|e| ml_error(e, columns))?
                .medians
        }
        Strategy::Mean => columns
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let present: Vec<f64> = x
                    .column(c)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                if present.is_empty() {
                    return Err(Error::invalid(format!(
                        "column {name:?} has no value to take the mean of"
                    )));
                }
                Ok(present.iter().sum::<f64>() / present.len() as f64)
            })
            .collect::<Result<_>>()?,
    };
    Ok(FittedStep::Impute {
        columns: columns.to_vec(),
        values,
    })
}

/// Fit a standard scaler on `columns` of the training table.
pub fn fit_scale(train: &Table, columns: &[String]) -> Result<FittedStep> {
    for name in columns {
        if train.column(name)?.numbers()?.iter().any(|v| v.is_nan()) {
            return Err(Error::invalid(format!(
                "column {name:?} has missing values: impute it before scale"
            )));
        }
    }
    let scaler =
        StandardScaler::fit(train.matrix(columns)?.view()).map_err(|e| ml_error(e, columns))?;
    Ok(FittedStep::Scale {
        columns: columns.to_vec(),
        mean: scaler.mean,
        scale: scaler.scale,
    })
}

/// Fit a one-hot encoder of a text column on the training table.
pub fn fit_one_hot(train: &Table, column: &str) -> Result<FittedStep> {
    let Values::Text(values) = &train.column(column)?.values else {
        return Err(Error::invalid(format!(
            "column {column:?} holds numbers, not text"
        )));
    };
    let categories: std::collections::BTreeSet<&String> = values.iter().flatten().collect();
    Ok(FittedStep::OneHot {
        column: column.to_string(),
        categories: categories.into_iter().cloned().collect(),
    })
}

/// An ML error with the column index replaced by its name.
fn ml_error(e: crate::ml::MlError, columns: &[String]) -> Error {
    use crate::ml::MlError;
    let name = |c: usize| columns.get(c).cloned().unwrap_or_default();
    match e {
        MlError::EmptyColumn { column } => Error::invalid(format!(
            "column {:?} has no value in the training rows",
            name(column)
        )),
        MlError::NonFiniteValue { row, column } => Error::invalid(format!(
            "column {:?} row {}: not a finite number",
            name(column),
            row + 1
        )),
        other => Error::invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train() -> Table {
        Table::new(vec![
            Column::number("age", vec![20.0, f64::NAN, 40.0, 60.0]),
            Column::text(
                "city",
                vec![
                    Some("Oslo".into()),
                    Some("Rome".into()),
                    None,
                    Some("Oslo".into()),
                ],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn fitted_steps_replay_the_same_on_tables_and_rows() {
        let t = train();
        let impute = fit_impute(&t, &["age".into()], Strategy::Median, 0.0).unwrap();
        assert_eq!(
            impute,
            FittedStep::Impute {
                columns: vec!["age".into()],
                values: vec![40.0]
            }
        );
        let t1 = impute.apply(&t).unwrap();
        let scale = fit_scale(&t1, &["age".into()]).unwrap();
        let t2 = scale.apply(&t1).unwrap();
        let one_hot = fit_one_hot(&t2, "city").unwrap();
        let t3 = one_hot.apply(&t2).unwrap();
        assert_eq!(t3.names(), vec!["age", "city=Oslo", "city=Rome"]);
        assert_eq!(
            t3.column("city=Oslo").unwrap().numbers().unwrap(),
            &[1.0, 0.0, 0.0, 1.0]
        );
        let steps = vec![impute, scale, one_hot];
        let plan = Plan::compile(&steps, &kinds(&t)).unwrap();
        assert_eq!(plan.apply_table(&t).unwrap(), t3);
        // A raw request row: missing age, unknown city.
        let row = plan.apply(vec![
            Cell::Number(f64::NAN),
            Cell::Text(Some("Paris".into())),
        ]);
        assert_eq!(row[1..], [Cell::Number(0.0), Cell::Number(0.0)]);
        assert_eq!(
            row[0],
            Cell::Number(t3.column("age").unwrap().numbers().unwrap()[2])
        );
    }

    #[test]
    fn bad_columns_are_named() {
        let t = train();
        assert!(fit_scale(&t, &["age".into()])
            .unwrap_err()
            .message
            .contains("impute it before scale"));
        assert!(fit_one_hot(&t, "age")
            .unwrap_err()
            .message
            .contains("numbers, not text"));
        let steps = vec![FittedStep::Select {
            columns: vec!["nope".into()],
        }];
        let err = Plan::compile(&steps, &kinds(&t)).unwrap_err();
        assert!(
            err.message
                .contains("step 1 (select_columns): column \"nope\" is missing"),
            "{}",
            err.message
        );
    }
}
