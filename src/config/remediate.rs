//! Remediation rules: which recorded drift the configuration allows driftlog to act on, and
//! how. Only the rules and their matching live here; planning, guarding and applying a
//! remediation is the caller's.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::ignore::{self, Scope};
use super::{ConfigError, Document};

/// `max_resources` when a rule does not set it.
pub const DEFAULT_MAX_RESOURCES: u32 = 10;

/// The largest `max_resources` a rule may set: the guard is there to stop a remediation that
/// would touch more than anyone expected, and one that allows thousands guards nothing (each
/// resource is also one `-target` on terraform's command line).
pub const MAX_REMEDIATE_RESOURCES: u32 = 1000;

/// What a rule does with the drift it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Set the real resource back to what the configuration says (a targeted apply).
    Revert,
    /// Accept the real value: the configuration is to follow it.
    Adopt,
}

impl Action {
    /// The name in `.driftlog.toml` and in records: `revert`, `adopt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revert => "revert",
            Action::Adopt => "adopt",
        }
    }

    fn parse(text: &str) -> Option<Action> {
        match text {
            "revert" => Some(Action::Revert),
            "adopt" => Some(Action::Adopt),
            _ => None,
        }
    }
}

/// One `[[remediate]]` entry of `.driftlog.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemediateRule {
    /// Address glob, as for ignore rules (required: a rule acting on every resource must
    /// say so with `*`).
    pub resource: String,
    /// Attribute path glob; `None`: any managed drift of the resource, a deletion included.
    pub attribute: Option<String>,
    /// Glob on the stack path; `None`: every stack.
    pub stack: Option<String>,
    pub action: Action,
    pub reason: String,
    /// Whether a resource deleted out of band may be created again.
    pub allow_recreate: bool,
    /// The most resources one run may remediate by this rule: 1 to [`MAX_REMEDIATE_RESOURCES`],
    /// [`DEFAULT_MAX_RESOURCES`] when not given.
    pub max_resources: u32,
    /// Last day (UTC) the rule applies, `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// 1-based line of the entry in the configuration file.
    pub line: usize,
}

impl RemediateRule {
    /// Whether the rule still applies on `today` (`YYYY-MM-DD`, UTC): through its `expires`
    /// day inclusive, or always without one.
    pub fn is_active(&self, today: &str) -> bool {
        ignore::is_active(self.expires.as_deref(), today)
    }

    /// Whether the rule covers a change, whatever its expiry: the same globs, matched the
    /// same way, as [`IgnoreRule::matches`](super::IgnoreRule::matches). `stack` is the
    /// stack's path in the repository, `address` the resource instance's, `path` the changed
    /// attribute's; `None` (or empty) for the resource as a whole, such as one deleted out of
    /// band, which a rule with an attribute glob never covers.
    pub fn matches(&self, stack: &str, address: &str, path: Option<&str>) -> bool {
        let scope = Scope::of(&self.resource, &self.attribute, &self.stack);
        scope.matches(stack, address, path)
    }

    /// [`is_active`](Self::is_active) on `today` and [`matches`](Self::matches).
    pub fn applies(&self, today: &str, stack: &str, address: &str, path: Option<&str>) -> bool {
        self.is_active(today) && self.matches(stack, address, path)
    }

    /// The rule as reports and records name it, `.driftlog.toml:12`: the configuration file
    /// (relative to the repository root) and the entry's line.
    pub fn name(&self, config: &super::Config) -> String {
        format!("{}:{}", config.file_label(), self.line)
    }
}

/// The keys `[[remediate]]` allows, in the order error messages list them.
pub(super) const REMEDIATE_KEYS: &[&str] = &[
    "resource",
    "attribute",
    "stack",
    "action",
    "reason",
    "allow_recreate",
    "max_resources",
    "expires",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemediate {
    resource: Option<Spanned<String>>,
    attribute: Option<Spanned<String>>,
    stack: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    allow_recreate: Option<bool>,
    max_resources: Option<Spanned<i64>>,
    expires: Option<Spanned<toml::Value>>,
}

impl Document<'_> {
    /// The rule one `[[remediate]]` entry makes.
    pub(super) fn remediate_entry(
        &self,
        entry: &Spanned<RawRemediate>,
    ) -> Result<RemediateRule, ConfigError> {
        const TABLE: &str = "remediate";
        let span = entry.span();
        let entry = entry.get_ref();
        let resource = self
            .rule_glob(
                TABLE,
                "resource",
                &entry.resource,
                " (`*` for every resource)",
            )?
            .ok_or_else(|| {
                self.missing(
                    span.clone(),
                    "resource",
                    "say which resources it may change (an address glob, `*` for all)",
                )
            })?;
        let attribute = self.rule_glob(
            TABLE,
            "attribute",
            &entry.attribute,
            " (leave it out for any managed drift of the resource)",
        )?;
        let stack = self.rule_glob(
            TABLE,
            "stack",
            &entry.stack,
            " (leave it out for every stack)",
        )?;
        let action = match &entry.action {
            None => {
                return Err(self.missing(
                    span.clone(),
                    "action",
                    "say what it does with the drift (`revert`)",
                ))
            }
            Some(action) => Action::parse(action.get_ref()).ok_or_else(|| {
                self.error(
                    action.span(),
                    "remediate.action",
                    format!(
                        "`action` \"{}\" is not an action (expected revert or adopt)",
                        action.get_ref()
                    ),
                )
            })?,
        };
        let reason = self.rule_reason(
            TABLE,
            span.clone(),
            &entry.reason,
            "every remediation records its rule's reason in the audit log, so say why",
        )?;
        let max_resources = match &entry.max_resources {
            None => DEFAULT_MAX_RESOURCES,
            Some(value) => u32::try_from(*value.get_ref())
                .ok()
                .filter(|max| (1..=MAX_REMEDIATE_RESOURCES).contains(max))
                .ok_or_else(|| {
                    self.error(
                        value.span(),
                        "remediate.max_resources",
                        format!(
                            "`max_resources` {} is not between 1 and {MAX_REMEDIATE_RESOURCES} \
                             (MAX_REMEDIATE_RESOURCES)",
                            value.get_ref()
                        ),
                    )
                })?,
        };
        Ok(RemediateRule {
            resource,
            attribute,
            stack,
            action,
            reason,
            allow_recreate: entry.allow_recreate.unwrap_or(false),
            max_resources,
            expires: self.rule_expires(TABLE, &entry.expires)?,
            line: self.position(span.start).0,
        })
    }

    /// A required key of `[[remediate]]` left out of the entry at `span`.
    fn missing(&self, span: Range<usize>, key: &str, what: &str) -> ConfigError {
        self.error(
            span,
            &format!("remediate.{key}"),
            format!("[[remediate]] has no `{key}`: {what}"),
        )
    }
}

#[cfg(test)]
mod tests;
