//! A spinner on the terminal while terraform refreshes; silent in CI logs.

use std::io::IsTerminal;
use std::time::Duration;

use driftlog::report::plural;
use driftlog::scan::Progress;
use indicatif::{ProgressBar, ProgressStyle};

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
        let message = match progress {
            Progress::Initializing => "terraform init".to_owned(),
            Progress::Planning => "terraform plan -refresh-only: starting".to_owned(),
            Progress::RefreshStarted { address } => format!("refreshing {address}"),
            Progress::RefreshCompleted { address, refreshed } => {
                format!(
                    "refreshed {} (last: {address})",
                    plural(refreshed, "resource")
                )
            }
            Progress::Drift { address } => format!("drift: {address}"),
            Progress::Classifying { drifted } => {
                format!(
                    "terraform plan: which drift of {drifted} resources the configuration manages"
                )
            }
            Progress::ReadingPlan { drifted } => {
                format!("reading values of {drifted} drifted resources")
            }
        };
        bar.set_message(message);
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
    done: std::sync::atomic::AtomicUsize,
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
            done: std::sync::atomic::AtomicUsize::new(0),
            quiet,
        }
    }

    pub fn event(&self, event: driftlog::batch::Event<'_>) {
        use driftlog::batch::Event;
        use driftlog::drift::Status;
        match event {
            Event::Started { name, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("scanning {name}"));
                }
            }
            Event::Finished { name, report, .. } => {
                let done = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let result = match report.status {
                    Status::Clean => "clean".to_owned(),
                    Status::Drifted => {
                        format!("drifted ({})", plural(report.summary.drifted, "resource"))
                    }
                    Status::Failed => "FAILED".to_owned(),
                };
                let line = format!(
                    "[{done}/{}] {name}: {result} in {}",
                    self.total,
                    driftlog::report::human_duration(report.duration_ms)
                );
                match &self.bar {
                    Some(bar) => {
                        bar.inc(1);
                        bar.println(line);
                    }
                    None if !self.quiet => eprintln!("driftlog: {line}"),
                    None => {}
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
