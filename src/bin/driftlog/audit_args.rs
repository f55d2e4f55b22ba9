//! The audit-log flags `scan` and `apply` share, and how a recorded run is announced.

use std::path::PathBuf;

use anyhow::Context;

use driftlog::audit::recorder::{AuditOptions, RecordError, Subject};
use driftlog::audit::sshsig::SigningKey;
use driftlog::audit::store::DEFAULT_BRANCH;
use driftlog::audit::sync::{Auth, Outcome, RemoteChoice};

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
        value_parser = parse_deadline
    )]
    pub audit_deadline: std::time::Duration,
}

fn parse_deadline(text: &str) -> Result<std::time::Duration, String> {
    driftlog::audit::sync::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration (`90s`, `5m`, or seconds)"))
}

impl AuditArgs {
    /// [`AuditArgs::options`] when a signing key is given, else `None` (for commands that
    /// record only when they can).
    pub fn options_if_key(&self) -> anyhow::Result<Option<AuditOptions>> {
        if self.signing_key.is_none() && crate::secrets::get().signing_key.is_none() {
            return Ok(None);
        }
        self.options(Subject::Scan)
    }

    /// The audit settings, with the signing key loaded; `None` when recording is off.
    pub fn options(&self, subject: Subject) -> anyhow::Result<Option<AuditOptions>> {
        if self.no_audit {
            return Ok(None);
        }
        let key_text = match (&self.signing_key, &crate::secrets::get().signing_key) {
            (Some(path), _) => driftlog::bounded::read_to_string(
                path,
                driftlog::bounded::MAX_KEY_FILE_BYTES,
                "MAX_KEY_FILE_BYTES",
            )
            .with_context(|| format!("reading the signing key {}", path.display()))?,
            (None, Some(text)) => text.clone(),
            (None, None) => anyhow::bail!(
                "no signing key for the audit log: pass --signing-key FILE or put the key in \
                 DRIFTLOG_SIGNING_KEY (`driftlog keygen` makes one), or {subject} without \
                 recording with --no-audit"
            ),
        };
        let key = SigningKey::from_openssh(&key_text).context(match &self.signing_key {
            Some(path) => format!("the signing key {} cannot be used", path.display()),
            None => "the signing key in DRIFTLOG_SIGNING_KEY cannot be used".to_owned(),
        })?;
        Ok(Some(AuditOptions {
            repo: self.audit_repo.clone(),
            branch: self.audit_branch.clone(),
            key,
            remote: self
                .audit_remote
                .clone()
                .map_or(RemoteChoice::Default, RemoteChoice::Named),
            auth: push_auth(),
            deadline: Some(self.audit_deadline),
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

/// Says where records landed (on standard error).
pub fn print_recorded(branch: &str, outcome: &Outcome) {
    driftlog::run::record::recorded_lines(branch, outcome)
        .iter()
        .for_each(|line| eprintln!("{line}"));
}

/// The warnings of a run whose record was not pushed (on standard error).
pub fn print_unpushed_warnings(err: &RecordError) {
    driftlog::run::record::unpushed_lines(err)
        .iter()
        .for_each(|line| eprintln!("{line}"));
}
