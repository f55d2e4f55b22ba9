//! `driftlog log`: lists the audit records on the branch's tip, newest first.

use crate::log_location::FormatArg;
use crate::print::{eprint_line, write_stdout};
use driftlog::audit::query::{self, parse_since, LogQuery};
use driftlog::report;
use driftlog::run::pipeline::Line;
use std::process::ExitCode;
use std::time::SystemTime;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Lists the records on the tip of the audit branch, newest first: seq, time, \
                  stack, result, drifted resources and who ran the scan. It reads them as they \
                  are and checks no signature, chain or checkpoint: run `driftlog verify` for \
                  that."
)]
pub struct Args {
    #[command(flatten)]
    pub log: crate::log_location::LogLocation,
    /// Only records of the stack at PATH (relative to the repository root, as recorded).
    #[arg(long, value_name = "PATH")]
    pub stack: Option<String>,
    /// Only records in which ADDRESS drifted or an apply changed it: a resource address, or
    /// a module address (`module.net`) for everything in it. The listed addresses are
    /// filtered the same way.
    #[arg(long, value_name = "ADDRESS")]
    pub resource: Option<String>,
    /// Only records made at or after DATE: RFC 3339 (`2026-11-24T09:30:00Z`,
    /// `2026-11-24T10:30:00+01:00`) or a day (`2026-11-24`, midnight UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<SystemTime>,
    /// At most N records (the newest).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// `text`: one line per record. `json`: an array of the matching records exactly as
    /// stored (canonical JSON, one per line), whole even when --resource matched only some of
    /// their resources.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let query = LogQuery {
        repo: args.log.repo,
        branch: args.log.branch,
        stack: args.stack,
        resource: args.resource.clone(),
        since: args.since,
        limit: args.limit,
    };
    let listed = query::list(&query, &mut |warning| eprint_line(Line::Warning(&warning)))?;
    let output = match args.format {
        FormatArg::Json => report::log::json(&listed),
        FormatArg::Text => {
            if listed.is_empty() {
                eprint_line(Line::Note("no record matches"));
            }
            report::log::text(&listed, args.resource.as_deref())
        }
    };
    write_stdout(&output)?;
    Ok(ExitCode::SUCCESS)
}
