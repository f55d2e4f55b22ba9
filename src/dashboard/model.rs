//! What the dashboard shows, computed once from the log: each stack's scans, applies and
//! remediations in order, its drift episodes (first seen to clean), the drift open now, and
//! what drifts most. Pure: a list of log entries in, plain data out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::audit::reader::LogEntry;
use crate::audit::record::{Record, RecordKind, RecordResult};

/// A stack as the log keys it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StackKey {
    pub path: String,
    pub workspace: String,
}

/// One record on a stack's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub seq: u64,
    /// RFC 3339 UTC, when the record was made.
    pub time: String,
    pub kind: RecordKind,
    pub result: RecordResult,
    /// Resources whose drift counts (managed, not ignored); scans only.
    pub drifted: usize,
    /// A pull request's scan: its code is not the default branch's.
    pub pull_request: bool,
}

/// A stretch of drift: from the first scan that saw it to the first clean scan after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Episode {
    pub from_seq: u64,
    pub from: String,
    /// `None`: still open at the newest scan.
    pub to_seq: Option<u64>,
    pub to: Option<String>,
    /// Seconds from first seen to clean, for a closed episode.
    pub seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackTimeline {
    pub stack: StackKey,
    pub events: Vec<Event>,
    pub episodes: Vec<Episode>,
    /// The newest scan's drifted addresses (empty when clean, failed or never scanned).
    pub open: Vec<String>,
    /// The status of the newest scan, if any.
    pub status: Option<RecordResult>,
}

impl StackTimeline {
    /// The counted drift of the last `count` scans (pull requests left out), oldest first:
    /// `(seq, drifted)`, failed scans as `None` (they saw nothing).
    pub fn drift_trend(&self, count: usize) -> Vec<(u64, Option<usize>)> {
        let scans: Vec<_> = self
            .events
            .iter()
            .filter(|e| e.kind == RecordKind::Scan && !e.pull_request)
            .collect();
        scans[scans.len().saturating_sub(count)..]
            .iter()
            .map(|e| {
                let drifted = (e.result != RecordResult::Failed).then_some(e.drifted);
                (e.seq, drifted)
            })
            .collect()
    }
}

/// How often a resource type, or one of its attributes, was seen drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hotspot {
    pub resource_type: String,
    /// `None`: the resource as a whole (deleted, or no attribute named).
    pub attribute: Option<String>,
    /// Scans that saw it drifted.
    pub scans: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub stacks: Vec<StackTimeline>,
    /// Most-drifting first; ties by name.
    pub hotspots: Vec<Hotspot>,
    pub records: usize,
    pub first: Option<String>,
    pub last: Option<String>,
}

impl Timeline {
    /// The timeline of the log `entries` (in seq order, as the reader gives them).
    pub fn of(entries: &[LogEntry]) -> Timeline {
        let mut stacks: BTreeMap<StackKey, Vec<&Record>> = BTreeMap::new();
        let mut hotspots: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
        for entry in entries {
            let record = &entry.record;
            let key = StackKey {
                path: record.stack.path.clone(),
                workspace: record.stack.workspace.clone(),
            };
            stacks.entry(key).or_default().push(record);
            if record.kind == RecordKind::Scan && !is_pull_request(record) {
                for (resource_type, attribute) in drifted_attributes(record) {
                    *hotspots.entry((resource_type, attribute)).or_default() += 1;
                }
            }
        }
        let mut hotspots: Vec<Hotspot> = hotspots
            .into_iter()
            .map(|((resource_type, attribute), scans)| Hotspot {
                resource_type,
                attribute,
                scans,
            })
            .collect();
        hotspots.sort_by_key(|h| std::cmp::Reverse(h.scans));
        Timeline {
            stacks: stacks
                .into_iter()
                .map(|(stack, records)| stack_timeline(stack, &records))
                .collect(),
            hotspots,
            records: entries.len(),
            first: entries.first().map(|e| e.record.made_at().to_owned()),
            last: entries.last().map(|e| e.record.made_at().to_owned()),
        }
    }
}

fn is_pull_request(record: &Record) -> bool {
    record.context.pull_request().is_some()
}

fn counted(record: &Record) -> Vec<&crate::drift::DriftedResource> {
    record.resources.iter().filter(|r| r.counts()).collect()
}

/// Each drifted (type, attribute) of a scan, once per scan.
fn drifted_attributes(record: &Record) -> std::collections::BTreeSet<(String, Option<String>)> {
    let mut seen = std::collections::BTreeSet::new();
    for resource in counted(record) {
        let mut any = false;
        for change in resource.counted_changes() {
            any = true;
            seen.insert((resource.resource_type.clone(), Some(change.path.clone())));
        }
        if !any {
            seen.insert((resource.resource_type.clone(), None));
        }
    }
    seen
}

fn stack_timeline(stack: StackKey, records: &[&Record]) -> StackTimeline {
    let events: Vec<Event> = records
        .iter()
        .map(|record| Event {
            seq: record.seq,
            time: record.made_at().to_owned(),
            kind: record.kind,
            result: record.result,
            drifted: counted(record).len(),
            pull_request: is_pull_request(record),
        })
        .collect();
    let scans: Vec<&&Record> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Scan && !is_pull_request(r))
        .collect();
    let mut episodes: Vec<Episode> = Vec::new();
    for scan in &scans {
        let open = episodes.last_mut().filter(|e| e.to_seq.is_none());
        match (scan.result, open) {
            (RecordResult::Drifted, None) if !counted(scan).is_empty() => episodes.push(Episode {
                from_seq: scan.seq,
                from: scan.made_at().to_owned(),
                to_seq: None,
                to: None,
                seconds: None,
            }),
            (RecordResult::Clean, Some(open)) => {
                open.to_seq = Some(scan.seq);
                open.to = Some(scan.made_at().to_owned());
                open.seconds = seconds_between(&open.from, scan.made_at());
            }
            // Failed scans saw nothing; more drift extends the open episode.
            _ => {}
        }
    }
    let newest = scans.last();
    StackTimeline {
        stack,
        events,
        episodes,
        open: newest
            .filter(|s| s.result == RecordResult::Drifted)
            .map(|s| counted(s).iter().map(|r| r.address.clone()).collect())
            .unwrap_or_default(),
        status: newest.map(|s| s.result),
    }
}

fn seconds_between(from: &str, to: &str) -> Option<i64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some((to - from).num_seconds())
}

#[cfg(test)]
mod tests;
