//! Reporting on GitHub: the flags, turned into the library's publish settings
//! (`driftlog::run::publish`), and what publishing did, printed.

use driftlog::github::{Publication, Repo};
use driftlog::run::publish::{PublishSettings, Publisher};
use std::path::Path;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "GitHub")]
pub struct GithubArgs {
    /// Token for the GitHub API (default: DRIFTLOG_GITHUB_TOKEN, else GITHUB_TOKEN). In
    /// Actions pass `${{ github.token }}`; it needs pull-requests, issues and statuses (or
    /// checks) write permission. DRIFTLOG_GITHUB_TOKEN is taken out of driftlog's environment,
    /// so terraform's providers never see it.
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Repository to report to (default in Actions: GITHUB_REPOSITORY). Outside Actions,
    /// giving it turns reporting on.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<Repo>,
    /// Pull request to comment on (default in Actions: the event's pull request).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Commit for the status (default: the pull request's head, else GITHUB_SHA).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The GitHub API root (`https://HOST/api/v3` on GitHub Enterprise Server).
    #[arg(
        long,
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub github_api_url: String,
    /// Names this stack's comment and issue, so several stacks keep separate ones
    /// (default: the stack directory, plus the workspace when not `default`).
    #[arg(long, value_name = "ID")]
    pub report_id: Option<String>,
    /// Do not comment on the pull request.
    #[arg(long)]
    pub no_comment: bool,
    /// Do not set a commit status or check run.
    #[arg(long)]
    pub no_status: bool,
    /// Do not open, update or close the drift issue (runs without a pull request).
    #[arg(long)]
    pub no_issue: bool,
    /// Do not write the job summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Do not emit workflow annotations.
    #[arg(long)]
    pub no_annotations: bool,
    /// Make the status or check fail when there is drift (otherwise it is neutral). The exit
    /// code is 2 on drift either way.
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Label of drift issues (created when missing).
    #[arg(long, default_value = "drift", value_name = "NAME")]
    pub issue_label: String,
    /// The commit status context or check-run name.
    #[arg(long, default_value = "driftlog", value_name = "NAME")]
    pub status_name: String,
}

impl GithubArgs {
    /// The publish stage, settled before the scan runs so bad flags fail first.
    pub fn publisher(&self) -> anyhow::Result<Publisher> {
        let settings = PublishSettings {
            github_token: self.github_token.clone(),
            repo: self.repo.clone(),
            pull_request: self.pr,
            sha: self.sha.clone(),
            github_api_url: self.github_api_url.clone(),
            report_id: self.report_id.clone(),
            comment: !self.no_comment,
            status: !self.no_status,
            issue: !self.no_issue,
            summary: !self.no_summary,
            annotations: !self.no_annotations,
            fail_on_drift: self.fail_on_drift,
            issue_label: self.issue_label.clone(),
            status_name: self.status_name.clone(),
        };
        let env = std::env::vars().collect();
        Ok(Publisher::resolve(
            settings,
            env,
            driftlog::secrets::github_token(),
        )?)
    }
}

/// Publishes and prints what happened; the first failure is the error, the others printed.
pub fn publish(
    publisher: &Publisher,
    publication: Publication<'_>,
    report_json: Option<&Path>,
) -> anyhow::Result<()> {
    let (lines, first) = publisher.publish(publication, report_json).conclude();
    crate::print::eprint_lines(&lines);
    first.map_or(Ok(()), |err| Err(err.into()))
}
