//! The job queue's conformance suite: what executors and the scheduler rely on from any queue,
//! run against the in-process queue and the Redis stream.
//!
//! `queue_suite!` turns each `async fn case(h: Harness)` below into `local_case` and
//! `redis_case`. The Redis tests each take a logical database of their own (see
//! `common::redis_db`) and need `IRONMAGE_TEST_REDIS_URL` (see `scripts/services.sh`); without
//! it they skip, or fail when `CI` is set. What only the Redis queue does (taking over entries
//! of a dead consumer, noticing a flushed server, reporting an unreachable one) is tested in
//! `redis_queue.rs`: the in-process queue has no such thing (delivery is its acknowledgement).

use ironmage_core::queue::{Queue, RedisQueue};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long a claim waits for a job in these tests.
const WAIT: Duration = Duration::from_millis(200);
/// The Redis queue's reclaim delay where a test wants it to pass.
const RECLAIM_AFTER: Duration = Duration::from_millis(300);

/// Each `case => local_case, redis_case, db;` line makes two tests, the Redis one on logical
/// database `db`; the names are checked at compile time.
macro_rules! queue_suite {
    ($($case:ident => $local:ident, $redis:ident, $db:literal;)*) => {$(
        const _: () = assert!(is_named(stringify!($local), "local_", stringify!($case)));
        const _: () = assert!(is_named(stringify!($redis), "redis_", stringify!($case)));

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $local() {
            $case(Harness::local()).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $redis() {
            if let Some(harness) = Harness::redis($db).await {
                $case(harness).await
            }
        }
    )*};
}

queue_suite! {
    jobs_come_in_order_once_and_acked_ones_never_again => local_jobs_come_in_order_once_and_acked_ones_never_again, redis_jobs_come_in_order_once_and_acked_ones_never_again, 6;
    a_claimed_job_is_not_handed_to_another_consumer => local_a_claimed_job_is_not_handed_to_another_consumer, redis_a_claimed_job_is_not_handed_to_another_consumer, 7;
    consumers_get_distinct_jobs => local_consumers_get_distinct_jobs, redis_consumers_get_distinct_jobs, 8;
    every_enqueue_is_delivered_even_of_the_same_run => local_every_enqueue_is_delivered_even_of_the_same_run, redis_every_enqueue_is_delivered_even_of_the_same_run, 11;
    a_waiting_claim_wakes_on_enqueue => local_a_waiting_claim_wakes_on_enqueue, redis_a_waiting_claim_wakes_on_enqueue, 12;
}

/// `name == prefix + case`, usable in a constant.
const fn is_named(name: &str, prefix: &str, case: &str) -> bool {
    let (name, prefix, case) = (name.as_bytes(), prefix.as_bytes(), case.as_bytes());
    if name.len() != prefix.len() + case.len() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        let expected = if i < prefix.len() {
            prefix[i]
        } else {
            case[i - prefix.len()]
        };
        if name[i] != expected {
            return false;
        }
        i += 1;
    }
    true
}

/// One queue under test, empty at the start, and handles on it.
struct Harness {
    backend: Backend,
}

enum Backend {
    /// One in-process queue: its handles are clones, as executor tasks of one process share it.
    Local(Queue),
    /// A Redis database held for this test: each handle is a connection of its own, as
    /// executors in separate processes have.
    Redis(crate::common::RedisDb),
}

impl Harness {
    fn local() -> Harness {
        Harness {
            backend: Backend::Local(Queue::local()),
        }
    }

    async fn redis(db: u8) -> Option<Harness> {
        Some(Harness {
            backend: Backend::Redis(crate::common::redis_db(db).await?),
        })
    }

    /// A handle on the queue, as one executor has. `reclaim_after` is how long the Redis
    /// queue leaves a delivered, unacknowledged job to its consumer.
    async fn handle(&self, reclaim_after: Duration) -> Queue {
        match &self.backend {
            Backend::Local(queue) => queue.clone(),
            Backend::Redis(db) => Queue::Redis(
                RedisQueue::connect(&db.url, reclaim_after)
                    .await
                    .expect("connect to the test redis"),
            ),
        }
    }
}

async fn jobs_come_in_order_once_and_acked_ones_never_again(h: Harness) {
    let q = h.handle(RECLAIM_AFTER).await;

    // Empty: the claim waits for about `wait`, then gives nothing.
    let started = Instant::now();
    assert!(q.claim("exec-a", WAIT).await.unwrap().is_none());
    assert!(
        started.elapsed() >= WAIT - Duration::from_millis(20),
        "{:?}",
        started.elapsed()
    );

    for run in ["run-1", "run-2", "run-3"] {
        q.enqueue(run).await.unwrap();
    }
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(q.claim("exec-a", WAIT).await.unwrap().expect("a job"));
    }
    let runs: Vec<_> = jobs.iter().map(|j| j.run_id.as_str()).collect();
    assert_eq!(runs, ["run-1", "run-2", "run-3"], "first in, first out");
    assert!(
        q.claim("exec-a", WAIT).await.unwrap().is_none(),
        "once each"
    );

    for job in &jobs {
        q.ack(job).await.unwrap();
    }
    // A second ack (a late one from an executor thought dead) is harmless.
    q.ack(&jobs[0]).await.unwrap();
    // Acknowledged jobs are never handed out again, even after the reclaim delay.
    tokio::time::sleep(RECLAIM_AFTER + Duration::from_millis(100)).await;
    assert!(q.claim("exec-b", WAIT).await.unwrap().is_none());
}

async fn a_claimed_job_is_not_handed_to_another_consumer(h: Harness) {
    let (a, b) = (h.handle(RECLAIM_AFTER).await, h.handle(RECLAIM_AFTER).await);
    a.enqueue("run-1").await.unwrap();
    let job = a.claim("exec-a", WAIT).await.unwrap().expect("a job");
    assert_eq!(job.run_id, "run-1");
    // Held and not yet acknowledged (the run is executing): nobody else gets it meanwhile.
    assert!(b
        .claim("exec-b", Duration::from_millis(50))
        .await
        .unwrap()
        .is_none());
    a.ack(&job).await.unwrap();
}

async fn consumers_get_distinct_jobs(h: Harness) {
    // A long reclaim delay: nothing is taken over during this test.
    let first = h.handle(Duration::from_secs(60)).await;
    let second = h.handle(Duration::from_secs(60)).await;
    const N: usize = 20;
    for i in 0..N {
        first.enqueue(&format!("run-{i:02}")).await.unwrap();
    }

    /// Claim, "execute" (a few milliseconds, so the other consumer gets its turn), acknowledge.
    async fn drain(q: Queue, consumer: &'static str) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(job) = q.claim(consumer, WAIT).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            got.push(job.run_id.clone());
            q.ack(&job).await.unwrap();
        }
        got
    }
    let (a, b) = tokio::join!(
        tokio::spawn(drain(first, "exec-a")),
        tokio::spawn(drain(second, "exec-b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let all: BTreeSet<_> = a.iter().chain(&b).cloned().collect();
    assert_eq!(a.len() + b.len(), N, "a: {a:?}, b: {b:?}");
    assert_eq!(
        all.len(),
        N,
        "a job was delivered twice: a: {a:?}, b: {b:?}"
    );
    assert!(
        !a.is_empty() && !b.is_empty(),
        "one consumer got everything: {a:?} {b:?}"
    );
}

async fn every_enqueue_is_delivered_even_of_the_same_run(h: Harness) {
    // The scheduler re-sends runs that stayed queued, whose first message may still be in the
    // queue: the queue does not merge them (the store's conditional claim runs the run once).
    let q = h.handle(RECLAIM_AFTER).await;
    q.enqueue("run-1").await.unwrap();
    q.enqueue("run-1").await.unwrap();
    for _ in 0..2 {
        let job = q.claim("exec", WAIT).await.unwrap().expect("a delivery");
        assert_eq!(job.run_id, "run-1");
        q.ack(&job).await.unwrap();
    }
    assert!(q.claim("exec", WAIT).await.unwrap().is_none());
}

async fn a_waiting_claim_wakes_on_enqueue(h: Harness) {
    // Executors wait on the queue: a run enqueued meanwhile starts at once, not at the end of
    // the wait.
    let (executor, web) = (h.handle(RECLAIM_AFTER).await, h.handle(RECLAIM_AFTER).await);
    let long_wait = Duration::from_secs(10);
    let started = Instant::now();
    let waiting = tokio::spawn(async move { executor.claim("exec", long_wait).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    web.enqueue("run-1").await.unwrap();
    let job = waiting
        .await
        .unwrap()
        .unwrap()
        .expect("the job enqueued meanwhile");
    assert_eq!(job.run_id, "run-1");
    assert!(
        started.elapsed() < long_wait / 2,
        "woke after {:?}",
        started.elapsed()
    );
    web.ack(&job).await.unwrap();
}
