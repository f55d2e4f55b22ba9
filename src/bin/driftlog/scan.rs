//! `driftlog scan`: run terraform, report drift, exit like `plan -detailed-exitcode`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;

use driftlog::audit::recorder::{AuditOptions, RecordError, Subject};
use driftlog::audit::sync::Outcome;
use driftlog::batch;
use driftlog::config::{self, Config, StackSpec};
use driftlog::drift::combined::CombinedReport;
use driftlog::drift::ScanReport;
use driftlog::drift::Status;
use driftlog::github::Publication;
use driftlog::report::{self, Format};
use driftlog::run::{self, explain::Sources, ignore::IgnoreRules, stacks::ScanSettings};
use driftlog::scan::{self, ScanOptions};

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

/// The format of an `--output` file: by extension, else the standard output's.
pub fn format_for_file(path: &Path, fallback: Format) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        _ => fallback,
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
    let reporting = args.github.resolve()?;
    let format = Format::from(args.format);
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let root = repository_root();
    let config = match (args.dirs.len(), &args.config) {
        // One directory without --config: rules still come from the repository's file.
        (1, None) => Config::load(&root, None).map(|mut c| {
            c.stacks.clear();
            c
        }),
        _ => Config::load(&root, args.config.as_deref()),
    }
    .map_err(anyhow::Error::new)?;
    for warning in &config.warnings {
        eprintln!("driftlog: warning: {warning}");
    }
    let setup = Setup {
        audit,
        events: crate::explain::load_events(&args.events)?,
        reporting,
        format,
        color,
        rules: IgnoreRules::today(&config),
    };
    match args.dirs.as_slice() {
        [dir] => {
            if args.shard.is_some() {
                anyhow::bail!("--shard splits many stacks; it cannot be used with one DIR");
            }
            let options = scan_settings(&args).options(&config, dir.clone(), None, &[], &[]);
            run_single(&args, &setup, options)
        }
        dirs => {
            let specs: Vec<StackSpec> = if dirs.is_empty() {
                config.stacks.clone()
            } else {
                dirs.iter().map(|d| StackSpec::at(d.clone())).collect()
            };
            let share = match args.shard {
                Some((k, n)) => config::shard(&specs, k, n),
                None => specs.clone(),
            };
            if let (Some((k, n)), true, false) = (args.shard, share.is_empty(), specs.is_empty()) {
                // More shards than stacks (a fixed matrix over a shrinking repository): this
                // job's report holds no stack, which `report merge` adds up like any other.
                eprintln!(
                    "driftlog: shard {k}/{n} has no stacks ({} stack(s) over {n} shards): \
                     nothing to scan",
                    specs.len()
                );
            }
            run_many(
                &args,
                &setup,
                &share,
                args.shard.is_some() && !specs.is_empty(),
            )
        }
    }
}

/// What every scan of this run shares.
struct Setup<'a> {
    audit: Option<AuditOptions>,
    events: Option<driftlog::events::EventLog>,
    reporting: crate::github::Reporting,
    format: Format,
    color: bool,
    rules: IgnoreRules<'a>,
}

/// The repository holding the working directory (its work tree), else the directory itself.
pub fn repository_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    git2::Repository::discover(&cwd)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .unwrap_or(cwd)
}

/// The scan flags as the library's settings (var files made absolute from here).
fn scan_settings(args: &Args) -> ScanSettings {
    ScanSettings {
        terraform_bin: args.terraform_bin.clone().into_os_string(),
        init: args.init,
        workspace: args.workspace.clone(),
        vars: args.vars.clone(),
        var_files: args.var_files.iter().map(|f| resolve_from_cwd(f)).collect(),
        plan_args: args.plan_args.clone(),
        terraform_timeout: args.terraform_timeout,
    }
}

fn run_single(args: &Args, setup: &Setup<'_>, options: ScanOptions) -> anyhow::Result<ExitCode> {
    let spinner = progress::Spinner::new(!args.quiet);
    let mut report = scan::scan(&options, &mut |p| spinner.update(p));
    spinner.finish();
    setup.rules.apply(&mut report, &options.dir);
    let mut stages = Stages::default();
    let mut printer = Printer::new(args, setup);
    printer.early(
        &|format, color| report::render(&report, format, color),
        &mut stages,
    );
    let recorded = match &setup.audit {
        Some(audit) => run::record::record(&mut [(&mut report, options.dir.as_path())], audit),
        None => Vec::new(),
    };
    announce(&args.audit.audit_branch, &recorded);
    explain_recorded(&mut [&mut report], args, setup);
    printer.late(
        &|format, color| report::render(&report, format, color),
        &history(&[&report]),
        &mut stages,
    );
    // Also on standard error when standard output is not what the user is looking at.
    let on_screen = setup.format == Format::Terminal && std::io::stdout().is_terminal();
    if report.status == Status::Failed && !on_screen {
        if let Some(failure) = &report.failure {
            eprintln!("driftlog: error: {}", failure.message);
        }
    }
    if let Some(text) = report
        .failure
        .as_ref()
        .and_then(report::terminal::failure_output)
    {
        eprint!("{text}");
    }
    if let Some(text) = report::terminal::withheld_diagnostics(&report.diagnostics) {
        eprint!("{text}");
    }
    // GitHub hears about the scan even when recording failed: the drift is real either way.
    stages.failed.extend(
        setup
            .reporting
            .report(Publication::Single(&report), printer.json_file()),
    );
    finish(
        recorded,
        stages,
        report.status.exit_code(),
        setup.reporting.in_actions(),
    )
}

/// Scans `specs`; none is an error unless `sharded_away` (other shards hold the stacks).
fn run_many(
    args: &Args,
    setup: &Setup<'_>,
    specs: &[StackSpec],
    sharded_away: bool,
) -> anyhow::Result<ExitCode> {
    if specs.is_empty() && !sharded_away {
        anyhow::bail!(
            "no stacks to scan: no directory given, none in the configuration, and no root \
             module found under {}",
            setup.rules.config().root.display()
        );
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let jobs = scan_settings(args).jobs(setup.rules.config(), specs, &cwd, !args.dirs.is_empty());
    let concurrency = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
    });
    let progress = progress::StackProgress::new(jobs.len(), args.quiet);
    // Stacks an interrupt kept from starting have nothing to record.
    let scanned = std::sync::Mutex::new(vec![false; jobs.len()]);
    let mut reports = batch::scan_all(
        &jobs,
        concurrency,
        &|event| progress.event(event),
        &|index, report| {
            setup.rules.apply(report, &jobs[index].options.dir);
            scanned.lock().unwrap_or_else(|p| p.into_inner())[index] = true;
        },
    );
    progress.finish();
    let scanned = scanned.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut stages = Stages::default();
    let mut printer = Printer::new(args, setup);
    // Only the sum is printed early: each stack's record is added to it below.
    let early = CombinedReport::of(reports.clone())?;
    printer.early(
        &|format, color| report::render_combined(&early, format, color),
        &mut stages,
    );
    let mut recorded = Vec::new();
    if let Some(audit) = &setup.audit {
        // One push per log for all the stacks this run scanned.
        let mut scans: Vec<(&mut ScanReport, &Path)> = reports
            .iter_mut()
            .zip(&jobs)
            .zip(&scanned)
            .filter(|(_, scanned)| **scanned)
            .map(|((report, job), _)| (report, job.options.dir.as_path()))
            .collect();
        recorded = run::record::record(&mut scans, audit);
    }
    announce(&args.audit.audit_branch, &recorded);
    explain_recorded(&mut reports.iter_mut().collect::<Vec<_>>(), args, setup);
    let combined = CombinedReport::of(reports)?;
    printer.late(
        &|format, color| report::render_combined(&combined, format, color),
        &history(&combined.stacks.iter().collect::<Vec<_>>()),
        &mut stages,
    );
    for stack in combined
        .stacks
        .iter()
        .filter(|s| s.status == Status::Failed)
    {
        if let Some(failure) = &stack.failure {
            eprintln!("driftlog: error: {}: {}", stack.stack.dir, failure.message);
            if let Some(text) = report::terminal::failure_output(failure) {
                eprint!("{text}");
            }
        }
    }
    for stack in &combined.stacks {
        if let Some(text) = report::terminal::withheld_diagnostics(&stack.diagnostics) {
            eprint!("{text}");
        }
    }
    stages.failed.extend(
        setup
            .reporting
            .report(Publication::Combined(&combined), printer.json_file()),
    );
    finish(
        recorded,
        stages,
        combined.status.exit_code(),
        setup.reporting.in_actions(),
    )
}

/// Explains the drift of each recorded report (see `driftlog::run::explain`).
fn explain_recorded(reports: &mut [&mut ScanReport], args: &Args, setup: &Setup<'_>) {
    let Some(audit) = &setup.audit else { return };
    let sources = Sources {
        main_branch: args.main_branch.as_deref(),
        events: setup.events.as_ref(),
    };
    for warning in run::explain::explain(reports, audit, repository_root(), &sources) {
        eprintln!("driftlog: warning: {warning}");
    }
}

/// The stages after the scan that failed; each is reported once all were tried.
#[derive(Default)]
struct Stages {
    failed: Vec<anyhow::Error>,
}

/// Where the report goes: standard output and the `--output` file, each as early as it can.
struct Printer<'a> {
    args: &'a Args,
    setup: &'a Setup<'a>,
    stdout_done: bool,
    /// The `--output` file holds the report (it was written without error).
    file_written: bool,
}

impl<'a> Printer<'a> {
    fn new(args: &'a Args, setup: &'a Setup<'a>) -> Self {
        Printer {
            args,
            setup,
            stdout_done: false,
            file_written: false,
        }
    }

    /// Before recording and publishing, so that nothing later (a remote that never answers,
    /// a signal) keeps the report from the user: the terminal report, and the `--output` file.
    /// JSON and markdown on standard output wait for recording: they are one document each,
    /// and carry the record's place.
    fn early(&mut self, render: &dyn Fn(Format, bool) -> String, stages: &mut Stages) {
        if self.setup.format == Format::Terminal {
            self.stdout_done = true;
            stages
                .failed
                .extend(print_stdout(&render(Format::Terminal, self.setup.color)).err());
        }
        self.write_file(render, stages);
    }

    /// After recording: standard output if it waited, else the explanations recording made
    /// possible (`history`); the `--output` file again, now with the record's place.
    fn late(
        &mut self,
        render: &dyn Fn(Format, bool) -> String,
        history: &str,
        stages: &mut Stages,
    ) {
        let text = if self.stdout_done {
            history.to_owned()
        } else {
            render(self.setup.format, self.setup.color)
        };
        stages.failed.extend(print_stdout(&text).err());
        let recorded = self.setup.audit.is_some();
        if self.file_written && recorded {
            self.write_file(render, stages);
        }
    }

    fn write_file(&mut self, render: &dyn Fn(Format, bool) -> String, stages: &mut Stages) {
        let Some(path) = self.args.output.as_deref() else {
            return;
        };
        let text = render(format_for_file(path, self.setup.format), false);
        match write_replacing(path, &text) {
            Ok(()) => self.file_written = true,
            Err(err) => {
                self.file_written = false;
                stages.failed.push(
                    anyhow::Error::new(err)
                        .context(format!("writing the report to {}", path.display())),
                );
            }
        }
    }

    /// The `--output` file when it holds the JSON report.
    fn json_file(&self) -> Option<&Path> {
        self.args.output.as_deref().filter(|path| {
            self.file_written && format_for_file(path, self.setup.format) == Format::Json
        })
    }
}

fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match printed {
        // A reader that stopped early (`| head`) must not turn drift into success.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report to standard output"),
    }
}

/// Writes `path` whole or not at all: a run stopped while rewriting it leaves the earlier
/// report in place.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.persist(path).map(drop).map_err(|err| err.error)
}

/// The explanation lines of the terminal report, for a report printed before they existed.
fn history(reports: &[&ScanReport]) -> String {
    let mut text = String::new();
    for report in reports {
        let current = report.audit.as_ref().map(|a| a.seq);
        for explanation in &report.explanations {
            let line = report::explanation::one_line(explanation, current);
            text.push_str(&format!(
                "  {}\n      history: {line}\n",
                explanation.address
            ));
        }
    }
    if text.is_empty() {
        return text;
    }
    format!("\nFrom the audit log:\n{text}")
}

/// Says where each record landed, right after recording.
fn announce(branch: &str, recorded: &[Result<Outcome, RecordError>]) {
    for outcome in recorded {
        match outcome {
            Ok(outcome) => print_recorded(branch, outcome),
            Err(err) => print_unpushed_warnings(err),
        }
    }
}

/// What a recording error means for the scan: not recorded at all, or recorded on the
/// remote but kept off the branch by a refusal someone must look at.
fn not_recorded_because(err: &RecordError) -> &'static str {
    match err {
        RecordError::Sync(driftlog::audit::sync::SyncError::NotPushed {
            failure: driftlog::audit::sync::PushFailure::RefusedPending { .. },
            ..
        }) => "the scan's record did not reach the audit branch",
        _ => "the scan was NOT recorded in the audit log",
    }
}

/// Reports what failed and decides the exit code. A record that could not be written fails
/// the run (1). Any other stage that failed (standard output, the `--output` file, the job
/// summary, step outputs, GitHub) fails it too, but drift still exits 2: the failures are on
/// standard error, every stage having run.
fn finish(
    recorded: Vec<Result<Outcome, RecordError>>,
    stages: Stages,
    code: u8,
    in_actions: bool,
) -> anyhow::Result<ExitCode> {
    let not_recorded: Vec<RecordError> = recorded.into_iter().filter_map(Result::err).collect();
    for err in &stages.failed {
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
    if stages.failed.is_empty() {
        return Ok(ExitCode::from(code));
    }
    let code = if code == 2 { 2 } else { 1 };
    eprintln!(
        "driftlog: error: {} of the run's stages failed (above); exiting {code}{}",
        stages.failed.len(),
        if code == 2 { " for the drift" } else { "" }
    );
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
