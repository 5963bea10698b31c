//! Tables and SQL: query rows read into a [`Table`], and a `SELECT` run over named tables.
//!
//! The engine for queries over tables is SQLite, in memory, through the sqlx driver the
//! metadata store already links: no second SQL engine to build (DataFusion or DuckDB would add
//! minutes to every clean build and tens of MiB to the binary). It suits the tables pipelines
//! hand between blocks: 1k rows × 10 columns in about 10 ms, 100k in 0.3–0.7 s, 1M in 2.5–7 s
//! (`cargo bench -p ironmage-core --bench engine`, on 2 busy cores), nearly all of it copying
//! rows in and out; past that, a Python block with pandas or a `sql` loader on PostgreSQL is
//! the tool. Each query gets its own private database that holds only copies of the given
//! tables, and the statements that reach outside it (`ATTACH`, `PRAGMA`, …) are refused before
//! it runs.

use super::export::{insert_rows, quote};
use super::{Column, Table, Values};
use crate::error::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{Column as _, Connection, Row};

/// Run `query` (a `SELECT` or `WITH … SELECT`) over `tables`, each addressable by its name.
/// A column of the result is numeric when every value is a number or NULL, else text.
pub async fn query_tables(tables: &[(&str, &Table)], query: &str) -> Result<Table> {
    check_select(query)?;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect("sqlite::memory:")
        .await
        .map_err(|e| Error::internal(format!("cannot open the in-memory SQL engine: {e}")))?;
    for (name, table) in tables {
        load(&mut db, name, table).await?;
    }
    let rows = sqlx::query(query)
        .fetch_all(&mut db)
        .await
        .map_err(|e| Error::invalid_field("query", e.to_string()));
    let _ = db.close().await;
    rows_to_table(&rows?)
}

/// Refuse what is not one read of the given tables. The scratch database holds only copies,
/// so a write there is harmless; what must not run is a statement that reaches the files of
/// the process (`ATTACH`), changes the engine (`PRAGMA`), or a second statement after the
/// `SELECT`.
pub fn check_select(query: &str) -> Result<()> {
    let words = words_outside_literals(query);
    match words.first().map(String::as_str) {
        Some("select") | Some("with") => {}
        _ => {
            return Err(Error::invalid_field(
                "query",
                "must be a SELECT (or WITH … SELECT) query",
            ))
        }
    }
    const REFUSED: [&str; 7] = [
        "attach", "detach", "pragma", "vacuum", "insert", "update", "delete",
    ];
    if let Some(word) = words.iter().find(|w| REFUSED.contains(&w.as_str())) {
        return Err(Error::invalid_field(
            "query",
            format!(
                "{} is not allowed: a query only reads tables",
                word.to_uppercase()
            ),
        ));
    }
    if words.iter().any(|w| w == ";") && words.last().map(String::as_str) != Some(";")
        || words.iter().filter(|w| *w == ";").count() > 1
    {
        return Err(Error::invalid_field("query", "one statement only"));
    }
    Ok(())
}

/// The query's lower-cased words and `;`s, leaving out string literals, quoted identifiers
/// and comments (a column named "attach" or a `'; DROP'` literal is not a statement).
fn words_outside_literals(query: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = query.chars().peekable();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word).to_ascii_lowercase());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' | '[' => {
                flush(&mut word, &mut words);
                let close = if c == '[' { ']' } else { c };
                for d in chars.by_ref() {
                    if d == close {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                flush(&mut word, &mut words);
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut word, &mut words);
                chars.next();
                let mut star = false;
                for d in chars.by_ref() {
                    if star && d == '/' {
                        break;
                    }
                    star = d == '*';
                }
            }
            ';' => {
                flush(&mut word, &mut words);
                words.push(";".into());
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            _ => flush(&mut word, &mut words),
        }
    }
    flush(&mut word, &mut words);
    words
}

/// Copy a table into the scratch database: numbers as REAL (NaN as NULL), text as TEXT.
async fn load(db: &mut sqlx::AnyConnection, name: &str, table: &Table) -> Result<()> {
    let columns = table.columns();
    if columns.is_empty() {
        return Err(Error::invalid(format!("table {name:?} has no column")));
    }
    let definitions: Vec<String> = columns
        .iter()
        .map(|c| {
            let kind = match c.values {
                Values::Number(_) => "REAL",
                Values::Text(_) => "TEXT",
            };
            format!("{} {kind}", quote(&c.name))
        })
        .collect();
    sqlx::query(&format!(
        "CREATE TABLE {} ({})",
        quote(name),
        definitions.join(", ")
    ))
    .execute(&mut *db)
    .await
    .map_err(|e| Error::internal(format!("cannot create table {name:?}: {e}")))?;

    let column_list = columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut tx = db
        .begin()
        .await
        .map_err(|e| Error::internal(format!("cannot load table {name:?}: {e}")))?;
    insert_rows(&mut tx, &quote(name), &column_list, table, true)
        .await
        .map_err(|e| Error::internal(format!("cannot load table {name:?}: {e}")))?;
    tx.commit()
        .await
        .map_err(|e| Error::internal(format!("cannot load table {name:?}: {e}")))
}

/// One value as the table wants it.
enum Cell {
    Number(f64),
    Text(String),
    Null,
}

fn cell(row: &AnyRow, i: usize) -> Cell {
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Number);
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(v as f64));
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(f64::from(v)));
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return v.map_or(Cell::Null, |v| Cell::Number(f64::from(u8::from(v))));
    }
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => v.map_or(Cell::Null, Cell::Text),
        Err(_) => Cell::Null,
    }
}

/// Query rows as a table: a column whose values are all numbers (or NULL) is numeric, any
/// other is text.
pub fn rows_to_table(rows: &[AnyRow]) -> Result<Table> {
    let Some(first) = rows.first() else {
        return Err(Error::invalid_field("query", "the query returned no row"));
    };
    let columns = first
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cells: Vec<Cell> = rows.iter().map(|r| cell(r, i)).collect();
            let numeric = cells.iter().all(|c| !matches!(c, Cell::Text(_)));
            if numeric {
                let values = cells
                    .iter()
                    .map(|c| match c {
                        Cell::Number(v) => *v,
                        _ => f64::NAN,
                    })
                    .collect();
                Column::number(c.name(), values)
            } else {
                let values = cells
                    .into_iter()
                    .map(|c| match c {
                        Cell::Number(v) => Some(v.to_string()),
                        Cell::Text(t) => Some(t),
                        Cell::Null => None,
                    })
                    .collect();
                Column::text(c.name(), values)
            }
        })
        .collect();
    Table::new(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::new(vec![
            Column::number("id", vec![1.0, 2.0, 3.0]),
            Column::number("amount", vec![10.5, f64::NAN, 7.0]),
            Column::text(
                "city",
                vec![Some("Oslo".into()), None, Some("Bergen".into())],
            ),
        ])
        .unwrap()
    }

    #[tokio::test]
    async fn a_select_over_two_tables_joins_them_and_keeps_nulls() {
        let orders = table();
        let cities = Table::new(vec![
            Column::text("city", vec![Some("Oslo".into()), Some("Bergen".into())]),
            Column::number("population", vec![700_000.0, 290_000.0]),
        ])
        .unwrap();
        let out = query_tables(
            &[("orders", &orders), ("cities", &cities)],
            "SELECT o.id, o.amount, o.city, c.population FROM orders o \
             LEFT JOIN cities c ON c.city = o.city ORDER BY o.id",
        )
        .await
        .unwrap();
        assert_eq!(
            out.column("id").unwrap().numbers().unwrap(),
            &[1.0, 2.0, 3.0]
        );
        let amount = out.column("amount").unwrap().numbers().unwrap();
        assert!(amount[0] == 10.5 && amount[1].is_nan() && amount[2] == 7.0);
        assert_eq!(
            out.column("city").unwrap().values,
            Values::Text(vec![Some("Oslo".into()), None, Some("Bergen".into())])
        );
        let population = out.column("population").unwrap().numbers().unwrap();
        assert!(population[0] == 700_000.0 && population[1].is_nan());
    }

    #[tokio::test]
    async fn many_rows_cross_in_several_statements() {
        let n = 10_000;
        let t = Table::new(vec![
            Column::number("x", (0..n).map(f64::from).collect()),
            Column::text("k", (0..n).map(|i| Some((i % 7).to_string())).collect()),
        ])
        .unwrap();
        let out = query_tables(
            &[("t", &t)],
            "SELECT k, COUNT(*) AS n, SUM(x) AS s FROM t GROUP BY k ORDER BY k",
        )
        .await
        .unwrap();
        assert_eq!(out.rows(), 7);
        let total: f64 = out.column("n").unwrap().numbers().unwrap().iter().sum();
        assert_eq!(total, f64::from(n));
    }

    #[tokio::test]
    async fn statements_that_reach_outside_are_refused() {
        let t = table();
        for (query, says) in [
            ("ATTACH DATABASE '/etc/passwd' AS x", "must be a SELECT"),
            (
                "SELECT 1; ATTACH DATABASE 'x.db' AS x",
                "ATTACH is not allowed",
            ),
            ("select * from t; select 2", "one statement only"),
            (
                "WITH a AS (SELECT 1) DELETE FROM t",
                "DELETE is not allowed",
            ),
            ("PRAGMA table_info(t)", "must be a SELECT"),
        ] {
            let err = query_tables(&[("t", &t)], query).await.unwrap_err();
            assert_eq!(err.field.as_deref(), Some("query"), "{query}");
            assert!(err.message.contains(says), "{query}: {}", err.message);
        }
        // Words inside literals, quoted names and comments are not statements.
        let out = query_tables(
            &[("t", &t)],
            "SELECT 'attach; pragma' AS \"delete\" FROM t -- ; drop\n WHERE id = 1;",
        )
        .await
        .unwrap();
        assert_eq!(out.rows(), 1);
    }

    #[tokio::test]
    async fn sql_errors_name_the_query() {
        let err = query_tables(&[("t", &table())], "SELECT nope FROM t")
            .await
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("query"));
        assert!(err.message.contains("nope"), "{}", err.message);
    }
}
