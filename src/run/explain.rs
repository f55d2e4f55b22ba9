//! The explain stage: each recorded scan's drift explained from the audit log (read once for
//! all of them), the main branch's commits, and the cloud audit events when given, for the
//! comment and the summary. What cannot be read leaves the reports unexplained, with a
//! warning. And the commands that read the log to explain it: `driftlog explain`
//! ([`explain_latest`], the latest scan of each stack) and `driftlog history` ([`history`]).

use std::path::{Path, PathBuf};

use crate::audit::reader::ReadError;
use crate::audit::recorder::AuditOptions;
use crate::audit::OpenRepositoryError;
use crate::drift::explanation::Explanation;
use crate::drift::ScanReport;
use crate::events::{EventLog, EventsError};
use crate::explain::commits::CommitHistory;
use crate::explain::{self, ExplainError, HistoryEntry, Log};

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

/// Which log, and what of it, `driftlog explain` and `driftlog history` read.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// The repository holding the audit branch (or a directory inside it).
    pub repo: PathBuf,
    pub branch: String,
    /// Only the stack at this path (relative to the repository root, as recorded).
    pub stack: Option<String>,
}

/// What `driftlog explain` asks.
#[derive(Debug, Clone)]
pub struct LatestSettings {
    pub log: LogSettings,
    /// Only these resource addresses (empty: every drifted resource).
    pub addresses: Vec<String>,
    /// The branch whose commits are searched (default: the repository's default branch).
    pub main_branch: Option<String>,
    /// Cloud audit event files to match.
    pub events: Vec<PathBuf>,
}

/// The explanations of the latest completed scan of each stack.
pub struct Latest {
    pub explanations: Vec<Explanation>,
    /// The stacks whose latest scan showed none of the drift asked about.
    pub clean: Vec<String>,
    /// What could not be read (commits, events).
    pub warnings: Vec<String>,
}

/// Why the log could not be read, or says nothing of what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Open(#[from] OpenRepositoryError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Explain(#[from] ExplainError),
    #[error("reading the cloud audit events")]
    Events(#[source] EventsError),
    #[error(
        "no record of {branch} names {address}: it never drifted or was applied in the log \
         ({records} records); pass --stack PATH to list the scans of its stack"
    )]
    NotNamed {
        branch: String,
        address: String,
        records: usize,
    },
}

/// `driftlog explain`: for each stack (or the one asked), the drift of its latest completed
/// scan explained from the log, the main branch's commits and the events.
pub fn explain_latest(settings: &LatestSettings) -> Result<Latest, LogError> {
    // Bad event files fail before anything is read from git.
    let events = match settings.events.as_slice() {
        [] => None,
        paths => Some(EventLog::load(paths).map_err(LogError::Events)?),
    };
    let (repo, log) = read(&settings.log)?;
    let mut explanations = Vec::new();
    let mut clean = Vec::new();
    for stack in log.stacks_at(settings.log.stack.as_deref())? {
        let Ok(latest) = log.latest_scan(&stack) else {
            continue;
        };
        let found = log.explain_scan(latest, &settings.addresses);
        if found.is_empty() {
            clean.push(stack.display());
        }
        explanations.extend(found);
    }
    let root = repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| settings.log.repo.clone());
    let sources = Sources {
        main_branch: settings.main_branch.as_deref(),
        events: events.as_ref(),
    };
    let warnings = attach_sources(&mut explanations, &repo, &root, &sources);
    Ok(Latest {
        explanations,
        clean,
        warnings,
    })
}

/// `driftlog history`: every record that touched `address` (in its stacks, or the one
/// asked), newest first, at most `limit`.
pub fn history(
    settings: &LogSettings,
    address: &str,
    limit: Option<usize>,
) -> Result<Vec<HistoryEntry>, LogError> {
    let (_, log) = read(settings)?;
    let stacks = match &settings.stack {
        Some(path) => Some(log.stacks_at(Some(path))?),
        None => None,
    };
    let mut entries = log.history(address, stacks.as_deref());
    if let Some(limit) = limit {
        entries.truncate(limit);
    }
    if entries.is_empty() {
        return Err(LogError::NotNamed {
            branch: settings.branch.clone(),
            address: address.to_owned(),
            records: log.len(),
        });
    }
    Ok(entries)
}

fn read(settings: &LogSettings) -> Result<(git2::Repository, Log), LogError> {
    let repo = crate::audit::discover_repository(&settings.repo)?;
    let log = Log::new(crate::audit::reader::read_log(&repo, &settings.branch)?);
    Ok((repo, log))
}
