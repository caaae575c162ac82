//! `bys-campaign sandbox`: serves the simulator until Ctrl-C or SIGTERM.
//!
//! The first line of stdout is the base URL (`http://127.0.0.1:PORT`), flushed at once, so
//! scripts and tests can start it on port 0 and read where it listens. Everything else goes to
//! stderr.

use std::io::Write;

use anyhow::Context;
use jiff::Timestamp;

use super::exit::Exit;
use crate::clock::Clock;
use crate::sandbox::{Sandbox, SandboxArgs, SandboxConfig};

/// Starts the sandbox server and blocks until interrupted.
pub fn run(args: &SandboxArgs) -> anyhow::Result<Exit> {
    let config = SandboxConfig::from_args(args)?;
    // Two worker threads are plenty for loopback traffic and leave the machine to the client.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, args.start))
}

async fn serve(config: SandboxConfig, start: Option<Timestamp>) -> anyhow::Result<Exit> {
    let clock = match start {
        None if config.time_scale == 1.0 => Clock::system(),
        start => Clock::scaled(start.unwrap_or_else(Timestamp::now), config.time_scale),
    };
    let summary = describe(&config);
    let handle = Sandbox::start(config, clock).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", handle.base_url()).context("cannot write to stdout")?;
        stdout.flush().context("cannot write to stdout")?;
    }
    eprintln!(
        "sandbox listening on {} ({summary}); Ctrl-C to stop",
        handle.base_url()
    );
    wait_for_signal().await?;
    eprintln!("sandbox shutting down");
    handle.shutdown().await;
    Ok(Exit::Ok)
}

fn describe(config: &SandboxConfig) -> String {
    let mut parts = vec![
        format!("seed {}", config.seed),
        format!("time scale {}", config.time_scale),
    ];
    let f = &config.faults;
    if let Some(n) = f.rate_limit {
        parts.push(format!("rate limit {n}/min"));
    }
    if let Some(m) = f.minute_cap {
        parts.push(format!("minute cap {m}"));
    }
    if f.error_rate > 0.0 {
        parts.push(format!("error rate {}", f.error_rate));
    }
    if !f.latency.is_zero() {
        parts.push(format!("latency {} ms", f.latency.as_millis()));
    }
    if f.drop_after_create > 0.0 {
        parts.push(format!("drop after create {}", f.drop_after_create));
    }
    if let Some(m) = f.stuck_minutes {
        parts.push(format!("555-0195 ends after {m} min"));
    }
    if f.webhook_fail_rate > 0.0 {
        parts.push(format!("webhook fail rate {}", f.webhook_fail_rate));
    }
    parts.join(", ")
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}
