//! Transitions, not repeats: what a scan's report is against the stack's previous record.
//! The same drift as last time, or a failure after a failure, is no transition at all.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::drift::fingerprint::CountedDrift;
use crate::drift::{DriftedResource, NotChecked, ScanReport, Status};

/// What changed for a stack since its previous recorded scan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Clean (or never scanned) to drifted.
    Drifted,
    /// Drifted before and now, but the resources, attributes or values differ.
    Changed,
    /// Drifted to clean.
    Resolved,
    /// The scan failed after one that did not.
    Failed,
}

impl Transition {
    pub const ALL: [Transition; 4] = [
        Transition::Drifted,
        Transition::Changed,
        Transition::Resolved,
        Transition::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Drifted => "drifted",
            Transition::Changed => "changed",
            Transition::Resolved => "resolved",
            Transition::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Transition> {
        Transition::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// What the audit branch held for the stack before this scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// The newest earlier scan record.
    pub seq: u64,
    /// Whether that scan failed.
    pub failed: bool,
    /// The counted drift of the newest earlier scan that did not fail (a failed scan saw
    /// nothing, so the drift before it still stands); empty when there is none.
    pub drift: CountedDrift,
}

/// The transition `report` makes from `previous` (none: the stack's first scan), if any.
pub fn of(report: &ScanReport, previous: Option<&Previous>) -> Option<Transition> {
    if report.status == Status::Failed {
        return match previous {
            Some(previous) if previous.failed => None,
            _ => Some(Transition::Failed),
        };
    }
    let now = standing(
        &report.resources,
        &report.not_checked,
        previous.map(|p| &p.drift),
    );
    let before = previous.map(|p| &p.drift).filter(|b| !b.is_empty());
    match (before, now.is_empty()) {
        (None, true) => None,
        (None, false) => Some(Transition::Drifted),
        (Some(_), true) => Some(Transition::Resolved),
        (Some(before), false) => {
            (before.fingerprint() != now.fingerprint()).then_some(Transition::Changed)
        }
    }
}

/// The drift a scan leaves standing: what it counted, and for each resource it could not
/// check (a CloudFormation drift check that failed for it), the drift it had `before`.
pub fn standing(
    resources: &[DriftedResource],
    not_checked: &[NotChecked],
    before: Option<&CountedDrift>,
) -> CountedDrift {
    let now = CountedDrift::of(resources);
    match before {
        Some(before) => {
            let unchecked = not_checked.iter().map(|n| n.address.as_str()).collect();
            now.carrying(before, &unchecked)
        }
        None => now,
    }
}
