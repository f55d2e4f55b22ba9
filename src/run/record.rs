//! The record stage: every scan of the run appended to the audit log, one push per log, and
//! each report told where its record is (its place on the branch, or the pending ref); and
//! what a person is told about where records landed ([`recorded_lines`], [`unpushed_lines`]).

use std::path::Path;

use crate::audit::recorder::{self, AuditOptions, RecordError};
use crate::audit::store::Appended;
use crate::audit::sync::{Outcome, Placement, SyncError};
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

/// Where records landed, a line each for standard error: the outcome's warnings, each
/// record's seq and hash, whether it was pushed or waits on a pending ref, records pushed
/// along from the spool or folded from other runs, and the checkpoint line to keep.
pub fn recorded_lines(branch: &str, outcome: &Outcome) -> Vec<String> {
    let mut lines: Vec<String> = outcome
        .warnings
        .iter()
        .map(|warning| format!("driftlog: warning: {warning}"))
        .collect();
    let place = match &outcome.remote {
        Some(remote) => format!("pushed to {remote}"),
        None => "local only: the repository has no remote".to_owned(),
    };
    lines.extend(outcome.placed.iter().map(|placed| match placed {
        Placement::Branch(head) => format!(
            "driftlog: recorded as audit record {} (sha256:{}) on {branch} ({place}), Merkle \
             root {}",
            head.seq, head.record_sha256, head.merkle_root
        ),
        Placement::Pending { remote_ref, .. } => format!(
            "driftlog: recorded on the remote in the pending ref {remote_ref}: the audit branch \
             {branch} was busy until the deadline, and the next run that records folds it in"
        ),
    }));
    if outcome.from_spool() > 0 {
        lines.push(format!(
            "driftlog: also pushed {} earlier record(s) from the spool",
            outcome.from_spool()
        ));
    }
    if outcome.folded() > 0 {
        lines.push(format!(
            "driftlog: also folded {} record(s) other runs left on pending refs",
            outcome.folded()
        ));
    }
    lines.extend(outcome.checkpoint_line().map(str::to_owned));
    lines
}

/// The warnings of a run whose record was not pushed (spool entries refused or lost, say),
/// which its error message does not carry, a line each for standard error.
pub fn unpushed_lines(err: &RecordError) -> Vec<String> {
    match err {
        RecordError::Sync(SyncError::NotPushed { warnings, .. }) => warnings
            .iter()
            .map(|warning| format!("driftlog: warning: {warning}"))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sync::{Landed, PushFailure, Source};

    fn landed(seq: u64, source: Source) -> Landed {
        Landed {
            seq,
            record_sha256: format!("h{seq}"),
            commit: format!("c{seq}"),
            source,
        }
    }

    #[test]
    fn recorded_lines_say_where_each_record_is_and_end_with_the_checkpoint() {
        let head = Appended {
            seq: 7,
            record_sha256: "ab12".into(),
            commit: "c7".into(),
            merkle_root: "root7".into(),
            checkpoint_line: "checkpoint 7".into(),
        };
        let outcome = Outcome {
            remote: None,
            records: vec![
                landed(5, Source::Spool),
                landed(6, Source::Pending),
                landed(7, Source::ThisScan),
            ],
            placed: vec![
                Placement::Branch(head),
                Placement::Pending {
                    remote_ref: "refs/driftlog/pending/driftlog/run-2".into(),
                    entry: "e".into(),
                },
            ],
            pending_ref: None,
            pushes: 1,
            retries: 0,
            warnings: vec!["a spool entry was set aside".into()],
        };
        assert_eq!(
            recorded_lines("driftlog", &outcome),
            [
                "driftlog: warning: a spool entry was set aside",
                "driftlog: recorded as audit record 7 (sha256:ab12) on driftlog (local only: the \
                 repository has no remote), Merkle root root7",
                "driftlog: recorded on the remote in the pending ref \
                 refs/driftlog/pending/driftlog/run-2: the audit branch driftlog was busy until \
                 the deadline, and the next run that records folds it in",
                "driftlog: also pushed 1 earlier record(s) from the spool",
                "driftlog: also folded 1 record(s) other runs left on pending refs",
                "checkpoint 7",
            ]
        );
    }

    #[test]
    fn only_a_record_that_was_not_pushed_has_warnings_of_its_own() {
        let err = RecordError::Sync(SyncError::NotPushed {
            failure: PushFailure::Rejected {
                remote: "origin".into(),
                reason: "protected".into(),
            },
            spooled: 1,
            spool: "spool".into(),
            warnings: vec!["an entry was lost".into()],
        });
        assert_eq!(
            unpushed_lines(&err),
            ["driftlog: warning: an entry was lost"]
        );
        assert!(unpushed_lines(&RecordError::Bare("repo".into())).is_empty());
    }
}
