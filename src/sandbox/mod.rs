//! A faithful, deterministic simulator of the By Your Side Agent API (issue 3).
//!
//! This module owns the sandbox's configuration (flags and scenario file, validated into a
//! [`SandboxConfig`]) and its lifecycle: [`Sandbox::start`] binds, spawns the HTTP server and
//! the webhook scheduler, and returns a [`SandboxHandle`] with the base URL, the call ledger and
//! shutdown. The pieces:
//! - [`request`] validates `POST` bodies; [`error`] is the error answers;
//! - [`outcome`] draws each call's fate (seeded, plus magic numbers); [`content`] writes its
//!   summary, transcript and extracted values; [`calls`] stores calls and derives their status
//!   from the clock;
//! - [`faults`] injects failures; [`webhooks`] delivers signed events; [`server`] is the routes;
//! - [`scenario`] is the YAML file.
//!
//! All time inside the sandbox is simulated time from the [`Clock`] it is started with.

pub mod calls;
pub mod content;
pub mod error;
pub mod faults;
pub mod outcome;
pub mod request;
pub mod scenario;
pub mod server;
pub mod webhooks;

use std::collections::HashMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use calls::Store;
use faults::{Dice, Faults, Window};
use outcome::Distribution;
use scenario::Scenario;
use webhooks::{Attempt, Deliverer, Job};

/// When `base_url` is a sandbox on this machine, a clock that follows its simulated time (read
/// from `GET /sandbox/clock`), with its time scale. `None` for anything else, including every
/// non-loopback address, which is never asked.
pub async fn remote_clock(base_url: &str) -> Option<(Clock, f64)> {
    let url = reqwest::Url::parse(base_url).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return None;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok()?;
    let answer: Value = client
        .get(url.join("/sandbox/clock").ok()?)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let now: jiff::Timestamp = answer.get("now")?.as_str()?.parse().ok()?;
    let scale = answer.get("timeScale")?.as_f64().filter(|s| *s > 0.0)?;
    Some((Clock::scaled(now, scale), scale))
}

/// The caller ID an account owns when none is configured.
pub const DEFAULT_CALLER_ID: &str = "+14155550100";
/// The webhook signing secret when none is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_sandbox";

/// Options of `bys-campaign sandbox`. Flags override the scenario file.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 picks a free one). The bound address is printed as the first line of
    /// stdout, e.g. `http://127.0.0.1:41234`.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to bind. Loopback by default: the sandbox has no real security.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// YAML scenario file with any of the settings below (flags win over the file).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Seed for outcomes and random faults [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,

    /// Simulated time runs 1/SCALE times faster: 0.01 turns a 156 s call into 1.56 s [default: 1].
    #[arg(long, value_name = "SCALE")]
    pub time_scale: Option<f64>,

    /// Require exactly this API key (by default any key starting with `bys_ak_` is accepted).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// A caller ID owned by the account; repeat for several. The first is the default
    /// [default: +14155550100].
    #[arg(long = "caller-id", value_name = "E164")]
    pub caller_ids: Vec<String>,

    /// Outcome weights, e.g. `completed=70,no_answer=12,voicemail=10,declined=5,failed=3` (the
    /// default). Outcomes not named get weight 0.
    #[arg(long, value_name = "WEIGHTS")]
    pub outcomes: Option<String>,

    /// Secret that signs webhooks (X-BYS-Signature) [default: whsec_sandbox].
    #[arg(long, value_name = "SECRET")]
    pub webhook_secret: Option<String>,

    /// Allow N placements per simulated minute per API key; more get 429 `rate_limited` with
    /// `Retry-After`.
    #[arg(long, value_name = "N/min")]
    pub rate_limit: Option<String>,

    /// After M simulated minutes of conversation, placements get 429 `over_minute_cap`.
    #[arg(long, value_name = "M")]
    pub minute_cap: Option<u32>,

    /// Probability (0..1) that an API request answers 503 (`store_error`, or
    /// `placement_failed` for placements).
    #[arg(long, value_name = "P")]
    pub error_rate: Option<f64>,

    /// Real milliseconds added before every API answer.
    #[arg(long, value_name = "MS")]
    pub latency: Option<u64>,

    /// Probability (0..1) that a placed call's answer is never sent: the call exists, the
    /// connection is closed.
    #[arg(long, value_name = "P")]
    pub drop_after_create: Option<f64>,

    /// Hold POSTs on their way for SECONDS of simulated time, as a slow gateway or a queue
    /// would: the client's connection is closed at once with no answer, and the API handles the
    /// request SECONDS later, as if it had just arrived (the call, if valid, is created then).
    #[arg(long, value_name = "SECONDS")]
    pub late_create: Option<f64>,

    /// With --late-create: the probability (0..1) that a POST is held [default: 1].
    #[arg(long, value_name = "P", requires = "late_create")]
    pub late_create_rate: Option<f64>,

    /// Probability (0..1) that a webhook delivery attempt is lost (and retried).
    #[arg(long, value_name = "P")]
    pub webhook_fail_rate: Option<f64>,

    /// Probability (0..1) that a completed call obtains none of the requested fields (every
    /// extracted value null).
    #[arg(long, value_name = "P")]
    pub empty_rate: Option<f64>,

    /// Calls to 555-0195 (which never end by default) stay in_progress M simulated minutes,
    /// then end `completed`: a result that comes long after the call should have ended.
    #[arg(long, value_name = "M")]
    pub stuck_minutes: Option<u32>,

    /// Append every placed call to FILE as a JSON line (the /sandbox/calls record).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,

    /// Simulated time starts at this instant (RFC 3339, e.g. 2026-12-07T06:00:00-05:00)
    /// [default: now]. A runner pointed at this sandbox follows its clock.
    #[arg(long, value_name = "DATETIME")]
    pub start: Option<jiff::Timestamp>,
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A setting is invalid.
    #[error("invalid sandbox setting: {0}")]
    Config(String),
    /// The scenario file could not be read.
    #[error("cannot read the scenario file {path}: {source}")]
    ScenarioRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The scenario file is not valid YAML for a scenario.
    #[error("the scenario file {path} is invalid: {source}")]
    ScenarioParse {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The ledger file could not be opened for appending.
    #[error("cannot open the ledger file {path}: {source}")]
    Ledger {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The validated settings of a sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    pub bind: SocketAddr,
    /// The one key to accept; `None` accepts any `bys_ak_…` key.
    pub api_key: Option<String>,
    /// The account's caller IDs; the first is the default. Never empty.
    pub caller_ids: Vec<String>,
    pub seed: u64,
    /// Used by the command to build its [`Clock`]; a started sandbox uses the clock it is given.
    pub time_scale: f64,
    pub outcomes: Distribution,
    pub webhook_secret: String,
    pub faults: Faults,
    pub ledger: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            api_key: None,
            caller_ids: vec![DEFAULT_CALLER_ID.to_string()],
            seed: 0,
            time_scale: 1.0,
            outcomes: Distribution::default(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            faults: Faults::default(),
            ledger: None,
        }
    }
}

impl SandboxConfig {
    /// Reads the scenario file (if any), lays the flags over it and validates the result.
    pub fn from_args(args: &SandboxArgs) -> Result<SandboxConfig, SandboxError> {
        let scenario = match &args.scenario {
            None => Scenario::default(),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SandboxError::ScenarioRead {
                        path: path.clone(),
                        source,
                    })?;
                Scenario::parse(&text).map_err(|source| SandboxError::ScenarioParse {
                    path: path.clone(),
                    source,
                })?
            }
        };
        Self::merge(args, scenario)
    }

    fn merge(args: &SandboxArgs, file: Scenario) -> Result<SandboxConfig, SandboxError> {
        let bad = SandboxError::Config;
        let f = file.faults;
        let defaults = SandboxConfig::default();

        let time_scale = args.time_scale.or(file.time_scale).unwrap_or(1.0);
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(bad(format!(
                "--time-scale must be a positive number, not {time_scale}"
            )));
        }
        let caller_ids = if !args.caller_ids.is_empty() {
            args.caller_ids.clone()
        } else {
            file.caller_ids.unwrap_or(defaults.caller_ids)
        };
        if caller_ids.is_empty() {
            return Err(bad("the account needs at least one caller ID".into()));
        }
        for id in &caller_ids {
            request::check_destination(id).map_err(|e| {
                bad(format!(
                    "caller ID {id} is not a usable E.164 number: {}",
                    e.message
                ))
            })?;
        }
        let outcomes = match &args.outcomes {
            Some(text) => Distribution::parse(text).map_err(|e| bad(format!("--outcomes: {e}")))?,
            None => file.outcomes.unwrap_or_default(),
        };
        if outcomes.total() == 0 {
            return Err(bad("the outcome weights add up to 0".into()));
        }
        let api_key = args.api_key.clone().or(file.api_key);
        if api_key.as_deref().is_some_and(str::is_empty) {
            return Err(bad("--api-key must not be empty".into()));
        }
        let webhook_secret = args
            .webhook_secret
            .clone()
            .or(file.webhook_secret)
            .unwrap_or(defaults.webhook_secret);
        if webhook_secret.is_empty() {
            return Err(bad("--webhook-secret must not be empty".into()));
        }
        let rate_limit = match (&args.rate_limit, f.rate_limit) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(rate)) => Some(rate.as_text()),
            (None, None) => None,
        };
        let probability = |name: &str, flag: Option<f64>, file: Option<f64>| {
            faults::check_probability(name, flag.or(file).unwrap_or(0.0)).map_err(bad)
        };
        let late_create = late_create(args.late_create.or(f.late_create_secs))?;
        let faults = Faults {
            rate_limit: rate_limit
                .map(|r| {
                    faults::parse_rate_limit(&r).map_err(|e| bad(format!("--rate-limit: {e}")))
                })
                .transpose()?,
            minute_cap: args.minute_cap.or(f.minute_cap),
            error_rate: probability("--error-rate", args.error_rate, f.error_rate)?,
            latency: Duration::from_millis(args.latency.or(f.latency_ms).unwrap_or(0)),
            drop_after_create: probability(
                "--drop-after-create",
                args.drop_after_create,
                f.drop_after_create,
            )?,
            late_create,
            late_create_rate: match late_create {
                None => 0.0,
                Some(_) => faults::check_probability(
                    "--late-create-rate",
                    args.late_create_rate.or(f.late_create_rate).unwrap_or(1.0),
                )
                .map_err(bad)?,
            },
            webhook_fail_rate: probability(
                "--webhook-fail-rate",
                args.webhook_fail_rate,
                f.webhook_fail_rate,
            )?,
            empty_rate: probability("--empty-rate", args.empty_rate, f.empty_rate)?,
            stuck_minutes: args.stuck_minutes.or(f.stuck_minutes),
        };
        Ok(SandboxConfig {
            bind: SocketAddr::new(args.bind, args.port),
            api_key,
            caller_ids,
            seed: args.seed.or(file.seed).unwrap_or(0),
            time_scale,
            outcomes,
            webhook_secret,
            faults,
            ledger: args.ledger.clone().or(file.ledger),
        })
    }
}

/// Checks a `--late-create` delay: a finite, non-negative number of simulated seconds.
fn late_create(seconds: Option<f64>) -> Result<Option<Duration>, SandboxError> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(SandboxError::Config(format!(
            "--late-create must be a number of seconds, 0 or more, not {s}"
        ))),
    }
}

/// State shared by the routes and the webhook scheduler.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub clock: Clock,
    pub base_url: String,
    pub store: Mutex<Store>,
    /// Rate-limit windows per API key.
    pub windows: Mutex<HashMap<String, Window>>,
    pub dice: Arc<Mutex<Dice>>,
    pub webhooks: mpsc::UnboundedSender<Job>,
    pub deliverer: Arc<Deliverer>,
    pub ledger: Option<Mutex<File>>,
}

/// Resolves once shutdown is requested (or the sender is gone, which means the same).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, not across the caller's awaits.
    let _ = shutdown.wait_for(|&stop| stop).await;
}

/// A fresh random (version 4) UUID.
pub(crate) fn new_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// The simulator, started in-process.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds `config.bind`, starts serving and delivering webhooks, and returns at once.
    /// Must be called inside a tokio runtime.
    pub async fn start(config: SandboxConfig, clock: Clock) -> Result<SandboxHandle, SandboxError> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: config.bind,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let ledger = match &config.ledger {
            None => None,
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SandboxError::Ledger {
                        path: path.clone(),
                        source,
                    })?,
            )),
        };

        let dice = Arc::new(Mutex::new(Dice::new(config.seed)));
        let deliverer = Arc::new(Deliverer {
            client: reqwest::Client::builder()
                .user_agent(concat!("bys-campaign-sandbox/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| SandboxError::Config(format!("cannot build the HTTP client: {e}")))?,
            secret: config.webhook_secret.clone(),
            fail_rate: config.faults.webhook_fail_rate,
            dice: Arc::clone(&dice),
            base_url: base_url.clone(),
            clock: clock.clone(),
            log: Mutex::new(Vec::new()),
        });
        let (job_tx, job_rx) = mpsc::unbounded_channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            clock,
            base_url: base_url.clone(),
            store: Mutex::new(Store::default()),
            windows: Mutex::new(HashMap::new()),
            dice,
            webhooks: job_tx.clone(),
            deliverer: Arc::clone(&deliverer),
            ledger,
        });

        let scheduler = tokio::spawn(webhooks::run(
            deliverer,
            job_tx,
            job_rx,
            shutdown_rx.clone(),
        ));
        let server = tokio::spawn(server::serve(
            listener,
            server::router(Arc::clone(&shared)),
            shutdown_rx,
        ));
        Ok(SandboxHandle {
            addr,
            base_url,
            shared,
            shutdown: shutdown_tx,
            tasks: vec![server, scheduler],
        })
    }
}

/// A running sandbox. Dropping it without [`SandboxHandle::shutdown`] leaves it running until
/// the runtime ends.
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SandboxHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, the base URL for API clients.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The clock the sandbox runs on.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// Every call ever placed, oldest first, as `GET /sandbox/calls` shows them now.
    pub fn calls(&self) -> Vec<Value> {
        server::inspect_calls(&self.shared)
    }

    /// Every webhook delivery attempt so far, in the order they finished.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.shared.deliverer.log.lock().expect("log lock").clone()
    }

    /// Stops accepting connections, lets open ones finish (up to a few seconds), stops webhook
    /// delivery and waits for it all.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn args(argv: &[&str]) -> SandboxArgs {
        Cli::parse_from(std::iter::once("sandbox").chain(argv.iter().copied())).args
    }

    #[test]
    fn defaults() {
        let config = SandboxConfig::from_args(&args(&[])).unwrap();
        assert_eq!(config, SandboxConfig::default());
    }

    #[test]
    fn flags_win_over_the_scenario_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "seed: 9\ntime_scale: 0.5\ncaller_ids: ['+14155550101']\nfaults: {rate_limit: 10/min, error_rate: 0.2, latency_ms: 5}\n",
        )
        .unwrap();
        let scenario = path.to_str().unwrap();
        let config =
            SandboxConfig::from_args(&args(&["--scenario", scenario, "--seed", "3"])).unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.time_scale, 0.5);
        assert_eq!(config.caller_ids, ["+14155550101"]);
        assert_eq!(config.faults.rate_limit, Some(10));
        assert_eq!(config.faults.error_rate, 0.2);
        assert_eq!(config.faults.latency, Duration::from_millis(5));
    }

    #[test]
    fn invalid_settings_are_refused_with_a_reason() {
        for argv in [
            &["--time-scale", "0"][..],
            &["--error-rate", "1.5"],
            &["--rate-limit", "often"],
            &["--outcomes", "completed=0"],
            &["--caller-id", "555"],
            &["--webhook-secret", ""],
            &["--scenario", "/nonexistent/scenario.yaml"],
        ] {
            let err = SandboxConfig::from_args(&args(argv)).unwrap_err();
            assert!(!err.to_string().is_empty(), "{argv:?}");
        }
    }
}

#[cfg(test)]
mod remote_clock_tests {
    use super::*;

    #[tokio::test]
    async fn a_runner_can_follow_a_sandbox_clock() {
        let start: jiff::Timestamp = "2026-12-07T17:00:00Z".parse().unwrap();
        let handle = Sandbox::start(SandboxConfig::default(), Clock::scaled(start, 0.001))
            .await
            .unwrap();
        let (clock, scale) = remote_clock(handle.base_url())
            .await
            .expect("a loopback sandbox answers");
        assert_eq!(scale, 0.001);
        let drift = clock.now().duration_since(handle.clock().now()).abs();
        assert!(drift < jiff::SignedDuration::from_secs(60), "{drift:?}");
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn other_hosts_are_never_asked() {
        assert!(remote_clock("https://api.byourside.ai").await.is_none());
        assert!(remote_clock("http://10.0.0.1:8080").await.is_none());
    }
}
