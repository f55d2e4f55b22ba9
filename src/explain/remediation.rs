//! What a remediation record says of one resource, for `history` and the windows of
//! `explain`: the rule, the record it acted on, the plan, what it set back or why it refused.
//!
//! A remediation that reverted a resource (its verifying scan found it clean) ends that
//! resource's drift as an apply that changed it does; any other stays inside the window.

use serde::Serialize;

use super::ResourceStatus;
use crate::audit::reader::LogEntry;
use crate::audit::record::{PlannedChange, RemediationOutcome, RemediationRecord, RuleRef};
use crate::drift::explanation::{RecordRef, RemediationRef};
use crate::drift::AttributeChange;

/// A remediation in a resource's timeline, beyond what every entry says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemediationEntry {
    pub rule: RuleRef,
    /// How the remediation as a whole ended; the entry's `status` says what it did to this
    /// resource (a reverted remediation may have refused it).
    pub outcome: RemediationOutcome,
    /// The seq of the scan record whose drift it acted on.
    pub acts_on: u64,
    /// SHA-256 (hex) of the saved plan it applied or refused, when one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// The seq of the scan after the apply, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<u64>,
    /// Why it would not change this resource, when it refused to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

fn planned<'a>(remediation: &'a RemediationRecord, address: &str) -> Option<&'a PlannedChange> {
    remediation.changes.iter().find(|c| c.address == address)
}

fn refusal<'a>(remediation: &'a RemediationRecord, address: &str) -> Option<&'a str> {
    remediation
        .refusals
        .iter()
        .find(|r| r.address == address)
        .map(|r| r.reason.as_str())
}

/// Whether `remediation` names `address`, as a change of its plan or a refusal.
pub(super) fn names(remediation: &RemediationRecord, address: &str) -> bool {
    planned(remediation, address).is_some() || refusal(remediation, address).is_some()
}

/// What `remediation` did to `address`, and the action its plan had for it; `None` when it
/// does not name it. A refusal wins over a planned change: nothing was applied to it.
pub(super) fn status(
    remediation: &RemediationRecord,
    address: &str,
) -> Option<(ResourceStatus, Option<String>)> {
    let action = planned(remediation, address).map(|c| c.action.as_str().to_owned());
    let status = if refusal(remediation, address).is_some() {
        ResourceStatus::RemediationRefused
    } else {
        action.as_ref()?;
        match remediation.outcome {
            RemediationOutcome::Reverted => ResourceStatus::Reverted,
            RemediationOutcome::Refused => ResourceStatus::RemediationRefused,
            RemediationOutcome::Failed => ResourceStatus::RemediationFailed,
            RemediationOutcome::Interrupted => ResourceStatus::RemediationInterrupted,
        }
    };
    Some((status, action))
}

/// The attributes the plan set back on `address`: before as it had drifted, after as the
/// code has it (redacted as the record stores them).
pub(super) fn set_back(remediation: &RemediationRecord, address: &str) -> Vec<AttributeChange> {
    planned(remediation, address)
        .map(|c| c.attributes.clone())
        .unwrap_or_default()
}

/// `entry`'s remediation as a timeline entry of `address`.
pub(super) fn entry(entry: &LogEntry, address: &str) -> Option<RemediationEntry> {
    let remediation = entry.record.remediation.as_ref()?;
    Some(RemediationEntry {
        rule: remediation.rule.clone(),
        outcome: remediation.outcome,
        acts_on: remediation.acts_on.seq,
        plan_sha256: remediation.plan_sha256.clone(),
        verified_by: remediation.verified_by.as_ref().map(|v| v.seq),
        refused: refusal(remediation, address).map(str::to_owned),
    })
}

/// `entry`'s remediation as a source inside the window of `address`.
pub(super) fn in_window(
    entry: &LogEntry,
    address: &str,
    record: RecordRef,
) -> Option<RemediationRef> {
    let remediation = entry.record.remediation.as_ref()?;
    Some(RemediationRef {
        record,
        rule: remediation.rule.name.clone(),
        outcome: remediation.outcome.as_str().to_owned(),
        refused: refusal(remediation, address).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests;
