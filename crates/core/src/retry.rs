//! Writes that must not be lost to a store outage (a database restart, a failover): retried
//! with backoff until they land, 200 ms at first and doubling up to 5 s.

use crate::error::Result;
use std::future::Future;
use std::time::Duration;

/// Call `attempt` until it succeeds; each failure is logged as "cannot `what` yet" for `run_id`.
pub(crate) async fn until_written<T, Fut>(
    what: &str,
    run_id: &str,
    mut attempt: impl FnMut() -> Fut,
) -> T
where
    Fut: Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "cannot {what} yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
