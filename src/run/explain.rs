//! The explain stage: each recorded scan's drift explained from the audit log (read once for
//! all of them), the main branch's commits, and the cloud audit events when given, for the
//! comment and the summary. What cannot be read leaves the reports unexplained, with a
//! warning.

use std::path::{Path, PathBuf};

use crate::audit::recorder::AuditOptions;
use crate::drift::explanation::Explanation;
use crate::drift::ScanReport;
use crate::events::EventLog;
use crate::explain::commits::CommitHistory;
use crate::explain::{self, Log};

/// Where the commits and events that explain drift come from.
pub struct Sources<'a> {
    /// The branch whose commits are searched (default: the repository's default branch).
    pub main_branch: Option<&'a str>,
    pub events: Option<&'a EventLog>,
}

/// Explains the drift of each recorded report (its explanations filled in); the warnings say
/// what could not be read. `start` is where the repository holding the log is looked for when
/// `audit.repo` names none.
pub fn explain(
    reports: &mut [&mut ScanReport],
    audit: &AuditOptions,
    start: PathBuf,
    sources: &Sources<'_>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if crate::interrupt::requested() {
        // Reading the log can take a while, and nothing will show the explanations.
        return warnings;
    }
    if !reports
        .iter()
        .any(|r| r.audit.is_some() && !r.resources.is_empty())
    {
        return warnings;
    }
    let start = audit.repo.clone().unwrap_or(start);
    let read = crate::audit::discover_repository(&start)
        .map_err(|err| super::error_chain(&err))
        .and_then(|repo| {
            let entries = crate::audit::reader::read_log(&repo, &audit.branch)
                .map_err(|err| super::error_chain(&err))?;
            Ok((repo, Log::new(entries)))
        });
    let (repo, log) = match read {
        Ok(read) => read,
        Err(err) => {
            warnings.push(format!("drift left unexplained: {err}"));
            return warnings;
        }
    };
    let mut explanations = Vec::new();
    let mut counts = Vec::new();
    for report in reports.iter() {
        let found = report
            .audit
            .as_ref()
            .and_then(|audit| log.position(audit.seq))
            .map(|index| log.explain_scan(index, &[]))
            .unwrap_or_default();
        counts.push(found.len());
        explanations.extend(found);
    }
    let root = repo.workdir().map(Path::to_path_buf).unwrap_or(start);
    warnings.extend(attach_sources(&mut explanations, &repo, &root, sources));
    let mut explanations = explanations.into_iter();
    for (report, count) in reports.iter_mut().zip(counts) {
        report.explanations = explanations.by_ref().take(count).collect();
    }
    warnings
}

/// Adds to `explanations` the main branch's commits in their windows and the cloud events
/// about their resources; the warnings say what could not be read.
pub fn attach_sources(
    explanations: &mut [Explanation],
    repo: &git2::Repository,
    root: &Path,
    sources: &Sources<'_>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if explanations.is_empty() {
        return warnings;
    }
    let since = explain::earliest_window_start(explanations);
    match CommitHistory::load(repo, sources.main_branch, since) {
        Ok(history) => explain::attach_commits(explanations, &history, root),
        Err(err) => warnings.push(format!("commits left unknown: {err}")),
    }
    if let Some(events) = sources.events {
        explain::events::attach_events(explanations, events);
    }
    warnings
}
