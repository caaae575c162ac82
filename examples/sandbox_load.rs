//! Load benchmark for the sandbox: 1,000 calls in flight and ~500 requests/s over loopback.
//!
//! ```text
//! cargo run --release --example sandbox_load -- [--calls 1000] [--rps 500] [--seconds 20]
//!     [--time-scale 0.5] [--placers 100]
//! ```
//!
//! Starts the sandbox in-process on 127.0.0.1:0 with a scaled clock, places `--calls` calls
//! (`--placers` requests at a time, each call with a webhook to a local receiver), then keeps a paced mix of requests going for
//! `--seconds` (≈90 % `GET /v1/agent/calls/{id}`, 5 % `POST`, 5 % list). It prints what it
//! measured; it asserts nothing, since figures depend on the machine:
//! - achieved requests/s and latency percentiles, errors;
//! - how many calls were in flight (not terminal) at the start and end of the steady phase;
//! - webhook lag: real time between an event's simulated due time and its arrival at the
//!   receiver, which shows whether the sandbox falls behind its own clock;
//! - peak RSS of the process (sandbox, client and receiver together) from /proc/self/status.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use bys_campaign::clock::Clock;
use bys_campaign::sandbox::{Sandbox, SandboxConfig};
use jiff::Timestamp;
use serde_json::{Value, json};

const KEY: &str = "bys_ak_bench";
/// Valid US area codes for fictional 555-01xx numbers outside the magic block (0190..0199).
const AREA_CODES: [u32; 10] = [201, 212, 303, 312, 415, 512, 617, 702, 808, 917];

struct Options {
    calls: usize,
    rps: u64,
    seconds: u64,
    time_scale: f64,
    placers: usize,
}

fn options() -> Options {
    let mut o = Options {
        calls: 1_000,
        rps: 500,
        seconds: 20,
        time_scale: 0.5,
        placers: 100,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or("");
        match pair[0].as_str() {
            "--calls" => o.calls = value.parse().expect("--calls N"),
            "--rps" => o.rps = value.parse().expect("--rps N"),
            "--seconds" => o.seconds = value.parse().expect("--seconds N"),
            "--time-scale" => o.time_scale = value.parse().expect("--time-scale F"),
            "--placers" => o.placers = value.parse().expect("--placers N"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn number(i: usize) -> String {
    let area = AREA_CODES[i % AREA_CODES.len()];
    let line = 100 + (i / AREA_CODES.len()) % 90;
    format!("+1{area}5550{line:03}")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn status_kb(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l[key.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

#[derive(Default)]
struct Received {
    /// (arrival, simulated due time of the event)
    events: Vec<(Instant, Timestamp)>,
}

async fn receive(State(received): State<Arc<Mutex<Received>>>, body: Bytes) -> &'static str {
    let arrived = Instant::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body)
        && let Some(t) = v["timestamp"].as_str().and_then(|t| t.parse().ok())
    {
        received.lock().unwrap().events.push((arrived, t));
    }
    "ok"
}

async fn in_flight(http: &reqwest::Client, base: &str) -> (usize, usize) {
    let all: Value = http
        .get(format!("{base}/sandbox/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls = all["calls"].as_array().unwrap();
    let running = calls
        .iter()
        .filter(|c| {
            matches!(
                c["status"].as_str(),
                Some("queued" | "ringing" | "in_progress")
            )
        })
        .count();
    (running, calls.len())
}

#[tokio::main]
async fn main() {
    let o = options();
    let received = Arc::new(Mutex::new(Received::default()));
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook_listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&received));
    tokio::spawn(async move { axum::serve(hook_listener, app).await.unwrap() });

    let sim_start = Timestamp::now();
    let real_start = Instant::now();
    let clock = Clock::scaled(sim_start, o.time_scale);
    let sandbox = Sandbox::start(
        SandboxConfig {
            time_scale: o.time_scale,
            seed: 1,
            ..SandboxConfig::default()
        },
        clock.clone(),
    )
    .await
    .unwrap();
    let base = sandbox.base_url().to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    println!(
        "sandbox_load: {} calls, target {} req/s for {} s, time scale {} (1 real s = {} simulated s)",
        o.calls,
        o.rps,
        o.seconds,
        o.time_scale,
        1.0 / o.time_scale
    );

    // Phase 1: place every call, `--placers` requests at a time (as a client with a
    // concurrency limit would; 1,000 simultaneous connections measure the kernel, not us).
    let placing = Instant::now();
    let placers = Arc::new(tokio::sync::Semaphore::new(o.placers));
    let mut tasks = Vec::with_capacity(o.calls);
    for i in 0..o.calls {
        let http = http.clone();
        let url = format!("{base}/v1/agent/calls");
        let body = json!({
            "to": number(i),
            "objective": "Confirm the delivery window for the order.",
            "fields": [{"name": "confirmed", "type": "boolean"}, {"name": "window"}],
            "webhookUrl": hook_url,
        });
        let placers = Arc::clone(&placers);
        tasks.push(tokio::spawn(async move {
            let _permit = placers.acquire_owned().await.ok()?;
            let resp = http
                .post(url)
                .bearer_auth(KEY)
                .json(&body)
                .send()
                .await
                .ok()?;
            let v: Value = resp.json().await.ok()?;
            v["callId"].as_str().map(str::to_string)
        }));
    }
    let mut ids = Vec::with_capacity(o.calls);
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            ids.push(id);
        }
    }
    let placed_in = placing.elapsed();
    println!(
        "placed {}/{} calls, {} requests at a time, in {:.2} s",
        ids.len(),
        o.calls,
        o.placers,
        placed_in.as_secs_f64()
    );
    println!(
        "RSS after placing (before any /sandbox/calls dump): {}",
        status_kb("VmRSS:")
    );
    let (running, total) = in_flight(&http, &base).await;
    println!("in flight at the start of the steady phase: {running} of {total} calls");

    // Phase 2: a paced mix at the target rate, spread over 50 workers.
    let ids = Arc::new(ids);
    let workers = 50u64;
    let per_worker = Duration::from_secs_f64(workers as f64 / o.rps as f64);
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let errors = Arc::new(Mutex::new(0u64));
    let steady = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let http = http.clone();
        let base = base.clone();
        let ids = Arc::clone(&ids);
        let latencies = Arc::clone(&latencies);
        let errors = Arc::clone(&errors);
        handles.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(per_worker);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n = w as usize;
            while Instant::now() < deadline {
                tick.tick().await;
                n += workers as usize;
                let started = Instant::now();
                let result = match n % 20 {
                    0 => {
                        http.post(format!("{base}/v1/agent/calls"))
                            .bearer_auth(KEY)
                            .json(&json!({"to": number(n), "objective": "Ask."}))
                            .send()
                            .await
                    }
                    1 => {
                        http.get(format!("{base}/v1/agent/calls?limit=20"))
                            .bearer_auth(KEY)
                            .send()
                            .await
                    }
                    _ => {
                        let id = &ids[n % ids.len()];
                        http.get(format!("{base}/v1/agent/calls/{id}"))
                            .bearer_auth(KEY)
                            .send()
                            .await
                    }
                };
                let ok = match result {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let took = started.elapsed();
                if ok {
                    latencies.lock().unwrap().push(took);
                } else {
                    *errors.lock().unwrap() += 1;
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = steady.elapsed();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let errors = *errors.lock().unwrap();
    println!(
        "steady phase: {} requests in {:.2} s = {:.0} req/s achieved, {errors} errors",
        lat.len() as u64 + errors,
        elapsed.as_secs_f64(),
        (lat.len() as u64 + errors) as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.9).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        percentile(&lat, 1.0).as_secs_f64() * 1e3,
    );
    let (running, total) = in_flight(&http, &base).await;
    println!("in flight at the end: {running} of {total} calls");

    // Did the sandbox keep up with its own clock? Map each event's simulated due time to the
    // real instant it corresponds to and compare with when it arrived.
    let mut lags: Vec<Duration> = received
        .lock()
        .unwrap()
        .events
        .iter()
        .map(|(arrived, due)| {
            let sim = due.duration_since(sim_start).as_secs_f64().max(0.0);
            let due_real = real_start + Duration::from_secs_f64(sim * o.time_scale);
            arrived.saturating_duration_since(due_real)
        })
        .collect();
    lags.sort();
    println!(
        "webhooks received: {}; lag behind the simulated clock (real time): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        percentile(&lags, 0.5).as_secs_f64() * 1e3,
        percentile(&lags, 0.99).as_secs_f64() * 1e3,
        percentile(&lags, 1.0).as_secs_f64() * 1e3,
    );
    println!(
        "memory (whole process: sandbox + client + receiver): peak RSS {}, current RSS {}",
        status_kb("VmHWM:"),
        status_kb("VmRSS:")
    );
    sandbox.shutdown().await;
}
