//! The drift a remediation or an adoption acts on: the latest scan record of a stack on the
//! audit branch, never a fresh scan's say-so, so what it acts on is in the log.

use std::path::Path;

use crate::audit::reader::{read_log, LogEntry};
use crate::audit::record::{RecordKind, RecordResult};
use crate::audit::recorder;
use crate::drift::Stack;

/// The log as read, and where in it the stack's latest scan is.
pub struct Latest {
    /// Every record of the branch, in seq order.
    pub entries: Vec<LogEntry>,
    pub index: usize,
}

impl Latest {
    pub fn entry(&self) -> &LogEntry {
        &self.entries[self.index]
    }
}

/// The newest scan record of `stack` (at `dir`) on `branch` of the repository holding
/// `log_repo` (default: `dir`'s). `acting` names the command in messages ("remediation").
/// A failed latest scan is an error: its drift is unknown.
pub fn latest_scan(
    dir: &Path,
    log_repo: Option<&Path>,
    branch: &str,
    stack: &Stack,
    acting: &str,
) -> Result<Latest, String> {
    let repo =
        crate::audit::discover_repository(log_repo.unwrap_or(dir)).map_err(|e| e.to_string())?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| format!("{} is a bare repository", repo.path().display()))?;
    let path = recorder::stack_path(workdir, dir);
    let entries = read_log(&repo, branch).map_err(|e| e.to_string())?;
    let index = entries
        .iter()
        .rposition(|e| {
            e.record.kind == RecordKind::Scan
                && e.record.stack.path == path
                && e.record.stack.workspace == stack.workspace
        })
        .ok_or_else(|| {
            format!(
                "no scan of {path} (workspace {}) on {branch}: {acting} acts only on recorded \
                 drift; run `driftlog scan` first",
                stack.workspace
            )
        })?;
    let latest = &entries[index].record;
    if latest.result == RecordResult::Failed {
        return Err(format!(
            "the latest scan of {path} (record {}) failed: its drift is unknown, so nothing is \
             done; scan again",
            latest.seq
        ));
    }
    Ok(Latest { entries, index })
}
