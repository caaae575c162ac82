//! Human progress on stderr: a progress bar on a terminal, plain periodic lines otherwise (cron,
//! logs). Results and machine output never go through here.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::api::Outcome;

/// How often plain progress lines are printed without a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    last_line: Instant,
    outcomes: BTreeMap<&'static str, u64>,
    retries: u64,
    in_flight: usize,
    quiet: bool,
}

impl Progress {
    /// `total`: calls expected in this run (first attempts), for the bar's length.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} settled · {msg} · {per_sec} · eta {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Progress {
            bar,
            last_line: Instant::now(),
            outcomes: BTreeMap::new(),
            retries: 0,
            in_flight: 0,
            quiet: false,
        }
    }

    /// Prints nothing but notes (for tests that snapshot stderr).
    pub fn quiet() -> Progress {
        Progress {
            quiet: true,
            ..Progress::new(0)
        }
    }

    pub fn note(&self, text: &str) {
        let text = crate::text::escape_control(text);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn finished(&mut self, outcome: Outcome, will_retry: bool) {
        *self.outcomes.entry(outcome.as_str()).or_default() += 1;
        if will_retry {
            self.retries += 1;
        } else if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Called on every turn of the runner's loop: the message is only built when it is shown.
    pub fn update(&mut self, in_flight: usize) {
        self.in_flight = in_flight;
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        } else if !self.quiet && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            eprintln!("progress: {}", self.message());
        }
    }

    fn message(&self) -> String {
        let mut parts = vec![format!("{} in flight", self.in_flight)];
        parts.extend(self.outcomes.iter().map(|(k, v)| format!("{k} {v}")));
        if self.retries > 0 {
            parts.push(format!("retries due {}", self.retries));
        }
        parts.join(", ")
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
