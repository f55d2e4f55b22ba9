//! One run of `driftlog scan`, from resolved settings to its outcome. [`run`] is the one
//! place the stages' order is written down:
//!
//! configuration -> stacks -> scan (each with its engine) -> ignore rules -> owners ->
//! render (early) -> record -> explain -> render (late) -> publish -> notify -> outcome.
//!
//! Nothing here prints: the caller's [`Observer`] hears progress, gets the text for standard
//! output and the lines for standard error, in the order they belong.

use std::path::{Path, PathBuf};

use crate::audit::recorder::{AuditOptions, RecordError};
use crate::audit::sync::{Outcome, PushFailure, SyncError};
use crate::batch::{self, StackJob};
use crate::config::{self, Config, ConfigError, StackSpec};
use crate::drift::combined::DuplicateStack;
use crate::drift::{ScanReport, Status};
use crate::engine::terraform::TerraformEngine;
use crate::events::{EventLog, EventsError};
pub use crate::report::progress::ScanProgress;
use crate::report::terminal;

use super::explain::Sources;
use super::ignore::IgnoreRules;
use super::output::{Document, Output, OutputSettings};
use super::publish::{PublishFailure, Published, Publisher};
use super::stacks::ScanSettings;

/// Everything one run needs, resolved from the command line.
pub struct RunSettings {
    /// The stack directories given: one gives that stack's report; none scans the
    /// configuration's (or discovered) stacks; several scan those, in one combined report.
    pub dirs: Vec<PathBuf>,
    /// CloudFormation stacks given (`--cloudformation`), scanned with `dirs`.
    pub cloudformation: Vec<config::CloudFormationSpec>,
    /// `--config` (default: `.driftlog.toml` at `root`).
    pub config_file: Option<PathBuf>,
    /// The repository's work tree (else the working directory).
    pub root: PathBuf,
    /// Where driftlog runs: stack directories read naturally from here.
    pub cwd: PathBuf,
    /// Scan only shard K of N of the stacks.
    pub shard: Option<(usize, usize)>,
    /// Stacks scanned at a time.
    pub concurrency: usize,
    pub scan: ScanSettings,
    /// The audit log to record in; `None` records nothing.
    pub audit: Option<AuditOptions>,
    /// Cloud audit event files that explain drift.
    pub events: Vec<PathBuf>,
    /// The branch whose commits explanations list.
    pub main_branch: Option<String>,
    pub output: OutputSettings,
}

/// `--jobs`, else the number of CPUs.
pub fn concurrency(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
    })
}

/// What the caller shows of a run.
pub trait Observer: Sync {
    /// The scans begin: one stack's (progress as [`ScanProgress::Stack`]) or many.
    fn scans_started(&self, _single: bool, _stacks: usize) {}
    /// Called from the scanning threads.
    fn progress(&self, _progress: ScanProgress<'_>) {}
    fn scans_finished(&self) {}
    /// Text for standard output.
    fn stdout(&self, text: &str) -> std::io::Result<()>;
    /// A line (or, for [`Line::Text`], lines) for standard error.
    fn line(&self, line: Line<'_>);
    /// Where a log's records landed, or why they did not.
    fn recorded(&self, branch: &str, recorded: &Result<Outcome, RecordError>);
    /// What publishing did.
    fn published(&self, published: &Published);
}

/// A message for standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Warning(&'a str),
    /// Something the user should know that is neither wrong nor a warning.
    Note(&'a str),
    Error(&'a str),
    /// Text shown as it is (terraform's output, withheld diagnostics), newlines included.
    Text(&'a str),
}

/// The line as every command prints it on standard error, its newline included.
impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Line::Warning(text) => writeln!(f, "driftlog: warning: {text}"),
            Line::Note(text) => writeln!(f, "driftlog: {text}"),
            Line::Error(text) => writeln!(f, "driftlog: error: {text}"),
            Line::Text(text) => f.write_str(text),
        }
    }
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("reading the cloud audit events")]
    Events(#[source] EventsError),
    #[error("--shard splits many stacks; it cannot be used with one DIR")]
    ShardWithOneDir,
    #[error(
        "no stacks to scan: no directory given, none in the configuration, and no root module \
         found under {}",
        root.display()
    )]
    NoStacks { root: PathBuf },
    #[error(transparent)]
    DuplicateStack(#[from] DuplicateStack),
}

/// A stage after the scan that failed; every stage was still tried.
#[derive(Debug, thiserror::Error)]
pub enum StageFailure {
    #[error("writing the report to standard output")]
    Stdout(#[source] std::io::Error),
    #[error("writing the report to {}", path.display())]
    OutputFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Publish(#[from] PublishFailure),
}

/// What a run found and what failed after the scan.
#[derive(Debug)]
pub struct RunOutcome {
    /// The drift's exit code, as `terraform plan -detailed-exitcode`: 0 clean, 2 drift, 1
    /// failed.
    pub drift_code: u8,
    pub failures: Vec<StageFailure>,
    /// The logs whose records could not be written: the run fails, whatever it found.
    pub not_recorded: Vec<RecordError>,
}

impl RunOutcome {
    /// The exit code when every record was written. A failed stage fails the run, but
    /// drift still exits 2: the failures are reported, every stage having run.
    pub fn exit_code(&self) -> u8 {
        match (self.failures.is_empty(), self.drift_code) {
            (true, code) => code,
            (false, 2) => 2,
            (false, _) => 1,
        }
    }
}

/// How a run ends, for the caller to print: [`RunOutcome::conclude`].
#[derive(Debug, PartialEq, Eq)]
pub struct Conclusion {
    /// For standard error, each without its newline: the failures (with an annotation each in
    /// GitHub Actions) and the summary.
    pub lines: Vec<String>,
    /// The exit code, or the error that fails the run (a record that could not be written).
    pub result: Result<u8, String>,
}

impl RunOutcome {
    /// Reports what failed and settles the exit code. A record that could not be written
    /// fails the run (the error). Any other stage that failed (standard output, the
    /// `--output` file, the job summary, step outputs, GitHub) fails it too, but drift still
    /// exits 2: the failures are on standard error, every stage having run.
    pub fn conclude(self, in_actions: bool) -> Conclusion {
        let code = self.exit_code();
        let RunOutcome {
            failures,
            not_recorded,
            ..
        } = self;
        let mut lines = Vec::new();
        for failure in &failures {
            let message = super::full_chain(failure);
            lines.push(format!("driftlog: error: {message}"));
            if in_actions {
                // Drift exits 2, which a workflow may accept: the run's page still shows this.
                let annotation = crate::actions::Annotation {
                    level: crate::actions::Level::Error,
                    file: None,
                    line: None,
                    title: Some("driftlog".to_owned()),
                    message,
                };
                lines.push(annotation.to_string());
            }
        }
        if let Some(first) = not_recorded.first() {
            for err in &not_recorded[1..] {
                lines.push(format!(
                    "driftlog: error: {}: {err}",
                    not_recorded_because(err)
                ));
            }
            // The report is out; the missing record must still fail the job.
            let result = Err(format!("{}: {first}", not_recorded_because(first)));
            return Conclusion { lines, result };
        }
        if !failures.is_empty() {
            lines.push(format!(
                "driftlog: error: {} of the run's stages failed (above); exiting {code}{}",
                failures.len(),
                if code == 2 { " for the drift" } else { "" }
            ));
        }
        Conclusion {
            lines,
            result: Ok(code),
        }
    }
}

/// What a recording error means for the scan: not recorded at all, or recorded on the
/// remote but kept off the branch by a refusal someone must look at.
pub fn not_recorded_because(err: &RecordError) -> &'static str {
    match err {
        RecordError::Sync(SyncError::NotPushed {
            failure: PushFailure::RefusedPending { .. },
            ..
        }) => "the scan's record did not reach the audit branch",
        _ => "the scan was NOT recorded in the audit log",
    }
}

/// One run: the stages in order. `publisher` was settled before, so bad publish settings
/// failed before anything ran.
pub fn run(
    settings: &RunSettings,
    publisher: &Publisher,
    observer: &dyn Observer,
) -> Result<RunOutcome, RunError> {
    let config = load_config(settings)?;
    for warning in &config.warnings {
        observer.line(Line::Warning(warning));
    }
    let events = match settings.events.as_slice() {
        [] => None,
        paths => Some(EventLog::load(paths).map_err(RunError::Events)?),
    };
    let plan = plan(settings, &config, observer)?;
    run_plan(
        settings,
        &config,
        events.as_ref(),
        plan,
        publisher,
        observer,
    )
}

/// The stacks a run scans, each with its engine.
pub struct Plan {
    /// One directory was given: its report is that stack's, not a combined one.
    pub single: bool,
    pub jobs: Vec<StackJob>,
}

/// The stages after planning, for the stacks `plan` holds.
pub fn run_plan(
    settings: &RunSettings,
    config: &Config,
    events: Option<&EventLog>,
    plan: Plan,
    publisher: &Publisher,
    observer: &dyn Observer,
) -> Result<RunOutcome, RunError> {
    let Plan { single, jobs } = plan;
    // Before the scan starts any process: the receivers' variables leave the environment.
    let notifier = super::notify::Notifier::resolve(config);
    let rules = IgnoreRules::today(config);
    let (mut reports, scanned) = scan(single, &jobs, settings.concurrency, &rules, observer);
    for warning in super::owners::route(&mut reports, &settings.root) {
        observer.line(Line::Warning(&warning));
    }
    // A stack holding others (nested CloudFormation stacks) reports them all, combined.
    let single = single && reports.len() == 1;
    // A CloudFormation stack is recorded in the log of the repository the run started in.
    let dirs: Vec<PathBuf> = reports
        .iter()
        .map(|report| match report.stack.cloudformation {
            Some(_) => settings.root.clone(),
            None => PathBuf::from(&report.stack.dir),
        })
        .collect();

    let mut output = Output::new(&settings.output, settings.audit.is_some());
    // Only the sum is shown early: each stack's record is added to it below.
    output.early(&Document::of(single, reports.clone())?, observer);
    let recorded = match &settings.audit {
        Some(audit) => {
            let mut scans: Vec<(&mut ScanReport, &Path)> = reports
                .iter_mut()
                .zip(&dirs)
                .zip(&scanned)
                .filter(|(_, scanned)| **scanned)
                .map(|((report, dir), _)| (report, dir.as_path()))
                .collect();
            super::record::record(&mut scans, audit)
        }
        None => Vec::new(),
    };
    if let Some(audit) = &settings.audit {
        for outcome in &recorded {
            observer.recorded(&audit.branch, outcome);
        }
        let sources = Sources {
            main_branch: settings.main_branch.as_deref(),
            events,
        };
        let mut all: Vec<&mut ScanReport> = reports.iter_mut().collect();
        let start = settings.root.clone();
        for warning in super::explain::explain(&mut all, audit, start, &sources) {
            observer.line(Line::Warning(&warning));
        }
    }
    let document = Document::of(single, reports)?;
    output.late(&document, observer);
    show_failures(&document, &settings.output, observer);
    // GitHub hears about the scan even when recording failed: the drift is real either way.
    let published = publisher.publish(document.publication(), output.json_file());
    observer.published(&published);
    let mut failures = output.failures;
    failures.extend(published.failures.into_iter().map(StageFailure::Publish));
    let issues = published.issues;
    let notified = super::notify::notify(
        &notifier,
        &document.publication().stacks(),
        settings.audit.as_ref(),
        settings.root.clone(),
        &|index| publisher.links(index, &issues),
    );
    for line in &notified.sent {
        observer.line(Line::Note(line));
    }
    for warning in &notified.warnings {
        observer.line(Line::Warning(warning));
    }
    // A notification never fails the run, nor does its line in the summary.
    if let Err(err) = publisher.append_summary(&notified.summary_markdown()) {
        let message = format!(
            "the notifications' job summary: {}",
            super::full_chain(&err)
        );
        observer.line(Line::Warning(&message));
    }
    Ok(RunOutcome {
        drift_code: document.publication().status().exit_code(),
        failures,
        not_recorded: recorded.into_iter().filter_map(Result::err).collect(),
    })
}

fn load_config(settings: &RunSettings) -> Result<Config, ConfigError> {
    let given = settings.dirs.len() + settings.cloudformation.len();
    match (given, &settings.config_file) {
        // One stack without --config: rules still come from the repository's file.
        (1, None) => Config::load(&settings.root, None).map(|mut config| {
            config.stacks.clear();
            config
        }),
        (_, file) => Config::load(&settings.root, file.as_deref()),
    }
}

/// The stacks to scan, and whether this is a one-directory run.
fn plan(
    settings: &RunSettings,
    config: &Config,
    observer: &dyn Observer,
) -> Result<Plan, RunError> {
    for dir in &settings.dirs {
        config::check_terraform_dir(&settings.root, &settings.cwd, dir)?;
    }
    if let ([], [spec]) = (settings.dirs.as_slice(), settings.cloudformation.as_slice()) {
        if settings.shard.is_some() {
            return Err(RunError::ShardWithOneDir);
        }
        let spec = StackSpec::of_cloudformation(spec.clone());
        return Ok(Plan {
            single: true,
            jobs: settings.scan.jobs(config, &[spec], &settings.cwd, true),
        });
    }
    if let ([dir], []) = (settings.dirs.as_slice(), settings.cloudformation.as_slice()) {
        if settings.shard.is_some() {
            return Err(RunError::ShardWithOneDir);
        }
        let options = settings.scan.options(config, dir.clone(), None, &[], &[]);
        let job = StackJob {
            name: dir.display().to_string(),
            engine: std::sync::Arc::new(TerraformEngine { options }),
            // The configuration's stacks are not read for one DIR: CODEOWNERS decides.
            owners: Vec::new(),
        };
        return Ok(Plan {
            single: true,
            jobs: vec![job],
        });
    }
    let given = !settings.dirs.is_empty() || !settings.cloudformation.is_empty();
    let specs: Vec<StackSpec> = if !given {
        config.stacks.clone()
    } else {
        let dirs = settings.dirs.iter().map(|d| StackSpec::at(d.clone()));
        let stacks = settings
            .cloudformation
            .iter()
            .map(|spec| StackSpec::of_cloudformation(spec.clone()));
        dirs.chain(stacks).collect()
    };
    let share = match settings.shard {
        Some((k, n)) => config::shard(&specs, k, n),
        None => specs.clone(),
    };
    if let (Some((k, n)), true, false) = (settings.shard, share.is_empty(), specs.is_empty()) {
        // More shards than stacks (a fixed matrix over a shrinking repository): this job's
        // report holds no stack, which `report merge` adds up like any other.
        observer.line(Line::Note(&format!(
            "shard {k}/{n} has no stacks ({} stack(s) over {n} shards): nothing to scan",
            specs.len()
        )));
    }
    // None to scan is an error unless other shards hold the stacks.
    let sharded_away = settings.shard.is_some() && !specs.is_empty();
    if share.is_empty() && !sharded_away {
        return Err(RunError::NoStacks {
            root: config.root.clone(),
        });
    }
    Ok(Plan {
        single: false,
        jobs: settings.scan.jobs(config, &share, &settings.cwd, given),
    })
}

/// Scans every job, the ignore rules marked on each report as soon as its scan ends; each
/// report (a job's stack, then the stacks it holds) and whether it was scanned (an interrupt
/// keeps queued jobs from starting, with nothing to record).
fn scan(
    single: bool,
    jobs: &[StackJob],
    concurrency: usize,
    rules: &IgnoreRules<'_>,
    observer: &dyn Observer,
) -> (Vec<ScanReport>, Vec<bool>) {
    observer.scans_started(single, jobs.len());
    if let (true, [job]) = (single, jobs) {
        let mut reports = job
            .engine
            .scan(&mut |p| observer.progress(ScanProgress::Stack(p)));
        observer.scans_finished();
        if reports.is_empty() {
            let mut report = ScanReport::new(job.engine.stack(), String::new());
            report.failure = Some(crate::drift::Failure::new(
                "no_report",
                "the scan ended without a report of this stack",
            ));
            reports.push(report);
        }
        for report in &mut reports {
            rules.apply(report, &PathBuf::from(&report.stack.dir));
            super::owners::give(report, &job.owners);
        }
        let scanned = vec![true; reports.len()];
        return (reports, scanned);
    }
    let scanned = std::sync::Mutex::new(vec![false; jobs.len()]);
    let reports = batch::scan_all(
        jobs,
        concurrency,
        &|event| observer.progress(ScanProgress::Batch(event)),
        &|index, report| {
            rules.apply(report, &PathBuf::from(&report.stack.dir));
            scanned.lock().unwrap_or_else(|p| p.into_inner())[index] = true;
        },
    );
    observer.scans_finished();
    let scanned = scanned.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut flat = (Vec::new(), Vec::new());
    for ((reports, scanned), job) in reports.into_iter().zip(scanned).zip(jobs) {
        for mut report in reports {
            super::owners::give(&mut report, &job.owners);
            flat.0.push(report);
            flat.1.push(scanned);
        }
    }
    flat
}

/// Failures and withheld diagnostics on standard error, where a log or a person reading
/// standard error sees them. One stack's failure is not repeated when the terminal report
/// on screen already shows it.
fn show_failures(document: &Document, output: &OutputSettings, observer: &dyn Observer) {
    let single = matches!(document, Document::Single(_));
    let on_screen = output.format == crate::report::Format::Terminal && output.stdout_is_terminal;
    for report in document.publication().stacks() {
        let Some(failure) = &report.failure else {
            continue;
        };
        let failed = report.status == Status::Failed;
        match single {
            true if failed && !on_screen => observer.line(Line::Error(&failure.message)),
            false if failed => observer.line(Line::Error(&format!(
                "{}: {}",
                report.stack.dir, failure.message
            ))),
            // One stack's failure output is shown whatever its status; many stacks' only
            // for those that failed.
            false => continue,
            true => {}
        }
        if let Some(text) = terminal::failure_output(failure) {
            observer.line(Line::Text(&text));
        }
    }
    for report in document.publication().stacks() {
        if let Some(text) = terminal::withheld_diagnostics(&report.diagnostics) {
            observer.line(Line::Text(&text));
        }
    }
}

#[cfg(test)]
mod tests;
