//! The environment variables that hand driftlog its own secrets: the audit log's signing key
//! and the token it reports to GitHub with.
//!
//! The binary takes them out of its environment before anything else runs, so no process
//! driftlog starts (terraform, every provider plugin, `external` programs, `local-exec`,
//! git's credential helpers) can read them; terraform's commands also drop them, in case the
//! library is driven some other way. A variable the workflow set for its own providers, such
//! as a `GITHUB_TOKEN` a GitHub provider reads, is not driftlog's to take and stays.
//!
//! The notification receivers' URLs and signing secrets are named in `.driftlog.toml`, so
//! they are only known once it is read: [`withhold`] takes those the same way, before the
//! scan starts terraform.
//!
//! [`scrub`] masks them (and URL credentials) in whatever driftlog says about a remote.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// driftlog's own secrets once taken out of the environment: in this process's memory only.
#[derive(Default)]
pub struct Taken {
    /// The signing key's OpenSSH text, from `DRIFTLOG_SIGNING_KEY`.
    pub signing_key: Option<String>,
    /// driftlog's GitHub token, from `DRIFTLOG_GITHUB_TOKEN` or the action's input.
    pub github_token: Option<String>,
}

static TAKEN: OnceLock<Taken> = OnceLock::new();

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
    let taken = Taken {
        signing_key: take(&SIGNING_KEY_VARIABLES),
        github_token: take(&GITHUB_TOKEN_VARIABLES),
    };
    let _ = TAKEN.set(taken);
}

/// The secrets [`take_from_environment`] took (none if it never ran).
pub fn taken() -> &'static Taken {
    TAKEN.get_or_init(Taken::default)
}

/// The token driftlog talks to GitHub with: its own, else the workflow's `GITHUB_TOKEN`.
pub fn github_token() -> Option<String> {
    taken()
        .github_token
        .clone()
        .or_else(|| std::env::var("GITHUB_TOKEN").ok())
        .filter(|token| !token.trim().is_empty())
}

/// Holds the signing key's OpenSSH text (`DRIFTLOG_SIGNING_KEY`; the action's input arrives
/// as `INPUT_SIGNING_KEY`).
pub const SIGNING_KEY_VARIABLES: [&str; 2] = ["DRIFTLOG_SIGNING_KEY", "INPUT_SIGNING_KEY"];

/// Holds driftlog's GitHub token (the action's input arrives as `INPUT_GITHUB_TOKEN`).
pub const GITHUB_TOKEN_VARIABLES: [&str; 2] = ["DRIFTLOG_GITHUB_TOKEN", "INPUT_GITHUB_TOKEN"];

/// Every variable no child process may inherit.
pub fn variables() -> Vec<String> {
    let withheld = WITHHELD.lock().unwrap_or_else(|p| p.into_inner());
    SIGNING_KEY_VARIABLES
        .into_iter()
        .chain(GITHUB_TOKEN_VARIABLES)
        .map(str::to_owned)
        .chain(withheld.keys().cloned())
        .collect()
}

/// The variables [`withhold`] took, with their values (`None`: unset or empty).
static WITHHELD: Mutex<BTreeMap<String, Option<String>>> = Mutex::new(BTreeMap::new());

/// The values of the variables `names`, taken out of the environment so no child process
/// (terraform, its providers, git's credential helpers) inherits them; every later
/// [`variables`] names them too. Asking again for a name already taken gives the value taken
/// then. Call before the scan starts threads of its own: changing the environment races with
/// any thread reading it.
pub fn withhold(names: &[&str]) -> Vec<Option<String>> {
    let mut withheld = WITHHELD.lock().unwrap_or_else(|p| p.into_inner());
    names
        .iter()
        .map(|name| {
            withheld
                .entry((*name).to_owned())
                .or_insert_with(|| {
                    let value = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
                    std::env::remove_var(name);
                    value
                })
                .clone()
        })
        .collect()
}

/// Every secret value [`withhold`] took, for [`scrub`].
pub fn withheld_values() -> Vec<String> {
    let withheld = WITHHELD.lock().unwrap_or_else(|p| p.into_inner());
    withheld.values().flatten().cloned().collect()
}

/// Secrets shorter than this are not masked: replacing every `ab` would garble messages
/// without hiding anything a real token is made of.
pub const MIN_SCRUBBED_SECRET_CHARS: usize = 4;

/// `text` with the credentials of every URL in it removed and every one of `secrets` masked
/// as `***`. The one scrubber for everything driftlog says about a remote: the audit log's
/// pushes and every GitHub message (servers may echo a request's `Authorization` header).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((scheme, after)) = rest.split_once("://") {
        out.push_str(scheme);
        out.push_str("://");
        let end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        let (authority, tail) = after.split_at(end);
        out.push_str(
            authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host),
        );
        rest = tail;
    }
    out.push_str(rest);
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|secret| secret.chars().count() >= MIN_SCRUBBED_SECRET_CHARS)
        .collect();
    // A secret containing another is masked first, so no part of it survives.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets
        .into_iter()
        .fold(out, |text, secret| text.replace(secret.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_and_secrets_are_removed() {
        let secrets = vec!["ghs_s3cr3t123".to_owned()];
        assert_eq!(
            scrub(
                "failed https://x-access-token:ghs_s3cr3t123@github.com/acme/infra: \
                 Bearer ghs_s3cr3t123",
                &secrets
            ),
            "failed https://github.com/acme/infra: Bearer ***"
        );
    }

    #[test]
    fn longer_secrets_are_masked_before_the_ones_inside_them() {
        let secrets = vec!["s3cr3t".to_owned(), "xs3cr3tx-more".to_owned()];
        assert_eq!(scrub("a xs3cr3tx-more b s3cr3t", &secrets), "a *** b ***");
    }

    #[test]
    fn non_ascii_text_around_urls_is_kept_whole() {
        let secrets = vec!["tøken-s3cr3t".to_owned()];
        assert_eq!(
            scrub("é://ü:pw@hôst/p tøken-s3cr3t ✓", &secrets),
            "é://hôst/p *** ✓"
        );
    }

    #[test]
    fn short_values_are_not_secrets() {
        assert_eq!(scrub("a b c", &["a".to_owned()]), "a b c");
    }
}
