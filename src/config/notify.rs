//! `[[notify]]`: where driftlog sends a message when a stack's drift changes. The file names
//! the environment variables holding each receiver's URL and signing secret, never the values:
//! a configuration is committed, and a webhook URL is a credential.

use serde::Deserialize;
use toml::Spanned;

use super::{glob, ConfigError, Document};
use crate::notify::{Kind, Transition};

/// One `[[notify]]` entry of `.driftlog.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyRule {
    pub kind: Kind,
    /// The variable holding the receiver's URL.
    pub url_env: String,
    /// The variable holding the HMAC-SHA256 key that signs each body, if any.
    pub secret_env: Option<String>,
    /// The transitions it is told of (default: all).
    pub on: Vec<Transition>,
    /// Path glob on the stack (its directory, or a CloudFormation stack's key); `None`: all.
    pub stacks: Option<String>,
    /// 1-based line of the entry in the configuration file.
    pub line: usize,
}

impl NotifyRule {
    /// The variables it names: the URL's, then the secret's.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url_env.as_str()).chain(self.secret_env.as_deref())
    }

    /// Whether a `transition` of the stack at `stack_path` is sent to this receiver.
    pub fn wants(&self, transition: Transition, stack_path: &str) -> bool {
        self.on.contains(&transition)
            && self
                .stacks
                .as_deref()
                .is_none_or(|pattern| glob::path_matches(pattern, stack_path))
    }
}

/// The keys `[[notify]]` allows, in the order error messages list them.
pub(super) const NOTIFY_KEYS: &[&str] = &["kind", "url_env", "secret_env", "on", "stacks"];

/// Most `[[notify]]` entries: each is a request per transition, and a run must stay short.
pub const MAX_NOTIFY_TARGETS: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    kind: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    on: Option<Spanned<Vec<Spanned<String>>>>,
    stacks: Option<Spanned<String>>,
}

impl Document<'_> {
    /// The receiver one `[[notify]]` entry names.
    pub(super) fn notify_entry(
        &self,
        entry: &Spanned<RawNotify>,
    ) -> Result<NotifyRule, ConfigError> {
        let span = entry.span();
        let entry = entry.get_ref();
        let kinds = || {
            Kind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match &entry.kind {
            None => {
                return Err(self.error(
                    span,
                    "notify.kind",
                    format!("[[notify]] has no `kind`: say which receiver ({})", kinds()),
                ))
            }
            Some(kind) => Kind::parse(kind.get_ref()).ok_or_else(|| {
                self.error(
                    kind.span(),
                    "notify.kind",
                    format!(
                        "`kind` \"{}\" is not a receiver (expected {})",
                        kind.get_ref().escape_debug(),
                        kinds()
                    ),
                )
            })?,
        };
        let url_env = match &entry.url_env {
            None => {
                return Err(self.error(
                    span,
                    "notify.url_env",
                    "[[notify]] has no `url_env`: name the environment variable holding the \
                     receiver's URL (the URL itself is a secret and never goes in the file)"
                        .to_owned(),
                ))
            }
            Some(name) => self.variable_name("url_env", name)?,
        };
        let secret_env = entry
            .secret_env
            .as_ref()
            .map(|name| self.variable_name("secret_env", name))
            .transpose()?;
        let on = match &entry.on {
            None => Transition::ALL.to_vec(),
            Some(list) if list.get_ref().is_empty() => {
                return Err(self.error(
                    list.span(),
                    "notify.on",
                    "`on` is empty: list the transitions to send (drifted, changed, resolved, \
                     failed), or leave it out for all four"
                        .to_owned(),
                ))
            }
            Some(list) => {
                let mut on = Vec::new();
                for given in list.get_ref() {
                    let transition = Transition::parse(given.get_ref()).ok_or_else(|| {
                        self.error(
                            given.span(),
                            "notify.on",
                            format!(
                                "`on` entry \"{}\" is not a transition (expected drifted, \
                                 changed, resolved or failed)",
                                given.get_ref().escape_debug()
                            ),
                        )
                    })?;
                    if !on.contains(&transition) {
                        on.push(transition);
                    }
                }
                on
            }
        };
        let stacks = self.rule_glob(
            "notify",
            "stacks",
            &entry.stacks,
            " (leave it out for every stack)",
        )?;
        Ok(NotifyRule {
            kind,
            url_env,
            secret_env,
            on,
            stacks,
            line: self.position(span.start).0,
        })
    }

    /// An environment variable's name. A value that is not one is not echoed: it may be the
    /// URL or the secret itself, pasted where its variable's name belongs.
    fn variable_name(&self, key: &str, name: &Spanned<String>) -> Result<String, ConfigError> {
        let text = name.get_ref();
        let valid = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && text.len() <= 128
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            return Ok(text.clone());
        }
        Err(self.error(
            name.span(),
            &format!("notify.{key}"),
            format!(
                "`{key}` must name an environment variable (letters, digits and `_`, like \
                 SLACK_DRIFT_WEBHOOK); its value is not repeated here, in case it is the \
                 secret itself: set the value in the variable, never in the file"
            ),
        ))
    }
}
