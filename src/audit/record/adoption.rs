//! The record of an adoption: which rule adopted which recorded drift into the
//! configuration, the files it changed and the hash of the diff, the Terraform plan that
//! proved the edited code matches the real resources, and the pull request that carries it.
//!
//! Its values are the scan record's, already redacted; a sensitive attribute is never
//! adopted, so an adoption record holds no value the scan record it acts on does not.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::remediation::{RecordRef, RuleRef};
use super::RecordResult;
use crate::drift::AttrValue;

/// How an adoption ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionOutcome {
    /// The edit is on a branch with a pull request opened or updated for it.
    Proposed,
    /// The edit was written to the files in place (`driftlog adopt --write`).
    Written,
    /// The drift is gone another way: the pull request that proposed adopting it was closed.
    Closed,
    /// Nothing was edited: every attribute was refused (see `refusals`).
    Refused,
    /// The edit could not be proposed (a push or the pull request failed): the record's
    /// `failure` says how.
    Failed,
}

impl AdoptionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AdoptionOutcome::Proposed => "proposed",
            AdoptionOutcome::Written => "written",
            AdoptionOutcome::Closed => "closed",
            AdoptionOutcome::Refused => "refused",
            AdoptionOutcome::Failed => "failed",
        }
    }

    /// The record's `result`.
    pub fn result(self) -> RecordResult {
        match self {
            AdoptionOutcome::Proposed => RecordResult::Proposed,
            AdoptionOutcome::Written => RecordResult::Adopted,
            AdoptionOutcome::Closed => RecordResult::Closed,
            AdoptionOutcome::Refused => RecordResult::Refused,
            AdoptionOutcome::Failed => RecordResult::Failed,
        }
    }

    /// Whether the configuration was changed (in place or on a branch).
    fn edits(self) -> bool {
        matches!(self, AdoptionOutcome::Proposed | AdoptionOutcome::Written)
    }
}

/// One attribute the configuration now sets to the real value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdoptedAttribute {
    pub address: String,
    pub path: String,
    /// What the configuration said (the value before it drifted), as the scan record has it.
    pub before: AttrValue,
    /// The real value, now in the configuration.
    pub after: AttrValue,
    /// The edited file, relative to the repository root, and the 1-based line of the value.
    pub file: String,
    pub line: usize,
}

/// Drift an adoption would not write into the configuration, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdoptionRefusal {
    pub address: String,
    /// The attribute; absent for the resource as a whole (one deleted out of band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a person: "`size` is set by var.size (main.tf:4); change it in terraform.tfvars:2".
    pub reason: String,
}

/// One changed file: its content before and after, by SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdoptedFile {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    pub before_sha256: String,
    pub after_sha256: String,
}

/// The targeted plan of the edited configuration that showed no change to what was adopted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdoptionProof {
    /// The `-target` addresses it planned.
    pub targets: Vec<String>,
    /// Terraform's change summary of that plan, for a person: "0 to add, 1 to change, 0 to
    /// destroy; nothing adopted changes".
    pub summary: String,
    /// SHA-256 of the plan's `show -json`.
    pub show_sha256: String,
}

/// The pull request an adoption opened or updated (or closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PullRequestLink {
    pub number: u64,
    pub url: String,
    pub branch: String,
    /// The commit on `branch` holding the edit, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// What an adoption record holds beyond who, where and when (`Record.adoption`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdoptionRecord {
    pub rule: RuleRef,
    /// The scan record whose drift it adopts.
    pub acts_on: RecordRef,
    pub outcome: AdoptionOutcome,
    pub adopted: Vec<AdoptedAttribute>,
    pub refusals: Vec<AdoptionRefusal>,
    pub files: Vec<AdoptedFile>,
    /// SHA-256 of the unified diff of `files`, as `driftlog adopt --patch` prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<AdoptionProof>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestLink>,
}

impl AdoptionRecord {
    /// Whether it holds together as a record of seq `seq` with `result` (`failed`: the
    /// record names a failure). `Err` says what is wrong.
    pub(super) fn check(&self, seq: u64, result: RecordResult, failed: bool) -> Result<(), String> {
        let outcome = self.outcome.as_str();
        if self.rule.name.trim().is_empty() || self.rule.reason.trim().is_empty() {
            return Err("its rule has no name or no reason".into());
        }
        if self.rule.action != super::RemediationAction::Adopt {
            return Err(format!(
                "its rule's action is {}, not adopt",
                self.rule.action.as_str()
            ));
        }
        let hashes = self
            .files
            .iter()
            .flat_map(|f| [&f.before_sha256, &f.after_sha256])
            .chain(self.proof.as_ref().map(|p| &p.show_sha256))
            .chain(self.diff_sha256.as_ref())
            .chain([&self.acts_on.record_sha256]);
        if hashes
            .into_iter()
            .any(|hash| !super::remediation::is_sha256_hex(hash))
        {
            return Err("one of its hashes is not a SHA-256 in lowercase hex".into());
        }
        if self.acts_on.seq >= seq {
            return Err(format!(
                "it adopts record {}, which is not before it (seq {seq})",
                self.acts_on.seq
            ));
        }
        if result != self.outcome.result() {
            return Err(format!(
                "its result is {} but its outcome {outcome}",
                result.as_str()
            ));
        }
        if failed != (self.outcome == AdoptionOutcome::Failed) {
            return Err(if failed {
                format!("it is {outcome} but names a failure")
            } else {
                format!("it is {outcome} but names no failure")
            });
        }
        if self.adopted.iter().any(|a| {
            matches!(a.after, AttrValue::Sensitive) || matches!(a.before, AttrValue::Sensitive)
        }) {
            return Err("it adopts a sensitive attribute".into());
        }
        let edited = !self.adopted.is_empty()
            && !self.files.is_empty()
            && self.diff_sha256.is_some()
            && self.proof.is_some();
        match self.outcome {
            o if o.edits() && !edited => Err(format!(
                "it is {outcome} but lacks what it adopted, the files, the diff's hash or the proof"
            )),
            AdoptionOutcome::Proposed | AdoptionOutcome::Closed if self.pull_request.is_none() => {
                Err(format!("it is {outcome} but names no pull request"))
            }
            AdoptionOutcome::Refused if self.refusals.is_empty() => {
                Err("it is refused but names no refusal".into())
            }
            AdoptionOutcome::Refused | AdoptionOutcome::Closed
                if !self.adopted.is_empty() || !self.files.is_empty() =>
            {
                Err(format!(
                    "it is {outcome} but names adopted attributes or files"
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;

/// An adoption of `acts_on`'s drift, proposed in a pull request, for tests.
#[cfg(test)]
pub(crate) fn sample_adoption(acts_on: RecordRef) -> AdoptionRecord {
    use serde_json::json;
    AdoptionRecord {
        rule: RuleRef {
            name: ".driftlog.toml:20".into(),
            reason: "limits raised on call stay".into(),
            action: super::RemediationAction::Adopt,
        },
        acts_on,
        outcome: AdoptionOutcome::Proposed,
        adopted: vec![AdoptedAttribute {
            address: "aws_db_instance.main".into(),
            path: "allocated_storage".into(),
            before: AttrValue::Known(json!(20)),
            after: AttrValue::Known(json!(50)),
            file: "infra/prod/main.tf".into(),
            line: 7,
        }],
        refusals: vec![AdoptionRefusal {
            address: "aws_db_instance.main".into(),
            path: Some("instance_class".into()),
            reason: "`instance_class` is set by var.class (main.tf:8)".into(),
        }],
        files: vec![AdoptedFile {
            path: "infra/prod/main.tf".into(),
            before_sha256: "1".repeat(64),
            after_sha256: "2".repeat(64),
        }],
        diff_sha256: Some("3".repeat(64)),
        proof: Some(AdoptionProof {
            targets: vec!["aws_db_instance.main".into()],
            summary: "0 to add, 0 to change, 0 to destroy".into(),
            show_sha256: "4".repeat(64),
        }),
        pull_request: Some(PullRequestLink {
            number: 7,
            url: "https://github.com/acme/infra/pull/7".into(),
            branch: "driftlog/adopt/infra-prod".into(),
            commit: Some("5".repeat(40)),
        }),
    }
}
