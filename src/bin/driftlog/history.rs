//! `driftlog history ADDRESS`: one resource's timeline across the audit log.

use crate::log_location::FormatArg;
use crate::print::write_format;
use driftlog::report::explanation::history_text;
use driftlog::run::explain::history;
use std::process::ExitCode;

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
    let entries = history(
        &args.log.settings(args.stack.clone()),
        &args.address,
        args.limit,
    )?;
    write_format(args.format, &entries, || {
        history_text(&args.address, &entries)
    })?;
    Ok(ExitCode::SUCCESS)
}
