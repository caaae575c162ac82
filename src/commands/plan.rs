//! `bys-campaign plan`: the dry run. The validation report, the first requests exactly as they
//! would be sent, and how long the campaign would take. No API key, no network.

use anyhow::Context as _;
use serde::Serialize;

use super::exit::Exit;
use crate::campaign::{Campaign, LoadOptions};
use crate::cli::PlanArgs;
use crate::report::{self, Estimate, Options, Planned, Report, Selected};

#[derive(Serialize)]
struct JsonPlan<'a> {
    campaign: &'a str,
    file: String,
    contacts: String,
    /// The rows, each counted once, as `status --json` has them.
    census: crate::census::Census,
    #[serde(flatten)]
    report: &'a Report,
    estimate: Estimate,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<Exit> {
    let options = LoadOptions {
        contacts: args.contacts.clone(),
        ..LoadOptions::default()
    };
    let campaign = Campaign::load_with(&args.campaign, &options)?;
    let show = if args.row.is_some() { 0 } else { args.show };
    let options = Options {
        show,
        row: args.row.as_deref(),
        now: None,
    };
    let report = report::scan(&campaign, &options)
        .with_context(|| format!("planning {}", args.campaign.display()))?;
    if let Some(row) = &args.row
        && report.selected.is_none()
    {
        anyhow::bail!(
            "no row has the key {row:?} in {}\n  hint: keys are the `{}` column{}",
            campaign.input.path.display(),
            campaign
                .input
                .key_column
                .as_ref()
                .map_or("phone", |c| c.name.as_str()),
            if campaign.input.key_column.is_some() {
                ""
            } else {
                " in E.164 form, e.g. +14155550123"
            },
        );
    }
    let estimate = Estimate::new(&campaign, report.to_call);
    if args.json {
        let plan = JsonPlan {
            campaign: &campaign.name,
            file: campaign.file.display().to_string(),
            contacts: campaign.input.path.display().to_string(),
            census: report.census(),
            report: &report,
            estimate,
        };
        crate::outln!("{}", serde_json::to_string_pretty(&plan)?)?;
        return Ok(Exit::Ok);
    }
    crate::out!("{}", report::human(&campaign, &report))?;
    match &report.selected {
        Some(Selected::Callable(planned)) => {
            crate::outln!("\nRequest, sent as POST /v1/agent/calls")?;
            print_request(planned)?;
        }
        Some(Selected::Invalid { line, reason }) => {
            crate::outln!(
                "\nRow {:?} (line {line}) will not be called: {reason}",
                args.row.as_deref().unwrap_or_default()
            )?;
        }
        Some(Selected::Duplicate { line, first_line }) => {
            crate::outln!(
                "\nRow on line {line} will not be called: same number as line {first_line}"
            )?;
        }
        Some(Selected::Suppressed { line }) => {
            crate::outln!(
                "\nRow on line {line} will not be called: its number is on a suppression list"
            )?;
        }
        None => print_requests(&report.requests, report.to_call)?,
    }
    print_estimate(&estimate)?;
    Ok(Exit::Ok)
}

fn print_requests(requests: &[Planned], total: u64) -> anyhow::Result<()> {
    if requests.is_empty() {
        return Ok(());
    }
    crate::outln!(
        "\nRequests ({} of {total}), each sent as POST /v1/agent/calls",
        requests.len()
    )?;
    requests.iter().try_for_each(print_request)
}

fn print_request(planned: &Planned) -> anyhow::Result<()> {
    let zone = match (&planned.timezone, planned.tz_source) {
        (Some(zone), Some(source)) => format!(
            " (zone {zone}, from the {})",
            match source {
                "default" => "campaign's schedule.timezone",
                "column" => "timezone column",
                other => other,
            }
        ),
        _ => String::new(),
    };
    crate::outln!(
        "\n  line {}, key {}{zone}:",
        planned.line,
        crate::text::escape_control(&planned.key)
    )?;
    let body = serde_json::to_string_pretty(&planned.body)?;
    for line in body.lines() {
        // serde_json escapes control characters inside strings, so this is terminal-safe.
        crate::outln!("  {line}")?;
    }
    Ok(())
}

fn print_estimate(estimate: &Estimate) -> Result<(), crate::out::StdoutError> {
    crate::outln!("\nEstimate")?;
    if estimate.calls == 0 {
        return crate::outln!("  nothing to call");
    }
    crate::outln!(
        "  {} at {}/min (burst {}), at most {} at once",
        if estimate.calls == 1 {
            "1 call".to_owned()
        } else {
            format!("{} calls", estimate.calls)
        },
        estimate.calls_per_minute,
        estimate.burst,
        estimate.max_concurrent,
    )?;
    if estimate.sustained_calls_per_minute < f64::from(estimate.calls_per_minute) {
        crate::outln!(
            "  the concurrency cap binds first: about {}/min with calls of ~{} min",
            estimate.sustained_calls_per_minute,
            estimate.assumed_call_seconds / 60,
        )?;
    }
    crate::outln!(
        "  first attempts take about {}, assuming calls of ~{} min; retries come on top",
        report::human_minutes(estimate.minutes),
        estimate.assumed_call_seconds / 60,
    )?;
    if estimate.windows_apply {
        crate::outln!(
            "  this ignores calling windows: calls go out only inside each contact's local windows,\n  \
             which can spread the campaign over days (rehearse it: run --sandbox --start ... --time-scale ...)"
        )?;
    }
    Ok(())
}
