//! The prediction log: every answer the prediction service gave, and audit entries.

use super::{Backend, PredictionStore};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::Row;

/// JSON kept as text: a logged prediction is written far more often than it is read, and text
/// is a fraction of the memory of a parsed `Value` while it waits in the log queue.
pub type Json = Box<RawValue>;

/// A JSON value as [`Json`] text.
pub fn to_json_text(value: &serde_json::Value) -> Json {
    RawValue::from_string(value.to_string()).expect("a serialized Value is valid JSON")
}

/// A new prediction id: a UUID of version 7 (RFC 9562) in 32 hex digits, made of the time in
/// milliseconds, this process's random 30 bits and a counter. Ids made later sort later, so
/// the log's inserts land at the end of its id index instead of on a random page of it (with
/// random ids every row of a batch dirtied its own page: about 4 KiB of write-ahead log per
/// row), and no random bytes are drawn from the kernel per answer.
pub fn new_prediction_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| rand::random::<u64>() & ((1 << 30) - 1));
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64 & ((1 << 48) - 1);
    // 12 + 62 bits after the version and variant: the counter's high 12 bits, then the
    // process's 30 bits and the counter's low 32 bits. Unique within a process for 2^44 ids,
    // and across processes unless two share both their random bits and a millisecond.
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & ((1 << 44) - 1);
    let high = (millis << 16) | (0x7 << 12) | (count >> 32);
    let low = (0b10 << 62) | (process << 32) | (count & 0xffff_ffff);
    format!("{high:016x}{low:016x}")
}

/// One logged prediction.
#[derive(Debug, Clone, Serialize)]
pub struct PredictionRecord {
    /// Prediction id returned to the client.
    pub id: String,
    /// Model name.
    pub model: String,
    /// Model version number that answered (absent for client-supplied audit entries).
    pub version: Option<i64>,
    /// Model version label.
    pub label: Option<String>,
    /// `predict` for served answers, `log` for entries posted to /log-prediction.
    pub source: String,
    /// The features (or the posted entry).
    pub input: Json,
    /// The answer.
    pub output: Json,
    /// Time spent scoring, in microseconds.
    pub latency_us: i64,
    /// When it happened.
    pub created_at: String,
}

/// Which logged predictions to list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PredictionQuery {
    /// Only this model's.
    pub model: Option<String>,
    /// Only this version's.
    pub version: Option<i64>,
    /// Only from this time on (RFC 3339, as `created_at`).
    pub since: Option<String>,
    /// Only up to this time.
    pub until: Option<String>,
    /// At most this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
}

/// What the lineage shows about a version's predictions.
#[derive(Debug, Clone, Serialize)]
pub struct PredictionSummary {
    /// How many predictions this version served or had logged.
    pub count: i64,
    /// The time of the newest one.
    pub last_prediction_time: Option<String>,
    /// The newest ones, newest first.
    pub history: Vec<PredictionRecord>,
}

impl PredictionStore {
    /// Append a batch of predictions in one transaction, `ROWS_PER_INSERT` rows per
    /// prepared statement (at most that many statement texts, each parsed once per connection).
    pub async fn insert_predictions(&self, batch: &[PredictionRecord]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Several rows per statement: one round trip to the database's connection thread per
        // chunk instead of per row. Chunks stay small (144 parameters), because SQLite's cost
        // of binding a numbered parameter grows with the statement's parameter count.
        for chunk in batch.chunks(ROWS_PER_INSERT) {
            let sql = insert_statement(chunk.len(), self.backend);
            let mut insert = sqlx::query(&sql);
            for p in chunk {
                insert = insert
                    .bind(&p.id)
                    .bind(&p.model)
                    .bind(p.version)
                    .bind(p.label.as_deref())
                    .bind(&p.source)
                    .bind(p.input.get())
                    .bind(p.output.get())
                    .bind(p.latency_us)
                    .bind(&p.created_at);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One logged prediction by its id.
    pub async fn prediction(&self, id: &str) -> Result<PredictionRecord> {
        let row = sqlx::query("SELECT * FROM predictions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found(format!("no prediction has id {id:?}")))?;
        record(&row)
    }

    /// Logged predictions matching `query`, newest first.
    pub async fn search_predictions(
        &self,
        query: &PredictionQuery,
    ) -> Result<Vec<PredictionRecord>> {
        // Absent filters bind values that match everything, so there is one statement text.
        let rows = sqlx::query("SELECT * FROM predictions WHERE ($1 = '' OR model = $1) AND ($2 < 0 OR version = $2) AND created_at >= $3 AND created_at <= $4 ORDER BY created_at DESC, id LIMIT $5 OFFSET $6")
            .bind(query.model.as_deref().unwrap_or(""))
            .bind(query.version.unwrap_or(-1))
            .bind(query.since.as_deref().unwrap_or(""))
            .bind(query.until.as_deref().unwrap_or("9999-12-31T23:59:59Z"))
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    /// Count, last time and newest `history` entries of one model version's predictions.
    pub async fn prediction_summary(
        &self,
        model: &str,
        version: i64,
        history: i64,
    ) -> Result<PredictionSummary> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MAX(created_at) AS last FROM predictions WHERE model = $1 AND version = $2")
            .bind(model)
            .bind(version)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query("SELECT * FROM predictions WHERE model = $1 AND version = $2 ORDER BY created_at DESC, id LIMIT $3")
            .bind(model)
            .bind(version)
            .bind(history)
            .fetch_all(&self.pool)
            .await?;
        let history = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
        Ok(PredictionSummary {
            count: row.try_get("n")?,
            last_prediction_time: row.try_get("last")?,
            history,
        })
    }

    /// Number of predictions logged for a model, all versions (refused requests, logged with
    /// source `failed`, are not predictions).
    pub async fn prediction_count(&self, model: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM predictions WHERE model = $1 AND source <> 'failed'",
        )
        .bind(model)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}

fn record(r: &sqlx::any::AnyRow) -> Result<PredictionRecord> {
    Ok(PredictionRecord {
        id: r.try_get("id")?,
        model: r.try_get("model")?,
        version: r.try_get("version")?,
        label: r.try_get("label")?,
        source: r.try_get("source")?,
        input: raw_column(r, "input")?,
        output: raw_column(r, "output")?,
        latency_us: r.try_get("latency_us")?,
        created_at: r.try_get("created_at")?,
    })
}

fn raw_column(row: &sqlx::any::AnyRow, column: &str) -> Result<Json> {
    let text: String = row.try_get(column)?;
    RawValue::from_string(text)
        .map_err(|e| Error::internal(format!("column {column} holds invalid json: {e}")))
}

/// Rows per INSERT statement of the prediction log.
const ROWS_PER_INSERT: usize = 16;

/// `INSERT INTO predictions … VALUES ($1, …, $9), ($10, …)` for `rows` rows, with `?` for each
/// parameter on SQLite: it binds `?` by position, where each `$N` is looked up by name, a scan
/// of the statement's parameters per value bound (2.7% of the prediction service's time under
/// load with 144 parameters a statement). The text depends only on the row count, so the
/// store's statement cache holds at most [`ROWS_PER_INSERT`] of them.
fn insert_statement(rows: usize, backend: Backend) -> String {
    let param = |n: usize| match backend {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    };
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=9).map(|c| param(r * 9 + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO predictions (id, model, version, label, source, input, output, latency_us, created_at) VALUES {}",
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::{insert_statement, new_prediction_id, Backend};

    #[test]
    fn the_insert_numbers_parameters_on_postgres_and_binds_by_position_on_sqlite() {
        let pg = insert_statement(2, Backend::Postgres);
        assert!(pg.ends_with("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10, $11, $12, $13, $14, $15, $16, $17, $18)"), "{pg}");
        let sqlite = insert_statement(2, Backend::Sqlite);
        assert_eq!(sqlite.matches('?').count(), 18, "{sqlite}");
        assert!(!sqlite.contains('$'), "{sqlite}");
    }

    #[test]
    fn prediction_ids_are_version_7_uuids_that_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..10_000).map(|_| new_prediction_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(uuid.get_version_num(), 7, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "unique, and made in sorted order");
    }
}
