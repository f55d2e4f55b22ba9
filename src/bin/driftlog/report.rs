//! `driftlog report`: saved JSON reports, for workflows that scan in one job (or in many
//! parallel jobs) and report in another. Reading and merging them is `driftlog::run::merge`.

use crate::print::eprint_lines;
use crate::scan::FormatArg;
use driftlog::github::Publication;
use driftlog::run::merge;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Post a saved JSON report (`driftlog scan --output report.json`) to GitHub: the pull
    /// request comment, job summary, outputs, status or drift issues, as a scan would.
    ///
    /// Exits like the scan did: 0 clean, 2 drift, 1 failed scan or error.
    Post(PostArgs),
    /// Combine the JSON reports of parallel jobs (`--shard K/N`) into one report, print it,
    /// and post it to GitHub as one comment (in Actions, or with --repo).
    ///
    /// Exits with the worst result: 1 if any stack failed, else 2 if any drifted, else 0.
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct PostArgs {
    /// The JSON report (one stack's or a combined one).
    pub report: PathBuf,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The partial JSON reports.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Format on standard output.
    #[arg(long, value_enum, default_value_t = FormatArg::Terminal)]
    pub format: FormatArg,
    /// Also write the merged report to FILE (JSON for `.json`, markdown for `.md`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
    /// With a signing key (--signing-key or DRIFTLOG_SIGNING_KEY), the records shards left on
    /// pending refs (the audit branch was busy) are folded into the branch first.
    #[command(flatten)]
    pub audit: crate::audit_args::AuditArgs,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Post(args) => post(args),
        Command::Merge(args) => merge(args),
    }
}

fn post(args: PostArgs) -> anyhow::Result<ExitCode> {
    let publisher = args.github.publisher()?;
    let report = merge::read_report(&args.report)?;
    let (publication, code) = merge::publication(&report);
    crate::github::publish(&publisher, publication, Some(&args.report))?;
    Ok(ExitCode::from(code))
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let publisher = args.github.publisher()?;
    let mut merged = merge::combine(&args.reports)?;
    // The key is read only once the reports merged, so a bad report is named first.
    let audit = args.audit.options_if_key()?;
    let notices = merge::fold_pending(&mut merged, audit.as_ref())
        .inspect_err(|err| eprint_lines(&driftlog::run::record::unpushed_lines(&err.0)))?;
    eprint_lines(&notices);
    let stdout = &mut std::io::stdout().lock();
    let json_path = merge::write(&merged, args.format.into(), stdout, args.output.as_deref())?;
    crate::github::publish(&publisher, Publication::Combined(&merged), json_path)?;
    Ok(ExitCode::from(merged.status.exit_code()))
}
