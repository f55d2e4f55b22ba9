//! Progress as words: what a spinner says while one stack is scanned, and the line a finished
//! stack of many gets; and shown: a spinner or a bar on a terminal, plain lines in CI logs.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::batch::{self, Event};
use crate::drift::{ScanReport, Status};
use crate::engine::Progress;

use super::{human_duration, plural};

/// Where one stack's scan is.
pub fn step(progress: &Progress<'_>) -> String {
    match progress {
        Progress::Initializing => "terraform init".to_owned(),
        Progress::Planning => "terraform plan -refresh-only: starting".to_owned(),
        Progress::RefreshStarted { address } => format!("refreshing {address}"),
        Progress::RefreshCompleted { address, refreshed } => {
            format!(
                "refreshed {} (last: {address})",
                plural(*refreshed, "resource")
            )
        }
        Progress::Drift { address } => format!("drift: {address}"),
        Progress::Classifying { drifted } => {
            format!("terraform plan: which drift of {drifted} resources the configuration manages")
        }
        Progress::ReadingPlan { drifted } => {
            format!("reading values of {drifted} drifted resources")
        }
    }
}

/// `[done/total] name: result in duration`, for the stack of many that just finished.
pub fn stack_finished(done: usize, total: usize, name: &str, report: &ScanReport) -> String {
    let result = match report.status {
        Status::Clean => "clean".to_owned(),
        Status::Drifted => format!("drifted ({})", plural(report.summary.drifted, "resource")),
        Status::Failed => "FAILED".to_owned(),
    };
    format!(
        "[{done}/{total}] {name}: {result} in {}",
        human_duration(report.duration_ms)
    )
}

/// Progress of the scans.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanProgress<'a> {
    /// The single stack of a one-directory run.
    Stack(Progress<'a>),
    /// A stack of many starting or finishing.
    Batch(batch::Event<'a>),
}

/// The scans' progress on standard error: one stack's spinner, or many stacks' bar.
pub enum ScansProgress {
    Single(Spinner),
    Many(StackProgress),
}

impl ScansProgress {
    pub fn new(single: bool, stacks: usize, quiet: bool) -> Self {
        match single {
            true => ScansProgress::Single(Spinner::new(!quiet)),
            false => ScansProgress::Many(StackProgress::new(stacks, quiet)),
        }
    }

    /// Shows `event`; returns the line for standard error a CI log gets instead of a bar.
    pub fn update(&self, event: ScanProgress<'_>) -> Option<String> {
        match (self, event) {
            (ScansProgress::Single(spinner), ScanProgress::Stack(p)) => spinner.update(p),
            (ScansProgress::Many(bar), ScanProgress::Batch(event)) => return bar.event(event),
            _ => {}
        }
        None
    }

    pub fn finish(&self) {
        match self {
            ScansProgress::Single(spinner) => spinner.finish(),
            ScansProgress::Many(bar) => bar.finish(),
        }
    }
}

/// A spinner on the terminal while terraform refreshes; silent in CI logs.
pub struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    pub fn new(enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Spinner { bar }
    }

    pub fn update(&self, progress: Progress<'_>) {
        let Some(bar) = &self.bar else { return };
        bar.set_message(step(&progress));
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Progress over many stacks: a bar on a terminal, one plain line per finished stack in CI
/// logs (a bar's redraws would fill a log with noise).
pub struct StackProgress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    quiet: bool,
}

impl StackProgress {
    pub fn new(total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} stacks {elapsed} {msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        StackProgress {
            bar,
            total,
            done: AtomicUsize::new(0),
            quiet,
        }
    }

    /// Shows `event`; returns the line for standard error when there is no bar to print it.
    pub fn event(&self, event: Event<'_>) -> Option<String> {
        match event {
            Event::Started { name, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("scanning {name}"));
                }
                None
            }
            Event::Finished { name, report, .. } => {
                let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
                let line = stack_finished(done, self.total, name, report);
                match &self.bar {
                    Some(bar) => {
                        bar.inc(1);
                        bar.println(line);
                        None
                    }
                    None => (!self.quiet).then(|| format!("driftlog: {line}")),
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::drift::{ScanReport, Status};
    use crate::engine::Progress;

    #[test]
    fn a_finished_stack_says_its_place_result_and_time() {
        let mut report = ScanReport::test("infra", Status::Drifted);
        report.summary.drifted = 2;
        report.duration_ms = 1_500;
        let line = super::stack_finished(3, 7, "infra/prod", &report);
        assert_eq!(line, "[3/7] infra/prod: drifted (2 resources) in 1.5 s");
        let step = super::step(&Progress::RefreshCompleted {
            address: "aws_s3_bucket.logs",
            refreshed: 1,
        });
        assert_eq!(step, "refreshed 1 resource (last: aws_s3_bucket.logs)");
    }
}
