//! `driftlog verify` as a sequence: the repository opened, the trust root read
//! ([`crate::audit::trust`]), this repository's identity settled, the starting checkpoint
//! chosen (`--since`, or the newest one GitHub witnessed: [`super::witnessed`]), then the walk
//! ([`crate::audit::verify`]). What it finds is returned; what happens on the way is handed to
//! the caller as [`Line`]s, in order, as it happens: warnings of trust wider than meant (also
//! in [`Verified::warnings`]) and notes of what the verification does, and why.

use std::path::PathBuf;

use git2::Repository;

use super::pipeline::Line;
use super::witnessed::{self, Found, WitnessSettings};
use crate::audit::recorder::repository_identity;
use crate::audit::trust::{Since, TrustError, TrustRoot, TrustSource, Trusted};
use crate::audit::verify::{self, Report, VerifyError, VerifyOptions};
use crate::audit::OpenRepositoryError;
use crate::context::RunContext;

/// What the command line asked for.
pub struct VerifySettings {
    /// The repository holding the audit branch (or a directory inside it).
    pub repo: PathBuf,
    pub branch: String,
    pub trust: TrustSource,
    /// Signed checkpoints seen earlier, which the log must still contain.
    pub checkpoints: Vec<String>,
    pub start: Start,
    /// The identity the log's id must name, as given (blank: none); `None`: this
    /// repository's, from the Actions variables or the origin remote.
    pub repository: Option<String>,
    /// Whether to switch libgit2's object checks off for the walk, process-wide (see
    /// [`verify::fast_object_reads`]), so the caller chooses.
    pub fast_object_reads: bool,
}

/// Where the walk starts.
pub enum Start {
    /// At the first commit.
    Whole,
    /// From this checkpoint line (`--since`).
    Since(String),
    /// From the newest checkpoint GitHub witnessed, read as these settings say, else at the
    /// first commit.
    Witnessed(WitnessSettings),
}

/// Everything the verification found, and what it trusted to find it.
pub struct Verified {
    pub report: Report,
    pub trust_root: TrustRoot,
    /// The checkpoint the walk started from, and where it came from.
    pub since: Option<Since>,
    pub warnings: Vec<String>,
}

impl Verified {
    /// The report for standard output: JSON for tools, else text for people.
    pub fn render(&self, json: bool) -> String {
        match json {
            true => crate::report::verify::json(
                &self.report,
                &self.trust_root,
                self.since.as_ref(),
                &self.warnings,
            ),
            false => crate::report::verify::text(&self.report, &self.trust_root.describe()),
        }
    }
}

/// Why verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRunError {
    #[error(transparent)]
    Open(#[from] OpenRepositoryError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(
        "{error}, but the checkpoints you gave show it had records: it was deleted, or not \
         fetched (git fetch origin {branch}:{branch})"
    )]
    BranchGone { error: VerifyError, branch: String },
    #[error(
        "{error}: nothing to verify (to verify a remote's log, git fetch origin {branch}:{branch})"
    )]
    NoBranch { error: VerifyError, branch: String },
    #[error(transparent)]
    Verify(VerifyError),
}

/// The repository, its trust root and identity: what both entry points start from.
struct Opened {
    repo: Repository,
    trusted: Trusted,
    warnings: Vec<String>,
    repository: Option<String>,
}

/// Verifies the log as `settings` say.
pub fn verify(
    settings: &VerifySettings,
    notes: &mut dyn FnMut(Line<'_>),
) -> Result<Verified, VerifyRunError> {
    let opened = open(settings, notes)?;
    let since = match &settings.start {
        Start::Since(line) => Some(Since {
            line: line.trim().to_owned(),
            from: "--since".to_owned(),
        }),
        Start::Witnessed(witness) => match newest(settings, witness, &opened, notes) {
            Ok(Some(found)) => {
                notes(Line::Note(&format!(
                    "verifying from the checkpoint at size {} that GitHub witnessed ({})",
                    found.size, found.place
                )));
                Some(Since {
                    line: found.line,
                    from: found.place,
                })
            }
            Ok(None) => {
                notes(Line::Note("verifying the whole log"));
                None
            }
            Err(reason) => {
                notes(Line::Note(&format!("{reason}; verifying the whole log")));
                None
            }
        },
        Start::Whole => None,
    };
    let options = VerifyOptions {
        allowed: &opened.trusted.allowed,
        checkpoints: &settings.checkpoints,
        since: since.as_ref().map(|since| since.line.as_str()),
        repository: opened.repository.as_deref(),
        threads: 0,
    };
    if settings.fast_object_reads {
        verify::fast_object_reads();
    }
    let branch = settings.branch.clone();
    let report =
        verify::verify(&opened.repo, &settings.branch, &options).map_err(|error| match error {
            VerifyError::NoBranch { .. } if !settings.checkpoints.is_empty() => {
                VerifyRunError::BranchGone { error, branch }
            }
            VerifyError::NoBranch { .. } => VerifyRunError::NoBranch { error, branch },
            error => VerifyRunError::Verify(error),
        })?;
    Ok(Verified {
        report,
        trust_root: opened.trusted.root,
        since,
        warnings: opened.warnings,
    })
}

/// The checkpoint `--since-witnessed` would start from (read as `witness` says), without
/// verifying; a reason GitHub could not be asked is a note.
pub fn witnessed_start(
    settings: &VerifySettings,
    witness: &WitnessSettings,
    notes: &mut dyn FnMut(Line<'_>),
) -> Result<Option<Found>, VerifyRunError> {
    let opened = open(settings, notes)?;
    let found = newest(settings, witness, &opened, notes).unwrap_or_else(|reason| {
        notes(Line::Note(&reason.to_string()));
        None
    });
    if let Some(found) = &found {
        notes(Line::Note(&format!(
            "GitHub witnessed the checkpoint at size {} ({})",
            found.size, found.place
        )));
    }
    Ok(found)
}

fn open(
    settings: &VerifySettings,
    notes: &mut dyn FnMut(Line<'_>),
) -> Result<Opened, VerifyRunError> {
    let repo = crate::audit::discover_repository(&settings.repo)?;
    let trusted = Trusted::load(&repo, &settings.trust)?;
    let warnings = trusted.namespace_warnings();
    for warning in &warnings {
        notes(Line::Warning(warning));
    }
    let repository = match &settings.repository {
        Some(id) => Some(id.trim().to_owned()).filter(|id| !id.is_empty()),
        None => repository_identity(&repo, &RunContext::detect(repo.workdir())),
    };
    Ok(Opened {
        repo,
        trusted,
        warnings,
        repository,
    })
}

fn newest(
    settings: &VerifySettings,
    witness: &WitnessSettings,
    opened: &Opened,
    notes: &mut dyn FnMut(Line<'_>),
) -> Result<Option<Found>, witnessed::WitnessError> {
    witnessed::newest(
        witness,
        opened.repository.as_deref(),
        &settings.branch,
        &opened.trusted,
        notes,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::audit::sshsig::{allowed_signers_line, SigningKey};

    fn settings(dir: &std::path::Path, start: Start, checkpoints: Vec<String>) -> VerifySettings {
        VerifySettings {
            repo: dir.to_owned(),
            branch: "nope".into(),
            trust: TrustSource::File(dir.join("signers")),
            checkpoints,
            start,
            repository: Some(String::new()),
            fast_object_reads: false,
        }
    }

    fn no_token() -> WitnessSettings {
        WitnessSettings {
            token: None,
            github_repo: None,
            pull_request: None,
            api_url: String::new(),
            issue_label: "drift".into(),
            env: HashMap::new(),
        }
    }

    #[test]
    fn notes_come_in_order_before_a_missing_branch_which_says_what_to_fetch() {
        let dir = tempfile::tempdir().expect("temp dir");
        git2::Repository::init(dir.path()).expect("init");
        let key = SigningKey::generate().expect("key");
        let wide = allowed_signers_line("ci", &key).replacen(" namespaces=\"git,driftlog\"", "", 1);
        std::fs::write(dir.path().join("signers"), wide).expect("write");

        let mut lines = Vec::new();
        let mut notes = |line: Line<'_>| lines.push(format!("{line:?}"));
        let witnessed = settings(dir.path(), Start::Witnessed(no_token()), Vec::new());
        let err = verify(&witnessed, &mut notes).err().expect("no branch");
        assert_eq!(
            err.to_string(),
            "there is no branch nope in the repository: nothing to verify (to verify a remote's \
             log, git fetch origin nope:nope)"
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("Warning(") && lines[0].contains("has no namespaces="));
        assert_eq!(
            lines[1],
            format!(
                "{:?}",
                Line::Note(
                    "no GitHub token (DRIFTLOG_GITHUB_TOKEN or GITHUB_TOKEN) to read witnessed \
                     checkpoints; verifying the whole log"
                )
            )
        );

        let kept = settings(dir.path(), Start::Whole, vec!["x".into()]);
        let err = verify(&kept, &mut |_| {}).err().expect("no branch");
        assert_eq!(
            err.to_string(),
            "there is no branch nope in the repository, but the checkpoints you gave show it had \
             records: it was deleted, or not fetched (git fetch origin nope:nope)"
        );
    }
}
