//! Where the audit log is, for the commands that read it (`log`, `verify`, `history`,
//! `explain`).

use std::path::PathBuf;

use clap::ValueEnum;
use driftlog::audit::store::DEFAULT_BRANCH;

#[derive(Debug, clap::Args)]
pub struct LogLocation {
    /// The git repository holding the audit branch (or any directory inside it).
    #[arg(long, default_value = ".", value_name = "PATH")]
    pub repo: PathBuf,

    /// The audit branch.
    #[arg(long, default_value = DEFAULT_BRANCH, value_name = "NAME")]
    pub branch: String,
}

/// `--format` of the commands that read the log: for people, or for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}
