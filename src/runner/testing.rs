//! A rig for the runner's parts in unit tests: a campaign imported into a state file in a temp
//! folder, the real sandbox served on 127.0.0.1:0 inside the test's runtime on a
//! [`ManualClock`], and a [`Runner`] talking to it. No child process and no sleep: time moves
//! only when a test advances the clock, and every wait for an answer is bounded and fails.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::{Options, Runner};
use crate::api::Outcome;
use crate::api::{ApiKey, Client, ClientOptions};
use crate::clock::ManualClock;
use crate::progress::Progress;
use crate::sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use crate::state::ContactState;
use crate::store::{Store, StoreError};

/// The longest a test waits (real time) for an answer of the in-process sandbox.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

pub(super) struct Rig {
    pub(super) runner: Runner,
    pub(super) clock: ManualClock,
    pub(super) sandbox: SandboxHandle,
    _dir: tempfile::TempDir,
}

/// A contact as the state file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    pub(super) key: String,
    pub(super) state: ContactState,
    pub(super) outcome: Option<Outcome>,
    pub(super) calls: u32,
}

pub(super) fn t0() -> Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

impl Rig {
    /// `phones`, one contact each, under a campaign with `limits` (YAML lines under `limits:`),
    /// against a sandbox with `config`.
    pub(super) async fn new(phones: &[&str], limits: &str, config: SandboxConfig) -> Rig {
        Rig::with(phones, limits, config, Options::default()).await
    }

    pub(super) async fn with(
        phones: &[&str],
        limits: &str,
        config: SandboxConfig,
        options: Options,
    ) -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let csv: String = std::iter::once("phone,name\n".to_owned())
            .chain(phones.iter().map(|p| format!("{p},Ann\n")))
            .collect();
        let rest = if limits.is_empty() {
            String::new()
        } else {
            format!("limits:\n{limits}")
        };
        let campaign = crate::campaign::testing::campaign(dir.path(), "", &rest, &csv);
        let clock = ManualClock::new(t0());
        let mut store = Store::open(&dir.path().join("state.db")).expect("state file");
        crate::scan::import(&mut store, &campaign, clock.now()).expect("import");
        let sandbox = Sandbox::start(config, clock.clock())
            .await
            .expect("sandbox starts");
        let key = ApiKey::from_env_value("bys_ak_test_0001").expect("key");
        let client =
            Client::new(sandbox.base_url(), key, ClientOptions::default()).expect("client");
        let runner = Runner::new(
            Arc::new(campaign),
            store,
            client,
            clock.clock(),
            options,
            Progress::quiet(),
        );
        Rig {
            runner,
            clock,
            sandbox,
            _dir: dir,
        }
    }

    pub(super) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(super) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Hands the answers to their parts as they come (those already waiting together, as the
    /// driver does) until `done` holds.
    pub(super) async fn until(&mut self, done: impl Fn(&Runner) -> bool) {
        while !done(&self.runner) {
            let event = tokio::time::timeout(ANSWER_WAIT, self.runner.rx.recv())
                .await
                .expect("the sandbox answers in time")
                .expect("the runner's channel is open");
            self.runner.handle_together(event).expect("handled");
        }
    }

    /// What the runner does at its start: recovers what an earlier run left open, and reads
    /// the list of calls once so that placing may begin.
    pub(super) async fn start(&mut self) {
        self.runner.recover().expect("recovered");
        self.read().await;
        assert!(self.runner.resolve.ready(), "the first read came back");
    }

    /// Sends the read of the list of calls if one is due, and handles its answer.
    pub(super) async fn read(&mut self) {
        self.runner.start_read(self.now());
        self.until(|r| !r.resolve.reading()).await;
    }

    /// Places what is due now and handles the POSTs' answers; how many POSTs were sent.
    pub(super) async fn place(&mut self) -> usize {
        let before = self.runner.place.posts.len();
        self.runner.place_due(self.now()).expect("placed");
        let sent = self.runner.place.posts.len() - before;
        self.until(|r| r.place.posts.is_empty()).await;
        sent
    }

    /// Sends the polls due now and handles their answers; how many were sent.
    pub(super) async fn poll(&mut self) -> u64 {
        let before = self.runner.summary.polls;
        self.runner.start_polls(self.now());
        self.until(|r| r.following.polls_out() == 0).await;
        self.runner.summary.polls - before
    }

    /// Every contact, in CSV order.
    pub(super) fn rows(&mut self) -> Vec<Row> {
        self.runner.commit_group().expect("committed");
        let mut rows = Vec::new();
        self.runner
            .store
            .for_each_result(true, |row| {
                rows.push(Row {
                    key: row.key.unwrap_or_default(),
                    state: row.state,
                    outcome: row.outcome,
                    calls: row.calls,
                });
                Ok::<_, StoreError>(())
            })
            .expect("results");
        rows
    }

    /// The states of every contact, in CSV order.
    pub(super) fn states(&mut self) -> Vec<ContactState> {
        self.rows().into_iter().map(|r| r.state).collect()
    }
}
