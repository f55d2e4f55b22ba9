//! `driftlog scan`: run terraform, report drift, exit like `plan -detailed-exitcode`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::ValueEnum;

use driftlog::audit::recorder::{AuditOptions, RecordError, Subject};
use driftlog::audit::sync::Outcome;
use driftlog::config;
use driftlog::report::Format;
use driftlog::run::output::OutputSettings;
use driftlog::run::pipeline::{
    self, not_recorded_because, Line, Observer, RunOutcome, RunSettings, ScanProgress,
};
use driftlog::run::publish::Published;
use driftlog::run::stacks::ScanSettings;

use crate::audit_args::{print_recorded, print_unpushed_warnings, AuditArgs};
use crate::progress;

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
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,

    /// Terraform binary to run (a name on PATH or a path); `tofu` works too.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_BIN",
        default_value = "terraform",
        value_name = "PATH"
    )]
    pub terraform_bin: PathBuf,

    /// Longest any one terraform command may run (`45m`, `2h`), after which driftlog stops
    /// it (SIGINT, then kill) and the scan fails. Default: 30m for init and each plan, 10m
    /// for show, providers schema and workspace list.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_TIMEOUT",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub terraform_timeout: Option<std::time::Duration>,

    /// Run `terraform init -input=false` first.
    #[arg(long)]
    pub init: bool,

    /// Terraform workspace to scan (default: the selected one).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,

    /// Set a variable, as `-var NAME=VALUE` to terraform. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Load variables from a file, as `-var-file` to terraform. Repeatable.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

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
    let settings = settings(&args, audit);
    let observer = Terminal {
        quiet: args.quiet,
        progress: OnceLock::new(),
    };
    let outcome = pipeline::run(&settings, &publisher, &observer)?;
    finish(outcome, publisher.in_actions())
}

/// The flags as the library's settings.
fn settings(args: &Args, audit: Option<AuditOptions>) -> RunSettings {
    let format = Format::from(args.format);
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    RunSettings {
        dirs: args.dirs.clone(),
        config_file: args.config.clone(),
        root: repository_root(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        shard: args.shard,
        concurrency: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(std::num::NonZeroUsize::get)
                .unwrap_or(1)
        }),
        scan: ScanSettings {
            terraform_bin: args.terraform_bin.clone().into_os_string(),
            init: args.init,
            workspace: args.workspace.clone(),
            vars: args.vars.clone(),
            var_files: args.var_files.iter().map(|f| resolve_from_cwd(f)).collect(),
            plan_args: args.plan_args.clone(),
            terraform_timeout: args.terraform_timeout,
        },
        audit,
        events: args.events.clone(),
        main_branch: args.main_branch.clone(),
        output: OutputSettings {
            format,
            color,
            file: args.output.clone(),
            stdout_is_terminal,
        },
    }
}

/// The repository holding the working directory (its work tree), else the directory itself.
pub fn repository_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    git2::Repository::discover(&cwd)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .unwrap_or(cwd)
}

/// The run shown on a terminal or in a CI log: progress on standard error, the report on
/// standard output, messages on standard error.
struct Terminal {
    quiet: bool,
    progress: OnceLock<Progress>,
}

enum Progress {
    Single(progress::Spinner),
    Many(progress::StackProgress),
}

impl Observer for Terminal {
    fn scans_started(&self, single: bool, stacks: usize) {
        let _ = self.progress.set(match single {
            true => Progress::Single(progress::Spinner::new(!self.quiet)),
            false => Progress::Many(progress::StackProgress::new(stacks, self.quiet)),
        });
    }

    fn progress(&self, event: ScanProgress<'_>) {
        match (self.progress.get(), event) {
            (Some(Progress::Single(spinner)), ScanProgress::Stack(p)) => spinner.update(p),
            (Some(Progress::Many(bar)), ScanProgress::Batch(event)) => bar.event(event),
            _ => {}
        }
    }

    fn scans_finished(&self) {
        match self.progress.get() {
            Some(Progress::Single(spinner)) => spinner.finish(),
            Some(Progress::Many(bar)) => bar.finish(),
            None => {}
        }
    }

    fn stdout(&self, text: &str) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
    }

    fn line(&self, line: Line<'_>) {
        match line {
            Line::Warning(text) => eprintln!("driftlog: warning: {text}"),
            Line::Note(text) => eprintln!("driftlog: {text}"),
            Line::Error(text) => eprintln!("driftlog: error: {text}"),
            Line::Text(text) => eprint!("{text}"),
        }
    }

    fn recorded(&self, branch: &str, recorded: &Result<Outcome, RecordError>) {
        match recorded {
            Ok(outcome) => print_recorded(branch, outcome),
            Err(err) => print_unpushed_warnings(err),
        }
    }

    fn published(&self, published: &Published) {
        crate::github::print_published(published);
    }
}

/// Reports what failed and returns the exit code. A record that could not be written fails
/// the run (1). Any other stage that failed (standard output, the `--output` file, the job
/// summary, step outputs, GitHub) fails it too, but drift still exits 2: the failures are on
/// standard error, every stage having run.
fn finish(outcome: RunOutcome, in_actions: bool) -> anyhow::Result<ExitCode> {
    let code = outcome.exit_code();
    let RunOutcome {
        failures,
        not_recorded,
        ..
    } = outcome;
    let failed = failures.len();
    for failure in failures {
        let err = anyhow::Error::new(failure);
        eprintln!("driftlog: error: {err:#}");
        if in_actions {
            // Drift exits 2, which a workflow may accept: the run's page still shows this.
            eprintln!(
                "{}",
                driftlog::actions::Annotation {
                    level: driftlog::actions::Level::Error,
                    file: None,
                    line: None,
                    title: Some("driftlog".to_owned()),
                    message: format!("{err:#}"),
                }
            );
        }
    }
    if let Some(first) = not_recorded.first() {
        for err in &not_recorded[1..] {
            eprintln!("driftlog: error: {}: {err}", not_recorded_because(err));
        }
        // The report is out; the missing record must still fail the job.
        return Err(anyhow::anyhow!("{first}").context(not_recorded_because(first)));
    }
    if failed > 0 {
        eprintln!(
            "driftlog: error: {failed} of the run's stages failed (above); exiting {code}{}",
            if code == 2 { " for the drift" } else { "" }
        );
    }
    Ok(ExitCode::from(code))
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    config::parse_shard(text)
}

/// `--var-file` paths are relative to where driftlog runs, not to the stack directory.
fn resolve_from_cwd(path: &Path) -> std::path::PathBuf {
    if path.is_relative() && path.exists() {
        std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    }
}

/// A `--terraform-timeout`: a duration as humantime writes it, more than zero.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("a time limit must be more than zero".to_owned()),
        Err(err) => Err(format!("{err} (write it like `45m`, `2h` or `90s`)")),
    }
}
