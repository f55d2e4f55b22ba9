//! Whose comments and issues are driftlog's: only those its own token wrote. Anyone can copy
//! driftlog's hidden marker into a comment or issue of their own; a marker alone never makes
//! one driftlog's to edit, close or continue.
//!
//! The token's account comes from `GET /user`. An installation token (Actions'
//! `GITHUB_TOKEN`) may not read it and gets 403 there; what such a token writes is authored
//! by `github-actions[bot]`, so that account is taken instead. (A GitHub App's own
//! installation token writes as `APP[bot]`, which `GET /user` cannot tell: its earlier
//! comments are not recognized, and a new one is posted rather than anyone's taken over.)

use serde::Deserialize;

use super::client::Client;
use super::GithubError;

/// The account Actions' `GITHUB_TOKEN` writes as.
const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";

/// The `user` of a comment or issue, as GitHub returns it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct User {
    #[serde(default)]
    pub login: String,
}

/// The account the token writes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Author {
    login: String,
}

impl Author {
    pub fn named(login: &str) -> Author {
        Author {
            login: login.to_owned(),
        }
    }

    /// Asks GitHub who the token is.
    pub fn of_token(client: &Client) -> Result<Author, GithubError> {
        match client.get::<User>("finding out which account the token writes as", "/user") {
            Ok(user) if !user.login.is_empty() => Ok(Author::named(&user.login)),
            Ok(_) => Err(GithubError::Decode {
                what: "finding out which account the token writes as".to_owned(),
                message: "GET /user named no login".to_owned(),
            }),
            // Installation tokens may not read /user.
            Err(GithubError::Forbidden { .. }) => Ok(Author::named(ACTIONS_BOT_LOGIN)),
            Err(err) => Err(err),
        }
    }

    /// Whether `user` is this account (logins are case-insensitive on GitHub).
    pub fn wrote(&self, user: Option<&User>) -> bool {
        user.is_some_and(|user| user.login.eq_ignore_ascii_case(&self.login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_login_counts() {
        let me = Author::named("octo-Cat");
        let user = |login: &str| User {
            login: login.to_owned(),
        };
        assert!(me.wrote(Some(&user("Octo-cat"))));
        assert!(!me.wrote(Some(&user("octo-cat2"))));
        assert!(!me.wrote(Some(&user(ACTIONS_BOT_LOGIN))));
        assert!(!me.wrote(None));
    }
}
