//! `driftlog scan`: run terraform, report drift, exit like `plan -detailed-exitcode`.

use crate::audit_args::AuditArgs;
use crate::print::{self, eprint_lines};
use clap::ValueEnum;
use driftlog::audit::recorder::{RecordError, Subject};
use driftlog::audit::sync::Outcome;
use driftlog::config;
use driftlog::report::progress::ScansProgress;
use driftlog::report::Format;
use driftlog::run::output::OutputSettings;
use driftlog::run::pipeline::{self, Line, Observer, RunSettings, ScanProgress};
use driftlog::run::publish::Published;
use driftlog::run::stacks;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directories of root modules to scan. One directory gives that stack's report; none
    /// scans the stacks of `.driftlog.toml` (or those discovered in the repository), several
    /// scan those, each giving one combined report.
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Scan at most N stacks at a time (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Scan only shard K of N of the stacks (a stable share, for fan-out across CI jobs).
    #[arg(long, value_name = "K/N", value_parser = config::parse_shard)]
    pub shard: Option<(usize, usize)>,
    #[command(flatten)]
    pub terraform: crate::terraform_args::TerraformArgs,
    #[command(flatten)]
    pub cloudformation: crate::cloudformation_args::CloudFormationArgs,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = FormatArg::Terminal)]
    pub format: FormatArg,
    /// Also write the report to FILE (as JSON for `.json`, markdown for `.md`, else as --format).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// When to colour the terminal report (`auto` honours NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Do not show progress on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Cloud audit events (CloudTrail, Google Cloud audit logs; see `driftlog explain`) to
    /// explain recorded drift with. Repeatable.
    #[arg(long = "events", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// The branch whose commits explanations list (default: origin/HEAD, main, master).
    #[arg(long, value_name = "NAME")]
    pub main_branch: Option<String>,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
    /// Further arguments for `terraform plan`, after `--` (e.g. `-- -lock=false -parallelism=30`).
    #[arg(last = true, value_name = "PLAN_ARGS", allow_hyphen_values = true)]
    pub plan_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Terminal,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Terminal => Format::Terminal,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A bad key fails before terraform runs, not after a long scan.
    let audit = args.audit.options(Subject::Scan)?;
    let publisher = args.github.publisher()?;
    // On or off as asked; `None` leaves it to the terminal and NO_COLOR.
    let color = match args.color {
        ColorArg::Always => Some(true),
        ColorArg::Never => Some(false),
        ColorArg::Auto => None,
    };
    let mut scan = args.terraform.settings(args.plan_args);
    args.cloudformation.apply(&mut scan);
    let settings = RunSettings {
        dirs: args.dirs,
        cloudformation: args.cloudformation.specs(),
        config_file: args.config,
        root: stacks::repository_root(),
        cwd: stacks::working_dir(),
        shard: args.shard,
        concurrency: pipeline::concurrency(args.jobs),
        scan,
        audit,
        events: args.events,
        main_branch: args.main_branch,
        output: OutputSettings::for_stdout(args.format.into(), color, args.output),
    };
    let observer = Terminal {
        quiet: args.quiet,
        progress: OnceLock::new(),
    };
    let outcome = pipeline::run(&settings, &publisher, &observer)?;
    let conclusion = outcome.conclude(publisher.in_actions());
    eprint_lines(&conclusion.lines);
    Ok(ExitCode::from(
        conclusion.result.map_err(anyhow::Error::msg)?,
    ))
}

/// The run shown on a terminal or in a CI log: progress on standard error, the report on
/// standard output, messages on standard error.
struct Terminal {
    quiet: bool,
    progress: OnceLock<ScansProgress>,
}

impl Observer for Terminal {
    fn scans_started(&self, single: bool, stacks: usize) {
        let _ = self
            .progress
            .set(ScansProgress::new(single, stacks, self.quiet));
    }
    fn progress(&self, event: ScanProgress<'_>) {
        if let Some(line) = self.progress.get().and_then(|p| p.update(event)) {
            eprintln!("{line}");
        }
    }
    fn scans_finished(&self) {
        if let Some(progress) = self.progress.get() {
            progress.finish();
        }
    }
    fn stdout(&self, text: &str) -> std::io::Result<()> {
        print::stdout(text)
    }
    fn line(&self, line: Line<'_>) {
        print::eprint_line(line);
    }
    fn recorded(&self, branch: &str, recorded: &Result<Outcome, RecordError>) {
        eprint_lines(&driftlog::run::record::result_lines(branch, recorded));
    }
    fn published(&self, published: &Published) {
        eprint_lines(&published.lines());
    }
}
