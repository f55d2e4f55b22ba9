//! The audit-log flags `scan`, `apply` and `report merge` share.

use driftlog::audit::recorder::{AuditOptions, Subject};
use driftlog::audit::store::DEFAULT_BRANCH;
use driftlog::run::record::AuditSettings;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Do not record this run in the audit log.
    #[arg(
        long,
        env = "DRIFTLOG_NO_AUDIT",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_audit: bool,
    /// The audit log's branch.
    #[arg(long, default_value = DEFAULT_BRANCH, value_name = "NAME")]
    pub audit_branch: String,
    /// The git repository that keeps the audit log (default: the one holding DIR).
    #[arg(long, value_name = "PATH")]
    pub audit_repo: Option<PathBuf>,
    /// The remote the audit branch is pushed to (default: `origin`, when there is one).
    #[arg(long, value_name = "NAME")]
    pub audit_remote: Option<String>,
    /// OpenSSH Ed25519 private key that signs audit records (`driftlog keygen` makes one).
    /// Without it, DRIFTLOG_SIGNING_KEY may hold the key text itself (for CI secrets; driftlog
    /// takes it out of its environment, so terraform and its providers never see it). One of
    /// them is required unless --no-audit.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// How long to keep trying to put the record on the audit branch while other jobs push
    /// theirs (`90s`, `5m`, or seconds). After it, the record waits on the remote in a
    /// pending ref of its own, which the next run that records folds into the branch; only a
    /// remote that cannot be reached leaves it in the local spool.
    #[arg(
        long,
        env = "DRIFTLOG_AUDIT_DEADLINE",
        value_name = "DURATION",
        default_value = "3m",
        value_parser = driftlog::audit::sync::parse_deadline
    )]
    pub audit_deadline: std::time::Duration,
}

impl AuditArgs {
    fn settings(&self) -> AuditSettings {
        AuditSettings {
            no_audit: self.no_audit,
            branch: self.audit_branch.clone(),
            repo: self.audit_repo.clone(),
            remote: self.audit_remote.clone(),
            key_file: self.signing_key.clone(),
            deadline: Some(self.audit_deadline),
        }
    }

    /// [`AuditArgs::options`] when a signing key is given, else `None` (for commands that
    /// record only when they can).
    pub fn options_if_key(&self) -> anyhow::Result<Option<AuditOptions>> {
        match self.settings().has_key() {
            true => self.options(Subject::Scan),
            false => Ok(None),
        }
    }

    /// The audit settings, with the signing key loaded; `None` when recording is off.
    pub fn options(&self, subject: Subject) -> anyhow::Result<Option<AuditOptions>> {
        Ok(self.settings().resolve(subject)?)
    }
}
