//! `driftlog report`: saved JSON reports, for workflows that scan in one job (or in many
//! parallel jobs) and report in another.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftlog::drift::combined::{AnyReport, CombinedReport, SavedReportError};
use driftlog::github::Publication;
use driftlog::report::{self, Format};

use crate::scan::FormatArg;

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
    let reporting = args.github.resolve()?;
    let report = read_report(&args.report)?;
    let (publication, code) = match &report {
        AnyReport::Single(single) => (Publication::Single(single), single.status.exit_code()),
        AnyReport::Combined(combined) => {
            (Publication::Combined(combined), combined.status.exit_code())
        }
    };
    crate::github::first_failure(reporting.report(publication, Some(&args.report)))?;
    Ok(ExitCode::from(code))
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let reporting = args.github.resolve()?;
    let partials = args
        .reports
        .iter()
        .map(|path| read_report(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut merged = CombinedReport::merge(partials)?;
    let waiting = merged
        .stacks
        .iter()
        .filter(|stack| stack.audit_pending.is_some())
        .count();
    let folded = fold_pending(&args.audit, &mut merged)?;
    if waiting > 0 && !folded {
        eprintln!(
            "driftlog: warning: {waiting} shard record(s) wait on pending refs; give `report \
             merge` the signing key (--signing-key or DRIFTLOG_SIGNING_KEY) to fold them into \
             the audit branch now, or the next run that records does"
        );
    }
    let format = args.format.into();
    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(report::render_combined(&merged, format, false).as_bytes())
        .and_then(|()| stdout.flush());
    match printed {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the merged report to standard output")?,
    }
    let mut json_path = None;
    if let Some(path) = &args.output {
        let file_format = crate::scan::format_for_file(path, format);
        std::fs::write(path, report::render_combined(&merged, file_format, false))
            .with_context(|| format!("writing the merged report to {}", path.display()))?;
        json_path = (file_format == Format::Json).then_some(path.as_path());
    }
    crate::github::first_failure(reporting.report(Publication::Combined(&merged), json_path))?;
    Ok(ExitCode::from(merged.status.exit_code()))
}

/// Folds the audit branch's pending refs when a signing key is given; whether it did. Then
/// each stack of `merged` whose record waited on a pending ref names its place on the branch.
/// A failure to fold fails the merge: the records are safe where they were, and it says so.
fn fold_pending(
    audit: &crate::audit_args::AuditArgs,
    merged: &mut CombinedReport,
) -> anyhow::Result<bool> {
    let Some(options) = audit.options_if_key()? else {
        return Ok(false);
    };
    let start = options.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let outcome = driftlog::audit::recorder::fold(&start, &options).map_err(|err| {
        crate::audit_args::print_unpushed_warnings(&err);
        anyhow::anyhow!("{err}").context("folding the shards' pending audit records")
    })?;
    crate::audit_args::print_recorded(&options.branch, &outcome);
    let waiting: Vec<usize> = (0..merged.stacks.len())
        .filter(|&i| merged.stacks[i].audit_pending.is_some())
        .collect();
    let entries: Vec<String> = waiting
        .iter()
        .filter_map(|&i| merged.stacks[i].audit_pending.as_ref())
        .map(|pending| pending.entry.clone())
        .collect();
    let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
    match driftlog::audit::recorder::find_folded(&start, &options, &entries) {
        Ok(found) => {
            for (i, found) in waiting.into_iter().zip(found) {
                if let Some(head) = found {
                    let stack = &mut merged.stacks[i];
                    stack.audit = Some(driftlog::run::record::audit_ref(&options.branch, &head));
                    stack.audit_pending = None;
                }
            }
        }
        Err(err) => eprintln!("driftlog: warning: the folded records were not looked up: {err}"),
    }
    Ok(true)
}

fn read_report(path: &Path) -> anyhow::Result<AnyReport> {
    let text = driftlog::bounded::read_to_string(
        path,
        driftlog::bounded::MAX_SAVED_REPORT_BYTES,
        "MAX_SAVED_REPORT_BYTES",
    )
    .with_context(|| format!("reading the report {}", path.display()))?;
    AnyReport::from_json(&text).map_err(|err| match err {
        SavedReportError::Newer { .. } | SavedReportError::Older { .. } => {
            anyhow::anyhow!("{}: {err}", path.display())
        }
        _ => anyhow::anyhow!(
            "{} is not a driftlog JSON report ({err}); make one with `driftlog scan --output \
             report.json`",
            path.display()
        ),
    })
}
