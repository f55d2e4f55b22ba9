//! Reading the audit log for how a drift came about: a resource's timeline (`history`), and
//! for each resource drifted in a scan the window in which the drift happened, what ran in
//! it, and (from further evidence) the commits and cloud audit events inside it (`explain`).
//! Remediations take part in both ([`remediation`]): one that reverted a resource ends its
//! drift there.
//!
//! Every statement names the record, commit or event it comes from; what the evidence does
//! not show is left unknown. The log is read once into [`Log`], indexed by stack; each
//! further source is matched against the windows in one pass of its own.

pub mod commits;
pub mod events;
pub mod remediation;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::audit::reader::LogEntry;
use crate::audit::record::{AdoptionOutcome, ChangeOutcome, RecordKind, RecordResult};
use crate::drift::explanation::{ChangeHistory, Explanation, RecordRef};
use crate::drift::{AttributeChange, DriftedResource};
use commits::CommitHistory;
pub use remediation::RemediationEntry;

/// A stack as records name it: path relative to the repository root, and workspace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StackKey {
    pub path: String,
    pub workspace: String,
}

impl StackKey {
    /// `infra/prod` or `infra/prod (staging)`.
    pub fn display(&self) -> String {
        if self.workspace == "default" {
            self.path.clone()
        } else {
            format!("{} ({})", self.path, self.workspace)
        }
    }
}

/// The audit log, read once, with each stack's records in order.
pub struct Log {
    entries: Vec<LogEntry>,
    by_stack: BTreeMap<StackKey, Vec<usize>>,
}

/// What a record says of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// A scan saw it drifted.
    Drifted,
    /// A scan saw it drifted, and an ignore rule covered the drift.
    Ignored,
    /// A scan that completed did not see it drifted.
    Clean,
    /// A scan that failed: nothing known.
    ScanFailed,
    /// An apply finished changing it.
    Applied,
    /// An apply started changing it and failed.
    ApplyFailed,
    /// A remediation reverted it: the scan after its apply found it clean.
    Reverted,
    /// A remediation would not change it (the entry says why).
    RemediationRefused,
    /// A remediation set out to change it and failed.
    RemediationFailed,
    /// A remediation set out to change it and a signal stopped it.
    RemediationInterrupted,
    /// An adoption proposed its real value to the configuration in a pull request.
    AdoptionProposed,
    /// An adoption wrote its real value into the configuration.
    Adopted,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Drifted => "drifted",
            ResourceStatus::Ignored => "ignored",
            ResourceStatus::Clean => "clean",
            ResourceStatus::ScanFailed => "unknown (scan failed)",
            ResourceStatus::Applied => "applied",
            ResourceStatus::ApplyFailed => "apply failed",
            ResourceStatus::Reverted => "reverted",
            ResourceStatus::RemediationRefused => "remediation refused",
            ResourceStatus::RemediationFailed => "remediation failed",
            ResourceStatus::RemediationInterrupted => "remediation interrupted",
            ResourceStatus::AdoptionProposed => "adoption proposed",
            ResourceStatus::Adopted => "adopted into code",
        }
    }
}

/// One record in a resource's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub stack: StackKey,
    #[serde(flatten)]
    pub record: RecordRef,
    pub status: ResourceStatus,
    /// The drift's action (`update`, `delete`), the apply's, or the remediation plan's.
    pub action: Option<String>,
    /// For drift: the changed attributes, before and after. For a remediation: those its
    /// plan set back, before as drifted and after as the code has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AttributeChange>,
    /// For a remediation: its rule, outcome, the record it acted on, its plan, or why it
    /// refused this resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<RemediationEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("the audit log has no record of stack {0}")]
    UnknownStack(String),
    #[error("the audit log has no completed scan of {0}")]
    NoScan(String),
}

impl Log {
    pub fn new(mut entries: Vec<LogEntry>) -> Log {
        entries.sort_by_key(|e| e.record.seq);
        let mut by_stack: BTreeMap<StackKey, Vec<usize>> = BTreeMap::new();
        for (index, entry) in entries.iter().enumerate() {
            by_stack.entry(stack_key(entry)).or_default().push(index);
        }
        Log { entries, by_stack }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stacks(&self) -> impl Iterator<Item = &StackKey> {
        self.by_stack.keys()
    }

    /// The stacks whose path is `path` (any workspace), or all when `None`.
    pub fn stacks_at(&self, path: Option<&str>) -> Result<Vec<StackKey>, ExplainError> {
        let wanted = path.map(normalize_stack);
        let found: Vec<StackKey> = self
            .by_stack
            .keys()
            .filter(|key| {
                wanted
                    .as_deref()
                    .is_none_or(|w| normalize_stack(&key.path) == w)
            })
            .cloned()
            .collect();
        match (found.is_empty(), path) {
            (true, Some(path)) => Err(ExplainError::UnknownStack(path.to_owned())),
            _ => Ok(found),
        }
    }

    /// The index of the record with `seq`.
    pub fn position(&self, seq: u64) -> Option<usize> {
        self.entries
            .binary_search_by_key(&seq, |e| e.record.seq)
            .ok()
    }

    /// The newest scan of `stack` that completed (clean or drifted).
    pub fn latest_scan(&self, stack: &StackKey) -> Result<usize, ExplainError> {
        self.by_stack
            .get(stack)
            .and_then(|indices| {
                indices.iter().rev().copied().find(|&i| {
                    let record = &self.entries[i].record;
                    record.kind == RecordKind::Scan && record.result != RecordResult::Failed
                })
            })
            .ok_or_else(|| ExplainError::NoScan(stack.display()))
    }

    /// Every record of the stacks holding `address` (or of `stacks`, when given) that
    /// touched it: each completed or failed scan, each apply that changed it, and each
    /// remediation that names it (planned or refused). Newest first.
    pub fn history(&self, address: &str, stacks: Option<&[StackKey]>) -> Vec<HistoryEntry> {
        let keys: Vec<&StackKey> = match stacks {
            Some(stacks) => stacks.iter().collect(),
            None => self
                .by_stack
                .iter()
                .filter(|(_, indices)| indices.iter().any(|&i| mentions(&self.entries[i], address)))
                .map(|(key, _)| key)
                .collect(),
        };
        let mut timeline = Vec::new();
        for key in keys {
            for &index in self.by_stack.get(key).into_iter().flatten() {
                let entry = &self.entries[index];
                let Some(said) = status_of(entry, address) else {
                    continue;
                };
                let (status, action) = said.clone();
                let changes = match &entry.record.remediation {
                    Some(remediation) => remediation::set_back(remediation, address),
                    None => drifted(entry, address)
                        .map(|r| r.changes.clone())
                        .unwrap_or_default(),
                };
                timeline.push(HistoryEntry {
                    stack: key.clone(),
                    record: record_ref_with(entry, Some(said)),
                    status,
                    action,
                    changes,
                    remediation: remediation::entry(entry, address),
                });
            }
        }
        timeline.sort_by_key(|entry| std::cmp::Reverse(entry.record.seq));
        timeline
    }

    /// For each resource drifted in the scan at `index` (only `addresses`, when not empty):
    /// the window of its drift and what the log says ran in it. Commits and events are left
    /// unknown: [`attach_commits`] and [`attach_events`] add them.
    pub fn explain_scan(&self, index: usize, addresses: &[String]) -> Vec<Explanation> {
        let latest = &self.entries[index];
        let key = stack_key(latest);
        let Some(indices) = self.by_stack.get(&key) else {
            return Vec::new();
        };
        let before: Vec<&LogEntry> = indices
            .iter()
            .copied()
            .filter(|&i| self.entries[i].record.seq < latest.record.seq)
            .map(|i| &self.entries[i])
            .collect();
        latest
            .record
            .resources
            .iter()
            .filter(|r| addresses.is_empty() || addresses.iter().any(|a| a == &r.address))
            .map(|resource| explain_resource(&key, latest, &before, resource))
            .collect()
    }
}

/// Walks back from the latest scan through the stack's earlier records.
fn explain_resource(
    key: &StackKey,
    latest: &LogEntry,
    before: &[&LogEntry],
    resource: &DriftedResource,
) -> Explanation {
    let address = resource.address.as_str();
    let mut first_seen = latest;
    let mut last_clean = None;
    let mut applies = Vec::new();
    let mut remediations = Vec::new();
    let mut failed_scans = Vec::new();
    let mut place = BTreeSet::new();
    let mut identifiers = BTreeSet::new();
    known_by(resource, &mut identifiers, &mut place);
    for entry in before.iter().rev() {
        let said = status_of(entry, address);
        match said.as_ref().map(|(status, _)| *status) {
            Some(ResourceStatus::ScanFailed) => failed_scans.push(record_ref_with(entry, said)),
            Some(ResourceStatus::Drifted | ResourceStatus::Ignored) => {
                if let Some(drift) = drifted(entry, address) {
                    known_by(drift, &mut identifiers, &mut place);
                }
                first_seen = entry;
            }
            Some(ResourceStatus::Clean | ResourceStatus::Applied | ResourceStatus::Reverted) => {
                identifiers.extend(applied_id(entry, address));
                last_clean = Some(*entry);
                break;
            }
            Some(
                ResourceStatus::ApplyFailed
                | ResourceStatus::RemediationRefused
                | ResourceStatus::RemediationFailed
                | ResourceStatus::RemediationInterrupted
                | ResourceStatus::AdoptionProposed
                | ResourceStatus::Adopted,
            )
            | None => match entry.record.kind {
                RecordKind::Apply => {
                    identifiers.extend(applied_id(entry, address));
                    applies.push(record_ref_with(entry, said));
                }
                RecordKind::Remediation => {
                    // A failed remediation's apply may still have changed it, and named it.
                    identifiers.extend(applied_id(entry, address));
                    let record = record_ref_with(entry, said);
                    remediations.extend(remediation::in_window(entry, address, record));
                }
                // An adoption changes code, not the resource: the drift stays until applied.
                RecordKind::Scan | RecordKind::Adoption => {}
            },
        }
    }
    applies.reverse();
    remediations.reverse();
    failed_scans.reverse();
    let changes = resource
        .changes
        .iter()
        .map(|change| change_history(latest, before, address, change))
        .collect();
    Explanation {
        address: address.to_owned(),
        stack: key.path.clone(),
        workspace: key.workspace.clone(),
        template: latest
            .record
            .stack
            .cloudformation
            .as_ref()
            .and_then(|cfn| cfn.template.clone()),
        first_seen: record_ref(first_seen, address),
        last_clean: last_clean.map(|entry| record_ref(entry, address)),
        applies,
        failed_scans,
        remediations,
        commits: None,
        events: None,
        changes,
        identifiers: identifiers.into_iter().collect(),
        place: place.into_iter().collect(),
    }
}

/// Adds what `resource` is known by to `identifiers`, and where it lives to `place`.
fn known_by(
    resource: &DriftedResource,
    identifiers: &mut BTreeSet<String>,
    place: &mut BTreeSet<String>,
) {
    for (key, value) in &resource.identifiers {
        if key.starts_with(crate::drift::PLACE_ONLY) {
            place.insert(value.clone());
        } else {
            identifiers.insert(value.clone());
        }
    }
}

/// Since when `change` has had its current value: the unbroken run of scans seeing it.
fn change_history(
    latest: &LogEntry,
    before: &[&LogEntry],
    address: &str,
    change: &AttributeChange,
) -> ChangeHistory {
    let mut first_seen = latest.record.seq;
    let mut since_after = None;
    for entry in before.iter().rev() {
        match status_of(entry, address) {
            Some((ResourceStatus::ScanFailed, _)) => continue,
            Some((ResourceStatus::Drifted | ResourceStatus::Ignored, _)) => {
                let same = drifted(entry, address)
                    .and_then(|r| r.changes.iter().find(|c| c.path == change.path))
                    .is_some_and(|earlier| earlier.after == change.after);
                if same {
                    first_seen = entry.record.seq;
                    continue;
                }
                since_after = Some(entry.record.seq);
                break;
            }
            Some((
                ResourceStatus::Clean | ResourceStatus::Applied | ResourceStatus::Reverted,
                _,
            )) => {
                since_after = Some(entry.record.seq);
                break;
            }
            Some((
                ResourceStatus::ApplyFailed
                | ResourceStatus::RemediationRefused
                | ResourceStatus::RemediationFailed
                | ResourceStatus::RemediationInterrupted
                | ResourceStatus::AdoptionProposed
                | ResourceStatus::Adopted,
                _,
            ))
            | None => continue,
        }
    }
    ChangeHistory {
        change: change.clone(),
        first_seen,
        since_after,
        value_hidden: change.is_sensitive(),
    }
}

/// Adds the commits of `history` inside each window that touched the stack's directory or a
/// local module it calls (read from the configuration under `repo_root`).
pub fn attach_commits(explanations: &mut [Explanation], history: &CommitHistory, repo_root: &Path) {
    let mut dirs_by_stack: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for explanation in explanations.iter_mut() {
        let template: Vec<String> = explanation.template.iter().cloned().collect();
        // A CloudFormation stack has its template, and no directory.
        let dirs: &[PathBuf] = match template.is_empty() {
            true => dirs_by_stack
                .entry(explanation.stack.clone())
                .or_insert_with(|| stack_dirs(repo_root, &explanation.stack)),
            false => &[],
        };
        let until = parse_time(&explanation.first_seen.time);
        let after = explanation
            .last_clean
            .as_ref()
            .and_then(|r| parse_time(&r.time));
        explanation.commits = until.map(|until| history.touching(dirs, &template, after, until));
    }
}

/// The earliest start of any window (for how far back to read git history); `None` when a
/// window has no start, or there are none.
pub fn earliest_window_start(explanations: &[Explanation]) -> Option<SystemTime> {
    let mut earliest: Option<SystemTime> = None;
    for explanation in explanations {
        let start = explanation
            .last_clean
            .as_ref()
            .and_then(|r| parse_time(&r.time))?;
        earliest = Some(earliest.map_or(start, |e| e.min(start)));
    }
    earliest
}

/// The stack directory and, transitively, the local modules it calls.
fn stack_dirs(repo_root: &Path, stack: &str) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(stack)];
    let mut index = 0;
    while index < dirs.len() {
        let (calls, _) =
            crate::terraform::config::local_module_calls(&repo_root.join(&dirs[index]));
        for call in calls {
            if let Some(dir) = crate::config::inside(&dirs[index].join(call)) {
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        index += 1;
    }
    dirs
}

fn stack_key(entry: &LogEntry) -> StackKey {
    StackKey {
        path: normalize_stack(&entry.record.stack.path),
        workspace: entry.record.stack.workspace.clone(),
    }
}

/// `infra/prod`, `./infra/prod/` and `infra//prod` are the same stack; the root is `.`.
pub fn normalize_stack(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn drifted<'a>(entry: &'a LogEntry, address: &str) -> Option<&'a DriftedResource> {
    entry.record.resources.iter().find(|r| r.address == address)
}

fn mentions(entry: &LogEntry, address: &str) -> bool {
    drifted(entry, address).is_some()
        || entry
            .record
            .apply
            .as_ref()
            .is_some_and(|apply| apply.changes.iter().any(|c| c.address == address))
        || entry
            .record
            .remediation
            .as_ref()
            .is_some_and(|remediation| remediation::names(remediation, address))
        || entry
            .record
            .adoption
            .as_ref()
            .is_some_and(|adoption| adoption.adopted.iter().any(|a| a.address == address))
}

fn applied_id(entry: &LogEntry, address: &str) -> Option<String> {
    entry
        .record
        .apply
        .as_ref()?
        .changes
        .iter()
        .filter(|c| c.address == address)
        .find_map(|c| c.id.clone())
}

/// What `entry` says of `address`; `None` for an apply that did not touch it or a
/// remediation that does not name it.
fn status_of(entry: &LogEntry, address: &str) -> Option<(ResourceStatus, Option<String>)> {
    let record = &entry.record;
    match record.kind {
        RecordKind::Scan => Some(if record.result == RecordResult::Failed {
            (ResourceStatus::ScanFailed, None)
        } else {
            match drifted(entry, address) {
                Some(r) if r.counts() => {
                    (ResourceStatus::Drifted, Some(r.action.as_str().to_owned()))
                }
                Some(r) => (ResourceStatus::Ignored, Some(r.action.as_str().to_owned())),
                None => (ResourceStatus::Clean, None),
            }
        }),
        RecordKind::Apply => {
            let change = record
                .apply
                .as_ref()?
                .changes
                .iter()
                .find(|c| c.address == address)?;
            let status = match change.outcome {
                ChangeOutcome::Complete => ResourceStatus::Applied,
                ChangeOutcome::Errored => ResourceStatus::ApplyFailed,
            };
            Some((status, Some(change.action.as_str().to_owned())))
        }
        RecordKind::Remediation => remediation::status(record.remediation.as_ref()?, address),
        RecordKind::Adoption => {
            let adoption = record.adoption.as_ref()?;
            let status = match adoption.outcome {
                AdoptionOutcome::Proposed => ResourceStatus::AdoptionProposed,
                AdoptionOutcome::Written => ResourceStatus::Adopted,
                _ => return None,
            };
            let adopted = adoption.adopted.iter().find(|a| a.address == address)?;
            Some((status, Some(format!("{}:{}", adopted.file, adopted.line))))
        }
    }
}

fn record_ref(entry: &LogEntry, address: &str) -> RecordRef {
    record_ref_with(entry, status_of(entry, address))
}

/// A record as a source, with what it says of the resource already worked out.
fn record_ref_with(
    entry: &LogEntry,
    status: Option<(ResourceStatus, Option<String>)>,
) -> RecordRef {
    let record = &entry.record;
    RecordRef {
        seq: record.seq,
        commit: entry.commit.clone(),
        time: record.made_at().to_owned(),
        kind: record.kind.as_str().to_owned(),
        result: record.result.as_str().to_owned(),
        who: record.context.who(),
        run: record.context.run(),
        applied: match status {
            Some((ResourceStatus::Applied | ResourceStatus::Reverted, action)) => action,
            Some((ResourceStatus::ApplyFailed, action)) => action.map(|a| format!("{a} (failed)")),
            _ => None,
        },
    }
}

pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim_end_matches(['Z', 'z'])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_compared_by_their_path_components() {
        assert_eq!(normalize_stack("./infra//prod/"), "infra/prod");
        assert_eq!(normalize_stack("."), ".");
        assert_eq!(normalize_stack(""), ".");
    }
}
