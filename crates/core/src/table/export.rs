//! A table written into a database table (PostgreSQL, or SQLite), all of it or nothing: the
//! table is created, dropped first or appended to, and filled by batched multi-row `INSERT`s in
//! one transaction, so a failed export leaves the target as it was (PostgreSQL and SQLite both
//! roll back `DROP` and `CREATE` with the rest).
//!
//! A numeric column is `DOUBLE PRECISION` (`REAL` in SQLite) with NULL for a missing value, a
//! text column `TEXT`. Column names are quoted as they are; the target table's name is checked
//! (lower-case, unquoted-safe) so that the table is found afterwards by the same name unquoted.

use super::{Table, Values};
use crate::error::{Error, Result};
use sqlx::{AnyConnection, Connection};

/// Bind parameters of one PostgreSQL `INSERT` at most (PostgreSQL allows 65,535): large
/// enough that a statement carries hundreds of rows.
const PG_PARAMS_PER_INSERT: usize = 8_000;
/// The same for SQLite, whose cost per parameter grows with the statement's width.
const SQLITE_PARAMS_PER_INSERT: usize = 400;
/// The longest name PostgreSQL keeps (longer ones are cut, silently).
const MAX_NAME_LEN: usize = 63;

impl SqlTarget {
    /// `name` or `schema.name`, each of 1 to 63 characters of a-z, 0-9 and `_`, not starting
    /// with a digit: names PostgreSQL takes unquoted, so `SELECT … FROM schema.name` finds the
    /// table as written.
    pub fn parse(text: &str) -> std::result::Result<SqlTarget, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let valid = |part: &str| {
            !part.is_empty()
                && part.len() <= MAX_NAME_LEN
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !part.as_bytes()[0].is_ascii_digit()
        };
        match parts.as_slice() {
            [name] if valid(name) => Ok(SqlTarget {
                schema: None,
                name: name.to_string(),
            }),
            [schema, name] if valid(schema) && valid(name) => Ok(SqlTarget {
                schema: Some(schema.to_string()),
                name: name.to_string(),
            }),
            _ => Err(format!(
                "{text:?} is not a table name: expected name or schema.name, each 1 to \
                 {MAX_NAME_LEN} characters of a-z, 0-9 and _, not starting with a digit"
            )),
        }
    }

    /// The name as SQL text, each part quoted.
    fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&self.name)),
            None => quote(&self.name),
        }
    }
}

impl std::fmt::Display for SqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Write `table` into `target` of the database at `url` (`postgres://…`, `sqlite:…`) in one
/// transaction; the rows written. Errors name the config field at fault (`url`, `table`)
/// and never include the URL.
pub async fn write_sql(
    url: &str,
    target: &SqlTarget,
    table: &Table,
    mode: WriteMode,
) -> Result<u64> {
    let columns = table.columns();
    if columns.is_empty() {
        return Err(Error::invalid("the table has no column to export"));
    }
    let sqlite = url.starts_with("sqlite:");
    sqlx::any::install_default_drivers();
    // sqlx's messages do not include the URL, so no password can leak through them.
    let mut conn = AnyConnection::connect(url)
        .await
        .map_err(|e| Error::invalid_field("url", format!("cannot connect: {e}")))?;
    let written = write_in(&mut conn, sqlite, target, table, mode).await;
    let _ = conn.close().await;
    written
}

async fn write_in(
    conn: &mut AnyConnection,
    sqlite: bool,
    target: &SqlTarget,
    table: &Table,
    mode: WriteMode,
) -> Result<u64> {
    let failed = |e: sqlx::Error| {
        Error::invalid_field(
            "table",
            format!("the export to {target} failed and was rolled back: {e}"),
        )
    };
    let columns = table.columns();
    let name = target.sql();
    let definitions: Vec<String> = columns
        .iter()
        .map(|c| {
            let kind = match (&c.values, sqlite) {
                (Values::Number(_), false) => "DOUBLE PRECISION",
                (Values::Number(_), true) => "REAL",
                (Values::Text(_), _) => "TEXT",
            };
            format!("{} {kind}", quote(&c.name))
        })
        .collect();
    let mut tx = conn.begin().await.map_err(failed)?;
    if mode == WriteMode::Replace {
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
    }
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {name} ({})",
        definitions.join(", ")
    ))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;

    let column_list = columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let written = insert_rows(&mut tx, &name, &column_list, table, sqlite)
        .await
        .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(written)
}

/// Insert every row of `table` into the table `name` (already quoted) whose columns are
/// `column_list`, in multi-row statements sized for the backend; the rows inserted. NaN and
/// missing values are NULL. Shared by the exporter and the SQL blocks' scratch database.
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    name: &str,
    column_list: &str,
    table: &Table,
    sqlite: bool,
) -> std::result::Result<u64, sqlx::Error> {
    let columns = table.columns();
    let per_statement = if sqlite {
        SQLITE_PARAMS_PER_INSERT
    } else {
        PG_PARAMS_PER_INSERT
    } / columns.len().max(1);
    let per_statement = per_statement.max(1);
    let mut written = 0;
    let mut start = 0;
    while start < table.rows() {
        let end = (start + per_statement).min(table.rows());
        let sql = insert_sql(name, column_list, columns.len(), end - start, sqlite);
        let mut insert = sqlx::query(&sql);
        for row in start..end {
            for column in columns {
                insert = match &column.values {
                    Values::Number(v) => insert.bind(Some(v[row]).filter(|x| !x.is_nan())),
                    Values::Text(v) => insert.bind(v[row].clone()),
                };
            }
        }
        written += insert.execute(&mut *conn).await?.rows_affected();
        start = end;
    }
    Ok(written)
}

/// `INSERT INTO name (columns) VALUES (…), (…)` for `rows` rows: `$n` placeholders for
/// PostgreSQL, `?` for SQLite (which looks each `$n` up by name).
fn insert_sql(name: &str, column_list: &str, columns: usize, rows: usize, sqlite: bool) -> String {
    let mut sql = format!("INSERT INTO {name} ({column_list}) VALUES ");
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if sqlite {
                sql.push('?');
            } else {
                sql.push_str(&format!("${n}"));
            }
        }
        sql.push(')');
    }
    sql
}

/// A name as an SQL identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database table to write, `schema.name` or `name` (in the connection's search path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTarget {
    /// The schema, when named.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
}

/// What happens to a target table that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Drop it and create it anew with the table's columns.
    #[default]
    Replace,
    /// Add the rows to it (created when missing); its columns must take the table's.
    Append,
}

impl WriteMode {
    /// `replace` or `append`.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Replace => "replace",
            WriteMode::Append => "append",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;
    use sqlx::Row;

    #[test]
    fn target_names_are_checked() {
        let t = SqlTarget::parse("analytics.daily_sales").unwrap();
        assert_eq!(t.schema.as_deref(), Some("analytics"));
        assert_eq!(t.sql(), "\"analytics\".\"daily_sales\"");
        assert_eq!(t.to_string(), "analytics.daily_sales");
        assert_eq!(SqlTarget::parse("t1").unwrap().sql(), "\"t1\"");
        for bad in [
            "",
            "a.b.c",
            "Sales",
            "1t",
            "t;drop",
            "a.",
            "x\"y",
            &"a".repeat(64),
        ] {
            assert!(SqlTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inserts_number_their_placeholders_per_backend() {
        assert_eq!(
            insert_sql("\"t\"", "\"a\", \"b\"", 2, 2, false),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            insert_sql("\"t\"", "\"a\"", 1, 2, true),
            "INSERT INTO \"t\" (\"a\") VALUES (?), (?)"
        );
    }

    /// SQLite in a temp file: the same code path as PostgreSQL but the placeholders and types
    /// (PostgreSQL is tested in `crates/core/tests/it/exporters.rs`).
    #[tokio::test]
    async fn sqlite_replace_append_and_a_failed_append_that_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("out.db").display());
        let n = 1_000;
        let table = Table::new(vec![
            Column::number("id", (0..n).map(f64::from).collect()),
            Column::text(
                "city, quoted \"name\"",
                (0..n)
                    .map(|i| (i % 3 != 0).then(|| format!("c{i}")))
                    .collect(),
            ),
            Column::number(
                "x",
                (0..n)
                    .map(|i| if i % 5 == 0 { f64::NAN } else { 0.5 })
                    .collect(),
            ),
        ])
        .unwrap();
        let target = SqlTarget::parse("out").unwrap();
        let count = |url: String| async move {
            sqlx::any::install_default_drivers();
            let mut c = AnyConnection::connect(&url).await.unwrap();
            let row = sqlx::query(
                "SELECT COUNT(*), COUNT(x), COUNT(\"city, quoted \"\"name\"\"\") FROM out",
            )
            .fetch_one(&mut c)
            .await
            .unwrap();
            (
                row.get::<i64, _>(0),
                row.get::<i64, _>(1),
                row.get::<i64, _>(2),
            )
        };
        assert_eq!(
            write_sql(&url, &target, &table, WriteMode::Replace)
                .await
                .unwrap(),
            1000
        );
        assert_eq!(count(url.clone()).await, (1000, 800, 666));
        write_sql(&url, &target, &table, WriteMode::Append)
            .await
            .unwrap();
        assert_eq!(count(url.clone()).await.0, 2000);
        write_sql(&url, &target, &table, WriteMode::Replace)
            .await
            .unwrap();
        assert_eq!(count(url.clone()).await.0, 1000);
        // A column the target lacks fails the append at its first statement.
        let wider = Table::new(vec![
            Column::number("id", (0..n).map(f64::from).collect()),
            Column::number("nope", vec![1.0; n as usize]),
        ])
        .unwrap();
        let err = write_sql(&url, &target, &wider, WriteMode::Append)
            .await
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("table"));
        assert!(
            err.message.contains("rolled back") && err.message.contains("nope"),
            "{}",
            err.message
        );
        assert_eq!(count(url.clone()).await.0, 1000);
        // A row that breaks a constraint in a later statement (200 rows each here) takes the
        // statements before it back with it.
        let mut c = AnyConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE checked (id REAL, x REAL CHECK (x < 900)); INSERT INTO checked VALUES (-1, -1)")
            .execute(&mut c)
            .await
            .unwrap();
        let rising = Table::new(vec![
            Column::number("id", (0..n).map(f64::from).collect()),
            Column::number("x", (0..n).map(f64::from).collect()),
        ])
        .unwrap();
        let err = write_sql(
            &url,
            &SqlTarget::parse("checked").unwrap(),
            &rising,
            WriteMode::Append,
        )
        .await
        .unwrap_err();
        assert!(err.message.contains("CHECK"), "{}", err.message);
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM checked")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 1, "only the row that was there before");
    }
}
