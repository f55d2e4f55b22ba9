//! The typed drift model: what a scan found, with secrets already redacted.
//!
//! Everything downstream (reports, the audit log) consumes these types and nothing else, so
//! the redaction done in [`analysis`] is the single place where a secret could escape. The
//! serialized form of [`ScanReport`] is driftlog's public JSON interface (`--format json`);
//! its shape is versioned by [`SCHEMA_VERSION`] and documented in `docs/json-report.md`.

pub mod analysis;
pub mod combined;
pub mod explanation;
pub mod fingerprint;
pub mod path;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bump on any change that could break a consumer of the JSON report.
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON Schema of [`ScanReport`], as committed in `docs/scan-report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ScanReport).to_value();
    schema["$id"] =
        serde_json::Value::String(format!("urn:driftlog:scan-report:v{SCHEMA_VERSION}"));
    schema
}

/// The result of scanning one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanReport {
    pub schema_version: u32,
    pub stack: Stack,
    /// The tool and version the `version` stream message announced; absent when it never
    /// started.
    pub tool: Option<Tool>,
    pub status: Status,
    /// RFC 3339 UTC time the scan started.
    pub started_at: String,
    pub duration_ms: u64,
    pub summary: Summary,
    pub resources: Vec<DriftedResource>,
    /// What the refresh reported that is a refactor in code, not a change of a real object
    /// (a `moved` block). Never counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refactors: Vec<Refactor>,
    /// Root module outputs whose value changed; not drift of real infrastructure.
    pub output_changes: Vec<OutputChange>,
    /// Resources the engine could not check (CloudFormation: types without drift detection,
    /// or a check that failed); neither drifted nor clean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<NotChecked>,
    /// Warnings and errors terraform reported.
    pub diagnostics: Vec<Diagnostic>,
    /// Why the scan failed, when `status` is `failed`.
    pub failure: Option<Failure>,
    /// Hashes of what terraform said, for the audit record.
    #[serde(default)]
    pub evidence: Evidence,
    /// The audit record this scan was written as. Set after recording, so it is never part
    /// of the record itself; absent when the scan was not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditRef>,
    /// Where the record waits when it could not join the audit branch in time: a pending
    /// ref on the remote, which the next writer folds into the branch. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_pending: Option<PendingAuditRef>,
    /// What the audit log says about each drifted resource (when the scan was recorded and
    /// the log knows something). Derived after recording, never part of the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<explanation::Explanation>,
    /// Who owns the stack, as CODEOWNERS spells them (`@login`, `@org/team`, an address):
    /// its `owners` in the configuration, else CODEOWNERS for its files. Routing, never
    /// part of the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
}

/// Where a scan sits in the audit log: what a pull-request comment shows so the thread
/// witnesses the log's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRef {
    pub branch: String,
    pub seq: u64,
    /// SHA-256 (hex) of the record.
    pub record_sha256: String,
    /// The audit commit holding the record.
    pub commit: String,
    /// The signed checkpoint at this record, in its one-line form.
    pub checkpoint: String,
}

/// A record that waits on the remote for the audit branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PendingAuditRef {
    pub branch: String,
    /// The ref on the remote that holds it (`refs/driftlog/pending/<branch>/<label>`).
    pub pending_ref: String,
    /// The git blob id of its pending entry: once folded, the branch holds the same blob
    /// beside the record (`<seq>.json.pending`).
    pub entry: String,
}

/// SHA-256 digests (lowercase hex) of terraform's own output for this scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// Of the whole `plan -refresh-only -json` stream.
    pub plan_stream_sha256: Option<String>,
    /// Of the refresh-only plan's `show -json` document; only when there was drift (else
    /// show is not run).
    pub show_json_sha256: Option<String>,
    /// Of `terraform providers schema -json`, when it was read to classify the drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_schema_sha256: Option<String>,
    /// Of the whole stream of the normal plan (targeted at the drifted resources) that
    /// classified the drift, when the schema could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classify_plan_stream_sha256: Option<String>,
    /// Of that plan's `show -json` document, which the drifted values were then read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classify_show_json_sha256: Option<String>,
    /// Of the whole `apply -json` stream (apply records only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_stream_sha256: Option<String>,
    /// Of CloudFormation's drift results: every page of `describe-stack-resource-drifts`
    /// as the AWS CLI printed it, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudformation_drifts_sha256: Option<String>,
}

impl ScanReport {
    /// A report of the stack at `dir` (workspace `default`) with `status` and nothing else,
    /// for tests.
    #[cfg(test)]
    pub(crate) fn test(dir: &str, status: Status) -> ScanReport {
        let stack = Stack {
            dir: dir.into(),
            workspace: "default".into(),
            cloudformation: None,
        };
        let mut report = ScanReport::new(stack, "2026-11-24T00:00:00Z".into());
        report.status = status;
        report
    }

    /// The report of a scan that has found nothing yet: `failed` until the scan says
    /// otherwise, so a scan cut short is never mistaken for a clean one.
    pub fn new(stack: Stack, started_at: String) -> Self {
        ScanReport {
            schema_version: SCHEMA_VERSION,
            stack,
            tool: None,
            status: Status::Failed,
            started_at,
            duration_ms: 0,
            summary: Summary::default(),
            resources: Vec::new(),
            refactors: Vec::new(),
            output_changes: Vec::new(),
            not_checked: Vec::new(),
            diagnostics: Vec::new(),
            failure: None,
            evidence: Evidence::default(),
            audit: None,
            audit_pending: None,
            explanations: Vec::new(),
            owners: Vec::new(),
        }
    }
}

/// Which infrastructure-as-code tool ran, as its own `version` message names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: ToolName,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolName {
    Terraform,
    Opentofu,
    /// CloudFormation's own drift detection, through the AWS CLI (whose version is given).
    Cloudformation,
}

impl ToolName {
    /// The product name, as its makers write it.
    pub fn display(self) -> &'static str {
        match self {
            ToolName::Terraform => "Terraform",
            ToolName::Opentofu => "OpenTofu",
            ToolName::Cloudformation => "CloudFormation",
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name.display(), self.version)
    }
}

/// A `resource_drift` entry that is a change in code, not in the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Refactor {
    pub address: String,
    /// The address in the last applied state (for a move).
    pub previous_address: Option<String>,
    /// terraform's action: `move`, or whatever else it reports that changes no real object.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stack {
    /// The directory as given on the command line; for a CloudFormation stack, its key
    /// (`cloudformation/REGION/NAME`, a nested stack under its parent's by logical id).
    pub dir: String,
    pub workspace: String,
    /// Set for a CloudFormation stack: which one, where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudformation: Option<CloudFormationStack>,
}

impl Stack {
    /// A Terraform stack at `dir` in `workspace`.
    pub fn terraform(dir: impl Into<String>, workspace: impl Into<String>) -> Stack {
        Stack {
            dir: dir.into(),
            workspace: workspace.into(),
            cloudformation: None,
        }
    }
}

/// A CloudFormation stack, as its scan found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CloudFormationStack {
    /// The stack's name (for a nested stack, the name CloudFormation gave it).
    pub name: String,
    /// The region, as configured or as the stack's id names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS account, from the stack's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The stack's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// The template file in the repository (for annotations), when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// For a nested stack: the parent stack's key and the logical id it has there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NestedIn>,
}

/// Where a nested stack sits in its parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NestedIn {
    /// The parent's key (`Stack::dir`).
    pub stack: String,
    pub logical_id: String,
}

/// A resource the engine could not check for drift: never counted as clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotChecked {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The engine's word for it (CloudFormation: `NOT_CHECKED`, `UNKNOWN`).
    pub status: String,
    /// Why, when the engine says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Clean,
    Drifted,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Drifted => "drifted",
            Status::Failed => "failed",
        }
    }

    /// The exit code convention of `terraform plan -detailed-exitcode`.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Failed => 1,
            Status::Drifted => 2,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Resource instances terraform refreshed: a clean scan that checked nothing is suspect.
    pub checked: usize,
    /// Drifted resources that count: those with managed drift no ignore rule covers.
    pub drifted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub other: usize,
    pub output_changes: usize,
    /// Resources the refresh saw change whose drift does not count: ignored by the
    /// configuration (`ignore_changes`) or by rules, or not managed by the configuration.
    #[serde(default)]
    pub ignored: usize,
    /// Refactors in code (moves) the refresh reported; never drift.
    #[serde(default)]
    pub refactors: usize,
    /// Resources the engine could not check (`ScanReport::not_checked`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_checked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(
        checked: usize,
        resources: &[DriftedResource],
        refactors: &[Refactor],
        output_changes: &[OutputChange],
    ) -> Self {
        let counted: Vec<&DriftedResource> = resources.iter().filter(|r| r.counts()).collect();
        let count = |action: Action| counted.iter().filter(|r| r.action == action).count();
        let updated = count(Action::Update);
        let deleted = count(Action::Delete);
        Summary {
            checked,
            drifted: counted.len(),
            updated,
            deleted,
            other: counted.len() - updated - deleted,
            output_changes: output_changes.len(),
            ignored: resources.len() - counted.len(),
            refactors: refactors.len(),
            not_checked: 0,
        }
    }
}

impl ScanReport {
    /// Marks the drift `rule_for` ignores, then recounts: a scan whose every drift is ignored
    /// is clean. `rule_for` is asked for the resource as a whole (no change given), then for
    /// each change that still counts: drift the configuration already leaves alone keeps the
    /// configuration's reason.
    pub fn apply_ignores(
        &mut self,
        rule_for: impl Fn(&DriftedResource, Option<&AttributeChange>) -> Option<Ignored>,
    ) {
        for resource in &mut self.resources {
            if resource.ignored.is_none() {
                resource.ignored = rule_for(resource, None);
            }
            if resource.ignored.is_some() {
                continue;
            }
            let marks: Vec<Option<Ignored>> = resource
                .changes
                .iter()
                .map(|change| match &change.ignored {
                    Some(mark) => Some(mark.clone()),
                    None => rule_for(resource, Some(change)),
                })
                .collect();
            for (change, mark) in resource.changes.iter_mut().zip(marks) {
                change.ignored = mark;
            }
        }
        self.recount();
    }

    /// Recomputes the summary and the status from what counts.
    pub fn recount(&mut self) {
        self.summary = Summary::of(
            self.summary.checked,
            &self.resources,
            &self.refactors,
            &self.output_changes,
        );
        self.summary.not_checked = self.not_checked.len();
        match self.status {
            Status::Drifted if self.summary.drifted == 0 => self.status = Status::Clean,
            Status::Clean if self.summary.drifted > 0 => self.status = Status::Drifted,
            _ => {}
        }
    }
}

/// The prefix of identifiers that place a resource without naming it: an event naming one
/// is about the place (every operation on a CloudFormation stack names the stack), not the
/// resource.
pub const PLACE_ONLY: &str = "place.";

/// One resource instance whose real state no longer matches the recorded state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftedResource {
    /// Full address, e.g. `module.net.aws_subnet.private[1]`.
    pub address: String,
    /// Module address (`module.net`), absent for the root module.
    pub module_address: Option<String>,
    pub mode: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// `count` index (number) or `for_each` key (string).
    pub index: Option<serde_json::Value>,
    pub provider: String,
    pub action: Action,
    /// Where a `moved` block says the resource was before (it moved and drifted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    /// Whether the configuration manages what drifted: `managed` when any change is managed
    /// (or the resource was deleted and apply would create it again).
    #[serde(default)]
    pub class: DriftClass,
    /// Changed leaf attributes, sorted by path. Unchanged attributes are never listed.
    pub changes: Vec<AttributeChange>,
    /// The resource's identifiers in its last known state (`id`, `arn`, `name`,
    /// `self_link`, and `identity.*` from terraform's resource identity; never a sensitive
    /// one), to find it in cloud audit events. Those under [`PLACE_ONLY`] (`place.*`) only
    /// say where it lives (a CloudFormation stack's ARN): they scope bare ids to an account
    /// and region and are never matched themselves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identifiers: BTreeMap<String, String>,
    /// Set when the whole resource does not count (a whole-resource ignore rule, or the
    /// configuration no longer manages it): it is still reported and recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

impl DriftedResource {
    pub fn sensitive_changes(&self) -> usize {
        self.counted_changes().filter(|c| c.is_sensitive()).count()
    }

    /// Whether this resource's drift counts: nothing set aside the resource as a whole, and
    /// it was deleted, or some changed attribute counts (a change without attributes counts).
    pub fn counts(&self) -> bool {
        self.ignored.is_none()
            && (self.action == Action::Delete
                || self.changes.is_empty()
                || self.changes.iter().any(|c| c.ignored.is_none()))
    }

    /// The changes no rule ignores.
    pub fn counted_changes(&self) -> impl Iterator<Item = &AttributeChange> {
        self.changes.iter().filter(|c| c.ignored.is_none())
    }

    /// A managed resource `address` of type `aws_x` with `changes` (path, before, after),
    /// for tests.
    #[cfg(test)]
    pub(crate) fn test<'a>(
        address: &str,
        action: Action,
        changes: impl IntoIterator<Item = (&'a str, AttrValue, AttrValue)>,
    ) -> DriftedResource {
        DriftedResource {
            previous_address: None,
            class: Default::default(),
            address: address.into(),
            module_address: None,
            mode: "managed".into(),
            resource_type: "aws_x".into(),
            name: "x".into(),
            index: None,
            provider: "p".into(),
            action,
            changes: changes
                .into_iter()
                .map(|(path, before, after)| AttributeChange {
                    class: Default::default(),
                    path: path.into(),
                    before,
                    after,
                    ignored: None,
                })
                .collect(),
            identifiers: Default::default(),
            ignored: None,
        }
    }
}

/// Whether the configuration manages a drifted attribute: terraform's answer (its provider
/// schema and configuration, or what the next apply would do), not a guess from the code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftClass {
    /// The configuration defines it: the next apply would set it back.
    #[default]
    Managed,
    /// `lifecycle { ignore_changes }` says the configuration does not manage it.
    IgnoredByConfiguration,
    /// The configuration does not set it (computed by the provider, or no longer in the
    /// configuration): apply leaves it alone.
    Unmanaged,
}

impl DriftClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftClass::Managed => "managed",
            DriftClass::IgnoredByConfiguration => "ignored_by_configuration",
            DriftClass::Unmanaged => "unmanaged",
        }
    }
}

impl Ignored {
    /// `rule` when a normal plan showed that apply leaves the value alone.
    pub const BY_PLAN: &'static str = "terraform plan";
    /// `rule` when the provider schema showed the configuration does not set it.
    pub const BY_SCHEMA: &'static str = "provider schema";
    /// `reason` for drift under `lifecycle { ignore_changes }`.
    pub const IGNORE_CHANGES: &'static str = "lifecycle.ignore_changes in the configuration";

    /// Whether the configuration, not a `.driftlog.toml` rule, set this drift aside.
    pub fn by_configuration(&self) -> bool {
        self.rule == Self::BY_PLAN
            || self.rule == Self::BY_SCHEMA
            || self.reason == Self::IGNORE_CHANGES
    }
}

/// Why a drift does not count, kept beside it so the audit log shows why: an ignore rule,
/// or the configuration itself (`ignore_changes`, an attribute it does not set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ignored {
    /// What decided it: the rule as the configuration names it (`.driftlog.toml:12`), the
    /// `ignore_changes` declaration (`main.tf:12`), or `terraform plan` for drift the
    /// configuration does not set.
    pub rule: String,
    pub reason: String,
    /// The last day (UTC) the rule applies, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Update,
    Delete,
    Create,
    Replace,
    Read,
    Unknown,
}

impl Action {
    /// Maps terraform's action names (`update`, `delete`, `["delete","create"]`...).
    pub fn from_terraform(actions: &[&str]) -> Self {
        match actions {
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["create"] => Action::Create,
            ["read"] => Action::Read,
            ["replace"] | ["delete", "create"] | ["create", "delete"] => Action::Replace,
            _ => Action::Unknown,
        }
    }

    /// The name in JSON reports and records: `update`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Read => "read",
            Action::Unknown => "unknown",
        }
    }

    /// Past tense, as a reviewer reads it: "updated", "deleted".
    pub fn describe(self) -> &'static str {
        match self {
            Action::Update => "updated",
            Action::Delete => "deleted",
            Action::Create => "created",
            Action::Replace => "replaced",
            Action::Read => "read",
            Action::Unknown => "changed",
        }
    }
}

/// One attribute that differs between the recorded state and reality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttributeChange {
    /// `tags.env`, `rule[0].cidr_blocks[1]`, `tags["my key"]`.
    pub path: String,
    pub before: AttrValue,
    pub after: AttrValue,
    /// Whether the configuration manages this attribute.
    #[serde(default)]
    pub class: DriftClass,
    /// Set when this change does not count: an ignore rule, or the configuration (see
    /// `class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

impl AttributeChange {
    pub fn is_sensitive(&self) -> bool {
        self.before == AttrValue::Sensitive || self.after == AttrValue::Sensitive
    }
}

/// A value as driftlog may show it. Sensitive values never get past the analysis: only the
/// marker does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AttrValue {
    Known(serde_json::Value),
    /// The attribute (or map key, list element) does not exist on this side.
    Absent,
    /// Terraform marks the value sensitive; its content is withheld.
    Sensitive,
    /// Known only after apply.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutputChange {
    pub name: String,
    pub action: String,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub address: Option<String>,
    /// `file:line` where terraform located the problem.
    pub location: Option<String>,
    /// What terraform said about a resource (`summary`, then `detail`): its provider's words,
    /// which can quote the resource's values, so `summary` only describes them. Kept for the
    /// terminal, never serialized.
    #[serde(skip)]
    #[schemars(skip)]
    pub withheld: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.summary)?;
        if let Some(address) = &self.address {
            write!(f, " ({address})")?;
        }
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        if !self.detail.is_empty() {
            write!(f, "\n  {}", self.detail.replace('\n', "\n  "))?;
        }
        Ok(())
    }
}

/// Why a scan could not tell whether the stack drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// A stable, machine-readable kind (`terraform_not_found`, `plan_failed`, ...).
    pub kind: String,
    /// What happened and what to do, for a person. Never quotes terraform's raw output.
    pub message: String,
    /// Terraform's own text behind the failure (its stderr, a line that was not JSON),
    /// described and hashed but never quoted: it can hold anything, `TF_LOG` lines and
    /// values included. The text itself is shown on the run's terminal only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<FailureOutput>,
    /// That text, for this run's standard error only: never serialized, so it reaches no
    /// report, record or comment.
    #[serde(skip)]
    #[schemars(skip)]
    pub shown: Option<String>,
}

impl Failure {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            kind: kind.into(),
            message: message.into(),
            output: None,
            shown: None,
        }
    }
}

/// What terraform printed that explains a failure, without the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailureOutput {
    /// `stderr`, or `stdout` for a line of the `-json` stream that was not JSON.
    pub stream: String,
    /// The line of stdout (1-based), for a line that was not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// How many bytes terraform wrote there (of that line, or of all its stderr).
    pub bytes: u64,
    /// How many lines (of all its stderr; 1 for a line).
    pub lines: u64,
    /// How many bytes of it the terminal showed: the end of stderr, the start of a line.
    pub shown_bytes: u64,
    /// SHA-256 (lowercase hex) of exactly the text the terminal showed, so it can be
    /// matched to the run's log.
    pub shown_sha256: String,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use serde_json::json;

    fn resource(address: &str, action: Action, paths: &[&str]) -> DriftedResource {
        let changes = paths.iter().map(|path| {
            (
                *path,
                AttrValue::Known(json!(1)),
                AttrValue::Known(json!(2)),
            )
        });
        DriftedResource::test(address, action, changes)
    }

    fn drifted(resources: Vec<DriftedResource>) -> ScanReport {
        let mut report = ScanReport::test("infra", Status::Drifted);
        report.summary = Summary::of(10, &resources, &[], &[]);
        report.resources = resources;
        report
    }

    /// Ignores `tags.LastScanned` everywhere and the whole of `aws_x.asg`.
    fn rules(resource: &DriftedResource, change: Option<&AttributeChange>) -> Option<Ignored> {
        let rule = |name: &str| Ignored {
            rule: name.into(),
            reason: "why".into(),
            expires: None,
        };
        match change {
            None if resource.address == "aws_x.asg" => Some(rule("whole")),
            Some(change) if change.path == "tags.LastScanned" => Some(rule("tag")),
            _ => None,
        }
    }

    #[test]
    fn ignored_drift_is_kept_but_not_counted() {
        let mut report = drifted(vec![
            resource("aws_x.a", Action::Update, &["size", "tags.LastScanned"]),
            resource("aws_x.b", Action::Update, &["tags.LastScanned"]),
            resource("aws_x.asg", Action::Delete, &["desired_capacity"]),
            resource("aws_x.gone", Action::Delete, &["tags.LastScanned"]),
        ]);
        report.apply_ignores(rules);
        assert_eq!(report.status, Status::Drifted);
        assert_eq!(report.resources.len(), 4, "nothing is dropped");
        let counted: Vec<&str> = report
            .resources
            .iter()
            .filter(|r| r.counts())
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(counted, ["aws_x.a", "aws_x.gone"]);
        assert_eq!(report.summary.drifted, 2);
        assert_eq!(report.summary.ignored, 2);
        assert_eq!(report.summary.deleted, 1);
        let a = &report.resources[0];
        assert_eq!(a.counted_changes().count(), 1);
        assert_eq!(
            a.changes[1].ignored.as_ref().map(|i| i.rule.as_str()),
            Some("tag")
        );
    }

    #[test]
    fn a_scan_whose_drift_is_all_ignored_is_clean() {
        let mut report = drifted(vec![resource(
            "aws_x.b",
            Action::Update,
            &["tags.LastScanned"],
        )]);
        report.apply_ignores(rules);
        assert_eq!(report.status, Status::Clean);
        assert_eq!(report.status.exit_code(), 0);
        assert_eq!(report.summary.drifted, 0);
        assert_eq!(report.summary.ignored, 1);
    }

    /// The committed schema is what the types generate; rerun with DRIFTLOG_UPDATE_SCHEMA=1
    /// after changing the model (and bump SCHEMA_VERSION if the change can break a consumer).
    #[test]
    fn committed_json_schema_matches_the_model() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scan-report.schema.json");
        let generated =
            serde_json::to_string_pretty(&super::json_schema()).unwrap_or_default() + "\n";
        if std::env::var_os("DRIFTLOG_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is out of date: run `DRIFTLOG_UPDATE_SCHEMA=1 cargo test --lib json_schema`",
            path.display()
        );
    }
}
