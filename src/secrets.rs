//! The environment variables that hand driftlog its own secrets: the audit log's signing key
//! and the token it reports to GitHub with.
//!
//! The binary takes them out of its environment before anything else runs, so no process
//! driftlog starts (terraform, every provider plugin, `external` programs, `local-exec`,
//! git's credential helpers) can read them; terraform's commands also drop them, in case the
//! library is driven some other way. A variable the workflow set for its own providers, such
//! as a `GITHUB_TOKEN` a GitHub provider reads, is not driftlog's to take and stays.

/// Holds the signing key's OpenSSH text (`DRIFTLOG_SIGNING_KEY`; the action's input arrives
/// as `INPUT_SIGNING_KEY`).
pub const SIGNING_KEY_VARIABLES: [&str; 2] = ["DRIFTLOG_SIGNING_KEY", "INPUT_SIGNING_KEY"];

/// Holds driftlog's GitHub token (the action's input arrives as `INPUT_GITHUB_TOKEN`).
pub const GITHUB_TOKEN_VARIABLES: [&str; 2] = ["DRIFTLOG_GITHUB_TOKEN", "INPUT_GITHUB_TOKEN"];

/// Every variable no child process may inherit.
pub fn variables() -> impl Iterator<Item = &'static str> {
    SIGNING_KEY_VARIABLES
        .into_iter()
        .chain(GITHUB_TOKEN_VARIABLES)
}
