//! The API client (`bys_campaign::api`) against the real sandbox over loopback: round trips,
//! every error token the sandbox can produce and its class, lost answers (ambiguous only when
//! placing), refused connections, timeouts, and the key never showing.
//!
//! Where the sandbox cannot misbehave in the way a test needs (a success whose body is not
//! JSON, a body cut short, a proxy's HTML page, a redirect, a message quoting the key), a
//! few-line raw HTTP server on 127.0.0.1 writes the exact bytes.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bys_campaign::api::{
    ApiError, ApiKey, CallStatus, Client, ClientOptions, ErrorClass, Operation, Outcome, Transport,
};
use bys_campaign::sandbox::SandboxConfig;
use bys_campaign::sandbox::faults::Faults;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{KEY, TestSandbox, t0};

fn config_with(faults: Faults) -> SandboxConfig {
    SandboxConfig {
        faults,
        ..SandboxConfig::default()
    }
}

fn client_with(base: &str, key: &str, options: ClientOptions) -> Client {
    Client::new(base, ApiKey::from_env_value(key).unwrap(), options).unwrap()
}

fn client(base: &str) -> Client {
    client_with(base, KEY, ClientOptions::default())
}

fn body(to: &str) -> Value {
    json!({"to": to, "objective": "Confirm the appointment on Tuesday."})
}

/// Asserts the error's token, HTTP status and class, and returns it for more checks.
#[track_caller]
fn expect(
    result: Result<impl std::fmt::Debug, ApiError>,
    token: Option<&str>,
    status: Option<u16>,
    class: ErrorClass,
) -> ApiError {
    let err = result.expect_err("an error");
    assert_eq!(
        (err.token(), err.status(), err.class()),
        (token, status, class),
        "{err}"
    );
    err
}

#[tokio::test]
async fn place_get_and_list_round_trip() {
    let ts = TestSandbox::default().await;
    let api = client(ts.handle.base_url());
    let mut request = body("+14155550190");
    request["fields"] = json!([{"name": "confirmed", "type": "boolean"}]);

    let placed = api.place_call(&request, "row-1-attempt-1").await.unwrap();
    assert_eq!(placed.status, CallStatus::Queued);
    assert_eq!(placed.raw["voice"], "Aoede", "extra fields are kept");

    let calls = ts.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["id"], placed.call_id.as_str());
    assert_eq!(calls[0]["apiKey"], KEY, "sent as Authorization: Bearer");
    assert_eq!(calls[0]["idempotencyKey"], "row-1-attempt-1");
    assert_eq!(calls[0]["request"], request, "the body is sent as given");

    let record = api.get_call(&placed.call_id).await.unwrap();
    assert_eq!(record.id, placed.call_id);
    assert_eq!(record.status, CallStatus::Queued);
    assert!(!record.status.is_terminal());
    assert_eq!(record.to.as_deref(), Some("+14155550190"));
    assert_eq!(
        record.objective.as_deref(),
        Some("Confirm the appointment on Tuesday.")
    );
    assert_eq!((&record.summary, &record.extracted), (&None, &None));
    assert_eq!((record.started_at, record.ended_at), (None, None));
    assert_eq!(record.created_at, Some(t0()));

    // 555-0190 always completes; an hour is more than any call takes.
    ts.advance(3600);
    let record = api.get_call(&placed.call_id).await.unwrap();
    assert_eq!(record.outcome(), Some(Outcome::Completed));
    assert!(record.summary.is_some());
    let extracted = record.extracted.as_ref().unwrap();
    assert!(extracted.contains_key("confirmed"), "{extracted:?}");
    assert!(record.transcript.is_some());
    let (started, ended) = (record.started_at.unwrap(), record.ended_at.unwrap());
    assert!(t0() < started && started < ended);
    let duration = ended.duration_since(started).as_secs() as u64;
    assert_eq!(record.duration_sec, Some(duration));
    assert!(
        record
            .recording_url
            .as_deref()
            .unwrap()
            .ends_with(&format!("/v1/agent/calls/{}/recording", placed.call_id))
    );
    assert_eq!(record.raw["id"], placed.call_id.as_str());

    let second = api
        .place_call(&body("+14155550123"), "row-2-attempt-1")
        .await
        .unwrap();
    let list = api.list_calls(100).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [second.call_id.as_str(), placed.call_id.as_str()]);
    assert!(list.iter().all(|r| r.created_at.is_some()));
    assert_eq!(api.list_calls(1).await.unwrap().len(), 1);
    // Out-of-range limits are clamped, not refused.
    assert_eq!(api.list_calls(0).await.unwrap().len(), 1);
    assert_eq!(api.list_calls(255).await.unwrap().len(), 2);
    // Ids are one path segment: a slash cannot reach another route.
    expect(
        api.get_call(&format!("{}/recording", placed.call_id)).await,
        Some("not_found"),
        Some(404),
        ErrorClass::NotFound,
    );
    expect(api.get_call("..").await, None, None, ErrorClass::NotFound);
    ts.handle.shutdown().await;
}

#[tokio::test]
async fn every_error_token_of_the_sandbox_has_its_class() {
    use ErrorClass::*;
    let ts = TestSandbox::default().await;
    let api = client(ts.handle.base_url());
    let place = |body: Value| {
        let api = api.clone();
        async move { api.place_call(&body, "k").await }
    };

    expect(
        place(json!({"objective": "x"})).await,
        Some("to_required"),
        Some(400),
        RowFatal,
    );
    expect(
        place(json!({"to": "+14155550123"})).await,
        Some("objective_required"),
        Some(400),
        RowFatal,
    );
    expect(
        place(body("415-555-0123")).await,
        Some("invalid_number"),
        Some(400),
        RowFatal,
    );
    for blocked in ["+19005550123", "+14155550197", "+33612345678"] {
        expect(
            place(body(blocked)).await,
            Some("destination_blocked"),
            Some(400),
            RowFatal,
        );
    }
    let mut not_ours = body("+14155550123");
    not_ours["callerId"] = json!("+14155550111");
    let err = expect(
        place(not_ours).await,
        Some("caller_id_not_owned"),
        Some(400),
        StopRun,
    );
    assert!(err.message().is_some(), "the server's message is kept");
    let mut too_many = body("+14155550123");
    too_many["fields"] = (0..21).map(|i| json!({"name": format!("f{i}")})).collect();
    expect(
        place(too_many).await,
        Some("invalid_request"),
        Some(400),
        RowFatal,
    );
    // 555-0196: the carrier always refuses.
    expect(
        place(body("+14155550196")).await,
        Some("placement_failed"),
        Some(503),
        Backoff,
    );
    expect(
        api.get_call("no-such-call").await,
        Some("not_found"),
        Some(404),
        NotFound,
    );
    let theirs = client_with(
        ts.handle.base_url(),
        "bys_ak_other_account",
        ClientOptions::default(),
    )
    .place_call(&body("+14155550123"), "k")
    .await
    .unwrap();
    expect(
        api.get_call(&theirs.call_id).await,
        Some("not_found"),
        Some(404),
        NotFound,
    );
    assert_eq!(ts.calls().len(), 1, "no refused placement created a call");

    let bad_key = client_with(
        ts.handle.base_url(),
        "sk_live_wrong",
        ClientOptions::default(),
    );
    expect(
        bad_key.place_call(&body("+14155550123"), "k").await,
        Some("unauthorized"),
        Some(401),
        StopRun,
    );
    expect(
        bad_key.get_call(&theirs.call_id).await,
        Some("unauthorized"),
        Some(401),
        StopRun,
    );
    expect(
        bad_key.list_calls(10).await,
        Some("unauthorized"),
        Some(401),
        StopRun,
    );
    ts.handle.shutdown().await;
}

#[tokio::test]
async fn rate_limited_carries_the_servers_retry_after() {
    let ts = TestSandbox::start(config_with(Faults {
        rate_limit: Some(1),
        ..Faults::default()
    }))
    .await;
    let api = client(ts.handle.base_url());
    api.place_call(&body("+14155550123"), "a").await.unwrap();
    ts.advance(10);
    let err = expect(
        api.place_call(&body("+14155550124"), "b").await,
        Some("rate_limited"),
        Some(429),
        ErrorClass::RetryAfter(Duration::from_secs(50)),
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(50)));
    ts.advance(50);
    api.place_call(&body("+14155550124"), "b").await.unwrap();
    ts.handle.shutdown().await;
}

#[tokio::test]
async fn over_minute_cap_pauses_the_run() {
    let ts = TestSandbox::start(config_with(Faults {
        minute_cap: Some(1),
        ..Faults::default()
    }))
    .await;
    let api = client(ts.handle.base_url());
    api.place_call(&body("+14155550190"), "a").await.unwrap();
    ts.advance(3600);
    expect(
        api.place_call(&body("+14155550123"), "b").await,
        Some("over_minute_cap"),
        Some(429),
        ErrorClass::PauseRun,
    );
    // Reading is not capped.
    assert_eq!(api.list_calls(100).await.unwrap().len(), 1);
    ts.handle.shutdown().await;
}

#[tokio::test]
async fn injected_service_errors_are_backoff_and_place_nothing() {
    let ts = TestSandbox::start(config_with(Faults {
        error_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    let api = client(ts.handle.base_url());
    let mut tokens = std::collections::BTreeSet::new();
    for i in 0..16 {
        let err = api
            .place_call(&body(&format!("+1415555{:04}", 100 + i)), "k")
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.class()),
            (Some(503), ErrorClass::Backoff)
        );
        tokens.insert(err.token().unwrap().to_owned());
    }
    // Half of the injected placement failures are each kind (seeded, so this is stable).
    assert_eq!(
        tokens.into_iter().collect::<Vec<_>>(),
        ["placement_failed", "store_error"]
    );
    assert!(ts.calls().is_empty());
    expect(
        api.get_call("any").await,
        Some("store_error"),
        Some(503),
        ErrorClass::Backoff,
    );
    expect(
        api.list_calls(100).await,
        Some("store_error"),
        Some(503),
        ErrorClass::Backoff,
    );
    ts.handle.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_to_a_placement_is_ambiguous_and_the_call_exists() {
    let ts = TestSandbox::start(config_with(Faults {
        drop_after_create: 1.0,
        ..Faults::default()
    }))
    .await;
    let api = client(ts.handle.base_url());
    let err = expect(
        api.place_call(&body("+14155550123"), "row-9-attempt-1")
            .await,
        None,
        None,
        ErrorClass::Ambiguous,
    );
    assert!(
        matches!(
            err,
            ApiError::Transport {
                op: Operation::PlaceCall,
                what: Transport::Closed,
                ..
            }
        ),
        "{err:?}"
    );

    // The call WAS created: exactly why a blind retry would call twice.
    let calls = ts.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["to"], "+14155550123");
    assert_eq!(calls[0]["idempotencyKey"], "row-9-attempt-1");
    // And the runner can find it again by listing (reads are not dropped).
    let list = api.list_calls(100).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, calls[0]["id"].as_str().unwrap());
    assert_eq!(list[0].to.as_deref(), Some("+14155550123"));
    assert_eq!(
        list[0].objective.as_deref(),
        Some("Confirm the appointment on Tuesday.")
    );
    ts.handle.shutdown().await;
}

/// A port nothing listens on: bound, read, released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_is_backoff_even_when_placing() {
    let api = client(&format!("http://127.0.0.1:{}", closed_port()));
    for result in [
        api.place_call(&body("+14155550123"), "k").await.map(drop),
        api.get_call("c1").await.map(drop),
        api.list_calls(100).await.map(drop),
    ] {
        let err = expect(result, None, None, ErrorClass::Backoff);
        assert!(
            matches!(
                err,
                ApiError::Transport {
                    what: Transport::Connect,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains("http://"), "no URL: {err}");
    }
}

#[tokio::test]
async fn a_timeout_is_ambiguous_for_a_placement_and_backoff_for_reads() {
    let ts = TestSandbox::start(config_with(Faults {
        latency: Duration::from_millis(1500),
        ..Faults::default()
    }))
    .await;
    let api = client_with(
        ts.handle.base_url(),
        KEY,
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_millis(200),
        },
    );
    let timed_out = |err: &ApiError| {
        matches!(
            err,
            ApiError::Transport {
                what: Transport::Timeout,
                ..
            }
        )
    };
    let err = expect(
        api.place_call(&body("+14155550123"), "k").await,
        None,
        None,
        ErrorClass::Ambiguous,
    );
    assert!(timed_out(&err), "{err:?}");
    let err = expect(api.get_call("c1").await, None, None, ErrorClass::Backoff);
    assert!(timed_out(&err), "{err:?}");
    let err = expect(api.list_calls(5).await, None, None, ErrorClass::Backoff);
    assert!(timed_out(&err), "{err:?}");
}

/// A raw HTTP server on 127.0.0.1 that answers every request with `answer`, byte for byte,
/// then closes the connection.
async fn raw_server(answer: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                // Read the whole request first, so closing does not reset it.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

fn http_answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn unreadable_answers_are_ambiguous_only_when_placing() {
    use ErrorClass::*;
    // (what the server writes, class when placing, class when reading)
    let cases = [
        (
            "a 200 that is not JSON",
            http_answer("200 OK", "", "<html>ok</html>"),
            Ambiguous,
            Backoff,
        ),
        (
            "a 200 without a call id",
            http_answer("200 OK", "", r#"{"status":"queued"}"#),
            Ambiguous,
            Backoff,
        ),
        (
            "a 200 whose body is cut short",
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"callId\":".to_owned(),
            Ambiguous,
            Backoff,
        ),
        (
            "a proxy's 502 page",
            http_answer("502 Bad Gateway", "", "<html>bad gateway</html>"),
            Ambiguous,
            Backoff,
        ),
        (
            "a proxy's 503 page",
            http_answer("503 Service Unavailable", "", "<html>down</html>"),
            Backoff,
            Backoff,
        ),
        (
            "a 500 with an unknown token",
            http_answer("500 Internal Server Error", "", r#"{"error":"db_down"}"#),
            Backoff,
            Backoff,
        ),
        (
            "a 422 with an unknown token",
            http_answer("422 Unprocessable", "", r#"{"error":"too_polite"}"#),
            RowFatal,
            RowFatal,
        ),
        (
            "a 429 without Retry-After",
            http_answer("429 Too Many Requests", "", r#"{"error":"rate_limited"}"#),
            RetryAfter(Duration::from_secs(5)),
            RetryAfter(Duration::from_secs(5)),
        ),
        (
            "a redirect (not followed)",
            http_answer(
                "301 Moved Permanently",
                "Location: https://example.com/\r\n",
                "",
            ),
            StopRun,
            StopRun,
        ),
        (
            "an empty 401",
            http_answer("401 Unauthorized", "", ""),
            StopRun,
            StopRun,
        ),
    ];
    for (case, answer, placing, reading) in cases {
        let api = client(&raw_server(answer).await);
        let err = api
            .place_call(&body("+14155550123"), "k")
            .await
            .unwrap_err();
        assert_eq!(err.class(), placing, "{case}: {err}");
        let err = api.list_calls(100).await.unwrap_err();
        assert_eq!(err.class(), reading, "{case}: {err}");
    }
}

/// Collects everything `tracing` writes while a test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_never_appears_in_errors_logs_or_debug_output() {
    const SECRET: &str = "bys_ak_SECRET_do_not_print_4242";
    let logs = Captured::default();
    let writer = logs.clone();
    // Everything, every crate (reqwest and hyper too), at the most verbose level.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing caches per callsite whether anyone listens. With a single registered dispatcher
    // it asks the *registering thread's* default, so another test's thread (no subscriber)
    // can cache "never" for the client's events. A second live dispatcher makes it ask every
    // dispatcher instead; then settle and recompute, for registrations already under way.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    let settle = || async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tracing::callsite::rebuild_interest_cache();
    };
    settle().await;

    let mut errors: Vec<ApiError> = Vec::new();
    let strict = TestSandbox::start(SandboxConfig {
        api_key: Some("bys_ak_the_only_key".into()),
        ..SandboxConfig::default()
    })
    .await;
    let api = client_with(strict.handle.base_url(), SECRET, ClientOptions::default());
    errors.push(
        api.place_call(&body("+14155550123"), "k")
            .await
            .unwrap_err(),
    );
    errors.push(api.get_call("c1").await.unwrap_err());
    errors.push(api.list_calls(100).await.unwrap_err());

    let dropping = TestSandbox::start(config_with(Faults {
        drop_after_create: 1.0,
        ..Faults::default()
    }))
    .await;
    let api = client_with(dropping.handle.base_url(), SECRET, ClientOptions::default());
    errors.push(
        api.place_call(&body("+14155550123"), "k")
            .await
            .unwrap_err(),
    );
    assert_eq!(dropping.calls()[0]["apiKey"], SECRET, "the key was sent");

    let refused = format!("http://127.0.0.1:{}", closed_port());
    let api = client_with(&refused, SECRET, ClientOptions::default());
    errors.push(api.get_call("c1").await.unwrap_err());

    // A server that quotes the key back in its message, token and Retry-After.
    let echo = http_answer(
        "429 Too Many Requests",
        &format!("Retry-After: {SECRET}\r\n"),
        &format!(r#"{{"error":"{SECRET}","message":"key {SECRET} is rate limited"}}"#),
    );
    let api = client_with(&raw_server(echo).await, SECRET, ClientOptions::default());
    let echoed = api
        .place_call(&body("+14155550123"), "k")
        .await
        .unwrap_err();
    assert!(
        echoed.message().unwrap().contains("bys_ak_…(redacted)"),
        "{echoed}"
    );
    errors.push(echoed);
    errors.push(
        api.place_call(&body("+14155550123"), SECRET)
            .await
            .unwrap_err(),
    );

    let kinds: std::collections::BTreeSet<&str> = errors
        .iter()
        .map(|e| match e {
            ApiError::Http { .. } => "http",
            ApiError::Transport { .. } => "transport",
            ApiError::BadBody { .. } => "bad body",
            ApiError::InvalidCallId { .. } => "invalid id",
        })
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    errors.push(ApiError::BadBody {
        op: Operation::PlaceCall,
        status: 200,
        detail: "x".into(),
    });
    errors.push(api.get_call("..").await.unwrap_err());
    for err in &errors {
        for shown in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }
    let debug = format!("{api:?} {api:#?}");
    assert!(!debug.contains(SECRET), "{debug}");

    strict.handle.shutdown().await;
    dropping.handle.shutdown().await;
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("API request"),
        "the client logs requests:\n{logs}"
    );
    assert!(!logs.contains(SECRET), "{logs}");
    eprintln!("{logs}");
}

#[tokio::test]
async fn a_connect_timeout_is_backoff_even_when_placing() {
    // A listener that never accepts, with the smallest backlog, filled up: the kernel drops
    // further SYNs, so connecting hangs until the client's connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let api = client_with(
        &format!("http://{addr}"),
        KEY,
        ClientOptions {
            connect_timeout: Duration::from_millis(300),
            timeout: Duration::from_secs(10),
        },
    );
    let started = std::time::Instant::now();
    let err = expect(
        api.place_call(&body("+14155550123"), "k").await,
        None,
        None,
        ErrorClass::Backoff,
    );
    assert!(
        matches!(
            err,
            ApiError::Transport {
                what: Transport::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    // It was the connect timeout that ended it, not a refusal nor the 10 s request timeout.
    assert!(
        (Duration::from_millis(250)..Duration::from_secs(8)).contains(&started.elapsed()),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}
