//! `driftlog history ADDRESS`: one resource's timeline across the audit log.

use std::process::ExitCode;

use driftlog::audit::reader::read_log;
use driftlog::explain::Log;
use driftlog::report::explanation::history_text;

use crate::log_location::FormatArg;
use crate::verify::write_stdout;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Lists every scan of the resource's stack (clean, drifted, ignored, or \
                        unknown when the scan failed) and every apply that changed it, newest \
                        first, with who ran it, the run, and each drift's before and after. \
                        Clean scans list no resources, so a resource's stacks are those whose \
                        records name it; --stack names one directly."
)]
pub struct Args {
    /// The resource address, e.g. `module.net.aws_subnet.private[1]`.
    pub address: String,

    /// Only the stack at PATH (relative to the repository root, as recorded).
    #[arg(long, value_name = "PATH")]
    pub stack: Option<String>,

    #[command(flatten)]
    pub log: crate::log_location::LogLocation,

    /// At most N entries (the newest).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,

    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let repo = driftlog::audit::discover_repository(&args.log.repo)?;
    let log = Log::new(read_log(&repo, &args.log.branch)?);
    let stacks = match &args.stack {
        Some(path) => Some(log.stacks_at(Some(path))?),
        None => None,
    };
    let mut entries = log.history(&args.address, stacks.as_deref());
    if let Some(limit) = args.limit {
        entries.truncate(limit);
    }
    if entries.is_empty() {
        anyhow::bail!(
            "no record of {} names {}: it never drifted or was applied in the log ({} records); \
             pass --stack PATH to list the scans of its stack",
            args.log.branch,
            args.address,
            log.len()
        );
    }
    let output = match args.format {
        FormatArg::Json => serde_json::to_string_pretty(&entries)? + "\n",
        FormatArg::Text => history_text(&args.address, &entries),
    };
    write_stdout(&output)?;
    Ok(ExitCode::SUCCESS)
}
