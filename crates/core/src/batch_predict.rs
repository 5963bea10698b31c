//! Batch prediction from CSV to CSV with a loaded version: the output holds every input
//! column plus `prediction` and, for a classifier, `probability` (of the positive class). Rows are
//! checked against the model's feature schema first; errors name the line and the column.

use crate::error::{Error, Result};
use crate::serving::{missing, Score, ServedModel};
use crate::table::steps::{Cell, Kind};

/// Most row errors listed before giving up.
const MAX_REPORTED: usize = 10;

/// Split CSV text into records (RFC 4180: quoted fields may hold commas, quotes as `""`,
/// and line breaks). Each record comes with the line it starts on.
pub fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let (mut field, mut record) = (String::new(), Vec::new());
    let (mut line, mut start_line) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push((start_line, std::mem::take(&mut record)));
                line += 1;
                start_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(Error::invalid(format!(
            "line {start_line}: a quoted field is never closed"
        )));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    // Blank lines carry no row.
    records.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(records)
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Score every row of `csv` with `model`; returns the output CSV and the row count.
/// An empty cell is a missing value (imputed like at training time). A classifier fills
/// `prediction` (the class) and `probability` (of the positive class); a regressor fills
/// `prediction` and leaves `probability` empty.
pub fn predict_csv(model: &ServedModel, csv: &str) -> Result<(String, usize)> {
    let mut records = parse_csv(csv)?.into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| Error::invalid("the input is empty: expected a header line"))?;
    let schema = &model.bundle.schema;
    let fields: Vec<&(String, Kind)> = schema.request_fields().collect();
    let columns: Vec<usize> = fields
        .iter()
        .map(|(f, _)| header.iter().position(|h| h.trim() == f))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            let missing: Vec<&String> = fields
                .iter()
                .map(|(f, _)| f)
                .filter(|f| !header.iter().any(|h| h.trim() == f.as_str()))
                .collect();
            Error::invalid(format!(
                "line 1: the header lacks the model's features {missing:?}"
            ))
        })?;
    for taken in ["prediction", "probability"] {
        if header.iter().any(|h| h.trim() == taken) {
            return Err(Error::invalid(format!(
                "line 1: the input already has a column {taken:?}, which the output adds"
            )));
        }
    }
    let mut out = header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str(",prediction,probability\n");
    let (mut errors, mut rows) = (Vec::new(), 0);
    for (line, record) in records {
        if record.len() != header.len() {
            errors.push(format!(
                "line {line}: {} fields, the header has {}",
                record.len(),
                header.len()
            ));
            continue;
        }
        let mut given = fields
            .iter()
            .zip(&columns)
            .map(|(field, &at)| (field, record[at].trim()));
        // Cells in the schema's input order; the label's stays missing.
        let mut row = Vec::with_capacity(schema.inputs.len());
        let mut bad = false;
        for (name, kind) in &schema.inputs {
            if name == &schema.label {
                row.push(missing(*kind));
                continue;
            }
            let Some(((_, kind), cell)) = given.next() else {
                break;
            };
            row.push(match (kind, cell) {
                (Kind::Number, "") => Cell::Number(f64::NAN),
                (Kind::Number, text) => match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Cell::Number(v),
                    _ => {
                        errors.push(format!(
                            "line {line}, column {name}: {text:?} is not a finite number"
                        ));
                        bad = true;
                        Cell::Number(f64::NAN)
                    }
                },
                (Kind::Text, "") => Cell::Text(None),
                (Kind::Text, text) => Cell::Text(Some(text.to_string())),
            });
        }
        if bad || !errors.is_empty() {
            if errors.len() >= MAX_REPORTED {
                break;
            }
            continue;
        }
        let fields: Vec<String> = record.iter().map(|f| quote(f)).collect();
        out.push_str(&fields.join(","));
        match model.score(row) {
            Score::Class {
                prediction,
                positive,
            } => out.push_str(&format!(",{prediction},{positive}\n")),
            Score::Value(value) => out.push_str(&format!(",{value},\n")),
        }
        rows += 1;
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors.join("\n")));
    }
    Ok((out, rows))
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv_fields_quotes_and_lines() {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n4,\"multi\nline\",6";
        let records = parse_csv(text).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[1],
            (2, vec!["1".into(), "x, \"y\"".into(), "3".into()])
        );
        assert_eq!(records[2].0, 4);
        assert_eq!(records[2].1[1], "multi\nline");
        assert!(parse_csv("a\n\"open").is_err());
    }
}
