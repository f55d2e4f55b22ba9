//! `driftlog report`: saved JSON reports, for workflows that scan in one job and report in
//! another.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use driftlog::drift::{ScanReport, SCHEMA_VERSION};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Post a saved JSON report (`driftlog scan --output report.json`) to GitHub: the pull
    /// request comment, job summary, outputs, status or drift issue, as a scan would.
    ///
    /// Exits like the scan did: 0 clean, 2 drift, 1 failed scan or error.
    Post(PostArgs),
}

#[derive(Debug, clap::Args)]
pub struct PostArgs {
    /// The JSON report.
    pub report: PathBuf,

    /// The stack directory, to point annotations at the declarations (default: none).
    #[arg(long, value_name = "DIR")]
    pub stack_dir: Option<PathBuf>,

    #[command(flatten)]
    pub github: crate::github::GithubArgs,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Post(args) => post(args),
    }
}

fn post(args: PostArgs) -> anyhow::Result<ExitCode> {
    let reporting = args.github.resolve()?;
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("reading the report {}", args.report.display()))?;
    let report: ScanReport = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a driftlog JSON report (make one with `driftlog scan --output report.json`)",
            args.report.display()
        )
    })?;
    if report.schema_version != SCHEMA_VERSION {
        anyhow::bail!(
            "{} has report schema version {}, this driftlog reads version {SCHEMA_VERSION}",
            args.report.display(),
            report.schema_version
        );
    }
    reporting.report(&report, args.stack_dir.as_deref(), Some(&args.report))?;
    Ok(ExitCode::from(report.status.exit_code()))
}
