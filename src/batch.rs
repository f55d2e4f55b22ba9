//! Scanning many stacks at once: at most `jobs` terraform runs at a time, each stack in its
//! own temp files, one failing stack never stopping the others, results in the order given.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use std::sync::Arc;

use crate::drift::ScanReport;
use crate::engine::Engine;

/// One stack to scan, with the name reports and progress use, and the engine that scans it.
#[derive(Debug, Clone)]
pub struct StackJob {
    pub name: String,
    pub engine: Arc<dyn Engine>,
    /// The owners the configuration gives the stack (and the stacks it holds).
    pub owners: Vec<crate::owners::Owner>,
}

/// What a progress display hears about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    Started {
        index: usize,
        name: &'a str,
    },
    Finished {
        index: usize,
        name: &'a str,
        report: &'a ScanReport,
    },
}

/// Scans every job with at most `jobs` at a time (at least one). `finish` runs on each
/// report as soon as its scan ends, on the scanning thread (apply ignore rules, record it);
/// callers serialize what must not overlap. Reports come back in the order of `stacks`.
pub fn scan_all(
    stacks: &[StackJob],
    jobs: usize,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    finish: &(dyn Fn(usize, &mut ScanReport) + Sync),
) -> Vec<Vec<ScanReport>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Vec<ScanReport>>>> = Mutex::new(vec![None; stacks.len()]);
    let workers = jobs.clamp(1, stacks.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = stacks.get(index) else {
                    break;
                };
                if crate::interrupt::requested() {
                    // Ctrl-C: the running scans stop terraform; queued ones do not start.
                    break;
                }
                on_event(Event::Started {
                    index,
                    name: &job.name,
                });
                let mut reports = job.engine.scan(&mut |_| {});
                if reports.is_empty() {
                    // An engine always reports its own stack; never let a stack vanish.
                    let mut report = not_started(job);
                    report.failure = Some(crate::drift::Failure::new(
                        "no_report",
                        "the scan ended without a report of this stack",
                    ));
                    reports.push(report);
                }
                for report in &mut reports {
                    finish(index, report);
                }
                on_event(Event::Finished {
                    index,
                    name: &job.name,
                    report: &reports[0],
                });
                let mut results = results.lock().unwrap_or_else(|p| p.into_inner());
                results[index] = Some(reports);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results
        .into_iter()
        .zip(stacks)
        .map(|(reports, job)| reports.unwrap_or_else(|| vec![not_started(job)]))
        .collect()
}

/// The report of a stack an interrupt kept from starting.
fn not_started(job: &StackJob) -> ScanReport {
    let mut report = ScanReport::new(
        job.engine.stack(),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    );
    report.failure = Some(crate::drift::Failure::new(
        "interrupted",
        "interrupted before this stack was scanned",
    ));
    report
}
