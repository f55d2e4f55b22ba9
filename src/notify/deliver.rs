//! Sending a notification: one HTTPS POST, retried a few times. STUB: being written.

use super::{Kind, Notification};

/// A secret value (a webhook URL, an HMAC key): shown as `***` by `Debug`, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One configured receiver, its URL and secret read from the variables that name them.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    /// How messages name it: `slack (SLACK_DRIFT_WEBHOOK)`, the variable, never the URL.
    pub label: String,
    pub url: Secret,
    /// The HMAC-SHA256 key signing the body (`X-Driftlog-Signature`).
    pub secret: Option<Secret>,
}

/// What a delivery took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub attempts: u32,
    pub status: u16,
}

/// Why a target cannot be used or a message did not arrive; never holds the URL or secret.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{variable} is not set or empty: it must hold the {kind} URL")]
    MissingUrl {
        kind: &'static str,
        variable: String,
    },
    #[error("{label}: not sent")]
    NotSent { label: String },
}

impl Target {
    /// The target of `kind` whose URL is in `url_env` and HMAC secret in `secret_env`, both
    /// read through `lookup`.
    pub fn from_env(
        kind: Kind,
        url_env: &str,
        secret_env: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, NotifyError> {
        let url = lookup(url_env)
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| NotifyError::MissingUrl {
                kind: kind.as_str(),
                variable: url_env.to_owned(),
            })?;
        Ok(Target {
            kind,
            label: format!("{} ({url_env})", kind.as_str()),
            url: Secret::new(url),
            secret: secret_env.and_then(&lookup).map(Secret::new),
        })
    }
}

/// Posts `notification` to `target`, as its kind's payload.
pub fn send(target: &Target, notification: &Notification) -> Result<Delivered, NotifyError> {
    let _ = (target.kind.payload(notification), &target.url);
    Err(NotifyError::NotSent {
        label: target.label.clone(),
    })
}
