//! One audit record: a scan (what drifted), an apply (what terraform changed) or a
//! remediation (which rule reverted which recorded drift, [`remediation`]), who ran it and
//! where, chained to the record before it.
//!
//! Records are stored as canonical JSON (RFC 8785), so the bytes, and with them the SHA-256
//! that the next record's `prev` and the commit message name, are fixed by the content. They
//! carry the same redacted drift model as the reports: no secret reaches the log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::drift::{
    Action, DriftedResource, Evidence, Failure, OutputChange, Refactor, ScanReport, Status, Tool,
    ToolName,
};

mod adoption;
mod remediation;

#[cfg(test)]
pub(crate) use adoption::sample_adoption;
pub use adoption::{
    AdoptedAttribute, AdoptedFile, AdoptionOutcome, AdoptionProof, AdoptionRecord, AdoptionRefusal,
    PullRequestLink,
};
#[cfg(test)]
pub(crate) use remediation::sample_remediation;
pub use remediation::{
    PlannedChange, RecordRef, Refusal, RemediationAction, RemediationOutcome, RemediationRecord,
    RemediationRun, RuleRef,
};

/// Bump on any change a verifier or reader of old records must know about.
pub const RECORD_SCHEMA_VERSION: u32 = 3;

/// From this schema on, `time` is when the record joined the log (its commit's time, never
/// earlier than the record before it), which is what makes times in a log only move forward.
pub const LOG_TIME_SCHEMA: u32 = 3;

/// A record that waited longer than this between being made and joining the log (it was
/// spooled) keeps the time it was made in `made`.
pub const MADE_SLACK_SECONDS: u64 = 60;

/// `prev` of the first record.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which log a record belongs to: a record copied into another log does not verify there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogId {
    /// The repository, as `owner/name` on GitHub or the remote URL without credentials.
    pub repository: String,
    pub branch: String,
}

/// The stack a record is about, by its path inside the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StackRef {
    pub path: String,
    pub workspace: String,
    /// A CloudFormation stack's name, region, account and id (its engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudformation: Option<crate::drift::CloudFormationStack>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Scan,
    Apply,
    Remediation,
    Adoption,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Scan => "scan",
            RecordKind::Apply => "apply",
            RecordKind::Remediation => "remediation",
            RecordKind::Adoption => "adoption",
        }
    }

    /// `a` or `an`, before [`as_str`](Self::as_str) in a message.
    pub(crate) fn article(self) -> &'static str {
        match self {
            RecordKind::Apply | RecordKind::Adoption => "an",
            RecordKind::Scan | RecordKind::Remediation => "a",
        }
    }
}

/// A record's outcome. Scans use the scan statuses; a successful apply is `applied`; a
/// remediation is `reverted`, `refused` or `failed` ([`RemediationOutcome::result`]). The
/// names are those of [`Status`], so records written before applies existed read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordResult {
    Clean,
    Drifted,
    Failed,
    Applied,
    Reverted,
    Refused,
    /// An adoption's edit is on a pull request.
    Proposed,
    /// An adoption's edit was written in place.
    Adopted,
    /// An adoption's pull request was closed: the drift is gone another way.
    Closed,
}

impl RecordResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Clean => "clean",
            RecordResult::Drifted => "drifted",
            RecordResult::Failed => "failed",
            RecordResult::Applied => "applied",
            RecordResult::Reverted => "reverted",
            RecordResult::Refused => "refused",
            RecordResult::Proposed => "proposed",
            RecordResult::Adopted => "adopted",
            RecordResult::Closed => "closed",
        }
    }
}

impl From<Status> for RecordResult {
    fn from(status: Status) -> Self {
        match status {
            Status::Clean => RecordResult::Clean,
            Status::Drifted => RecordResult::Drifted,
            Status::Failed => RecordResult::Failed,
        }
    }
}

/// An apply as a record needs it: what terraform changed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRun {
    pub outcome: ApplyOutcome,
    /// Set when the apply failed or was interrupted.
    pub failure: Option<Failure>,
    pub tool: Option<Tool>,
    /// SHA-256 of terraform's whole `apply -json` stream.
    pub stream_sha256: String,
}

/// What an apply changed, from terraform's `apply -json` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyOutcome {
    /// terraform's exit code (absent when it was stopped by a signal).
    pub exit_code: Option<i32>,
    /// Every resource terraform started to change, in the order it finished (or failed).
    pub changes: Vec<AppliedChange>,
    /// terraform's own count (`change_summary`), when it got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplySummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppliedChange {
    pub address: String,
    pub action: Action,
    /// Whether terraform finished the change.
    pub outcome: ChangeOutcome,
    /// The resource's id after the change (`apply_complete`'s `id_value`), when
    /// terraform names one: an identifier to match cloud audit events with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOutcome {
    Complete,
    Errored,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplySummary {
    pub add: u64,
    pub change: u64,
    pub import: u64,
    pub remove: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    pub schema_version: u32,
    pub log: LogId,
    /// 0 for the first record, then +1 each.
    pub seq: u64,
    /// SHA-256 (hex) of the previous record's exact bytes; [`GENESIS_PREV`] for seq 0.
    pub prev: String,
    /// RFC 3339 UTC time: when the record joined the log (schema 3 on; its commit has the same
    /// time), before that when it was made.
    pub time: String,
    /// When the record was made, if it waited in the spool for more than a minute before it
    /// joined the log (schema 3 on). Read through [`Record::made_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<String>,
    pub kind: RecordKind,
    pub context: RunContext,
    pub stack: StackRef,
    /// Which tool ran (schema 2 on); absent when it never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<Tool>,
    /// Schema 1 records name only terraform's version; read through [`Record::tool`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform_version: Option<String>,
    pub result: RecordResult,
    /// Drifted resources with their changed attributes, secrets redacted (scans; empty for
    /// applies).
    pub resources: Vec<DriftedResource>,
    /// Moves the refresh reported (scans, schema 2 on): refactors in code, never drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refactors: Vec<Refactor>,
    pub output_changes: Vec<OutputChange>,
    /// Resources the engine could not check (never counted as clean).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<crate::drift::NotChecked>,
    pub failure: Option<Failure>,
    pub evidence: Evidence,
    /// `SHA256:...` fingerprint of the key that signs this record and its commit.
    pub signing_key: String,
    /// Applies, and remediations that applied their plan: what terraform changed. Absent from
    /// scan records, whose bytes are therefore what they were before applies were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<ApplyOutcome>,
    /// Remediations only: the rule, the record acted on, the plan, the outcome. Absent from
    /// scan and apply records, whose bytes are therefore what they were before remediations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<RemediationRecord>,
    /// Adoptions only: the rule, the record adopted, the files, the proof, the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AdoptionRecord>,
}

/// What every record of one run shares: the stack, who ran it and where, the log, the
/// signing key's fingerprint, and the time it joins the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordBase {
    pub stack: StackRef,
    pub context: RunContext,
    pub log: LogId,
    /// `SHA256:...` fingerprint of the key that signs the record.
    pub signing_key: String,
    /// RFC 3339 UTC.
    pub time: String,
}

/// Where in the chain a new record goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosition {
    pub seq: u64,
    pub prev: String,
}

impl ChainPosition {
    pub fn genesis() -> Self {
        ChainPosition {
            seq: 0,
            prev: GENESIS_PREV.to_owned(),
        }
    }
}

impl Record {
    /// The tool that ran: schema 2 names it, schema 1 records only terraform's version.
    pub fn tool(&self) -> Option<Tool> {
        self.tool.clone().or_else(|| {
            self.terraform_version.clone().map(|version| Tool {
                name: ToolName::Terraform,
                version,
            })
        })
    }

    /// The record of a scan, at `position` in `log`.
    pub fn of_scan(
        report: &ScanReport,
        stack: StackRef,
        context: RunContext,
        log: LogId,
        position: ChainPosition,
        signing_key: String,
        time: String,
    ) -> Record {
        let stack = StackRef {
            cloudformation: report.stack.cloudformation.clone(),
            ..stack
        };
        Record {
            tool: report.tool.clone(),
            resources: report.resources.clone(),
            not_checked: report.not_checked.clone(),
            refactors: report.refactors.clone(),
            output_changes: report.output_changes.clone(),
            failure: report.failure.clone(),
            evidence: report.evidence.clone(),
            ..Record::empty(
                RecordKind::Scan,
                report.status.into(),
                stack,
                context,
                log,
                position,
                signing_key,
                time,
            )
        }
    }

    /// The record of an apply: `failed` when `applied.failure` is set, else `applied`.
    pub fn of_apply(
        applied: &AppliedRun,
        stack: StackRef,
        context: RunContext,
        log: LogId,
        position: ChainPosition,
        signing_key: String,
        time: String,
    ) -> Record {
        let result = if applied.failure.is_some() {
            RecordResult::Failed
        } else {
            RecordResult::Applied
        };
        Record {
            tool: applied.tool.clone(),
            failure: applied.failure.clone(),
            evidence: Evidence {
                apply_stream_sha256: Some(applied.stream_sha256.clone()),
                ..Evidence::default()
            },
            apply: Some(applied.outcome.clone()),
            ..Record::empty(
                RecordKind::Apply,
                result,
                stack,
                context,
                log,
                position,
                signing_key,
                time,
            )
        }
    }

    /// The record of a remediation: its result follows its outcome
    /// ([`RemediationOutcome::result`]); what terraform applied, if it ran, is in `apply`.
    pub fn of_remediation(
        run: &RemediationRun,
        base: RecordBase,
        position: ChainPosition,
    ) -> Record {
        let result = run.remediation.outcome.result();
        Record {
            tool: run.tool.clone(),
            failure: run.failure.clone(),
            evidence: run.evidence.clone(),
            apply: run.apply.clone(),
            remediation: Some(run.remediation.clone()),
            ..Record::empty_at(RecordKind::Remediation, result, base, position)
        }
    }

    /// The record of an adoption: no resources of its own (the scan it acts on has them).
    pub fn of_adoption(
        adoption: &AdoptionRecord,
        failure: Option<Failure>,
        base: RecordBase,
        position: ChainPosition,
    ) -> Record {
        Record {
            failure,
            adoption: Some(adoption.clone()),
            ..Record::empty_at(
                RecordKind::Adoption,
                adoption.outcome.result(),
                base,
                position,
            )
        }
    }

    /// What a record of its kind must hold beyond its JSON shape, for readers and `verify`
    /// to refuse one that does not: a remediation record names its remediation (and only it
    /// does), consistently ([`RemediationRecord`]'s outcome, result, failure, references
    /// to earlier records). `Err` says what is wrong.
    pub fn check_kind(&self) -> Result<(), String> {
        let failed = self.failure.is_some();
        match (self.kind, &self.remediation, &self.adoption) {
            (RecordKind::Remediation, Some(remediation), None) => remediation
                .check(self.seq, self.result, failed)
                .map_err(|why| format!("a remediation record that does not hold together ({why})")),
            (RecordKind::Remediation, None, _) => {
                Err("a remediation record without its `remediation`".into())
            }
            (RecordKind::Adoption, None, Some(adoption)) => adoption
                .check(self.seq, self.result, failed)
                .map_err(|why| format!("an adoption record that does not hold together ({why})")),
            (RecordKind::Adoption, _, None) => {
                Err("an adoption record without its `adoption`".into())
            }
            (kind, Some(_), _) => Err(format!(
                "{} {} record holding a `remediation`",
                kind.article(),
                kind.as_str()
            )),
            (kind, _, Some(_)) => Err(format!(
                "{} {} record holding an `adoption`",
                kind.article(),
                kind.as_str()
            )),
            (kind, None, None)
                if matches!(
                    self.result,
                    RecordResult::Reverted
                        | RecordResult::Refused
                        | RecordResult::Proposed
                        | RecordResult::Adopted
                        | RecordResult::Closed
                ) =>
            {
                Err(format!(
                    "{} {} record with the result {}, which only remediations and adoptions \
                     have",
                    kind.article(),
                    kind.as_str(),
                    self.result.as_str()
                ))
            }
            _ => Ok(()),
        }
    }

    /// A record of `kind` saying nothing yet beyond who, where and when.
    #[allow(clippy::too_many_arguments)]
    fn empty(
        kind: RecordKind,
        result: RecordResult,
        stack: StackRef,
        context: RunContext,
        log: LogId,
        position: ChainPosition,
        signing_key: String,
        time: String,
    ) -> Record {
        let base = RecordBase {
            stack,
            context,
            log,
            signing_key,
            time,
        };
        Record::empty_at(kind, result, base, position)
    }

    /// A record of `kind` saying nothing yet beyond `base` at `position`.
    fn empty_at(
        kind: RecordKind,
        result: RecordResult,
        base: RecordBase,
        position: ChainPosition,
    ) -> Record {
        Record {
            schema_version: RECORD_SCHEMA_VERSION,
            log: base.log,
            seq: position.seq,
            prev: position.prev,
            time: base.time,
            made: None,
            kind,
            context: base.context,
            stack: base.stack,
            tool: None,
            terraform_version: None,
            result,
            resources: Vec::new(),
            refactors: Vec::new(),
            output_changes: Vec::new(),
            not_checked: Vec::new(),
            failure: None,
            evidence: Evidence::default(),
            signing_key: base.signing_key,
            apply: None,
            remediation: None,
            adoption: None,
        }
    }

    /// Its stack, context, log, key and time, as the next record of the same run shares them.
    pub fn base(&self) -> RecordBase {
        RecordBase {
            stack: self.stack.clone(),
            context: self.context.clone(),
            log: self.log.clone(),
            signing_key: self.signing_key.clone(),
            time: self.time.clone(),
        }
    }

    /// When the scan or apply this record describes happened.
    pub fn made_at(&self) -> &str {
        self.made.as_deref().unwrap_or(&self.time)
    }

    /// The record as it joins the log at `time` (RFC 3339, seconds): `time` becomes that, and
    /// the time it was made moves to `made` if that was more than a minute earlier.
    pub fn joined_at(&self, time: &str) -> Record {
        let seconds = |t: &str| humantime::parse_rfc3339_weak(t).ok();
        let made = self.made_at().to_owned();
        let waited = match (seconds(&made), seconds(time)) {
            (Some(made), Some(joined)) => joined
                .duration_since(made)
                .is_ok_and(|d| d.as_secs() > MADE_SLACK_SECONDS),
            _ => made != time,
        };
        Record {
            time: time.to_owned(),
            made: waited.then_some(made),
            ..self.clone()
        }
    }

    /// The same record moved to another place in the chain: when another writer appended
    /// first, the record is rebuilt on the new tip before it is signed again.
    pub fn rebased(&self, position: ChainPosition) -> Record {
        Record {
            seq: position.seq,
            prev: position.prev,
            ..self.clone()
        }
    }
}

/// A scan record of `path` in the log every unit test uses, made at the genesis position.
#[cfg(test)]
pub(crate) fn sample_record(path: &str) -> Record {
    let report = crate::drift::ScanReport::new(
        crate::drift::Stack {
            dir: ".".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        "2026-11-24T00:00:00Z".into(),
    );
    Record::of_scan(
        &report,
        StackRef {
            path: path.into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        RunContext::Local(crate::context::Local::default()),
        LogId {
            repository: "example.com/acme/infra".into(),
            branch: "driftlog/audit".into(),
        },
        ChainPosition::genesis(),
        "SHA256:test".into(),
        "2026-11-24T00:00:00Z".into(),
    )
}
