//! A spinner on the terminal while terraform refreshes; silent in CI logs.

use std::io::IsTerminal;
use std::time::Duration;

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
        bar.set_message(driftlog::report::progress::step(&progress));
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
        match event {
            Event::Started { name, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("scanning {name}"));
                }
            }
            Event::Finished { name, report, .. } => {
                let done = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let line =
                    driftlog::report::progress::stack_finished(done, self.total, name, report);
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
