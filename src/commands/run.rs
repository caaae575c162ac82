//! `bys-campaign run`: import the contacts, then place, follow and record every call.
//!
//! Order of business: load and check the campaign; take the state file's lock; import the CSV
//! (saying what changed since the last run); ask before the first live placement (or require
//! `--yes` without a terminal); run until done or stopped; write the results.
//!
//! Stopping: the first Ctrl-C or SIGTERM stops new placements and follows the calls already
//! placed to their end (the API cannot cancel a ringing call); a second one exits at once. Either
//! way the state file is consistent: every step is whole or absent, and the runner commits its
//! steps before any POST they lead to is sent (see `runner`).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use tokio::sync::watch;

use super::exit::Exit;
use crate::api::{ApiKey, Client, ClientOptions, DEFAULT_BASE_URL};
use crate::campaign::{Campaign, LoadOptions};
use crate::cli::RunArgs;
use crate::clock::Clock;
use crate::export::ExportOptions;
use crate::progress::Progress;
use crate::runner::push::Inbox;
use crate::runner::{self, Cap, Ending, Runner, Stop};
use crate::sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use crate::store::account::{self, Account};
use crate::store::{ApiKind, BREAKER_SINCE, BREAKER_TRIPPED, Lock, RunEnding, Store};
use crate::webhook::mode::{self, Api, Setup};
use crate::webhook::receiver;

/// The key the built-in sandbox is called with; it accepts any `bys_ak_` key.
const SANDBOX_KEY: &str = "bys_ak_sandbox_rehearsal";

pub fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    // The first line of every run, whatever follows: a log that cron or systemd appends to says
    // when each run started (real time, in UTC), with which version, for which campaign.
    eprintln!("{}", started_line(Timestamp::now(), &args.campaign));
    let options = LoadOptions {
        contacts: args.contacts.clone(),
        // A rehearsal's day is its simulated one.
        at: args.start.clone().filter(|_| args.sandbox),
        latest: false,
    };
    let campaign = Campaign::load_with(&args.campaign, &options)?;
    let key = if args.sandbox {
        None
    } else {
        Some(api_key(args)?)
    };
    let flags = mode::Flags {
        listen: args.webhook_listen,
        public_url: args.webhook_public_url.clone(),
    };
    let webhook = mode::setup(&campaign, &flags, api(args), |name| {
        std::env::var(name).ok()
    })?;
    let state_path = campaign.state_path(args.state.state.as_deref(), args.sandbox);
    let _lock = Lock::acquire(&state_path, Timestamp::now())?;
    let store = Store::open(&state_path)?;
    store.claim_campaign(&campaign.name)?;
    // One thread: the driver and the HTTP requests it spawns are small and I/O-bound, and on
    // more threads every request's answer woke another one (runner_bench: a fifth of the
    // runner's CPU went to switching threads).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(drive(args, Arc::new(campaign), store, key, webhook))
}

/// `run started 2026-12-03T19:45:00Z: bys-campaign 0.1.0, campaign reminders.yaml, pid 4242`.
fn started_line(now: Timestamp, campaign: &std::path::Path) -> String {
    format!(
        "run started {}: bys-campaign {}, campaign {}, pid {}",
        now.round(jiff::Unit::Second).unwrap_or(now),
        env!("CARGO_PKG_VERSION"),
        crate::text::escape_control(&campaign.display().to_string()),
        std::process::id()
    )
}

fn api_key(args: &RunArgs) -> anyhow::Result<ApiKey> {
    if let Some(path) = &args.api_key_file {
        return Ok(ApiKey::from_file(path)?);
    }
    match std::env::var("BYS_API_KEY") {
        Ok(value) => Ok(ApiKey::from_env_value(&value)?),
        Err(_) => Err(super::error::NoApiKey {
            campaign: args.campaign.clone(),
        }
        .into()),
    }
}

async fn drive(
    args: &RunArgs,
    shared: Arc<Campaign>,
    mut store: Store,
    key: Option<ApiKey>,
    webhook: Option<Setup>,
) -> anyhow::Result<Exit> {
    let campaign = &*shared;
    let (clock, client, sandbox, simulated, account_id) = match key {
        None => {
            let start = match &args.start {
                Some(text) => rehearsal_start(text, campaign)?,
                None => Timestamp::now(),
            };
            let clock = Clock::scaled(start, args.time_scale);
            let secret = webhook.as_ref().map(|w| w.secret.clone());
            let sandbox = start_sandbox(args, clock.clone(), secret).await?;
            let key = ApiKey::from_env_value(SANDBOX_KEY)?;
            let client = Client::new(sandbox.base_url(), key, ClientOptions::default())?;
            eprintln!(
                "rehearsal: calling the built-in sandbox at {} (nobody is called; time runs {}x faster{})",
                sandbox.base_url(),
                (1.0 / args.time_scale).round(),
                if args.start.is_some() {
                    format!(", from {start}")
                } else {
                    String::new()
                }
            );
            (clock, client, Some(sandbox), true, None)
        }
        Some(key) => {
            let url = args.api_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
            let (clock, simulated) = match crate::sandbox::remote_clock(url).await {
                Some((clock, scale)) => {
                    eprintln!(
                        "{url} is a bys-campaign sandbox: following its clock (time runs {}x faster)",
                        (1.0 / scale).round()
                    );
                    (clock, true)
                }
                None => (Clock::system(), false),
            };
            let account_id = key.account_id(url);
            (
                clock,
                Client::new(url, key, ClientOptions::default())?,
                None,
                simulated,
                Some(account_id),
            )
        }
    };
    // A state file holds either simulated calls or real ones, never both: a rehearsal's results
    // must not pass for real ones, nor real contacts be settled by simulated calls.
    store.claim_api(if simulated {
        ApiKind::Sandbox
    } else {
        ApiKind::Live
    })?;
    store.claim_identity(&match &campaign.input.key_column {
        Some(column) => format!("column `{}`", column.name),
        None => "their phone number".to_owned(),
    })?;
    let sandbox_run = sandbox.is_some();
    // A row whose deadline passed ends `expired`, not `removed`, when today's CSV leaves it out.
    runner::deadline::expire(&store, campaign, clock.now())?;
    let imported = crate::scan::import(&mut store, campaign, clock.now())?;
    // What the reading commands load the campaign with (see `commands::load_reading`).
    let contacts =
        std::fs::canonicalize(&campaign.input.path).unwrap_or_else(|_| campaign.input.path.clone());
    store.set_meta(super::reading::CONTACTS_FILE, &contacts.to_string_lossy())?;
    let s = &imported.summary;
    let (census, _) = store.census()?;
    eprintln!(
        "contacts: {} in {} ({} new, {} edited, {} removed since the last run)",
        census.line(),
        campaign.input.path.display(),
        s.added,
        s.edited,
        s.removed,
    );
    for warning in &imported.suppression_warnings {
        eprintln!(
            "warning: suppression entry is not a phone number, it suppresses nothing: {warning}"
        );
    }
    if args.reset_breaker {
        store.clear_meta(BREAKER_TRIPPED)?;
        store.set_meta(BREAKER_SINCE, &clock.now().to_string())?;
        eprintln!(
            "--reset-breaker: the circuit breaker is closed; it counts the calls from now on"
        );
    }
    if args.retry_unknown {
        let released = store.release_unknown(clock.now())?;
        if released > 0 {
            eprintln!(
                "--retry-unknown: {released} contact(s) whose call may have gone out will be called again"
            );
        }
        if let Some((held, until)) = store.unknown_held(clock.now())? {
            eprintln!(
                "--retry-unknown: {held} contact(s) stay unknown: their call may still be going on until {} \
                 (limits.max_call_minutes after it became unknown); run with --retry-unknown after that",
                until.round(jiff::Unit::Second).unwrap_or(until)
            );
        }
    }
    let pending = store.pending_count()?;
    if sandbox.is_none()
        && pending > 0
        && !confirm(args, campaign, &store, pending, client.base_url())?
    {
        eprintln!("nothing placed");
        return Ok(Exit::Ok);
    }
    // Listen before the first placement: a signal that came between the runner's first POST
    // and the first poll of `signals` would otherwise end the process without a graceful stop.
    let listener = Signals::new();
    let (stop_tx, stop_rx) = watch::channel(Stop::No);
    let progress = Progress::new(pending);
    let (max_calls, max_calls_by) = match (args.max_calls, args.canary) {
        (Some(a), Some(b)) if b <= a => (Some(b), format!("--canary {b}")),
        (Some(a), _) => (Some(a), format!("--max-calls {a}")),
        (None, Some(b)) => (Some(b), format!("--canary {b}")),
        (None, None) => (None, String::new()),
    };
    let options = runner::Options {
        max_calls,
        max_calls_by,
        until_idle: args.until_idle,
        // Only the built-in sandbox shares this process's clock; a sandbox elsewhere keeps its own.
        skip_idle: sandbox.is_some(),
        stop_grace: args.stop_grace,
        private_api: sandbox.is_some(),
    };
    let canary_after = store.last_attempt_id()?;
    let run_id = store.start_run(clock.now(), &guard_options(args))?;
    let mut runner = Runner::new(
        shared.clone(),
        store,
        client,
        clock.clone(),
        options,
        progress,
    );
    if let Some(id) = &account_id {
        let dir = account::default_dir(|name| std::env::var(name).ok()).ok_or_else(|| {
            anyhow::anyhow!(
                "no directory for the account's shared record: set XDG_STATE_HOME (or HOME)"
            )
        })?;
        let state = shared.state_path(args.state.state.as_deref(), args.sandbox);
        runner = runner.with_account(Account::open(&dir, id, &state, Timestamp::now())?);
    }
    let mut receiver = None;
    if let Some(setup) = &webhook {
        let (inbox, stop, task) = start_receiver(setup, api(args)).await?;
        runner = runner.with_webhooks(inbox);
        receiver = Some((stop, task));
    }
    // The runner is a task of its own, not the future the runtime blocks on: an answer to one of
    // its requests then wakes it through the runtime's task queue rather than the I/O driver's
    // eventfd. (Most eventfd wake-ups left come from timers: a sleep registered earlier than
    // the timer driver's next wake unparks it.)
    let mut task = tokio::spawn(async move {
        let result = runner.run(stop_rx).await;
        (runner, result)
    });
    let signalled = signals(stop_tx, listener);
    tokio::pin!(signalled);
    let joined = tokio::select! {
        joined = &mut task => joined,
        // Ctrl-C twice: the runner returns at its next step.
        () = &mut signalled => task.await,
    };
    let (runner, result) = match joined {
        Ok(done) => done,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => return Err(anyhow::anyhow!("the runner's task ended: {err}")),
    };
    let outcome = result?;
    let tally = runner.webhook_tally();
    // The runner (and with it the receiver's way to commit) is gone from here: deliveries still
    // arriving are answered 503 and retried by the sender, to be polled for by a later run.
    let store = runner.into_store();
    if let Some((stop, task)) = receiver {
        // Let answers already decided (an event just committed) reach their sender before the
        // process ends, or it would deliver them again; bounded, as a sender may hang.
        let _ = stop.send(());
        let _ = tokio::time::timeout(RECEIVER_DRAIN, task).await;
        eprintln!(
            "webhooks: {} event(s) received ({} retried deliveries counted once), {} result(s) by webhook, {} refused",
            tally.received, tally.duplicates, tally.results, tally.refused
        );
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    let (ending, detail) = match &outcome {
        Some(summary) => recorded_ending(summary),
        None => (RunEnding::StoppedAtOnce, None),
    };
    store.end_run(run_id, clock.now(), ending, detail.as_deref())?;
    let Some(summary) = outcome else {
        eprintln!("stopped at once; the state file is consistent: run again to resume");
        return Ok(Exit::Interrupted);
    };
    eprintln!(
        "this run: {} call(s) placed, {} result(s) recorded, {} poll(s)",
        summary.placed, summary.finished, summary.polls
    );
    if summary.left_in_flight > 0 {
        eprintln!(
            "left to the next run: {} call(s) still in flight; it follows them (a call not seen \
             to end {} after limits.max_call_minutes is given up as unknown)",
            summary.left_in_flight,
            crate::campaign::duration::format(runner::follow::GIVE_UP_GRACE)
        );
    }
    if summary.left_unsettled > 0 {
        eprintln!(
            "left to the next run: {} placement(s) whose answer was lost; it checks the API's \
             list of calls for them before placing anything",
            summary.left_unsettled
        );
    }
    let (census, progress) = store.census()?;
    let mut to_call = progress.clone();
    to_call.retain(|word, _| !matches!(*word, "invalid" | "duplicate" | "suppressed"));
    eprintln!(
        "campaign: {} (to call: {})",
        census.line(),
        crate::census::breakdown(&to_call)
    );
    let options = ExportOptions {
        raw: args.raw,
        excel: campaign.output.excel && !args.raw,
        history: false,
        now: clock.now(),
    };
    let results = campaign.results_path(sandbox_run);
    let written = crate::export::write(&store, campaign, &results, options)?;
    eprintln!(
        "results: {} rows written to {}",
        written.rows,
        written.path.display()
    );
    // The report is refreshed with the results; a page that cannot be written does not undo
    // the run's work (the results are written): it is said, and `report` can write it later.
    let report = crate::html_report::ReportOptions {
        full: false,
        rehearsal: sandbox_run && args.state.state.is_none(),
        state: args.state.state.clone(),
    };
    let page = crate::html_report::default_path(campaign, sandbox_run);
    match crate::html_report::write(&store, campaign, &page, &report) {
        Ok(written) => eprintln!("report: {}", written.path.display()),
        Err(err) => eprintln!("warning: the report was not written: {err:#}"),
    }
    if args.canary.is_some() {
        let calls = store.calls_since(canary_after)?;
        crate::out!("{}", runner::canary::table(campaign, &calls))?;
    }
    let left = summary.left_in_flight + summary.left_unsettled;
    match &summary.ending {
        Ending::Finished => {
            eprintln!("finished: every contact is settled");
        }
        // A canary is a step the user asked for, not work cut short.
        Ending::CapReached(Cap::Run, _) if args.canary.is_some() => {
            eprintln!(
                "canary: {} call(s) placed and followed to their end (above); check them, then run \
                 again without --canary to place the rest",
                summary.placed
            );
        }
        // Any other cap with contacts left is work cut short: never 0, so that cron (and a
        // script) can tell it from a finished campaign.
        Ending::CapReached(cap, why) => {
            let next = match cap {
                Cap::Run => "run again to continue".to_owned(),
                Cap::Day => "the first run of the next day goes on".to_owned(),
                Cap::Campaign => format!("raise the limit in {} to go on", campaign.file.display()),
            };
            eprintln!("stopped placing: {why}; work remains: {next}");
        }
        Ending::Idle(next) => {
            eprintln!(
                "idle: nothing more is due now; {}; run again then",
                super::status::next_due_line(&store.waiting(clock.now())?, *next)
            );
        }
        Ending::Breaker(why) => {
            eprintln!(
                "error: circuit breaker: {why}. No new calls were placed after it tripped; calls \
                 in flight were {}.\n  hint: look at the results (or `bys-campaign explain` a \
                 contact), fix the campaign, then run again with --reset-breaker",
                if left > 0 {
                    "followed, those still going on are left to the next run"
                } else {
                    "followed to their end"
                }
            );
        }
        Ending::Interrupted if summary.grace_ran_out => {
            eprintln!(
                "interrupted: --stop-grace ({}) ran out before every call in flight ended; run \
                 again to resume",
                crate::campaign::duration::format(args.stop_grace)
            );
        }
        Ending::Interrupted => {
            eprintln!(
                "interrupted; calls already placed were followed {}; run again to resume",
                if left > 0 {
                    "as far as they could be"
                } else {
                    "to their end"
                }
            );
        }
        Ending::Unreachable(why) => {
            eprintln!(
                "error: {why}. No new calls were placed after that.\n  hint: run again later (a \
                 cron run with --until-idle goes on where this one stopped); `bys-campaign \
                 status` shows the errors"
            );
        }
        Ending::Refused(why) => {
            eprintln!("error: the API refused the run: {why}");
            if sandbox_run && why.contains("caller_id_not_owned") {
                eprintln!(
                    "  hint: the rehearsal's account owns {} only, and a real account refuses \
                     a call.caller_id it does not own the same way; if yours owns {}, rehearse \
                     with --caller-id {}",
                    if args.caller_ids.is_empty() {
                        crate::sandbox::DEFAULT_CALLER_ID.to_owned()
                    } else {
                        args.caller_ids.join(", ")
                    },
                    campaign.call.caller_id.as_deref().unwrap_or("it"),
                    campaign.call.caller_id.as_deref().unwrap_or("NUMBER"),
                );
            }
        }
        Ending::ScheduleOver { not_after, left } => {
            eprintln!(
                "campaign over: schedule.not_after ({not_after}) has passed; {left} contact(s) stay \
                 pending in the results"
            );
        }
    };
    let canary = args.canary.is_some();
    // Whatever ended this run, what it left in flight is the next run's: not done yet.
    if left > 0 && super::exit::for_ending(&summary.ending, canary, 0) == Exit::Ok {
        eprintln!("work remains for the next run (above)");
    }
    Ok(super::exit::for_ending(&summary.ending, canary, left))
}

/// The options of this run that bear on its guards, as the report lists them with the run.
fn guard_options(args: &RunArgs) -> String {
    let mut options = Vec::new();
    if let Some(n) = args.canary {
        options.push(format!("--canary {n}"));
    }
    if let Some(n) = args.max_calls {
        options.push(format!("--max-calls {n}"));
    }
    for (given, flag) in [
        (args.reset_breaker, "--reset-breaker"),
        (args.retry_unknown, "--retry-unknown"),
        (args.until_idle, "--until-idle"),
    ] {
        if given {
            options.push(flag.to_owned());
        }
    }
    options.join(" ")
}

/// How the state file records the way a run ended, and what the ending said.
fn recorded_ending(summary: &runner::Summary) -> (RunEnding, Option<String>) {
    match &summary.ending {
        Ending::Finished => (RunEnding::Finished, None),
        Ending::Interrupted => (
            RunEnding::Interrupted,
            summary
                .grace_ran_out
                .then(|| "--stop-grace ran out before every call in flight ended".to_owned()),
        ),
        Ending::CapReached(_, why) => (RunEnding::CapReached, Some(why.clone())),
        Ending::Refused(why) => (RunEnding::Refused, Some(why.clone())),
        Ending::Idle(next) => (
            RunEnding::Idle,
            Some(format!(
                "nothing more was due; next due at {}",
                next.round(jiff::Unit::Second).unwrap_or(*next)
            )),
        ),
        Ending::Breaker(why) => (RunEnding::Breaker, Some(why.clone())),
        Ending::ScheduleOver { not_after, left } => (
            RunEnding::ScheduleOver,
            Some(format!(
                "schedule.not_after ({not_after}) passed; {left} contact(s) stay pending"
            )),
        ),
        Ending::Unreachable(why) => (RunEnding::Unreachable, Some(why.clone())),
    }
}

/// `--start`: RFC 3339, or a civil date and time in `schedule.timezone` (UTC without one).
fn rehearsal_start(text: &str, campaign: &Campaign) -> anyhow::Result<Timestamp> {
    let zone = campaign
        .schedule
        .as_ref()
        .map_or(jiff::tz::TimeZone::UTC, |s| s.timezone.clone());
    crate::zones::parse_instant(text, &zone).ok_or_else(|| {
        anyhow::anyhow!(
            "--start {text:?} is not a date and time\n  hint: write \"2026-12-07 06:00\" (in \
             schedule.timezone, else UTC) or RFC 3339 \"2026-12-07T06:00:00-05:00\""
        )
    })
}

/// The API this run calls, as webhook mode's guards see it.
fn api(args: &RunArgs) -> Api<'_> {
    if args.sandbox {
        Api::Sandbox
    } else {
        Api::Url(args.api_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
    }
}

/// How long the receiver may take to finish its open requests once the run is over.
const RECEIVER_DRAIN: Duration = Duration::from_secs(5);

/// Binds the webhook receiver and serves it until the returned sender fires (or is dropped);
/// the task ends once open requests are answered.
async fn start_receiver(
    setup: &Setup,
    api: Api<'_>,
) -> anyhow::Result<(
    Inbox,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    let (router, rx) = receiver::router(setup.secret.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound, task) = receiver::serve(setup.listen, router, async move {
        let _ = stopped.await;
    })
    .await
    .with_context(|| {
        format!(
            "cannot listen for webhooks on {} (webhook.listen or --webhook-listen)",
            setup.listen
        )
    })?;
    let url = setup.webhook_url(bound, api);
    eprintln!(
        "webhooks: receiving on {bound}; every call asks for its events at {url}{}",
        if setup.secret_generated {
            " (signed with a secret made up for this rehearsal)"
        } else {
            ""
        }
    );
    Ok((Inbox::new(rx, url), stop, task))
}

/// The rehearsal's sandbox. Its account owns the caller IDs `--caller-id` names, else only the
/// sandbox's own: never the campaign's `call.caller_id` merely because the campaign names it,
/// or a rehearsal would pass where a real account refuses the run.
async fn start_sandbox(
    args: &RunArgs,
    clock: Clock,
    webhook_secret: Option<String>,
) -> anyhow::Result<SandboxHandle> {
    let mut config = SandboxConfig {
        time_scale: args.time_scale,
        ..SandboxConfig::default()
    };
    if let Some(secret) = webhook_secret {
        config.webhook_secret = secret;
    }
    if !args.caller_ids.is_empty() {
        config.caller_ids = args.caller_ids.clone();
    }
    Ok(Sandbox::start(config, clock).await?)
}

/// How many of the first contacts the confirmation question lists.
const UPCOMING_SHOWN: u32 = 3;

/// Asks on a terminal, after a summary of what the run will do; without a terminal, a live run
/// needs `--yes`.
fn confirm(
    args: &RunArgs,
    campaign: &Campaign,
    store: &Store,
    pending: u64,
    url: &str,
) -> anyhow::Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "a live run without a terminal needs --yes (it would call {pending} contact(s) through {url})\n  \
             hint: check it first with `bys-campaign plan {}`",
            args.campaign.display()
        );
    }
    eprint!("{}", plan_summary(args, campaign, store, pending, url)?);
    eprint!("Real people will be called. Continue? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// What the confirmation question shows: the calls, the rows left out, the limits, the first
/// contacts to be called.
fn plan_summary(
    args: &RunArgs,
    campaign: &Campaign,
    store: &Store,
    pending: u64,
    url: &str,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let limits = &campaign.limits;
    let mut out = format!(
        "About to call up to {pending} contact(s) of campaign {} through {url}.\n",
        campaign.name
    );
    let left_out: Vec<String> = store
        .not_called()?
        .into_iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    if !left_out.is_empty() {
        let _ = writeln!(out, "  not called: {}", left_out.join(", "));
    }
    let mut caps = format!(
        "  limits: {}/min (burst {}), at most {} at once",
        limits.calls_per_minute, limits.burst, limits.max_concurrent
    );
    if let Some(cap) = limits.max_calls {
        let _ = write!(caps, ", at most {cap} calls for the campaign");
    }
    if let Some(cap) = args.max_calls {
        let _ = write!(caps, ", --max-calls {cap} in this run");
    }
    let _ = writeln!(out, "{caps}");
    let upcoming = store.upcoming(UPCOMING_SHOWN)?;
    if !upcoming.is_empty() {
        let first: Vec<String> = upcoming
            .iter()
            .map(|u| {
                if u.key == u.phone {
                    format!("{} (line {})", u.phone, u.line)
                } else {
                    format!("{} {} (line {})", u.key, u.phone, u.line)
                }
            })
            .collect();
        let more = if pending > upcoming.len() as u64 {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(out, "  first: {}{more}", first.join(", "));
    }
    Ok(out)
}

/// Resolves only on the second stop signal; the first one asks the runner to stop placing.
/// The listeners are made once, before the first signal: a listener made after a signal was
/// delivered does not see it, so one made anew after the first Ctrl-C could miss a second one
/// sent meanwhile.
async fn signals(stop: watch::Sender<Stop>, mut listener: Signals) {
    listener.recv().await;
    // The runner says what it does now (it knows the calls in flight); this only leaves the
    // line a terminal's ^C is on.
    eprintln!();
    let _ = stop.send(Stop::Gracefully);
    listener.recv().await;
    let _ = stop.send(Stop::AtOnce);
}

/// Ctrl-C and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    #[cfg(not(unix))]
    fn new() -> Signals {
        Signals {}
    }

    #[cfg(unix)]
    async fn recv(&mut self) {
        async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(self.interrupt.as_mut()) => {}
            () = next(self.terminate.as_mut()) => {}
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
