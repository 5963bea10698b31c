//! The in-process queue of the embedded default.

use super::job::Job;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

/// An unbounded in-process channel shared by every executor task.
#[derive(Clone, Debug)]
pub struct LocalQueue {
    sender: mpsc::UnboundedSender<String>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
}

impl Default for LocalQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalQueue {
    /// An empty queue.
    pub fn new() -> LocalQueue {
        let (sender, receiver) = mpsc::unbounded_channel();
        LocalQueue {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
        }
    }

    pub(super) fn enqueue(&self, run_id: &str) -> Result<()> {
        self.sender
            .send(run_id.to_string())
            .map_err(|_| Error::unavailable("the job queue is closed"))
    }

    pub(super) async fn claim(&self, wait: Duration) -> Option<Job> {
        let mut receiver = tokio::time::timeout(wait, self.receiver.lock())
            .await
            .ok()?;
        match tokio::time::timeout(wait, receiver.recv()).await {
            Ok(Some(run_id)) => Some(Job {
                run_id,
                entry_id: None,
            }),
            _ => None,
        }
    }
}
