//! CSV in and out of a [`Table`]: RFC 4180 quoting, a header line, column types inferred
//! (a column is numeric when every non-empty field parses as a number; empty, `NA` and `NaN`
//! are missing). Errors name the line and the column.

use super::{Column, Table, Values};
use crate::error::{Error, Result};
use std::fmt::Write;

/// Parse CSV text; `source` names the file in error messages.
pub fn parse_csv(text: &str, source: &str) -> Result<Table> {
    let records = records(text, source)?;
    let Some(((_, header), body)) = records.split_first() else {
        return Err(Error::invalid(format!(
            "{source}: empty file, expected a header line"
        )));
    };
    for (line, record) in body {
        if record.len() != header.len() {
            return Err(Error::invalid(format!(
                "{source} line {line}: {} fields, the header has {}",
                record.len(),
                header.len()
            )));
        }
    }
    let columns = header
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "{source} line 1 column {}: empty column name",
                    c + 1
                )));
            }
            let fields: Vec<&str> = body.iter().map(|(_, r)| r[c].as_str()).collect();
            Ok(infer(name, &fields))
        })
        .collect::<Result<Vec<_>>>()?;
    Table::new(columns).map_err(|e| Error::invalid(format!("{source}: {}", e.message)))
}

fn is_missing(field: &str) -> bool {
    matches!(field.trim(), "" | "NA" | "NaN" | "nan" | "null")
}

fn infer(name: &str, fields: &[&str]) -> Column {
    let numbers: Option<Vec<f64>> = fields
        .iter()
        .map(|f| {
            if is_missing(f) {
                Some(f64::NAN)
            } else {
                f.trim().parse::<f64>().ok().filter(|v| v.is_finite())
            }
        })
        .collect();
    match numbers {
        Some(values) => Column::number(name, values),
        None => Column::text(
            name,
            fields
                .iter()
                .map(|f| (!is_missing(f)).then(|| f.to_string()))
                .collect(),
        ),
    }
}

/// Split into records of fields, each with its 1-based starting line.
fn records(text: &str, source: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None if quoted => {
                    return Err(Error::invalid(format!(
                        "{source} line {start} column {}: unterminated quoted field",
                        record.len() + 1
                    )))
                }
                None => break,
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                Some('"') if field.is_empty() => quoted = true,
                Some(',') if !quoted => record.push(std::mem::take(&mut field)),
                Some('\r') if !quoted && chars.peek() == Some(&'\n') => {}
                Some('\n') if !quoted => {
                    line += 1;
                    break;
                }
                Some(c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        record.push(field);
        // Blank lines (a trailing newline, spacing) are not records.
        if !(record.len() == 1 && record[0].trim().is_empty()) {
            out.push((start, record));
        }
    }
    Ok(out)
}

/// Write a table as CSV: a header, numbers in shortest round-trip form, missing values empty.
pub fn write_csv(table: &Table) -> String {
    let mut out = String::new();
    let header: Vec<String> = table.columns().iter().map(|c| quote(&c.name)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in 0..table.rows() {
        for (i, c) in table.columns().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match &c.values {
                Values::Number(v) if v[r].is_nan() => {}
                Values::Number(v) => {
                    let _ = write!(out, "{}", v[r]);
                }
                Values::Text(v) => {
                    if let Some(s) = &v[r] {
                        out.push_str(&quote(s));
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.is_empty() {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_and_round_trips() {
        let text = "id,name,income\n1,\"Smith, J\",2500.5\n2,,NA\r\n3,\"say \"\"hi\"\"\",\n";
        let t = parse_csv(text, "x.csv").unwrap();
        assert_eq!(t.rows(), 3);
        assert_eq!(t.column("id").unwrap().values.type_name(), "number");
        assert_eq!(t.column("name").unwrap().values.type_name(), "text");
        let income = t.column("income").unwrap().numbers().unwrap();
        assert_eq!(income[0], 2500.5);
        assert!(income[1].is_nan() && income[2].is_nan());
        let back = parse_csv(&write_csv(&t), "y.csv").unwrap();
        assert_eq!(back.fingerprint(), t.fingerprint());
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse_csv("a,b\n1,2\n3\n", "f.csv").unwrap_err();
        assert!(err.message.contains("f.csv line 3"), "{}", err.message);
        let err = parse_csv("a,b\n1,\"2\n", "f.csv").unwrap_err();
        assert!(
            err.message.contains("line 2 column 2: unterminated"),
            "{}",
            err.message
        );
        let err = parse_csv("a,,c\n1,2,3\n", "f.csv").unwrap_err();
        assert!(
            err.message.contains("column 2: empty column name"),
            "{}",
            err.message
        );
        assert!(parse_csv("", "f.csv")
            .unwrap_err()
            .message
            .contains("empty file"));
    }
}
