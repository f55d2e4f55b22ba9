//! driftlog's own secrets, taken out of the process environment before anything else runs
//! (see `driftlog::secrets`): they live in this process's memory only.

use std::sync::OnceLock;

#[derive(Default)]
pub struct Secrets {
    /// The signing key's OpenSSH text, from `DRIFTLOG_SIGNING_KEY`.
    pub signing_key: Option<String>,
    /// driftlog's GitHub token, from `DRIFTLOG_GITHUB_TOKEN` or the action's input.
    pub github_token: Option<String>,
}

static SECRETS: OnceLock<Secrets> = OnceLock::new();

/// Reads and removes the secret variables. Call first in `main`, while no other thread
/// exists: changing the environment races with any thread reading it.
pub fn take_from_environment() {
    let take = |names: &[&str]| {
        let mut found = None;
        for name in names {
            let value = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            std::env::remove_var(name);
            found = found.or(value);
        }
        found
    };
    let secrets = Secrets {
        signing_key: take(&driftlog::secrets::SIGNING_KEY_VARIABLES),
        github_token: take(&driftlog::secrets::GITHUB_TOKEN_VARIABLES),
    };
    let _ = SECRETS.set(secrets);
}

pub fn get() -> &'static Secrets {
    SECRETS.get_or_init(Secrets::default)
}

/// The token driftlog talks to GitHub with: its own, else the workflow's `GITHUB_TOKEN`.
pub fn github_token() -> Option<String> {
    get()
        .github_token
        .clone()
        .or_else(|| std::env::var("GITHUB_TOKEN").ok())
        .filter(|token| !token.trim().is_empty())
}
