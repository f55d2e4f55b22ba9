//! The record of a remediation: which rule acted on which recorded drift, the saved plan it
//! applied (its hash and its changes, redacted as drift is), how it ended, what it refused,
//! and the scan that verified it.
//!
//! Its values come from the same redaction as scan drift (`drift::analysis`), so a
//! remediation record can hold no more of a secret than a scan record.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AppliedRun, ApplyOutcome, RecordResult};
use crate::audit::reader::LogEntry;
use crate::audit::store::Appended;
use crate::drift::analysis::{self, Sides};
use crate::drift::{Action, AttributeChange, Evidence, Failure, Tool};

/// What a remediation rule does, as records name it (`.driftlog.toml`'s `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemediationAction {
    Revert,
    Adopt,
}

impl RemediationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationAction::Revert => "revert",
            RemediationAction::Adopt => "adopt",
        }
    }
}

impl From<crate::config::remediate::Action> for RemediationAction {
    fn from(action: crate::config::remediate::Action) -> Self {
        match action {
            crate::config::remediate::Action::Revert => RemediationAction::Revert,
            crate::config::remediate::Action::Adopt => RemediationAction::Adopt,
        }
    }
}

/// The rule a remediation acted by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleRef {
    /// Where the rule is: `.driftlog.toml:12` ([`RemediateRule::name`]).
    ///
    /// [`RemediateRule::name`]: crate::config::RemediateRule::name
    pub name: String,
    pub reason: String,
    pub action: RemediationAction,
}

impl RuleRef {
    /// The rule `rule` of `config`, as a record names it.
    pub fn of(config: &crate::config::Config, rule: &crate::config::RemediateRule) -> RuleRef {
        RuleRef {
            name: rule.name(config),
            reason: rule.reason.clone(),
            action: rule.action.into(),
        }
    }
}

/// Another record of the same log: its seq and the SHA-256 of its exact bytes, so the
/// reference cannot be moved to other content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordRef {
    pub seq: u64,
    pub record_sha256: String,
}

impl RecordRef {
    /// A record read back from the branch.
    pub fn of(entry: &LogEntry) -> RecordRef {
        RecordRef {
            seq: entry.record.seq,
            record_sha256: entry.record_sha256.clone(),
        }
    }
}

impl From<&Appended> for RecordRef {
    /// A record this run appended.
    fn from(appended: &Appended) -> RecordRef {
        RecordRef {
            seq: appended.seq,
            record_sha256: appended.record_sha256.clone(),
        }
    }
}

/// One resource the saved plan changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlannedChange {
    pub address: String,
    pub action: Action,
    /// The attributes it changes, `before` as the resource is, `after` as the plan sets it;
    /// values redacted as drift is (a sensitive one is `sensitive`, never its value).
    pub attributes: Vec<AttributeChange>,
}

impl PlannedChange {
    /// The change of `address` as the plan's `resource_changes` entry gives it: its raw
    /// values and masks go through drift's redaction and are not kept.
    pub fn from_plan(address: &str, action: Action, sides: &Sides<'_>) -> PlannedChange {
        PlannedChange {
            address: address.to_owned(),
            action,
            attributes: analysis::attribute_changes(sides),
        }
    }
}

/// How a remediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemediationOutcome {
    /// The saved plan was applied and the scan after it found the reverted resources clean.
    Reverted,
    /// Nothing was applied: every resource was refused (see `refusals`).
    Refused,
    /// terraform failed (the record's `failure` says how), or the scan after the apply did
    /// not find the resources clean.
    Failed,
    /// A signal stopped the remediation.
    Interrupted,
}

impl RemediationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationOutcome::Reverted => "reverted",
            RemediationOutcome::Refused => "refused",
            RemediationOutcome::Failed => "failed",
            RemediationOutcome::Interrupted => "interrupted",
        }
    }

    /// The record's `result`: an interrupted remediation failed.
    pub fn result(self) -> RecordResult {
        match self {
            RemediationOutcome::Reverted => RecordResult::Reverted,
            RemediationOutcome::Refused => RecordResult::Refused,
            RemediationOutcome::Failed | RemediationOutcome::Interrupted => RecordResult::Failed,
        }
    }
}

/// A resource a remediation would not change, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Refusal {
    pub address: String,
    /// For a person: "applying would also apply unapplied code changes to X: a, b".
    pub reason: String,
}

/// What a remediation record holds beyond who, where and when (`Record.remediation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RemediationRecord {
    pub rule: RuleRef,
    /// The scan record whose drift it acted on.
    pub acts_on: RecordRef,
    /// SHA-256 (hex) of the saved plan file applied (or refused); absent when it was refused
    /// or failed before a plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// What the saved plan changes.
    pub changes: Vec<PlannedChange>,
    pub outcome: RemediationOutcome,
    /// What it would not change, and why (also beside a `reverted` outcome, for the
    /// resources it left).
    pub refusals: Vec<Refusal>,
    /// The record of the scan after the apply, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<RecordRef>,
}

/// A remediation as [`recorder::record_remediation`](crate::audit::recorder::record_remediation)
/// takes it: the record's content, and what terraform said.
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationRun {
    pub remediation: RemediationRecord,
    /// What the apply of the saved plan changed, when it ran.
    pub apply: Option<ApplyOutcome>,
    /// Why it failed: terraform's failure (described and hashed, never quoted), or the
    /// verifying scan's. Required for `failed` and `interrupted`.
    pub failure: Option<Failure>,
    pub tool: Option<Tool>,
    /// SHA-256 of what terraform said: the targeted plan's stream (`plan_stream_sha256`),
    /// its `show -json` (`show_json_sha256`), the apply's stream (`apply_stream_sha256`).
    pub evidence: Evidence,
}

impl RemediationRun {
    /// Nothing run by terraform yet: the remediation alone.
    pub fn new(remediation: RemediationRecord) -> RemediationRun {
        RemediationRun {
            remediation,
            apply: None,
            failure: None,
            tool: None,
            evidence: Evidence::default(),
        }
    }

    /// With the apply of the saved plan: what it changed, its stream's hash, its tool and
    /// (unless one is set already) its failure.
    pub fn with_apply(mut self, applied: &AppliedRun) -> RemediationRun {
        self.apply = Some(applied.outcome.clone());
        self.evidence.apply_stream_sha256 = Some(applied.stream_sha256.clone());
        self.tool = self.tool.or_else(|| applied.tool.clone());
        self.failure = self.failure.or_else(|| applied.failure.clone());
        self
    }
}

impl RemediationRecord {
    /// What is wrong with it as the remediation of record `seq` with `result`, and a
    /// `failure` or not; `Ok` when nothing is.
    pub(super) fn check(&self, seq: u64, result: RecordResult, failed: bool) -> Result<(), String> {
        let outcome = self.outcome.as_str();
        if self.rule.name.trim().is_empty() || self.rule.reason.trim().is_empty() {
            return Err("its rule has no name or no reason".into());
        }
        let hashes = [
            ("acts_on", Some(&self.acts_on.record_sha256)),
            ("plan_sha256", self.plan_sha256.as_ref()),
            (
                "verified_by",
                self.verified_by.as_ref().map(|v| &v.record_sha256),
            ),
        ];
        for (field, hash) in hashes {
            if hash.is_some_and(|hash| !is_sha256_hex(hash)) {
                return Err(format!(
                    "its {field} hash is not a SHA-256 in lowercase hex"
                ));
            }
        }
        if self.acts_on.seq >= seq {
            return Err(format!(
                "it acts on record {}, which is not before it (seq {seq})",
                self.acts_on.seq
            ));
        }
        if let Some(verified) = &self.verified_by {
            if verified.seq <= self.acts_on.seq || verified.seq >= seq {
                return Err(format!(
                    "it is verified by record {}, which is not between the record it acts on \
                     ({}) and itself ({seq})",
                    verified.seq, self.acts_on.seq
                ));
            }
        }
        if result != self.outcome.result() {
            return Err(format!(
                "its result is {} but its outcome {outcome}",
                result.as_str()
            ));
        }
        let wants_failure = matches!(
            self.outcome,
            RemediationOutcome::Failed | RemediationOutcome::Interrupted
        );
        if failed != wants_failure {
            return Err(if failed {
                format!("it is {outcome} but names a failure")
            } else {
                format!("it is {outcome} but names no failure")
            });
        }
        match self.outcome {
            RemediationOutcome::Refused if self.refusals.is_empty() => {
                Err("it is refused but names no refusal".into())
            }
            RemediationOutcome::Reverted
                if self.plan_sha256.is_none()
                    || self.changes.is_empty()
                    || self.verified_by.is_none() =>
            {
                Err(
                    "it is reverted but names no plan, no change or no scan that verified it"
                        .into(),
                )
            }
            _ => Ok(()),
        }
    }
}

pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A remediation of `acts_on` verified by `verified_by`, reverting a change whose values are
/// sensitive and hold `s3cr3t`: as the remediation stage fills one.
#[cfg(test)]
pub(crate) fn sample_remediation(acts_on: RecordRef, verified_by: RecordRef) -> RemediationRun {
    use serde_json::json;
    let before = json!({"name": "main", "password": "console-s3cr3t-value", "port": 5433});
    let after = json!({"name": "main", "password": "code-s3cr3t-value", "port": 5432});
    let masks = json!({"password": true});
    let change = PlannedChange::from_plan(
        "aws_db_instance.main",
        Action::Update,
        &Sides {
            before: &before,
            after: &after,
            before_sensitive: &masks,
            after_sensitive: &masks,
            after_unknown: &json!({}),
        },
    );
    RemediationRun::new(RemediationRecord {
        rule: RuleRef {
            name: ".driftlog.toml:12".into(),
            reason: "databases change only through code".into(),
            action: RemediationAction::Revert,
        },
        acts_on,
        plan_sha256: Some("9".repeat(64)),
        changes: vec![change],
        outcome: RemediationOutcome::Reverted,
        refusals: vec![Refusal {
            address: "aws_db_instance.replica".into(),
            reason: "applying would also apply unapplied code changes to \
                     aws_db_instance.replica: engine_version"
                .into(),
        }],
        verified_by: Some(verified_by),
    })
}

#[cfg(test)]
mod tests;
