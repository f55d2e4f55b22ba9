//! The typed drift model: what a scan found, with secrets already redacted.
//!
//! Everything downstream (reports, the audit log) consumes these types and nothing else, so
//! the redaction done in [`analysis`] is the single place where a secret could escape. The
//! serialized form of [`ScanReport`] is driftlog's public JSON interface (`--format json`);
//! its shape is versioned by [`SCHEMA_VERSION`] and documented in `docs/json-report.md`.

pub mod analysis;
pub mod path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bump on any change that could break a consumer of the JSON report.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// The version the `version` stream message announced; absent when terraform never started.
    pub terraform_version: Option<String>,
    pub status: Status,
    /// RFC 3339 UTC time the scan started.
    pub started_at: String,
    pub duration_ms: u64,
    pub summary: Summary,
    pub resources: Vec<DriftedResource>,
    /// Root module outputs whose value changed; not drift of real infrastructure.
    pub output_changes: Vec<OutputChange>,
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

/// SHA-256 digests (lowercase hex) of terraform's own output for this scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// Of the whole `plan -refresh-only -json` stream.
    pub plan_stream_sha256: Option<String>,
    /// Of the `show -json` document of the plan; only when there was drift (else show is
    /// not run).
    pub show_json_sha256: Option<String>,
}

impl ScanReport {
    /// The report of a scan that has found nothing yet: `failed` until the scan says
    /// otherwise, so a scan cut short is never mistaken for a clean one.
    pub fn new(stack: Stack, started_at: String) -> Self {
        ScanReport {
            schema_version: SCHEMA_VERSION,
            stack,
            terraform_version: None,
            status: Status::Failed,
            started_at,
            duration_ms: 0,
            summary: Summary::default(),
            resources: Vec::new(),
            output_changes: Vec::new(),
            diagnostics: Vec::new(),
            failure: None,
            evidence: Evidence::default(),
            audit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stack {
    /// The directory as given on the command line.
    pub dir: String,
    pub workspace: String,
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
    pub drifted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub other: usize,
    pub output_changes: usize,
}

impl Summary {
    pub fn of(
        checked: usize,
        resources: &[DriftedResource],
        output_changes: &[OutputChange],
    ) -> Self {
        let count = |action: Action| resources.iter().filter(|r| r.action == action).count();
        let updated = count(Action::Update);
        let deleted = count(Action::Delete);
        Summary {
            checked,
            drifted: resources.len(),
            updated,
            deleted,
            other: resources.len() - updated - deleted,
            output_changes: output_changes.len(),
        }
    }
}

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
    /// Changed leaf attributes, sorted by path. Unchanged attributes are never listed.
    pub changes: Vec<AttributeChange>,
}

impl DriftedResource {
    pub fn sensitive_changes(&self) -> usize {
        self.changes.iter().filter(|c| c.is_sensitive()).count()
    }
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
    /// What happened and what to do, for a person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

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
