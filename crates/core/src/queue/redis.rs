//! The shared queue of the production topology: a Redis stream with one consumer group.
//!
//! - Enqueue is `XADD`; an executor reads with `XREADGROUP … BLOCK` on a connection of its own
//!   (a blocking read would stall every other command on a shared, multiplexed connection).
//! - Acknowledge (`XACK`) comes after the run's outcome is recorded in the store.
//! - An entry delivered to an executor that died before acknowledging is taken over with
//!   `XAUTOCLAIM` once it has been pending longer than the reclaim delay.
//! - Redis may lose everything (these servers keep nothing on disk). A marker key, set only by
//!   the scheduler after it re-enqueued the queued runs, tells it when that happened.

use super::job::Job;
use crate::error::{Error, Result};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use ::redis::streams::{StreamAutoClaimReply, StreamReadReply};
use ::redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisError, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

const STREAM: &str = "ironmage:runs";
const GROUP: &str = "executors";
const MARKER: &str = "ironmage:runs:recovered";

/// A Redis stream queue; cheap to clone.
#[derive(Clone)]
pub struct RedisQueue {
    client: Client,
    conn: ConnectionManager,
    readers: Arc<Mutex<HashMap<String, MultiplexedConnection>>>,
    reclaim_after: Duration,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("stream", &STREAM)
            .finish()
    }
}

fn redis_error(e: RedisError) -> Error {
    Error::unavailable(format!("redis: {e}"))
}

/// Time allowed to open one connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed for the answer to a (non-blocking) command on a managed connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-healing connection that gives up on an unreachable Redis within seconds.
///
/// redis-rs' default reconnection backoff is 1 s, then 60 s between attempts, six times: a
/// `connect` to a Redis that is down took five minutes to fail, and after an outage every
/// command waited up to a minute past the server's return. Here attempts are at most ~2 s
/// apart and a reconnection round gives up after about ten seconds; the next command starts
/// another one.
pub(crate) async fn connection_manager(client: &Client, url: &str) -> Result<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_number_of_retries(5)
        .set_max_delay(1000);
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| {
            Error::unavailable(format!(
                "cannot reach redis at {}: {e}",
                crate::store::redact(url)
            ))
        })
}

impl RedisQueue {
    /// Connect to `url` and make sure the stream and its group exist.
    pub async fn connect(url: &str, reclaim_after: Duration) -> Result<RedisQueue> {
        let client =
            Client::open(url).map_err(|e| Error::invalid_field("REDIS_URL", format!("{e}")))?;
        let conn = connection_manager(&client, url).await?;
        let queue = RedisQueue {
            client,
            conn,
            readers: Arc::default(),
            reclaim_after,
        };
        queue.create_group().await?;
        Ok(queue)
    }

    async fn create_group(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let created: std::result::Result<Value, RedisError> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(STREAM)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(redis_error(e)),
        }
    }

    pub(super) async fn enqueue(&self, run_id: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = conn
            .xadd(STREAM, "*", &[("run_id", run_id)])
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    pub(super) async fn claim(&self, consumer: &str, wait: Duration) -> Result<Option<Job>> {
        if let Some(job) = self.reclaim(consumer).await? {
            return Ok(Some(job));
        }
        let mut reader = self.reader(consumer).await?;
        let options = ::redis::streams::StreamReadOptions::default()
            .group(GROUP, consumer)
            .count(1)
            .block(wait.as_millis().max(1) as usize);
        let read: std::result::Result<Option<StreamReadReply>, RedisError> =
            reader.xread_options(&[STREAM], &[">"], &options).await;
        match read {
            Ok(reply) => {
                self.readers
                    .lock()
                    .await
                    .insert(consumer.to_string(), reader);
                Ok(reply.and_then(first_job))
            }
            Err(e) if e.code() == Some("NOGROUP") => {
                // Redis lost the stream: recreate it so work can flow again; the scheduler
                // notices the missing marker and re-enqueues the queued runs.
                self.create_group().await?;
                Ok(None)
            }
            Err(e) => Err(redis_error(e)),
        }
    }

    /// Take over one entry that another consumer was given but never acknowledged.
    async fn reclaim(&self, consumer: &str) -> Result<Option<Job>> {
        let mut conn = self.conn.clone();
        let reply: std::result::Result<StreamAutoClaimReply, RedisError> =
            ::redis::cmd("XAUTOCLAIM")
                .arg(STREAM)
                .arg(GROUP)
                .arg(consumer)
                .arg(self.reclaim_after.as_millis() as u64)
                .arg("0")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await;
        match reply {
            Ok(reply) => Ok(reply.claimed.into_iter().find_map(job_of)),
            Err(e) if e.code() == Some("NOGROUP") => Ok(None),
            Err(e) => Err(redis_error(e)),
        }
    }

    async fn reader(&self, consumer: &str) -> Result<MultiplexedConnection> {
        if let Some(conn) = self.readers.lock().await.remove(consumer) {
            return Ok(conn);
        }
        self.client
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT),
            )
            .await
            .map_err(redis_error)
    }

    pub(super) async fn ack(&self, job: &Job) -> Result<()> {
        let Some(id) = &job.entry_id else {
            return Ok(());
        };
        let mut conn = self.conn.clone();
        // Acknowledged and deleted in one round trip: a done run's entry has no further use,
        // and the stream must not grow with every run ever made.
        let _: (i64, i64) = ::redis::pipe()
            .atomic()
            .xack(STREAM, GROUP, &[id])
            .xdel(STREAM, &[id])
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    pub(super) async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = ::redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    pub(super) async fn lost_contents(&self) -> Result<bool> {
        let mut conn = self.conn.clone();
        // SET NX answers OK only when the marker was missing: a fresh or flushed Redis.
        let set: Option<String> = ::redis::cmd("SET")
            .arg(MARKER)
            .arg("1")
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if set.is_some() {
            self.create_group().await?;
        }
        Ok(set.is_some())
    }
}

fn first_job(reply: StreamReadReply) -> Option<Job> {
    reply.keys.into_iter().flat_map(|k| k.ids).find_map(job_of)
}

fn job_of(entry: ::redis::streams::StreamId) -> Option<Job> {
    let run_id: String = entry.get("run_id")?;
    Some(Job {
        run_id,
        entry_id: Some(entry.id),
    })
}
