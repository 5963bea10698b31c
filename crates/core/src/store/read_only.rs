//! Read-only SQL for the `sql` block: a user's query runs on connections of its own that the
//! database itself keeps read-only, so no query text can write, whatever its first word
//! (`WITH … DELETE`, a function with side effects, `;`-joined statements).

use crate::error::{Error, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Runs read-only queries against one database; connects on first use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReadOnlySql {
    url: Arc<str>,
    pool: Arc<OnceCell<AnyPool>>,
}

impl ReadOnlySql {
    /// Queries against `url` (`sqlite://…`, `postgres://…`); nothing is opened yet.
    pub fn new(url: &str) -> ReadOnlySql {
        ReadOnlySql {
            url: url.into(),
            pool: Arc::new(OnceCell::new()),
        }
    }

    /// Every row `query` returns. A query that tries to write fails with the database's error.
    /// Errors name the block's config field at fault (`config.url`, `config.query`).
    pub async fn fetch_all(&self, query: &str) -> Result<Vec<AnyRow>> {
        let pool = self
            .pool
            .get_or_try_init(|| open(&self.url))
            .await
            .map_err(|e| {
                Error::invalid_field(
                    "config.url",
                    // sqlx's message does not include the URL, so no password can leak here.
                    format!("cannot connect: {e}"),
                )
            })?;
        sqlx::query(query)
            .fetch_all(pool)
            .await
            .map_err(query_error)
    }

    /// Close the connections, if any were opened.
    pub async fn close(&self) {
        if let Some(pool) = self.pool.get() {
            pool.close().await;
        }
    }
}

async fn open(url: &str) -> std::result::Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    AnyPoolOptions::new()
        // The `sql` block is rare and short: two connections are plenty and bound the cost.
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Set on the connection, before the user's query can run on it.
                let setting = if sqlite {
                    "PRAGMA query_only = ON; PRAGMA busy_timeout = 10000;"
                } else {
                    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
                };
                conn.execute(setting).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// The error of a failed read-only query as a field error of the block's config.
fn query_error(e: sqlx::Error) -> Error {
    // sqlx's Any driver knows integers, floats, booleans and text only.
    let hint = if e.to_string().contains("Any driver does not support") {
        " (cast the column, e.g. ::float8 or ::text)"
    } else {
        ""
    };
    Error::invalid_field("config.query", format!("the query failed: {e}{hint}"))
}
