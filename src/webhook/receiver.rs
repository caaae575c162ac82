//! The runner's webhook receiver: an axum router that checks each delivery and hands it to the
//! runner's driver, which alone writes the state file.
//!
//! A delivery is read with a size limit, its `X-BYS-Signature` verified against the raw bytes
//! (HMAC-SHA256, constant-time compare, [`TOLERANCE`] against this machine's wall clock, which
//! is what the sender signs with), then parsed. Anything refused is answered 401 (signature),
//! 413 (too large) or 400 (not an event), and reported to the driver by reason only, never with
//! its body; none of it reaches the state. An accepted event goes to the driver with a oneshot;
//! the answer is 2xx only once the driver says the event is committed, 500 if the commit
//! failed and 503 if the run is over, so the sender retries and nothing acknowledged is lost.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::signature::{SIGNATURE_HEADER, TOLERANCE, verify};

/// The largest body accepted. Events carry a transcript; an hour of talk is well under this.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How many deliveries may wait for the driver; more are answered 503 (and retried).
const QUEUE: usize = 1024;

/// A verified event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: String,
    /// `call.in_progress`, `call.completed`, …
    pub event: String,
    pub call_id: Option<String>,
    pub status: Option<String>,
    /// The body exactly as received.
    pub body: String,
    pub json: Value,
}

impl Event {
    /// Reads an event body: a JSON object with string `eventId` and `event`.
    pub fn parse(bytes: &[u8]) -> Result<Event, &'static str> {
        let body = std::str::from_utf8(bytes).map_err(|_| "the body is not UTF-8")?;
        let json: Value = serde_json::from_str(body).map_err(|_| "the body is not JSON")?;
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
        let event_id = text("eventId").ok_or("the body has no `eventId`")?;
        let event = text("event").ok_or("the body has no `event`")?;
        Ok(Event {
            event_id,
            event,
            call_id: text("callId"),
            status: text("status"),
            body: body.to_owned(),
            json,
        })
    }
}

/// What the receiver tells the driver.
#[derive(Debug)]
pub enum Inbound {
    /// A verified event; the driver answers on `committed` once it is in the state file.
    Event {
        event: Event,
        committed: oneshot::Sender<Result<(), ()>>,
    },
    /// A delivery was refused; why, without its body.
    Refused(String),
}

#[derive(Debug)]
struct Shared {
    secret: String,
    driver: mpsc::Sender<Inbound>,
}

/// The router, and the driver's end of its channel.
pub fn router(secret: String) -> (Router, mpsc::Receiver<Inbound>) {
    let (driver, rx) = mpsc::channel(QUEUE);
    let shared = Arc::new(Shared { secret, driver });
    // Any path: a tunnel or reverse proxy may forward to `/`, or keep the public URL's path.
    let router = Router::new()
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .with_state(shared);
    (router, rx)
}

/// Binds `listen`, serves `router` until `shutdown` resolves; returns the bound address at once.
pub async fn serve(
    listen: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(err) = served {
            tracing::warn!(%err, "the webhook receiver stopped");
        }
    });
    Ok((bound, task))
}

/// Beyond this, an oversized body is not even read to its end: the connection is closed.
const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

/// Reads a body of at most [`BODY_LIMIT`] bytes. A larger one is read on (and dropped) up to
/// [`DRAIN_LIMIT`], so its sender gets the 413 rather than a connection reset mid-request.
async fn read_limited(mut body: Body) -> Result<Vec<u8>, String> {
    use axum::body::HttpBody as _;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|err| format!("the body could not be read: {err}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= BODY_LIMIT {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > BODY_LIMIT {
        return Err(format!("the body is larger than {BODY_LIMIT} bytes"));
    }
    Ok(kept)
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> (StatusCode, &'static str) {
    let refuse = |status: StatusCode, why: String, answer: &'static str| {
        tracing::warn!(status = status.as_u16(), %why, "webhook delivery refused");
        // Full queue or run over: the count is lost, the refusal is not.
        let _ = shared.driver.try_send(Inbound::Refused(why));
        (status, answer)
    };
    let bytes = match read_limited(body).await {
        Ok(bytes) => bytes,
        Err(why) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, why, "body too large\n"),
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let now = Timestamp::now().as_second();
    if let Err(err) = verify(signature, &bytes, &shared.secret, now, TOLERANCE) {
        return refuse(StatusCode::UNAUTHORIZED, err.to_string(), "bad signature\n");
    }
    let event = match Event::parse(&bytes) {
        Ok(event) => event,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why.to_owned(), "not an event\n"),
    };
    let (committed, answer) = oneshot::channel();
    if shared
        .driver
        .send(Inbound::Event { event, committed })
        .await
        .is_err()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "the run is over\n");
    }
    match answer.await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(())) => (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the run is over\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::signature::signature_header;

    const SECRET: &str = "whsec_receiver_test";

    fn body(event_id: &str) -> Vec<u8> {
        serde_json::json!({
            "event": "call.completed", "eventId": event_id, "callId": "c1", "status": "completed",
        })
        .to_string()
        .into_bytes()
    }

    /// Serves `router` on 127.0.0.1:0 for the rest of the test.
    async fn on_loopback(router: Router) -> SocketAddr {
        let (bound, _task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            router,
            std::future::pending(),
        )
        .await
        .unwrap();
        bound
    }

    /// The router on 127.0.0.1:0 with a driver that commits every event (answering `commit`);
    /// returns its URL and what the driver was given.
    async fn start(commit: Result<(), ()>) -> (String, mpsc::UnboundedReceiver<String>) {
        let (router, mut rx) = router(SECRET.to_owned());
        let bound = on_loopback(router).await;
        let (seen_tx, seen) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(inbound) = rx.recv().await {
                match inbound {
                    Inbound::Event { event, committed } => {
                        let _ = seen_tx.send(format!("event {}", event.event_id));
                        let _ = committed.send(commit);
                    }
                    Inbound::Refused(why) => {
                        let _ = seen_tx.send(format!("refused: {why}"));
                    }
                }
            }
        });
        (format!("http://{bound}/bys"), seen)
    }

    async fn post(url: &str, signature: Option<String>, body: Vec<u8>) -> u16 {
        let mut request = reqwest::Client::new().post(url).body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    fn now() -> i64 {
        Timestamp::now().as_second()
    }

    #[tokio::test]
    async fn a_signed_event_is_answered_only_after_the_driver_commits_it() {
        let (url, mut seen) = start(Ok(())).await;
        let b = body("evt_1");
        assert_eq!(
            post(&url, Some(signature_header(SECRET, now(), &b)), b).await,
            200
        );
        assert_eq!(seen.recv().await.unwrap(), "event evt_1");

        let (url, _seen) = start(Err(())).await;
        let b = body("evt_2");
        assert_eq!(
            post(&url, Some(signature_header(SECRET, now(), &b)), b).await,
            500,
            "a failed commit is not acknowledged, so the sender retries"
        );
    }

    #[tokio::test]
    async fn every_bad_delivery_is_refused_and_never_reaches_the_state() {
        let (url, mut seen) = start(Ok(())).await;
        let b = body("evt_1");
        let good = signature_header(SECRET, now(), &b);
        let mut tampered = b.clone();
        tampered[12] ^= 1;
        let garbage = b"{not json".to_vec();
        let oversized = vec![b' '; 2 * BODY_LIMIT];
        let no_id = br#"{"event":"call.completed"}"#.to_vec();
        let cases: Vec<(&str, Option<String>, Vec<u8>, u16)> = vec![
            ("unsigned", None, b.clone(), 401),
            (
                "wrong secret",
                Some(signature_header("whsec_other", now(), &b)),
                b.clone(),
                401,
            ),
            (
                "stale replay",
                Some(signature_header(SECRET, now() - 301, &b)),
                b.clone(),
                401,
            ),
            (
                "from the future",
                Some(signature_header(SECRET, now() + 400, &b)),
                b.clone(),
                401,
            ),
            ("tampered body", Some(good), tampered, 401),
            ("malformed header", Some("v1=abc".into()), b.clone(), 401),
            (
                "garbage JSON",
                Some(signature_header(SECRET, now(), &garbage)),
                garbage,
                400,
            ),
            (
                "no eventId",
                Some(signature_header(SECRET, now(), &no_id)),
                no_id,
                400,
            ),
            (
                "oversized",
                Some(signature_header(SECRET, now(), &oversized)),
                oversized,
                413,
            ),
        ];
        for (what, signature, body, status) in cases {
            assert_eq!(post(&url, signature, body).await, status, "{what}");
            let told = seen.recv().await.unwrap();
            assert!(told.starts_with("refused: "), "{what}: {told}");
            assert!(!told.contains("call.completed"), "{what} logged its body");
        }
        assert!(seen.try_recv().is_err(), "nothing else reached the driver");
    }

    #[tokio::test]
    async fn a_run_that_is_over_answers_503() {
        let (router, rx) = router(SECRET.to_owned());
        drop(rx);
        let bound = on_loopback(router).await;
        let b = body("evt_1");
        let status = post(
            &format!("http://{bound}/"),
            Some(signature_header(SECRET, now(), &b)),
            b,
        )
        .await;
        assert_eq!(status, 503);
    }

    #[test]
    fn an_event_needs_an_id_and_a_name() {
        let event = Event::parse(&body("evt_1")).unwrap();
        assert_eq!(event.event_id, "evt_1");
        assert_eq!(event.call_id.as_deref(), Some("c1"));
        assert_eq!(event.status.as_deref(), Some("completed"));
        assert!(Event::parse(b"[]").is_err());
        assert!(Event::parse(br#"{"eventId":"e"}"#).is_err());
        assert!(Event::parse(&[0xff, 0xfe]).is_err());
    }
}
