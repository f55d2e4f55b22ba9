//! `driftlog explain`: for each resource drifted in the latest scan, when the drift
//! happened, what ran around it, and what changed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftlog::audit::reader::read_log;
use driftlog::explain::Log;
use driftlog::report::explanation;
use driftlog::run::explain::{attach_sources, Sources};

use crate::log_location::FormatArg;
use crate::verify::write_stdout;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "For each resource drifted in the latest completed scan of each stack: \
                        the window in which the drift happened (the last record where it was \
                        clean or applied, and the first scan that saw it drifted), the applies \
                        recorded in that window (who, which run), the commits of the main \
                        branch that touched the stack's files in it, cloud audit events naming \
                        the resource in it (--events), and each attribute's before and after. \
                        Every statement names its record, commit or event; what the evidence \
                        does not show is reported as unknown."
)]
pub struct Args {
    /// Only these resource addresses (default: every drifted resource).
    pub addresses: Vec<String>,

    /// Only the stack at PATH (relative to the repository root, as recorded).
    #[arg(long, value_name = "PATH")]
    pub stack: Option<String>,

    /// Cloud audit events to match: AWS CloudTrail log files (`{"Records": [...]}`, `.gz`
    /// too), `aws cloudtrail lookup-events` output, or Google Cloud audit log entries
    /// (`gcloud logging read --format=json`). Repeatable.
    #[arg(long = "events", value_name = "FILE")]
    pub events: Vec<PathBuf>,

    /// The branch whose commits are matched against the windows (default: origin/HEAD,
    /// main, master).
    #[arg(long, value_name = "NAME")]
    pub main_branch: Option<String>,

    #[command(flatten)]
    pub log: crate::log_location::LogLocation,

    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Bad event files fail before anything is read from git.
    let events = load_events(&args.events)?;
    let repo = driftlog::audit::discover_repository(&args.log.repo)?;
    let log = Log::new(read_log(&repo, &args.log.branch)?);
    let mut explanations = Vec::new();
    let mut clean = Vec::new();
    for stack in log.stacks_at(args.stack.as_deref())? {
        let Ok(latest) = log.latest_scan(&stack) else {
            continue;
        };
        let found = log.explain_scan(latest, &args.addresses);
        if found.is_empty() {
            clean.push(stack.display());
        }
        explanations.extend(found);
    }
    let root = repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| args.log.repo.clone());
    let sources = Sources {
        main_branch: args.main_branch.as_deref(),
        events: events.as_ref(),
    };
    for warning in attach_sources(&mut explanations, &repo, &root, &sources) {
        eprintln!("driftlog: warning: {warning}");
    }

    let output = match args.format {
        FormatArg::Json => serde_json::to_string_pretty(&explanations)? + "\n",
        FormatArg::Text if explanations.is_empty() => {
            let scanned = if clean.is_empty() {
                "no stack has a completed scan in the log".to_owned()
            } else {
                format!("the latest scan of {}", clean.join(", "))
            };
            if args.addresses.is_empty() {
                format!("No drift in {scanned}\n")
            } else {
                format!("Not drifted in {scanned}: {}\n", args.addresses.join(", "))
            }
        }
        FormatArg::Text => explanation::text(&explanations),
    };
    write_stdout(&output)?;
    Ok(ExitCode::SUCCESS)
}

pub fn load_events(paths: &[PathBuf]) -> anyhow::Result<Option<driftlog::events::EventLog>> {
    if paths.is_empty() {
        return Ok(None);
    }
    driftlog::events::EventLog::load(paths)
        .map(Some)
        .context("reading the cloud audit events")
}
