//! Where the audit log is, for the commands that read it (`log`, `verify`, `history`,
//! `explain`).

use clap::ValueEnum;
use driftlog::audit::store::DEFAULT_BRANCH;
use driftlog::run::explain::LogSettings;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LogLocation {
    /// The git repository holding the audit branch (or any directory inside it).
    #[arg(long, default_value = ".", value_name = "PATH")]
    pub repo: PathBuf,
    /// The audit branch.
    #[arg(long, default_value = DEFAULT_BRANCH, value_name = "NAME")]
    pub branch: String,
}

impl LogLocation {
    /// The log to read, and the stack to read of it (`None`: every stack).
    pub fn settings(&self, stack: Option<String>) -> LogSettings {
        LogSettings {
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            stack,
        }
    }
}

/// `--format` of the commands that read the log: for people, or for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}
