//! Webhook delivery: one scheduler task holds every pending event in a priority queue ordered by
//! its simulated due time and sleeps on the shared clock until the earliest is due; each attempt
//! then runs as its own short task.
//!
//! A call queues its events (`call.in_progress` when answered, then the terminal one) when it is
//! placed. An attempt succeeds on any 2xx within [`TIMEOUT`]; otherwise it is retried after a
//! simulated backoff of 5, 10, 20 and 40 s, up to [`MAX_TRIES`] attempts, with the same
//! `eventId` and body (only the signature's timestamp is fresh). `--webhook-fail-rate` loses an
//! attempt before it is sent, which is retried like any failure.
//!
//! The signature's `t` is wall-clock Unix time, because receivers check it against their own
//! clock; the payload's `timestamp` is the simulated time of the event.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

use super::calls::Call;
use super::faults::Dice;
use crate::clock::Clock;
use crate::webhook::signature::{SIGNATURE_HEADER, signature_header};

/// Attempts per event, the first included.
pub const MAX_TRIES: u32 = 5;
/// How long a receiver has to answer an attempt.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts in flight at once; more wait their turn rather than open unbounded sockets.
const CONCURRENCY: usize = 256;

/// Simulated wait before attempt `next` (2-based): 5 s, doubling.
fn backoff(next: u32) -> Duration {
    Duration::from_secs(5 << (next.saturating_sub(2)).min(10))
}

/// One event of one call, on its way.
#[derive(Debug)]
pub struct Job {
    pub due: Timestamp,
    pub call: Arc<Call>,
    pub event: String,
    /// The simulated instant the event happened.
    pub at: Timestamp,
    pub event_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

struct Queued {
    seq: u64,
    job: Job,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Reversed so the max-heap pops the earliest due first; `seq` keeps ties in arrival order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.job.due, other.seq).cmp(&(self.job.due, self.seq))
    }
}

/// One delivery attempt, as the inspection endpoint shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub event_id: String,
    pub event: String,
    pub call_id: String,
    pub url: String,
    pub attempt: u32,
    /// `delivered`, `failed` or `lost`.
    pub result: &'static str,
    /// The HTTP status or transport error, when there was one.
    pub detail: Option<String>,
    /// Simulated time of the attempt.
    pub at: String,
    /// Simulated time of the next attempt of the same event, or `None` when there is none (it
    /// was delivered, or this was attempt [`MAX_TRIES`]).
    pub next_attempt_at: Option<String>,
}

/// What an attempt needs, shared by all of them.
#[derive(Debug)]
pub struct Deliverer {
    pub client: reqwest::Client,
    pub secret: String,
    pub fail_rate: f64,
    pub dice: Arc<Mutex<Dice>>,
    pub base_url: String,
    pub clock: Clock,
    pub log: Mutex<Vec<Attempt>>,
}

/// The JSON body of an event.
pub fn payload(call: &Call, event: &str, event_id: &str, at: Timestamp, base_url: &str) -> Value {
    let record = call.record_at(at, base_url);
    json!({
        "event": event,
        "eventId": event_id,
        "timestamp": at.to_string(),
        "callId": call.id,
        "status": record["status"],
        "to": record["to"],
        "objective": record["objective"],
        "startedAt": record["startedAt"],
        "endedAt": record["endedAt"],
        "summary": record["summary"],
        "extracted": record["extracted"],
        "transcript": record["transcript"],
        "recordingUrl": record["recordingUrl"],
        "durationSec": record["durationSec"],
    })
}

/// The events a newly placed call will send, ready for the scheduler.
pub fn jobs_for(call: &Arc<Call>) -> Vec<Job> {
    if call.request.webhook_url.is_none() {
        return Vec::new();
    }
    call.events()
        .into_iter()
        .map(|(at, event)| Job {
            due: at,
            call: Arc::clone(call),
            event,
            at,
            event_id: format!("evt_{}", super::new_uuid().simple()),
            attempt: 1,
        })
        .collect()
}

/// Runs the scheduler until `shutdown` turns true or every sender is gone.
pub async fn run(
    deliverer: Arc<Deliverer>,
    tx: mpsc::UnboundedSender<Job>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        let next_due = heap.peek().map(|q: &Queued| q.job.due);
        let clock = deliverer.clock.clone();
        let wait = async move {
            match next_due {
                Some(due) => clock.sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = super::stopped(&mut shutdown) => return,
            job = rx.recv() => {
                let Some(job) = job else { return };
                heap.push(Queued { seq, job });
                seq += 1;
                // Take whatever else is waiting so a burst costs one loop turn, not one each.
                while let Ok(job) = rx.try_recv() {
                    heap.push(Queued { seq, job });
                    seq += 1;
                }
            }
            () = wait => {
                let now = deliverer.clock.now();
                while heap.peek().is_some_and(|q| q.job.due <= now) {
                    let Some(Queued { job, .. }) = heap.pop() else { break };
                    let deliverer = Arc::clone(&deliverer);
                    let tx = tx.clone();
                    let permits = Arc::clone(&permits);
                    tokio::spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        attempt(&deliverer, job, &tx).await;
                    });
                }
            }
        }
    }
}

async fn attempt(d: &Deliverer, mut job: Job, retry: &mpsc::UnboundedSender<Job>) {
    let Some(url) = job.call.request.webhook_url.clone() else {
        return;
    };
    let body = serde_json::to_vec(&payload(
        &job.call,
        &job.event,
        &job.event_id,
        job.at,
        &d.base_url,
    ))
    .expect("a JSON value serialises");
    let lost = d.dice.lock().expect("dice lock").flip(d.fail_rate);
    let (result, detail) = if lost {
        ("lost", Some("dropped by --webhook-fail-rate".to_string()))
    } else {
        let signature = signature_header(&d.secret, Timestamp::now().as_second(), &body);
        let sent = d
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .timeout(TIMEOUT)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {
                ("delivered", Some(resp.status().as_u16().to_string()))
            }
            Ok(resp) => ("failed", Some(resp.status().as_u16().to_string())),
            Err(err) => ("failed", Some(err.to_string())),
        }
    };
    tracing::debug!(event = %job.event, event_id = %job.event_id, attempt = job.attempt, result, "webhook attempt");
    let now = d.clock.now();
    let retry_at =
        (result != "delivered" && job.attempt < MAX_TRIES).then(|| now + backoff(job.attempt + 1));
    d.log.lock().expect("log lock").push(Attempt {
        event_id: job.event_id.clone(),
        event: job.event.clone(),
        call_id: job.call.id.clone(),
        url,
        attempt: job.attempt,
        result,
        detail,
        at: now.to_string(),
        next_attempt_at: retry_at.map(|at| at.to_string()),
    });
    if let Some(due) = retry_at {
        job.attempt += 1;
        job.due = due;
        // If the scheduler is gone the sandbox is shutting down; the retry is moot.
        let _ = retry.send(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_pops_the_earliest_due_first_and_ties_in_arrival_order() {
        use crate::sandbox::calls::Call;
        use crate::sandbox::outcome::{Distribution, draw};
        use crate::sandbox::request::validate;

        let body = r#"{"to":"+14155550190","objective":"x"}"#;
        let req = validate(body.as_bytes(), &["+14155550100".to_string()]).unwrap();
        let t0: Timestamp = "2026-01-05T09:00:00Z".parse().unwrap();
        let plan = draw(0, &req.to, 0, &Distribution::default());
        let call = Arc::new(Call::new(
            "c".into(),
            "k".into(),
            None,
            t0,
            req,
            body.into(),
            0,
            plan,
        ));
        let job = |secs: u64, name: &str| Job {
            due: t0 + Duration::from_secs(secs),
            call: Arc::clone(&call),
            event: name.to_string(),
            at: t0,
            event_id: name.to_string(),
            attempt: 1,
        };
        let mut heap = BinaryHeap::new();
        for (seq, (secs, name)) in [(30, "c"), (10, "a"), (30, "d"), (20, "b")]
            .into_iter()
            .enumerate()
        {
            heap.push(Queued {
                seq: seq as u64,
                job: job(secs, name),
            });
        }
        let order: Vec<String> = std::iter::from_fn(|| heap.pop().map(|q| q.job.event)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn backoff_doubles_from_five_seconds() {
        let waits: Vec<u64> = (2..=MAX_TRIES).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40]);
    }
}
