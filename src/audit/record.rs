//! One audit record: a scan, who ran it and where, and what it found, chained to the
//! record before it.
//!
//! Records are stored as canonical JSON (RFC 8785), so the bytes, and with them the SHA-256
//! that the next record's `prev` and the commit message name, are fixed by the content. They
//! carry the same redacted drift model as the reports: no secret reaches the log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::drift::{DriftedResource, Evidence, Failure, OutputChange, ScanReport, Status};

/// Bump on any change a verifier or reader of old records must know about.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Scan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    pub schema_version: u32,
    pub log: LogId,
    /// 0 for the first record, then +1 each.
    pub seq: u64,
    /// SHA-256 (hex) of the previous record's exact bytes; [`GENESIS_PREV`] for seq 0.
    pub prev: String,
    /// RFC 3339 UTC time the record was made.
    pub time: String,
    pub kind: RecordKind,
    pub context: RunContext,
    pub stack: StackRef,
    pub terraform_version: Option<String>,
    pub result: Status,
    /// Drifted resources with their changed attributes, secrets redacted.
    pub resources: Vec<DriftedResource>,
    pub output_changes: Vec<OutputChange>,
    pub failure: Option<Failure>,
    pub evidence: Evidence,
    /// `SHA256:...` fingerprint of the key that signs this record and its commit.
    pub signing_key: String,
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
        Record {
            schema_version: RECORD_SCHEMA_VERSION,
            log,
            seq: position.seq,
            prev: position.prev,
            time,
            kind: RecordKind::Scan,
            context,
            stack,
            terraform_version: report.terraform_version.clone(),
            result: report.status,
            resources: report.resources.clone(),
            output_changes: report.output_changes.clone(),
            failure: report.failure.clone(),
            evidence: report.evidence.clone(),
            signing_key,
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
