//! Sandbox helpers: an in-process sandbox on a manual clock, a small API client, the real
//! `bys-campaign sandbox` binary on port 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bys_campaign::clock::ManualClock;
use bys_campaign::sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use jiff::Timestamp;
use serde_json::{Value, json};

pub const KEY: &str = "bys_ak_test_0001";

/// The instant manual clocks start at, so snapshots are stable.
pub fn t0() -> Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

/// A sandbox started in-process on 127.0.0.1:0 with a manual clock.
pub struct TestSandbox {
    pub handle: SandboxHandle,
    pub clock: ManualClock,
    pub api: Api,
}

impl TestSandbox {
    pub async fn start(config: SandboxConfig) -> TestSandbox {
        let clock = ManualClock::new(t0());
        let handle = Sandbox::start(config, clock.clock())
            .await
            .expect("sandbox starts");
        let api = Api::new(handle.base_url(), KEY);
        TestSandbox { handle, clock, api }
    }

    pub async fn default() -> TestSandbox {
        TestSandbox::start(SandboxConfig::default()).await
    }

    /// Moves simulated time forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// The inspection records.
    pub fn calls(&self) -> Vec<Value> {
        self.handle.calls()
    }
}

/// An answer: status, `Retry-After` if any, and the JSON body (or `null`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// A minimal API client with a fixed key.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.to_string(),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub fn with_key(&self, key: &str) -> Api {
        Api {
            key: key.to_string(),
            ..self.clone()
        }
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            retry_after,
            body,
        }
    }

    /// `POST /v1/agent/calls` with a raw body.
    pub async fn post_raw(&self, body: &str) -> Answer {
        let resp = self
            .http
            .post(format!("{}/v1/agent/calls", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("POST answered");
        Api::answer(resp).await
    }

    pub async fn post(&self, body: Value) -> Answer {
        self.post_raw(&body.to_string()).await
    }

    /// Places a call to `to` and returns its id, asserting success.
    pub async fn place(&self, to: &str) -> String {
        let answer = self
            .post(json!({"to": to, "objective": "Confirm the order."}))
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body["callId"].as_str().unwrap().to_string()
    }

    pub async fn get(&self, path: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("GET answered");
        Api::answer(resp).await
    }

    pub async fn call(&self, id: &str) -> Value {
        let answer = self.get(&format!("/v1/agent/calls/{id}")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for up to 20 s (generous: the machine is
/// shared and slow at times; nothing here measures speed).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real binary, `bys-campaign sandbox --port 0 ARGS`, killed when dropped.
pub struct SandboxProcess {
    pub child: Child,
    pub base_url: String,
}

impl SandboxProcess {
    pub fn spawn(args: &[&str]) -> SandboxProcess {
        let mut child = Command::new(super::binary())
            .arg("sandbox")
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a first line");
        let base_url = first.trim().to_string();
        assert!(
            base_url.starts_with("http://127.0.0.1:"),
            "first line of stdout should be the address, got {first:?}"
        );
        SandboxProcess { child, base_url }
    }

    /// Places a call to `to` with `key` as any client would (`POST /v1/agent/calls`); its id.
    pub fn place(&self, key: &str, to: &str, objective: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let body: Value = reqwest::Client::new()
                .post(format!("{}/v1/agent/calls", self.base_url))
                .bearer_auth(key)
                .json(&serde_json::json!({"to": to, "objective": objective}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["callId"].as_str().expect("a call id").to_owned()
        })
    }

    /// The sandbox's simulated time now.
    pub fn now(&self) -> Timestamp {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let body: Value = reqwest::get(format!("{}/sandbox/clock", self.base_url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["now"].as_str().unwrap().parse().unwrap()
        })
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        // Only this test's own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
