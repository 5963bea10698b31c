//! The job queue: carries run ids from whoever triggers a run to the executors.
//!
//! The queue only carries work; the truth about a run is its row in the store, and claiming a
//! run there is conditional, so a run delivered twice still runs once, and a run whose message
//! is lost is found again in the store (by the scheduler's recovery, or by polling).

mod job;
mod local;
mod redis;

pub use self::job::Job;
pub use self::local::LocalQueue;
pub(crate) use self::redis::connection_manager;
pub use self::redis::RedisQueue;

use crate::error::Result;
use std::time::Duration;

/// The queue backends. Closed set, chosen by configuration (`REDIS_URL` set or not).
#[derive(Clone, Debug)]
pub enum Queue {
    /// In-process channel for the embedded default (`ironmage up`).
    Local(LocalQueue),
    /// No queue: for a process that triggers runs but executes none. The run's row in the
    /// store is the message; executors elsewhere find it by polling the store.
    StoreOnly,
    /// A Redis stream with a consumer group, shared by every process.
    Redis(RedisQueue),
}

impl Queue {
    /// A new in-process queue.
    pub fn local() -> Queue {
        Queue::Local(LocalQueue::new())
    }

    /// Hand a run to the executors.
    pub async fn enqueue(&self, run_id: &str) -> Result<()> {
        match self {
            Queue::Local(q) => q.enqueue(run_id),
            Queue::StoreOnly => Ok(()),
            Queue::Redis(q) => q.enqueue(run_id).await,
        }
    }

    /// Wait up to `wait` for a job for `consumer`.
    pub async fn claim(&self, consumer: &str, wait: Duration) -> Result<Option<Job>> {
        match self {
            Queue::Local(q) => Ok(q.claim(wait).await),
            Queue::StoreOnly => {
                tokio::time::sleep(wait).await;
                Ok(None)
            }
            Queue::Redis(q) => q.claim(consumer, wait).await,
        }
    }

    /// Acknowledge a job whose outcome is recorded.
    pub async fn ack(&self, job: &Job) -> Result<()> {
        match self {
            // Delivery is the acknowledgement for an in-process channel.
            Queue::Local(_) | Queue::StoreOnly => Ok(()),
            Queue::Redis(q) => q.ack(job).await,
        }
    }

    /// Whether the queue answers (always, in process).
    pub async fn ping(&self) -> Result<()> {
        match self {
            Queue::Local(_) | Queue::StoreOnly => Ok(()),
            Queue::Redis(q) => q.ping().await,
        }
    }

    /// Whether the queue is shared between processes (executors need not poll the store).
    pub fn is_shared(&self) -> bool {
        matches!(self, Queue::Redis(_))
    }

    /// True when the queue's contents may have been lost since the last call (a Redis that
    /// restarted empty or was flushed), so queued runs must be enqueued again.
    pub async fn lost_contents(&self) -> Result<bool> {
        match self {
            Queue::Local(_) | Queue::StoreOnly => Ok(false),
            Queue::Redis(q) => q.lost_contents().await,
        }
    }
}
