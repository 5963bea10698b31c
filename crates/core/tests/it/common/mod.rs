//! Isolated backends for one test: a fresh `Store` (SQLite in a temp folder, or PostgreSQL in a
//! schema of its own) and a Redis logical database of its own.
//!
//! PostgreSQL and Redis are found through `IRONMAGE_TEST_POSTGRES_URL` and
//! `IRONMAGE_TEST_REDIS_URL` (`scripts/services.sh` starts both and prints the values). When one
//! is missing the test prints a notice and passes as skipped, except in CI (`CI` set, as CI
//! systems do): there a skipped test is not a passing test, so it panics.
#![allow(dead_code)]

pub mod platform;

use ironmage_core::store::Store;
use sqlx::Connection;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Variable holding the PostgreSQL URL of the backend tests.
pub const POSTGRES_URL_VAR: &str = "IRONMAGE_TEST_POSTGRES_URL";
/// Variable holding the Redis URL of the backend tests.
pub const REDIS_URL_VAR: &str = "IRONMAGE_TEST_REDIS_URL";

/// Whether we run in CI, where a missing service fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// The URL in `var`, or `None` after a printed notice; panics in CI.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ if in_ci() => panic!(
            "{var} is not set and CI is: tests that need this service must not be skipped in CI \
             (run `source scripts/services.sh` to start the services and set the variables)"
        ),
        _ => {
            eprintln!(
                "SKIPPED: {var} is not set (run `source scripts/services.sh` to test this backend)"
            );
            None
        }
    }
}

/// The metadata store backends of the conformance suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temp folder.
    Sqlite,
    /// A fresh schema in the PostgreSQL of `IRONMAGE_TEST_POSTGRES_URL`.
    Postgres,
}

/// A fresh, migrated store that nothing else uses; dropping it removes the database.
pub struct TestStore {
    /// The store under test.
    pub store: Store,
    /// The URL it was opened with (to open a second handle on the same database).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl TestStore {
    /// A new store on `backend`, or `None` when that backend is not configured (outside CI).
    pub async fn new(backend: Backend) -> Option<TestStore> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("ironmage.db").display()
                );
                let store = Store::connect(&url).await.expect("open the sqlite store");
                Some(TestStore {
                    store,
                    url,
                    cleanup: Cleanup::Dir(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = service_url(POSTGRES_URL_VAR)?;
                let schema = new_schema(&admin_url).await;
                let url = with_search_path(&admin_url, &schema);
                let store = Store::connect(&url)
                    .await
                    .unwrap_or_else(|e| panic!("open the postgres store in schema {schema}: {e}"));
                Some(TestStore {
                    store,
                    url,
                    cleanup: Cleanup::Schema { admin_url, schema },
                })
            }
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup {
            // Drop runs inside the test's runtime, which cannot be blocked on: use a thread
            // with a runtime of its own. Failing to clean up is not the test's failure.
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    drop_schema(&mut conn, &schema).await;
                    conn.close().await.ok()
                })
            })
            .join();
        }
    }
}

const SCHEMA_PREFIX: &str = "t_";
/// Schemas left behind by a test that was killed are dropped by a later test after this long.
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(3600);

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Create `t_<unix seconds>_<random>` through a plain connection, after dropping stale ones.
async fn new_schema(admin_url: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to PostgreSQL at {} ({POSTGRES_URL_VAR}): {e}",
                ironmage_core::store::redact(admin_url)
            )
        });
    let now = unix_seconds();
    let existing: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(&mut conn)
            .await
            .expect("list schemas");
    for (name,) in existing {
        let created = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if matches!(created, Some(t) if t + STALE_SCHEMA_AGE.as_secs() < now) {
            drop_schema(&mut conn, &name).await;
        }
    }
    let schema = format!(
        "{SCHEMA_PREFIX}{now}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("create schema {schema}: {e}"));
    let _ = conn.close().await;
    schema
}

async fn drop_schema(conn: &mut sqlx::PgConnection, schema: &str) {
    // Two tests may clean up the same stale schema at once: errors are ignored.
    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(conn)
        .await;
}

/// `url` with every connection's `search_path` set to `schema`.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A Redis logical database that only the calling test uses, flushed; `None` when Redis is not
/// configured (outside CI).
///
/// Each test passes its own fixed number in 1..=15 (database 0 is the default of everything
/// else). Numbers taken across the workspace, which runs its test binaries in parallel:
///
/// | databases | used by |
/// | --- | --- |
/// | 1 to 5 | `crates/ironmage/tests/it/topology.rs` (through its `Cluster`) |
/// | 6 to 8, 11, 12 | `crates/core/tests/it/queue_conformance.rs` |
/// | 9 | `crates/ironmage/benches/topology.rs` |
/// | 10 | `crates/executor/tests/crash_before_ack.rs` |
/// | 13 to 15 | `crates/core/tests/it/redis_queue.rs` |
///
/// While a test holds a database through this helper, a lock key in database 0 keeps any other
/// test process that asks for the same number here waiting, so a number reused by mistake
/// makes tests slower, not flaky. Pub/sub channels are not per database: tests that listen
/// to events must ignore events they did not publish.
pub async fn redis_db(n: u8) -> Option<RedisDb> {
    assert!(
        (1..=15).contains(&n),
        "redis test databases are 1..=15, not {n}"
    );
    let base = service_url(REDIS_URL_VAR)?;
    let url = with_db(&base, n);
    let lock_url = with_db(&base, 0);
    let lock_key = format!("ironmage:test-db-lock:{n}");
    let token = format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(lock_url.as_str()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to Redis at {base} ({REDIS_URL_VAR}): {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let taken: Option<String> = redis::cmd("SET")
            .arg(&lock_key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(60_000)
            .query_async(&mut conn)
            .await
            .expect("lock a redis test database");
        if taken.is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "redis test database {n} stayed locked by another test for 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = RedisDb {
        url,
        lock_url,
        lock_key,
        token,
    };
    db.flush().await;
    Some(db)
}

/// A Redis logical database held by one test; released when dropped.
pub struct RedisDb {
    /// `redis://…/<n>`.
    pub url: String,
    lock_url: String,
    lock_key: String,
    token: String,
}

impl RedisDb {
    /// A new connection to this database.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis")
    }

    /// Empty this database (`FLUSHDB`), as a Redis that lost its contents.
    pub async fn flush(&self) {
        let mut conn = self.conn().await;
        let _: () = redis::cmd("FLUSHDB")
            .query_async(&mut conn)
            .await
            .expect("flushdb");
    }
}

impl Drop for RedisDb {
    fn drop(&mut self) {
        let (url, key, token) = (
            self.lock_url.clone(),
            self.lock_key.clone(),
            self.token.clone(),
        );
        let _ = std::thread::spawn(move || {
            // Delete the lock only if it is still ours.
            let mut conn = redis::Client::open(url.as_str()).ok()?.get_connection().ok()?;
            redis::cmd("EVAL")
                .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
                .arg(1)
                .arg(key)
                .arg(token)
                .query::<i64>(&mut conn)
                .ok()
        })
        .join();
    }
}

/// `url` pointed at logical database `n` (replacing any database it names).
fn with_db(url: &str, n: u8) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (url, None),
    };
    let scheme_end = main.find("://").map(|i| i + 3).unwrap_or(0);
    let main = match main[scheme_end..].find('/') {
        Some(slash) => &main[..scheme_end + slash],
        None => main,
    };
    match query {
        Some(query) => format!("{main}/{n}?{query}"),
        None => format!("{main}/{n}"),
    }
}

#[test]
fn urls_are_rewritten_as_documented() {
    assert_eq!(
        with_db("redis://127.0.0.1:6379", 3),
        "redis://127.0.0.1:6379/3"
    );
    assert_eq!(with_db("redis://h:1/0", 7), "redis://h:1/7");
    assert_eq!(
        with_db("redis://:pw@h:1/2?protocol=resp3", 4),
        "redis://:pw@h:1/4?protocol=resp3"
    );
    assert_eq!(
        with_search_path("postgres://root@127.0.0.1:5432/test", "t_1_ab"),
        "postgres://root@127.0.0.1:5432/test?options=-c%20search_path%3Dt_1_ab"
    );
    assert_eq!(
        with_search_path("postgres://u@h/db?sslmode=disable", "t_1_ab"),
        "postgres://u@h/db?sslmode=disable&options=-c%20search_path%3Dt_1_ab"
    );
}

/// A stage change that skips the approval rule (as a rollback does): the store suites use it to
/// set versions up in a stage; the approval rules themselves are tested through the registry.
pub async fn transition(
    store: &Store,
    model: &str,
    version: i64,
    to: ironmage_core::store::Stage,
    actor: &str,
    reason: &str,
) -> ironmage_core::Result<ironmage_core::store::ModelVersion> {
    use ironmage_core::store::{Promotion, StageChange, WhenApprovalsNeeded};
    let change = StageChange {
        model,
        version,
        to,
        actor,
        reason,
    };
    match store
        .registry()
        .change_stage(&change, WhenApprovalsNeeded::Skip)
        .await?
    {
        Promotion::Moved { version } => Ok(version),
        Promotion::Requested { .. } => panic!("a skipped approval opened a request"),
    }
}
