//! `driftlog verify --since-witnessed`: where to read the checkpoints GitHub witnessed
//! (looked up by `driftlog::run::witnessed`).

use driftlog::github::Repo;
use driftlog::run::witnessed::WitnessSettings;

/// Where `--since-witnessed` looks.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Witnessed checkpoints (--since-witnessed)")]
pub struct WitnessArgs {
    /// The GitHub repository whose comments and issues are read (default: GITHUB_REPOSITORY,
    /// else the repository identity when it is on github.com). The token is
    /// DRIFTLOG_GITHUB_TOKEN, else GITHUB_TOKEN.
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: Option<Repo>,
    /// The pull request whose driftlog comments are read (default in Actions: the event's).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// The GitHub API root (`https://HOST/api/v3` on GitHub Enterprise Server).
    #[arg(
        long,
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub github_api_url: String,
    /// Label of the drift issues.
    #[arg(long, default_value = "drift", value_name = "NAME")]
    pub issue_label: String,
}

impl WitnessArgs {
    pub fn settings(&self) -> WitnessSettings {
        let (repo, api_url) = (self.github_repo.clone(), self.github_api_url.clone());
        WitnessSettings::from_process(repo, self.pr, api_url, self.issue_label.clone())
    }
}
