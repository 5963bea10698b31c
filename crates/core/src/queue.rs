//! The job queue: carries run ids from whoever triggers a run to the executors.
//!
//! The queue only carries work; the truth about a run is its row in the store, and claiming a
//! run there is conditional, so a run delivered twice still runs once.

use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

/// A delivered run id, to acknowledge once the run's outcome is recorded.
#[derive(Debug, Clone)]
pub struct Job {
    /// The run to execute.
    pub run_id: String,
}

/// The queue backends. Closed set, chosen by configuration.
#[derive(Clone, Debug)]
pub enum Queue {
    /// In-process channel for the embedded default (`ironmage up`).
    Local(LocalQueue),
    /// No queue: for a process that triggers runs but executes none. The run's row in the
    /// store is the message; executors elsewhere find it by polling the store.
    StoreOnly,
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
        }
    }

    /// Wait up to `wait` for a job for `consumer`.
    pub async fn claim(&self, _consumer: &str, wait: Duration) -> Result<Option<Job>> {
        match self {
            Queue::Local(q) => Ok(q.claim(wait).await),
            Queue::StoreOnly => {
                tokio::time::sleep(wait).await;
                Ok(None)
            }
        }
    }

    /// Acknowledge a job whose outcome is recorded.
    pub async fn ack(&self, _job: &Job) -> Result<()> {
        match self {
            // Delivery is the acknowledgement for an in-process channel.
            Queue::Local(_) | Queue::StoreOnly => Ok(()),
        }
    }
}

/// An unbounded in-process channel shared by every executor task.
#[derive(Clone, Debug)]
pub struct LocalQueue {
    sender: mpsc::UnboundedSender<String>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
}

impl LocalQueue {
    fn new() -> LocalQueue {
        let (sender, receiver) = mpsc::unbounded_channel();
        LocalQueue {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
        }
    }

    fn enqueue(&self, run_id: &str) -> Result<()> {
        self.sender
            .send(run_id.to_string())
            .map_err(|_| Error::unavailable("the job queue is closed"))
    }

    async fn claim(&self, wait: Duration) -> Option<Job> {
        let mut receiver = tokio::time::timeout(wait, self.receiver.lock())
            .await
            .ok()?;
        match tokio::time::timeout(wait, receiver.recv()).await {
            Ok(Some(run_id)) => Some(Job { run_id }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_and_times_out_when_empty() {
        let q = Queue::local();
        q.enqueue("a").await.unwrap();
        q.enqueue("b").await.unwrap();
        let wait = Duration::from_millis(50);
        assert_eq!(q.claim("x", wait).await.unwrap().unwrap().run_id, "a");
        assert_eq!(q.claim("x", wait).await.unwrap().unwrap().run_id, "b");
        assert!(q.claim("x", wait).await.unwrap().is_none());
    }
}
