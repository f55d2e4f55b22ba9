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
