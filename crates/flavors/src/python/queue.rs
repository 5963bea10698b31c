//! The requests waiting for a worker, and how a free worker takes its next batch from them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use super::error::PythonError;

/// Requests that may wait at once; past it `predict` answers `Overloaded` rather than letting
/// latency grow without bound.
pub(crate) const QUEUE_CAPACITY: usize = 4096;

/// One `predict` call waiting for its answer.
pub(crate) struct Job {
    pub columns: Arc<[String]>,
    pub rows: Vec<Vec<Value>>,
    pub reply: oneshot::Sender<Result<Vec<Value>, PythonError>>,
    pub enqueued: Instant,
}

impl Job {
    /// Answers the caller; a caller that gave up is not an error.
    pub fn answer(self, result: Result<Vec<Value>, PythonError>) {
        let _ = self.reply.send(result);
    }
}

/// The waiting requests, shared by the callers and the workers.
#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Woken when a job arrives, or when the queue closes.
    notify: Notify,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl Queue {
    /// Queues a job; `Overloaded` when full, `ShutDown` once closed.
    pub fn push(&self, job: Job) -> Result<(), PythonError> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(PythonError::ShutDown);
            }
            if state.jobs.len() >= QUEUE_CAPACITY {
                return Err(PythonError::Overloaded);
            }
            state.jobs.push_back(job);
        }
        self.notify.notify_one();
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Refuses new jobs and wakes every waiting worker; queued jobs are still served.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }

    /// Removes every queued job.
    pub fn drain(&self) -> Vec<Job> {
        self.lock().jobs.drain(..).collect()
    }

    /// Returns once a job is queued or the queue is closed (cancel-safe, takes nothing).
    pub async fn wait_for_work(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                if !state.jobs.is_empty() || state.closed {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Waits for work and takes a batch: the oldest job and the queued jobs with the same
    /// columns, up to `max_rows` rows (a larger first job goes alone). If the batch has room and
    /// `others_busy()` says no other worker could take new arrivals, waits for more up to
    /// `window` after the oldest job's arrival. `None` once the queue is closed and empty.
    pub async fn next_batch(
        &self,
        max_rows: usize,
        window: Duration,
        others_busy: impl Fn() -> bool,
    ) -> Option<Vec<Job>> {
        let mut batch = loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                let mut batch = Vec::new();
                take(&mut state.jobs, &mut batch, max_rows);
                if !batch.is_empty() {
                    let more = !state.jobs.is_empty();
                    drop(state);
                    if more {
                        // A worker may be idle while jobs of other columns still wait.
                        self.notify.notify_one();
                    }
                    break batch;
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        };
        if window.is_zero() || !others_busy() {
            return Some(batch);
        }
        let deadline = batch[0].enqueued + window;
        while rows(&batch) < max_rows && Instant::now() < deadline {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.closed {
                    break;
                }
                take(&mut state.jobs, &mut batch, max_rows);
            }
            if rows(&batch) >= max_rows {
                break;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
        if self.len() > 0 {
            self.notify.notify_one();
        }
        Some(batch)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves the queue consistent: every change is one
        // VecDeque call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn rows(batch: &[Job]) -> usize {
    batch.iter().map(|j| j.rows.len()).sum()
}

/// Moves into `batch` the jobs of `jobs` that fit: the first one when `batch` is empty, then
/// those with the same columns while the rows stay within `max_rows`. Jobs whose caller gave
/// up are dropped.
fn take(jobs: &mut VecDeque<Job>, batch: &mut Vec<Job>, max_rows: usize) {
    let mut total = rows(batch);
    let mut i = 0;
    while i < jobs.len() && (batch.is_empty() || total < max_rows) {
        let job = &jobs[i];
        if job.reply.is_closed() {
            jobs.remove(i);
            continue;
        }
        let fits = match batch.first() {
            None => true,
            Some(first) => {
                same_columns(&first.columns, &job.columns) && total + job.rows.len() <= max_rows
            }
        };
        if fits {
            if let Some(job) = jobs.remove(i) {
                total += job.rows.len();
                batch.push(job);
            }
        } else {
            i += 1;
        }
    }
}

fn same_columns(a: &Arc<[String]>, b: &Arc<[String]>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(
        columns: &Arc<[String]>,
        n: usize,
    ) -> (Job, oneshot::Receiver<Result<Vec<Value>, PythonError>>) {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            columns: columns.clone(),
            rows: vec![vec![Value::Null; columns.len()]; n],
            reply,
            enqueued: Instant::now(),
        };
        (job, rx)
    }

    #[tokio::test]
    async fn batches_merge_same_columns_up_to_the_limit() {
        let queue = Queue::default();
        let ab: Arc<[String]> = vec!["a".to_string(), "b".to_string()].into();
        let c: Arc<[String]> = vec!["c".to_string()].into();
        let mut receivers = Vec::new();
        for (columns, n) in [(&ab, 3), (&c, 1), (&ab, 4), (&ab, 2), (&c, 9)] {
            let (job, rx) = job(columns, n);
            queue.push(job).unwrap();
            receivers.push(rx);
        }
        let sizes = |b: &[Job]| b.iter().map(|j| j.rows.len()).collect::<Vec<_>>();
        let batch = queue.next_batch(8, Duration::ZERO, || false).await.unwrap();
        assert_eq!(sizes(&batch), [3, 4]);
        let batch = queue.next_batch(8, Duration::ZERO, || false).await.unwrap();
        assert_eq!(sizes(&batch), [1]);
        // The first job goes even when larger than the limit.
        let batch = queue.next_batch(8, Duration::ZERO, || false).await.unwrap();
        assert_eq!(sizes(&batch), [2]);
        let batch = queue.next_batch(8, Duration::ZERO, || false).await.unwrap();
        assert_eq!(sizes(&batch), [9]);
        queue.close();
        assert!(queue
            .next_batch(8, Duration::ZERO, || false)
            .await
            .is_none());
        let (late, _rx) = job(&c, 1);
        assert!(matches!(queue.push(late), Err(PythonError::ShutDown)));
    }

    #[tokio::test]
    async fn abandoned_jobs_are_skipped() {
        let queue = Queue::default();
        let a: Arc<[String]> = vec!["a".to_string()].into();
        let (gone, rx) = job(&a, 1);
        drop(rx);
        queue.push(gone).unwrap();
        let (kept, _rx) = job(&a, 2);
        queue.push(kept).unwrap();
        let batch = queue.next_batch(8, Duration::ZERO, || false).await.unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].rows.len(), 2);
    }

    #[tokio::test]
    async fn the_window_waits_only_while_others_are_busy() {
        // Wide margins: the machine may be loaded.
        let window = Duration::from_millis(300);
        let queue = Arc::new(Queue::default());
        let a: Arc<[String]> = vec!["a".to_string()].into();
        let (first, _rx1) = job(&a, 1);
        queue.push(first).unwrap();
        let (second, _rx2) = job(&a, 1);
        let pusher = {
            let queue = queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                queue.push(second).unwrap();
            })
        };
        let batch = queue.next_batch(8, window, || true).await.unwrap();
        assert_eq!(batch.len(), 2);
        pusher.await.unwrap();

        let (third, _rx3) = job(&a, 1);
        queue.push(third).unwrap();
        let started = Instant::now();
        let batch = queue.next_batch(8, window, || false).await.unwrap();
        assert_eq!(batch.len(), 1);
        assert!(started.elapsed() < window / 2);
    }

    #[tokio::test]
    async fn a_full_queue_is_overloaded() {
        let queue = Queue::default();
        let a: Arc<[String]> = vec!["a".to_string()].into();
        let mut receivers = Vec::new();
        for _ in 0..QUEUE_CAPACITY {
            let (j, rx) = job(&a, 1);
            queue.push(j).unwrap();
            receivers.push(rx);
        }
        let (j, _rx) = job(&a, 1);
        assert!(matches!(queue.push(j), Err(PythonError::Overloaded)));
    }
}
