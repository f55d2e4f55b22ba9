//! An adoption's pull request and job summary: the GitHub calls `driftlog adopt` makes,
//! through the publisher's settled target and token.

use crate::actions;
use crate::github::pull::{self, PullRequestDraft, PullRequestRef};
use crate::github::{GithubError, Target};

use super::{PublishFailure, Publisher};

/// The pull requests of one repository, as the token's account sees them.
pub struct AdoptionPulls<'a> {
    target: &'a Target,
    token: &'a str,
}

impl AdoptionPulls<'_> {
    pub fn default_branch(&self) -> Result<String, GithubError> {
        pull::default_branch(self.target, self.token)
    }

    pub fn open_or_update(&self, draft: &PullRequestDraft) -> Result<PullRequestRef, GithubError> {
        pull::open_or_update_pull(self.target, self.token, draft)
    }

    /// Closes the open pull request from `head` with `note`; `None` when there is none.
    pub fn close(&self, head: &str, note: &str) -> Result<Option<PullRequestRef>, GithubError> {
        pull::close_pull(self.target, self.token, head, note)
    }
}

impl Publisher {
    /// The pull requests adoptions open; `Err` says why the API is not there (no token, no
    /// repository).
    pub fn adoption_pulls(&self) -> Result<AdoptionPulls<'_>, String> {
        match &self.api {
            Some((target, token)) => Ok(AdoptionPulls { target, token }),
            None => Err(self.skipped.clone().unwrap_or_else(|| {
                "no repository to open it in: pass --repo OWNER/NAME and a token (--github-token \
                 or GITHUB_TOKEN), or run in GitHub Actions"
                    .to_owned()
            })),
        }
    }

    /// Appends an adoption's markdown to the job summary, in Actions and unless turned off.
    pub fn publish_adoption_summary(&self, markdown: &str) -> Option<PublishFailure> {
        match (
            &self.runner.step_summary,
            self.in_actions,
            self.settings.summary,
        ) {
            (Some(path), true, true) => actions::append_step_summary(path, markdown)
                .err()
                .map(PublishFailure::JobSummary),
            _ => None,
        }
    }
}
