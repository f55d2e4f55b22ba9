//! `driftlog explain`: for each resource drifted in the latest scan, when the drift
//! happened, what ran around it, and what changed.

use crate::log_location::FormatArg;
use crate::print::{eprint_warnings, write_format};
use driftlog::report::explanation::latest_text;
use driftlog::run::explain::{explain_latest, LatestSettings};
use std::path::PathBuf;
use std::process::ExitCode;

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
    let settings = LatestSettings {
        log: args.log.settings(args.stack.clone()),
        addresses: args.addresses.clone(),
        main_branch: args.main_branch.clone(),
        events: args.events.clone(),
    };
    let latest = explain_latest(&settings)?;
    eprint_warnings(&latest.warnings);
    write_format(args.format, &latest.explanations, || {
        latest_text(&latest.explanations, &latest.clean, &args.addresses)
    })?;
    Ok(ExitCode::SUCCESS)
}
