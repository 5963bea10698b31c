//! Batch prediction from CSV to CSV: rows are checked against the model's input columns first
//! (errors name the line and the column); the output holds every input column plus the columns
//! the scorer adds (model name and version, prediction, probability).

use crate::error::{Error, Result};
use crate::input_schema::InputSchema;
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

/// Check every row of `csv` against a model's input columns (named in the header, in any
/// order, under their names or aliases; other columns are carried through). An empty cell is a
/// missing value: NaN for a number (imputed like at training time), null for text. Errors name
/// the line and the column, up to ten of them.
pub fn read_csv_batch(schema: &InputSchema, csv: &str, added: &[&str]) -> Result<CsvBatch> {
    let mut records = parse_csv(csv)?.into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| Error::invalid("the input is empty: expected a header line"))?;
    let mut at = vec![None; schema.columns.len()];
    for (i, name) in header.iter().enumerate() {
        if let Some(c) = schema.position(name.trim()) {
            at[c] = Some(i);
        }
    }
    let missing: Vec<&str> = schema
        .columns
        .iter()
        .zip(&at)
        .filter(|(_, a)| a.is_none())
        .map(|(c, _)| c.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "line 1: the header lacks the model's features {missing:?}"
        )));
    }
    for taken in added {
        if header.iter().any(|h| h.trim() == *taken) {
            return Err(Error::invalid(format!(
                "line 1: the input already has a column {taken:?}, which the output adds"
            )));
        }
    }
    let (mut errors, mut kept, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for (line, record) in records {
        if errors.len() >= MAX_REPORTED {
            break;
        }
        if record.len() != header.len() {
            errors.push(format!(
                "line {line}: {} fields, the header has {}",
                record.len(),
                header.len()
            ));
            continue;
        }
        let mut row = Vec::with_capacity(schema.columns.len());
        for (column, a) in schema.columns.iter().zip(&at) {
            let text = record[a.unwrap_or_default()].trim();
            row.push(match (column.kind, text) {
                (Kind::Number, "") => Cell::Number(f64::NAN),
                (Kind::Number, text) => match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Cell::Number(v),
                    _ => {
                        errors.push(format!(
                            "line {line}, column {}: {text:?} is not a finite number",
                            column.name
                        ));
                        Cell::Number(f64::NAN)
                    }
                },
                (Kind::Text, "") => Cell::Text(None),
                (Kind::Text, text) => Cell::Text(Some(text.to_string())),
            });
        }
        rows.push(row);
        kept.push(record);
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors.join("\n")));
    }
    if rows.len() > MAX_BATCH_ROWS {
        return Err(Error::invalid(format!(
            "{} rows: at most {MAX_BATCH_ROWS} are scored in one batch",
            rows.len()
        )));
    }
    Ok(CsvBatch {
        header,
        records: kept,
        rows,
    })
}

/// The output CSV: every input column, then `added` filled by `values` for each row.
pub fn write_csv_batch(
    batch: &CsvBatch,
    added: &[&str],
    mut values: impl FnMut(usize) -> Vec<String>,
) -> String {
    let mut out = String::new();
    let header: Vec<String> = batch
        .header
        .iter()
        .map(|h| quote(h))
        .chain(added.iter().map(|a| quote(a)))
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for (i, record) in batch.records.iter().enumerate() {
        let fields: Vec<String> = record
            .iter()
            .map(|f| quote(f))
            .chain(values(i).iter().map(|v| quote(v)))
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Most rows one CSV batch holds.
pub const MAX_BATCH_ROWS: usize = 1_000_000;

/// A checked CSV input.
#[derive(Debug, Clone)]
pub struct CsvBatch {
    /// The header's fields.
    pub header: Vec<String>,
    /// Each row's fields, as given.
    pub records: Vec<Vec<String>>,
    /// Each row's cells in the schema's column order.
    pub rows: Vec<Vec<Cell>>,
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
