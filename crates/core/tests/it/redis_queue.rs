//! What only the Redis queue does, and the Redis event bus, against a real Redis: entries of a
//! consumer that died are taken over, a flushed server is noticed, an unreachable one is
//! reported. What any queue does is in `queue_conformance.rs`, run against this one too.
//!
//! Each test takes a logical database of its own (see `common::redis_db`), flushed first. They
//! need `IRONMAGE_TEST_REDIS_URL` (see `scripts/services.sh`); without it they skip, or fail when
//! `CI` is set.

use ironmage_core::events::{Event, EventBus};
use ironmage_core::queue::{Queue, RedisQueue};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

const STREAM: &str = "ironmage:runs";
const GROUP: &str = "executors";
const RECLAIM_AFTER: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_millis(200);

async fn queue(url: &str, reclaim_after: Duration) -> Queue {
    Queue::Redis(RedisQueue::connect(url, reclaim_after).await.unwrap())
}

/// Number of entries delivered and not acknowledged, from `XPENDING`'s summary.
async fn pending(db: &crate::common::RedisDb) -> i64 {
    let mut conn = db.conn().await;
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(&mut conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("unexpected XPENDING summary head {other:?}"),
        },
        other => panic!("unexpected XPENDING reply {other:?}"),
    }
}

/// Owner of each pending entry, from `XPENDING … - + 100`.
async fn pending_owners(db: &crate::common::RedisDb) -> Vec<(String, String)> {
    let mut conn = db.conn().await;
    let entries: Vec<(String, String, i64, i64)> = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .arg("-")
        .arg("+")
        .arg(100)
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(id, owner, _, _)| (id, owner))
        .collect()
}

#[tokio::test]
async fn redis_queue_unacked_entries_are_taken_over() {
    let Some(db) = crate::common::redis_db(13).await else {
        return;
    };
    let q = queue(&db.url, RECLAIM_AFTER).await;
    q.enqueue("run-1").await.unwrap();
    let lost = q.claim("dies", WAIT).await.unwrap().expect("a job");
    assert_eq!(lost.run_id, "run-1");

    // Not before the reclaim delay.
    assert!(q
        .claim("rescuer", Duration::from_millis(50))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        pending_owners(&db).await,
        [(lost.entry_id.clone().unwrap(), "dies".to_string())]
    );

    tokio::time::sleep(RECLAIM_AFTER + Duration::from_millis(100)).await;
    let rescued = q.claim("rescuer", WAIT).await.unwrap().expect("taken over");
    assert_eq!(rescued.run_id, "run-1");
    assert_eq!(rescued.entry_id, lost.entry_id);
    assert_eq!(
        pending_owners(&db).await,
        [(lost.entry_id.clone().unwrap(), "rescuer".to_string())]
    );

    q.ack(&rescued).await.unwrap();
    assert_eq!(pending(&db).await, 0);
    tokio::time::sleep(RECLAIM_AFTER + Duration::from_millis(100)).await;
    assert!(
        q.claim("third", WAIT).await.unwrap().is_none(),
        "acked: never again"
    );
    // A late ack from the consumer that was thought dead is harmless.
    q.ack(&lost).await.unwrap();
}

#[tokio::test]
async fn redis_queue_notices_lost_contents_once() {
    let Some(db) = crate::common::redis_db(14).await else {
        return;
    };
    let q = queue(&db.url, RECLAIM_AFTER).await;
    assert!(
        q.lost_contents().await.unwrap(),
        "a fresh redis has lost everything"
    );
    assert!(!q.lost_contents().await.unwrap());
    q.enqueue("before").await.unwrap();
    let job = q.claim("exec", WAIT).await.unwrap().unwrap();
    q.ack(&job).await.unwrap();

    db.flush().await;
    assert!(q.lost_contents().await.unwrap(), "flushed");
    assert!(!q.lost_contents().await.unwrap(), "said once");
    assert!(!q.lost_contents().await.unwrap());
    q.enqueue("after").await.unwrap();
    let job = q
        .claim("exec", WAIT)
        .await
        .unwrap()
        .expect("work flows again");
    assert_eq!(job.run_id, "after");
    q.ack(&job).await.unwrap();
    assert_eq!(pending(&db).await, 0);

    // An executor may hit the flushed stream before the scheduler notices: its claims recreate
    // the group, and the entry enqueued meanwhile is delivered, not skipped.
    db.flush().await;
    q.enqueue("meanwhile").await.unwrap();
    let mut delivered = None;
    for _ in 0..3 {
        if let Some(job) = q.claim("exec", WAIT).await.unwrap() {
            delivered = Some(job);
            break;
        }
    }
    let job = delivered.expect("the entry enqueued after the flush is delivered");
    assert_eq!(job.run_id, "meanwhile");
    q.ack(&job).await.unwrap();
    assert!(
        q.lost_contents().await.unwrap(),
        "the scheduler still hears of the flush"
    );
}

/// Wait for an event matching `want`, ignoring others (other tests share the pub/sub channel:
/// Redis channels are not per database).
async fn next_matching(
    rx: &mut broadcast::Receiver<Event>,
    want: &Event,
    within: Duration,
) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => return None,
            Ok(Ok(event)) if &event == want => return Some(event),
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(broadcast::error::RecvError::Closed)) => return None,
        }
    }
}

fn finished(run_id: &str) -> Event {
    Event::RunFinished {
        run_id: run_id.into(),
        status: "success".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_event_bus_delivers_across_processes_once() {
    let Some(db) = crate::common::redis_db(15).await else {
        return;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let a = EventBus::redis(&db.url).await.unwrap();
    let b = EventBus::redis(&db.url).await.unwrap();
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();

    // The forwarders subscribe in the background: probe until b hears a.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut probe = 0;
    loop {
        let event = finished(&format!("probe-{tag}-{probe}"));
        a.publish(event.clone()).await;
        if next_matching(&mut rx_b, &event, Duration::from_millis(100))
            .await
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b never received an event published on a"
        );
        probe += 1;
    }
    // Also wait for a's forwarder to listen.
    loop {
        let event = finished(&format!("probe-b-{tag}-{probe}"));
        b.publish(event.clone()).await;
        if next_matching(&mut rx_a, &event, Duration::from_millis(100))
            .await
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a never received an event published on b"
        );
        probe += 1;
    }
    // Forget the probes.
    let (mut rx_a, mut rx_b) = (a.subscribe(), b.subscribe());

    let event = Event::StageChanged {
        model: format!("churn-{tag}"),
        version: 7,
        stage: "Production".into(),
    };
    a.publish(event.clone()).await;
    assert_eq!(
        next_matching(&mut rx_b, &event, Duration::from_secs(5)).await,
        Some(event.clone()),
        "published on a, heard on b"
    );
    assert_eq!(
        next_matching(&mut rx_a, &event, Duration::from_secs(1)).await,
        Some(event.clone()),
        "the publisher's own subscribers hear it too"
    );
    // Neither side hears it a second time (a's own copy back from Redis is dropped).
    assert_eq!(
        next_matching(&mut rx_a, &event, Duration::from_millis(500)).await,
        None
    );
    assert_eq!(
        next_matching(&mut rx_b, &event, Duration::from_millis(100)).await,
        None
    );

    let back = finished(&format!("back-{tag}"));
    b.publish(back.clone()).await;
    assert!(next_matching(&mut rx_a, &back, Duration::from_secs(5))
        .await
        .is_some());
    assert!(next_matching(&mut rx_b, &back, Duration::from_secs(1))
        .await
        .is_some());
    assert_eq!(
        next_matching(&mut rx_b, &back, Duration::from_millis(500)).await,
        None
    );
    assert_eq!(
        next_matching(&mut rx_a, &back, Duration::from_millis(100)).await,
        None
    );
}

#[tokio::test]
async fn redis_queue_reports_an_unreachable_server() {
    // No service needed: nothing listens on port 1.
    match RedisQueue::connect("redis://127.0.0.1:1", RECLAIM_AFTER).await {
        Ok(_) => panic!("connected to nothing"),
        Err(e) => assert_eq!(e.code, ironmage_core::ErrorCode::Unavailable, "{e}"),
    }
    match RedisQueue::connect("not a url", RECLAIM_AFTER).await {
        Ok(_) => panic!("accepted a bad url"),
        Err(e) => assert_eq!(e.code, ironmage_core::ErrorCode::InvalidInput, "{e}"),
    }
}
