//! What the audit log (and, when given, git history and cloud audit events) says about how a
//! drift came about. Computed by [`crate::explain`]; here only the data, so reports can carry
//! and render it. Every statement names its source: a record (seq, commit), a commit, an
//! event id. What the evidence does not show stays `None` or empty, never a guess.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AttributeChange;

/// How one drifted resource got that way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    pub address: String,
    /// The stack, as the records name it.
    pub stack: String,
    pub workspace: String,
    /// A CloudFormation stack's template file, as configured: the file whose commits are
    /// searched (the stack has no directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The first scan of the current drift: the oldest of the unbroken run of scans (failed
    /// scans aside) that saw the resource drifted.
    pub first_seen: RecordRef,
    /// The newest record before it in which the resource was clean (a scan that did not see
    /// it drifted), that applied it, or a remediation that reverted it. `None`: the log holds
    /// no such record, so the drift may be older than the log.
    pub last_clean: Option<RecordRef>,
    /// Applies of the stack recorded inside the window (none of them applied this resource,
    /// or the window would start there).
    pub applies: Vec<RecordRef>,
    /// Scans inside the window that failed, and so saw nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_scans: Vec<RecordRef>,
    /// Remediations of the stack recorded inside the window, whatever their outcome (none of
    /// them reverted this resource, or the window would start there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediations: Vec<RemediationRef>,
    /// Commits of the main branch inside the window that touched the stack's files. `None`:
    /// git history was not available.
    pub commits: Option<Vec<CommitRef>>,
    /// Cloud audit events inside the window naming the resource. `None`: no event file given.
    pub events: Option<Vec<EventRef>>,
    /// Each changed attribute of the latest scan, with the window of its current value.
    pub changes: Vec<ChangeHistory>,
    /// What the records know the resource by (`id`, `arn`, `name`, `self_link`, and ids
    /// applies reported): what cloud events were matched on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<String>,
    /// Where the resource lives, never matched itself (a CloudFormation stack's ARN): it
    /// keeps a bare id from matching events of another account or region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub place: Vec<String>,
}

/// One record, as a statement's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordRef {
    pub seq: u64,
    /// The audit commit that added it.
    pub commit: Option<String>,
    pub time: String,
    /// `scan`, `apply` or `remediation`.
    pub kind: String,
    /// `clean`, `drifted`, `failed`, `applied`, `reverted`, `refused`.
    pub result: String,
    /// Who ran it: the Actions actor and workflow, or the git user and host.
    pub who: String,
    /// The CI run, when it ran in one: its URL, else its id.
    pub run: Option<String>,
    /// For applies and remediations that reverted it: what it did to the explained resource
    /// (`update`, ...), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
}

/// A remediation, as a source: its record, the rule it acted by, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RemediationRef {
    #[serde(flatten)]
    pub record: RecordRef,
    /// Where the rule is: `.driftlog.toml:12`.
    pub rule: String,
    /// How the remediation ended: `reverted`, `refused`, `failed` or `interrupted`.
    pub outcome: String,
    /// Why it would not change the explained resource, when it refused to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommitRef {
    pub sha: String,
    /// Committer time, RFC 3339 UTC: when it landed on the branch.
    pub time: String,
    pub author: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventRef {
    pub id: String,
    pub time: String,
    /// The API call, e.g. `ModifySecurityGroupRules`.
    pub action: String,
    pub service: String,
    /// Who called it, e.g. `role/ops-admin (session alice)`.
    pub actor: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The event file it was read from.
    pub file: String,
}

/// One attribute of the latest drift, and since when it has had that value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeHistory {
    #[serde(flatten)]
    pub change: AttributeChange,
    /// The first scan of the unbroken run that saw this attribute with this value.
    pub first_seen: u64,
    /// The record before that run (clean, applied, or showing another value), if any.
    pub since_after: Option<u64>,
    /// Sensitive values cannot be compared between records: the run is by path only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub value_hidden: bool,
}
