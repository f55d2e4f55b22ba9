//! The record stage: every scan of the run appended to the audit log, one push per log, and
//! each report told where its record is (its place on the branch, or the pending ref).

use std::path::Path;

use crate::audit::recorder::{self, AuditOptions, RecordError};
use crate::audit::store::Appended;
use crate::audit::sync::{Outcome, Placement};
use crate::drift::{AuditRef, PendingAuditRef, ScanReport};

/// Records `reports` (each with the directory it scanned), noting each one's place in it;
/// one outcome per log pushed to, or per stack whose record could not be located.
pub fn record(
    reports: &mut [(&mut ScanReport, &Path)],
    audit: &AuditOptions,
) -> Vec<Result<Outcome, RecordError>> {
    let scans: Vec<(&ScanReport, &Path)> = reports
        .iter()
        .map(|(report, dir)| (&**report, *dir))
        .collect();
    let groups = recorder::record_scans(&scans, audit);
    let mut recorded = Vec::with_capacity(groups.len());
    for (members, outcome) in groups {
        if let Ok(outcome) = &outcome {
            for (member, placed) in members.iter().zip(&outcome.placed) {
                note_placement(reports[*member].0, &audit.branch, placed);
            }
        }
        recorded.push(outcome);
    }
    recorded
}

/// A record's place on the branch, as reports carry it.
pub fn audit_ref(branch: &str, head: &Appended) -> AuditRef {
    AuditRef {
        branch: branch.to_owned(),
        seq: head.seq,
        record_sha256: head.record_sha256.clone(),
        commit: head.commit.clone(),
        checkpoint: head.checkpoint_line.clone(),
    }
}

/// Notes in the report where its record is: its place on the branch, or the pending ref.
pub fn note_placement(report: &mut ScanReport, branch: &str, placed: &Placement) {
    match placed {
        Placement::Branch(head) => report.audit = Some(audit_ref(branch, head)),
        Placement::Pending { remote_ref, entry } => {
            report.audit_pending = Some(PendingAuditRef {
                branch: branch.to_owned(),
                pending_ref: remote_ref.clone(),
                entry: entry.clone(),
            })
        }
    }
}
