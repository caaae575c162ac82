//! The sandbox over loopback HTTP: every error token, the status progression, determinism,
//! magic numbers, each fault, inspection, the ledger, webhooks and the real binary.
//!
//! In-process sandboxes run on a manual clock, so progression tests move time explicitly and
//! never depend on how fast the machine is.

use std::io::{Read, Write};
use std::time::Duration;

use bys_campaign::sandbox::SandboxConfig;
use bys_campaign::sandbox::faults::Faults;
use bys_campaign::webhook::signature::{SignatureError, TOLERANCE, verify};
use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::{Api, KEY, SandboxProcess, TestSandbox, eventually, t0};

fn config_with(faults: Faults) -> SandboxConfig {
    SandboxConfig {
        faults,
        ..SandboxConfig::default()
    }
}

fn uuid_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
    ]
}

fn line(case: &str, a: &crate::support::Answer) -> String {
    let retry = a
        .retry_after
        .as_ref()
        .map(|r| format!(" Retry-After: {r}"))
        .unwrap_or_default();
    format!("{case:<44} {}{retry} {}", a.status, a.body)
}

#[tokio::test]
async fn every_error_token_has_its_status_and_body() {
    let ts = TestSandbox::default().await;
    let api = &ts.api;
    let mut out = Vec::new();
    let post = |body: &'static str| api.post_raw(body);

    out.push(line("to missing", &post(r#"{"objective":"x"}"#).await));
    out.push(line(
        "objective missing",
        &post(r#"{"to":"+14155550123"}"#).await,
    ));
    out.push(line(
        "to not E.164",
        &post(r#"{"to":"415-555-0123","objective":"x"}"#).await,
    ));
    out.push(line(
        "premium +1900",
        &post(r#"{"to":"+19005550123","objective":"x"}"#).await,
    ));
    out.push(line(
        "country outside the list (FR)",
        &post(r#"{"to":"+33612345678","objective":"x"}"#).await,
    ));
    out.push(line(
        "magic 555-0197",
        &post(r#"{"to":"+14155550197","objective":"x"}"#).await,
    ));
    out.push(line(
        "callerId not owned",
        &post(r#"{"to":"+14155550123","objective":"x","callerId":"+14155550111"}"#).await,
    ));
    out.push(line("malformed JSON", &post(r#"{"to": "+1415"#).await));
    let fields: Vec<Value> = (0..21).map(|i| json!({"name": format!("f{i}")})).collect();
    out.push(line(
        "21 fields",
        &api.post(json!({"to":"+14155550123","objective":"x","fields":fields}))
            .await,
    ));
    out.push(line(
        "field type date",
        &post(r#"{"to":"+14155550123","objective":"x","fields":[{"name":"d","type":"date"}]}"#)
            .await,
    ));
    out.push(line("limit=0", &api.get("/v1/agent/calls?limit=0").await));
    let no_key = reqwest::get(format!("{}/v1/agent/calls", api.base))
        .await
        .unwrap();
    let status = no_key.status().as_u16();
    let body: Value = no_key.json().await.unwrap();
    out.push(format!("{:<44} {status} {body}", "no Authorization header"));
    out.push(line(
        "key without bys_ak_",
        &api.with_key("sk_live_123").get("/v1/agent/calls").await,
    ));
    out.push(line(
        "unknown call id",
        &api.get("/v1/agent/calls/nope").await,
    ));
    let id = api.place("+14155550123").await;
    out.push(line(
        "another account's call",
        &api.with_key("bys_ak_other")
            .get(&format!("/v1/agent/calls/{id}"))
            .await,
    ));
    out.push(line(
        "magic 555-0196",
        &post(r#"{"to":"+14155550196","objective":"x"}"#).await,
    ));

    let limited = TestSandbox::start(config_with(Faults {
        rate_limit: Some(1),
        ..Faults::default()
    }))
    .await;
    limited.api.place("+14155550123").await;
    out.push(line(
        "second call within a minute (--rate-limit 1)",
        &limited
            .api
            .post(json!({"to":"+14155550123","objective":"x"}))
            .await,
    ));

    let capped = TestSandbox::start(config_with(Faults {
        minute_cap: Some(1),
        ..Faults::default()
    }))
    .await;
    capped.api.place("+14155550190").await;
    capped.advance(3600);
    out.push(line(
        "after a long call (--minute-cap 1)",
        &capped
            .api
            .post(json!({"to":"+14155550123","objective":"x"}))
            .await,
    ));

    let failing = TestSandbox::start(config_with(Faults {
        error_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    out.push(line(
        "GET with --error-rate 1",
        &failing.api.get("/v1/agent/calls").await,
    ));

    let strict = TestSandbox::start(SandboxConfig {
        api_key: Some("bys_ak_only".into()),
        ..SandboxConfig::default()
    })
    .await;
    out.push(line(
        "other key with --api-key",
        &strict
            .api
            .with_key("bys_ak_other")
            .get("/v1/agent/calls")
            .await,
    ));
    out.push(line(
        "the required key with --api-key",
        &strict
            .api
            .with_key("bys_ak_only")
            .get("/v1/agent/calls?limit=1")
            .await,
    ));

    insta::with_settings!({filters => uuid_filters()}, {
        insta::assert_snapshot!(out.join("\n"));
    });

    // Every token of the contract appears above.
    let text = out.join("\n");
    for token in bys_campaign::sandbox::error::ErrorToken::ALL {
        assert!(
            text.contains(&format!("\"error\":\"{}\"", token.as_str())),
            "{token:?}"
        );
    }
    // Nothing refused left a call behind: the one explicit placement is the only call.
    assert_eq!(ts.calls().len(), 1);
}

#[tokio::test]
async fn a_call_walks_queued_ringing_in_progress_completed_in_simulated_time() {
    let ts = TestSandbox::default().await;
    let body = json!({
        "to": "+14155550190",
        "objective": "Confirm Tuesday's 10:00 appointment.",
        "fields": [
            {"name": "confirmed", "type": "boolean"},
            {"name": "party_size", "type": "number", "description": "How many people"},
            {"name": "notes"}
        ]
    });
    let answer = ts.api.post(body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "queued");
    let id = answer.body["callId"].as_str().unwrap().to_string();
    let plan = ts.calls()[0]["plan"].clone();
    let q = plan["queuedSecs"].as_u64().unwrap();
    let r = plan["ringSecs"].as_u64().unwrap();
    let t = plan["talkSecs"].as_u64().unwrap();

    let status = |v: &Value| v["status"].as_str().unwrap().to_string();
    assert_eq!(status(&ts.api.call(&id).await), "queued");
    ts.advance(q - 1);
    assert_eq!(status(&ts.api.call(&id).await), "queued");
    ts.advance(1);
    let ringing = ts.api.call(&id).await;
    assert_eq!(status(&ringing), "ringing");
    assert_eq!(ringing["startedAt"], Value::Null);
    ts.advance(r);
    let talking = ts.api.call(&id).await;
    assert_eq!(status(&talking), "in_progress");
    assert_eq!(
        talking["startedAt"],
        json!((t0() + Duration::from_secs(q + r)).to_string())
    );
    assert_eq!(talking["endedAt"], Value::Null);
    assert_eq!(talking["summary"], Value::Null);
    ts.advance(t - 1);
    assert_eq!(status(&ts.api.call(&id).await), "in_progress");
    ts.advance(1);
    let done = ts.api.call(&id).await;
    assert_eq!(status(&done), "completed");
    assert_eq!(done["durationSec"], json!(t));
    assert_eq!(
        done["endedAt"],
        json!((t0() + Duration::from_secs(q + r + t)).to_string())
    );
    assert_eq!(done["createdAt"], json!(t0().to_string()));
    assert_eq!(done["id"], done["callId"]);
    // Terminal means terminal.
    ts.advance(86_400);
    assert_eq!(ts.api.call(&id).await, done);

    insta::with_settings!({filters => uuid_filters()}, {
        insta::assert_json_snapshot!(done);
    });

    let wav = ts
        .api
        .http
        .get(done["recordingUrl"].as_str().unwrap())
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(wav.status(), 200);
    assert_eq!(wav.headers()["content-type"], "audio/wav");
    assert_eq!(&wav.bytes().await.unwrap()[..4], b"RIFF");
}

#[tokio::test]
async fn unanswered_and_voicemail_calls_carry_what_happened() {
    let ts = TestSandbox::default().await;
    let fields = json!([{"name": "ok", "type": "boolean"}]);
    let mut ids = Vec::new();
    for to in [
        "+14155550191",
        "+14155550192",
        "+14155550193",
        "+14155550194",
    ] {
        let a = ts
            .api
            .post(json!({"to": to, "objective": "Ask.", "fields": fields}))
            .await;
        ids.push(a.body["callId"].as_str().unwrap().to_string());
    }
    let recording_before = ts
        .api
        .get(&format!("/v1/agent/calls/{}/recording", ids[1]))
        .await;
    assert_eq!(recording_before.body["error"], "not_found");
    ts.advance(3600);
    let mut out = Vec::new();
    for id in &ids {
        let c = ts.api.call(id).await;
        out.push(json!({
            "status": c["status"],
            "startedAt": !c["startedAt"].is_null(),
            "endedAt": !c["endedAt"].is_null(),
            "durationSec": !c["durationSec"].is_null(),
            "summary": !c["summary"].is_null(),
            "transcript": !c["transcript"].is_null(),
            "recordingUrl": !c["recordingUrl"].is_null(),
            "extracted": c["extracted"],
        }));
    }
    insta::assert_json_snapshot!(out);
    let no_answer_recording = ts
        .api
        .get(&format!("/v1/agent/calls/{}/recording", ids[0]))
        .await;
    assert_eq!(no_answer_recording.status, 404);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_outcomes() {
    async fn outcomes(seed: u64) -> Vec<Value> {
        let ts = TestSandbox::start(SandboxConfig {
            seed,
            ..SandboxConfig::default()
        })
        .await;
        for i in 100..140 {
            ts.api.place(&format!("+1212555{i:04}")).await;
        }
        ts.calls()
            .into_iter()
            .map(|c| json!([c["to"], c["finalStatus"], c["plan"]]))
            .collect()
    }
    let a = outcomes(7).await;
    assert_eq!(a, outcomes(7).await);
    assert_ne!(a, outcomes(8).await);
    let distinct: std::collections::BTreeSet<String> = a.iter().map(|v| v[1].to_string()).collect();
    assert!(
        distinct.len() > 1,
        "40 calls should not all end alike: {distinct:?}"
    );
}

#[tokio::test]
async fn calling_a_number_again_can_change_its_outcome() {
    let ts = TestSandbox::start(SandboxConfig {
        seed: 7,
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..12 {
        ts.api.place("+14155550150").await;
    }
    let calls = ts.calls();
    let indexes: Vec<u64> = calls
        .iter()
        .map(|c| c["callIndex"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..12).collect::<Vec<_>>());
    let distinct: std::collections::BTreeSet<String> =
        calls.iter().map(|c| c["finalStatus"].to_string()).collect();
    assert!(distinct.len() > 1, "{distinct:?}");
}

/// A sandbox whose distribution makes every call fail: whatever the seed and the
/// distribution, magic numbers win.
async fn all_fail() -> TestSandbox {
    TestSandbox::start(SandboxConfig {
        seed: 12345,
        outcomes: bys_campaign::sandbox::outcome::Distribution::parse("failed=1").unwrap(),
        ..SandboxConfig::default()
    })
    .await
}

#[tokio::test]
async fn magic_numbers_force_their_outcome() {
    let ts = all_fail().await;
    let mut rows = Vec::new();
    for suffix in 190..=199 {
        for attempt in 1..=2 {
            let to = format!("+1303555{suffix:04}");
            let a = ts.api.post(json!({"to": to, "objective": "x"})).await;
            let id = a.body["callId"].as_str().map(str::to_string);
            rows.push((to, attempt, a.status, a.body["error"].clone(), id));
        }
    }
    ts.advance(86_400);
    let mut out = Vec::new();
    for (to, attempt, status, error, id) in rows {
        let after_a_day = match id {
            Some(id) => ts.api.call(&id).await["status"]
                .as_str()
                .unwrap()
                .to_string(),
            None => "-".to_string(),
        };
        out.push(format!(
            "{to} #{attempt}: POST {status} {error} -> {after_a_day}"
        ));
    }
    insta::assert_snapshot!(out.join("\n"));
}

#[tokio::test]
async fn uk_drama_numbers_are_magic_too() {
    // Each London drama number behaves like the US numbers with the same last digit.
    let ts = all_fail().await;
    let mut placed = Vec::new();
    for digit in 0..=9 {
        for to in [
            format!("+1303555019{digit}"),
            format!("+1212555019{digit}"),
            format!("+44207946019{digit}"),
        ] {
            let a = ts.api.post(json!({"to": to, "objective": "x"})).await;
            let id = a.body["callId"].as_str().map(str::to_string);
            placed.push((digit, a.status, a.body["error"].clone(), id));
        }
    }
    ts.advance(86_400);
    let mut by_digit: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for (digit, status, error, id) in placed {
        let after = match id {
            Some(id) => ts.api.call(&id).await["status"]
                .as_str()
                .unwrap()
                .to_string(),
            None => "-".to_string(),
        };
        by_digit
            .entry(digit)
            .or_default()
            .push(format!("POST {status} {error} -> {after}"));
    }
    for (digit, seen) in by_digit {
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "last digit {digit}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn numbers_outside_the_magic_block_follow_the_distribution() {
    let ts = TestSandbox::start(SandboxConfig {
        outcomes: bys_campaign::sandbox::outcome::Distribution::parse("voicemail=1").unwrap(),
        ..SandboxConfig::default()
    })
    .await;
    for i in [100, 123, 150, 189] {
        ts.api.place(&format!("+1415555{i:04}")).await;
    }
    for call in ts.calls() {
        assert_eq!(call["finalStatus"], "voicemail", "{}", call["to"]);
        assert_eq!(call["plan"]["forced"], false);
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_until_the_window_frees() {
    let ts = TestSandbox::start(config_with(Faults {
        rate_limit: Some(2),
        ..Faults::default()
    }))
    .await;
    ts.api.place("+14155550123").await;
    ts.advance(10);
    ts.api.place("+14155550124").await;
    let limited = ts
        .api
        .post(json!({"to":"+14155550125","objective":"x"}))
        .await;
    assert_eq!(
        (limited.status, limited.body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(limited.retry_after.as_deref(), Some("50"));
    // Another account has its own window.
    let other = ts.api.with_key("bys_ak_other");
    assert_eq!(
        other
            .post(json!({"to":"+14155550125","objective":"x"}))
            .await
            .status,
        200
    );
    ts.advance(50);
    ts.api.place("+14155550125").await;
    assert_eq!(ts.calls().len(), 4);
}

#[tokio::test]
async fn minute_cap_counts_conversation_minutes() {
    let ts = TestSandbox::start(config_with(Faults {
        minute_cap: Some(2),
        ..Faults::default()
    }))
    .await;
    // Unanswered calls use no minutes.
    ts.api.place("+14155550191").await;
    ts.advance(3600);
    ts.api.place("+14155550190").await;
    ts.api.place("+14155550190").await;
    // Both answered within ~25 s and talk 40..240 s: after an hour, over 2 minutes are used.
    ts.advance(3600);
    let a = ts
        .api
        .post(json!({"to":"+14155550123","objective":"x"}))
        .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (429, Some("over_minute_cap"))
    );
    assert_eq!(a.retry_after, None);
}

#[tokio::test]
async fn error_rate_fails_requests_before_any_call_is_placed() {
    let ts = TestSandbox::start(SandboxConfig {
        seed: 3,
        faults: Faults {
            error_rate: 0.5,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let mut tokens = std::collections::BTreeMap::new();
    let mut placed = 0;
    for i in 0..60 {
        let a = ts
            .api
            .post(json!({"to": format!("+1415555{:04}", 100 + i % 50), "objective":"x"}))
            .await;
        if a.status == 200 {
            placed += 1;
        } else {
            assert_eq!(a.status, 503);
            *tokens
                .entry(a.body["error"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    assert!(
        tokens.contains_key("placement_failed") && tokens.contains_key("store_error"),
        "{tokens:?}"
    );
    assert!(placed > 0);
    assert_eq!(
        ts.calls().len(),
        placed,
        "a refused placement must not create a call"
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let ts = TestSandbox::start(config_with(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    }))
    .await;
    let started = std::time::Instant::now();
    let a = ts.api.get("/v1/agent/calls/nope").await;
    assert_eq!(a.status, 404);
    // A lower bound only: the latency is added, whatever else the machine is doing.
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Places a call to `to` whose connection must close with no answer: the transport error.
async fn post_unanswered(ts: &TestSandbox, to: &str) -> reqwest::Error {
    let err = ts
        .api
        .http
        .post(format!("{}/v1/agent/calls", ts.api.base))
        .bearer_auth(KEY)
        .json(&json!({"to": to, "objective": "x"}))
        .send()
        .await
        .expect_err("the connection should be closed without an answer");
    assert!(err.status().is_none(), "{err:?}");
    err
}

#[tokio::test]
async fn drop_after_create_places_the_call_and_closes_the_connection_unanswered() {
    let ts = TestSandbox::start(config_with(Faults {
        drop_after_create: 1.0,
        ..Faults::default()
    }))
    .await;
    // reqwest sees a transport error, not an HTTP answer.
    let err = post_unanswered(&ts, "+14155550123").await;
    assert!(!err.is_timeout(), "{err:?}");

    // At the byte level: the server writes nothing at all before closing.
    let addr = ts.handle.addr();
    let written = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let body = r#"{"to":"+14155550124","objective":"x"}"#;
        write!(
            stream,
            "POST /v1/agent/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = Vec::new();
        // EOF (or a reset) ends the read; either way, no byte of an answer arrives.
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(written.is_empty(), "{}", String::from_utf8_lossy(&written));

    // Both calls exist, and their owner can read them.
    let calls = ts.calls();
    assert_eq!(calls.len(), 2);
    let id = calls[0]["id"].as_str().unwrap();
    assert_eq!(ts.api.call(id).await["status"], "queued");
}

#[tokio::test]
async fn late_create_closes_the_connection_and_places_the_call_later() {
    let ts = TestSandbox::start(config_with(Faults {
        late_create: Some(Duration::from_secs(40)),
        late_create_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    post_unanswered(&ts, "+14155550123").await;
    // The request has not reached the API yet: no call, not even in the list.
    ts.advance(39);
    tokio::task::yield_now().await;
    assert!(ts.calls().is_empty(), "created early: {:?}", ts.calls());
    assert_eq!(ts.api.get("/v1/agent/calls").await.body["calls"], json!([]));
    // 40 simulated seconds after it was sent, it is handled as if it had just arrived.
    ts.advance(1);
    let calls = eventually("the held call to be created", || async {
        let calls = ts.calls();
        (!calls.is_empty()).then_some(calls)
    })
    .await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["to"], "+14155550123");
    let created: jiff::Timestamp = calls[0]["createdAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(created, t0() + Duration::from_secs(40));
}

#[tokio::test]
async fn the_inspection_endpoint_and_the_ledger_record_every_placed_call() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let ts = TestSandbox::start(SandboxConfig {
        ledger: Some(ledger.clone()),
        ..SandboxConfig::default()
    })
    .await;
    // Odd spacing, to show the body is kept byte for byte.
    let raw =
        "{ \"to\" : \"+14155550123\",\n \"objective\":\"Ask about Tuesday\" , \"extra\": [1,2] }";
    for _ in 0..2 {
        let resp = ts
            .api
            .http
            .post(format!("{}/v1/agent/calls", ts.api.base))
            .bearer_auth(KEY)
            .header("Idempotency-Key", "row-7-attempt-1")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    ts.api.with_key("bys_ak_second").place("+14155550124").await;
    // Refused requests are not calls.
    ts.api
        .post(json!({"to": "+19005550123", "objective": "x"}))
        .await;

    let http: Value = reqwest::get(format!("{}/sandbox/calls", ts.api.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls = http["calls"].as_array().unwrap();
    assert_eq!(
        calls.len(),
        3,
        "the same Idempotency-Key does not deduplicate"
    );
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    let first = &calls[0];
    assert_eq!(first["requestBody"], raw);
    assert_eq!(first["request"]["extra"], json!([1, 2]));
    assert_eq!(first["apiKey"], KEY);
    assert_eq!(first["idempotencyKey"], "row-7-attempt-1");
    assert_eq!(first["createdAt"], t0().to_string());
    assert_eq!(calls[2]["apiKey"], "bys_ak_second");
    assert_eq!(calls[2]["idempotencyKey"], Value::Null);

    let lines: Vec<Value> = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, call) in lines.iter().zip(calls) {
        assert_eq!(line["id"], call["id"]);
        assert_eq!(line["requestBody"], call["requestBody"]);
        assert_eq!(line["status"], "queued");
    }
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let ts = TestSandbox::default().await;
    ts.api.place("+14155550123").await;
    let base = ts.api.base.clone();
    ts.handle.shutdown().await;
    let after = reqwest::Client::new()
        .get(format!("{base}/sandbox/calls"))
        .send()
        .await;
    assert!(after.is_err(), "{after:?}");
}

#[tokio::test]
async fn list_calls_returns_the_most_recent_first() {
    let ts = TestSandbox::default().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(ts.api.place(&format!("+1415555{:04}", 120 + i)).await);
        ts.advance(1);
    }
    let two = ts.api.get("/v1/agent/calls?limit=2").await;
    let got: Vec<&str> = two.body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let item = &two.body["calls"][0];
    assert_eq!(item["callId"], item["id"]);
    assert!(item["createdAt"].is_string());
    assert_eq!(
        ts.api.get("/v1/agent/calls").await.body["calls"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let other = ts.api.with_key("bys_ak_other").get("/v1/agent/calls").await;
    assert_eq!(other.body, json!({"calls": []}));
    for bad in ["101", "0", "x"] {
        let a = ts.api.get(&format!("/v1/agent/calls?limit={bad}")).await;
        assert_eq!(a.body["error"], "invalid_request", "{bad}");
    }
}

#[tokio::test]
async fn webhooks_are_signed_and_retried_with_the_same_event_id() {
    let receiver = Receiver::start(1).await;
    let ts = TestSandbox::default().await;
    let fields = json!([{"name": "ok", "type": "boolean"}]);
    let answered = ts
        .api
        .post(json!({"to":"+14155550190","objective":"Ask.","fields":fields,"webhookUrl":receiver.url}))
        .await;
    let answered_id = answered.body["callId"].as_str().unwrap().to_string();
    let unanswered = ts
        .api
        .post(json!({"to":"+14155550191","objective":"Ask.","webhookUrl":receiver.url}))
        .await;
    let unanswered_id = unanswered.body["callId"].as_str().unwrap().to_string();
    // A call without webhookUrl sends nothing.
    ts.api.place("+14155550190").await;

    let delivered = eventually("three events delivered after one failure each", || {
        // Keep simulated time moving so the first attempts and the 5 s retries fall due.
        ts.advance(5);
        let receiver = receiver.clone();
        async move {
            let ok: Vec<_> = receiver
                .deliveries()
                .into_iter()
                .filter(|d| d.answered == 200)
                .collect();
            (ok.len() >= 3).then_some(ok)
        }
    })
    .await;
    let all = receiver.deliveries();
    assert_eq!(
        all.len(),
        6,
        "each event: one refused attempt, one delivered"
    );

    let now = jiff::Timestamp::now().as_second();
    let mut events = Vec::new();
    for d in &delivered {
        let payload = d.json();
        let first_try = all
            .iter()
            .find(|a| a.answered == 500 && a.json()["eventId"] == payload["eventId"])
            .expect("the retry reuses the failed attempt's eventId");
        assert_eq!(first_try.body, d.body, "retries resend the same body");
        let sig = d.signature.as_deref();
        assert_eq!(
            verify(sig, &d.body, "whsec_sandbox", now, TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify(sig, &d.body, "whsec_wrong", now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        let mut changed = d.body.to_vec();
        changed[10] ^= 0x01;
        assert_eq!(
            verify(sig, &changed, "whsec_sandbox", now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(sig, &d.body, "whsec_sandbox", now + 400, TOLERANCE),
            Err(SignatureError::Stale { .. })
        ));
        for key in [
            "event",
            "eventId",
            "timestamp",
            "callId",
            "status",
            "to",
            "objective",
            "startedAt",
            "endedAt",
            "summary",
            "extracted",
            "transcript",
            "recordingUrl",
            "durationSec",
        ] {
            assert!(payload.get(key).is_some(), "{key} missing from {payload}");
        }
        events.push((
            payload["callId"].as_str().unwrap().to_string(),
            payload["event"].as_str().unwrap().to_string(),
            payload,
        ));
    }
    events.sort_by(|a, b| (a.0 == unanswered_id, &a.1).cmp(&(b.0 == unanswered_id, &b.1)));
    let names: Vec<(bool, &str)> = events
        .iter()
        .map(|(id, e, _)| (id == &answered_id, e.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (true, "call.completed"),
            (true, "call.in_progress"),
            (false, "call.no_answer")
        ]
    );
    let completed = &events[0].2;
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["timestamp"], completed["endedAt"]);
    assert!(
        completed["extracted"]
            .as_object()
            .unwrap()
            .contains_key("ok")
    );
    let in_progress = &events[1].2;
    assert_eq!(in_progress["status"], "in_progress");
    assert_eq!(in_progress["endedAt"], Value::Null);
    assert_eq!(in_progress["timestamp"], in_progress["startedAt"]);
    assert_eq!(events[2].2["startedAt"], Value::Null);

    // The receiver records a delivery before it answers; the sandbox logs the attempt once the
    // answer is back, so its log may trail what the receiver has seen.
    let log = eventually("the sandbox to log the three deliveries", || {
        let log = ts.handle.webhook_attempts();
        async move {
            let delivered = log.iter().filter(|a| a.result == "delivered").count();
            (delivered >= 3).then_some(log)
        }
    })
    .await;
    assert_eq!(log.iter().filter(|a| a.result == "failed").count(), 3);
    assert_eq!(log.iter().filter(|a| a.result == "delivered").count(), 3);
}

#[tokio::test]
async fn webhook_fail_rate_loses_attempts_and_gives_up_after_five() {
    let receiver = Receiver::start(0).await;
    let ts = TestSandbox::start(config_with(Faults {
        webhook_fail_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    ts.api
        .post(json!({"to":"+14155550191","objective":"x","webhookUrl":receiver.url}))
        .await;
    let attempts = eventually("five lost attempts", || {
        ts.advance(10);
        let log = ts.handle.webhook_attempts();
        async move { (log.len() >= 5).then_some(log) }
    })
    .await;
    // Each failed attempt names the time of the next, decided as it is logged; the fifth
    // names none, so no sixth is ever queued.
    let next: Vec<bool> = attempts
        .iter()
        .map(|a| a.next_attempt_at.is_some())
        .collect();
    assert_eq!(next, [true, true, true, true, false], "{attempts:?}");
    ts.advance(20 * 60);
    let attempts_after = ts.handle.webhook_attempts();
    assert_eq!(attempts_after.len(), 5, "{attempts_after:?}");
    assert!(attempts.iter().all(|a| a.result == "lost"));
    let numbers: Vec<u32> = attempts_after.iter().map(|a| a.attempt).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert!(
        attempts_after
            .iter()
            .all(|a| a.event_id == attempts_after[0].event_id)
    );
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn the_binary_prints_its_address_runs_scaled_time_and_stops_on_sigterm() {
    let mut sandbox = SandboxProcess::spawn(&["--time-scale", "0.01", "--seed", "4"]);
    let api = Api::new(&sandbox.base_url, KEY);
    let id = api.place("+14155550190").await;
    // 0.01: a call of at most ~4 simulated minutes takes at most ~2.6 real seconds.
    let done = eventually("the call to complete", || {
        let api = api.clone();
        let id = id.clone();
        async move {
            let call = api.call(&id).await;
            (call["status"] == "completed").then_some(call)
        }
    })
    .await;
    let ts = |key: &str| {
        done[key]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let talk = ts("endedAt").duration_since(ts("startedAt"));
    assert_eq!(talk.as_secs(), done["durationSec"].as_i64().unwrap());
    assert!(ts("startedAt") > ts("createdAt"));
    let clock: Value = reqwest::get(format!("{}/sandbox/clock", sandbox.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["timeScale"], 0.01);
    assert_eq!(clock["seed"], 4);

    let pid = sandbox.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || sandbox.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_binary_refuses_invalid_settings() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bys-campaign"))
        .args(["sandbox", "--error-rate", "2"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(78),
        "a bad setting is a configuration error"
    );
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--error-rate must be between 0 and 1"),
        "{stderr}"
    );
}

#[test]
fn a_scenario_file_configures_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.yaml");
    std::fs::write(
        &path,
        "seed: 11\ntime_scale: 0.5\nfaults:\n  rate_limit: 3/min\n",
    )
    .unwrap();
    let sandbox = SandboxProcess::spawn(&["--scenario", path.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clock: Value = reqwest::get(format!("{}/sandbox/clock", sandbox.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(clock["seed"], 11);
        assert_eq!(clock["timeScale"], 0.5);
        let api = Api::new(&sandbox.base_url, KEY);
        for _ in 0..3 {
            api.place("+14155550123").await;
        }
        let limited = api.post(json!({"to":"+14155550123","objective":"x"})).await;
        assert_eq!(limited.body["error"], "rate_limited");
    });
}

#[test]
fn a_rehearsal_refuses_a_caller_id_the_account_was_not_said_to_own() {
    // The demo campaign with a caller ID a real account might not own: the rehearsal's
    // account owns only the sandbox's, so it refuses the run as a real account would.
    let campaign =
        crate::support::CAMPAIGN.replace("call:\n", "call:\n  caller_id: \"+44 20 7946 0100\"\n");
    let rehearse = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "campaign.yaml",
            "--sandbox",
            "--start",
            "2026-12-07 10:00",
        ];
        args.extend_from_slice(extra);
        crate::support::Test::demo()
            .file("campaign.yaml", &campaign)
            .args(&args)
            .run()
    };
    let refused = rehearse(&[]);
    assert_eq!(refused.code, 77, "{}", refused.transcript());
    assert!(
        refused.stderr.contains(
            "hint: the rehearsal's account owns +14155550100 only, and a real account refuses a \
             call.caller_id it does not own the same way; if yours owns +442079460100, rehearse \
             with --caller-id +442079460100"
        ),
        "{}",
        refused.stderr
    );
    // Said to be owned, it is used.
    let owned = rehearse(&["--caller-id", "+44 20 7946 0100"]);
    assert_eq!(owned.code, 0, "{}", owned.transcript());
}
