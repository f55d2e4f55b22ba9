//! The record stage: every scan of the run appended to the audit log, one push per log, and
//! each report told where its record is (its place on the branch, or the pending ref); and
//! what a person is told about where records landed ([`recorded_lines`], [`unpushed_lines`]).

use std::path::{Path, PathBuf};

use crate::audit::recorder::{self, AuditOptions, RecordError, Subject};
use crate::audit::sshsig::{KeyError, SigningKey};
use crate::audit::store::Appended;
use crate::audit::sync::{Auth, RemoteChoice};
use crate::audit::sync::{Outcome, Placement, SyncError};
use crate::drift::{AuditRef, PendingAuditRef, ScanReport};

/// The audit flags as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct AuditSettings {
    /// Record nothing.
    pub no_audit: bool,
    pub branch: String,
    /// The repository keeping the log (default: the one holding the stack).
    pub repo: Option<PathBuf>,
    /// The remote to push to (default: `origin`, when there is one).
    pub remote: Option<String>,
    /// The signing key's file; without it, the key text taken from `DRIFTLOG_SIGNING_KEY`.
    pub key_file: Option<PathBuf>,
    pub deadline: Option<std::time::Duration>,
}

/// Why the audit settings cannot record.
#[derive(Debug, thiserror::Error)]
pub enum AuditSetupError {
    #[error("reading the signing key {}", path.display())]
    ReadKey {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no signing key for the audit log: pass --signing-key FILE or put the key in \
         DRIFTLOG_SIGNING_KEY (`driftlog keygen` makes one), or {subject} without recording \
         with --no-audit"
    )]
    NoKey { subject: Subject },
    #[error("the signing key {} cannot be used", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: KeyError,
    },
    #[error("the signing key in DRIFTLOG_SIGNING_KEY cannot be used")]
    KeyText(#[source] KeyError),
}

impl AuditSettings {
    /// Whether a signing key is given (for commands that record only when they can).
    pub fn has_key(&self) -> bool {
        self.key_file.is_some() || crate::secrets::taken().signing_key.is_some()
    }

    /// The audit options, the signing key loaded; `None` when recording is off.
    pub fn resolve(&self, subject: Subject) -> Result<Option<AuditOptions>, AuditSetupError> {
        if self.no_audit {
            return Ok(None);
        }
        let key = match (&self.key_file, &crate::secrets::taken().signing_key) {
            (Some(path), _) => {
                let text = crate::bounded::read_to_string(
                    path,
                    crate::bounded::MAX_KEY_FILE_BYTES,
                    "MAX_KEY_FILE_BYTES",
                )
                .map_err(|source| AuditSetupError::ReadKey {
                    path: path.clone(),
                    source,
                })?;
                SigningKey::from_openssh(&text).map_err(|source| AuditSetupError::KeyFile {
                    path: path.clone(),
                    source,
                })?
            }
            (None, Some(text)) => {
                SigningKey::from_openssh(text).map_err(AuditSetupError::KeyText)?
            }
            (None, None) => return Err(AuditSetupError::NoKey { subject }),
        };
        Ok(Some(AuditOptions {
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            key,
            remote: self
                .remote
                .clone()
                .map_or(RemoteChoice::Default, RemoteChoice::Named),
            auth: push_auth(),
            deadline: self.deadline,
        }))
    }
}

/// The token offered when pushing the audit branch: driftlog's own, else the workflow's
/// `GITHUB_TOKEN`; only to `GITHUB_SERVER_URL` (default `https://github.com`).
fn push_auth() -> Auth {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    match crate::secrets::github_token() {
        Some(token) => Auth::github_token(token.trim(), &server),
        None => Auth::none(),
    }
}

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

/// What standard error says of a log's records: where they landed, or the warnings the
/// error does not carry.
pub fn result_lines(branch: &str, recorded: &Result<Outcome, RecordError>) -> Vec<String> {
    match recorded {
        Ok(outcome) => recorded_lines(branch, outcome),
        Err(err) => unpushed_lines(err),
    }
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
