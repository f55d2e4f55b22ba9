//! Ignore rules: which drift the configuration says to leave out of the verdict. Only the
//! matching lives here; applying rules to reports is the caller's.

use serde::Serialize;

use super::glob;

/// One `[[ignore]]` entry of `.driftlog.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoreRule {
    /// Stable across edits of other rules: the resource glob, then `:attribute` and
    /// `@stack` when given (`aws_autoscaling_group.web:desired_capacity@infra/*`); a rule
    /// with the same three as an earlier one gets `#2`, `#3`, ... appended.
    pub id: String,
    /// Address glob (`*`, `?`; brackets and quotes literal); `*` when not given.
    pub resource: String,
    /// Attribute path glob; `None`: the resource as a whole.
    pub attribute: Option<String>,
    /// Glob on the stack path (per component, `**` for any depth); `None`: every stack.
    pub stack: Option<String>,
    /// Last day (UTC) the rule applies, `YYYY-MM-DD`.
    pub expires: Option<String>,
    pub reason: String,
    /// 1-based line of the entry in the configuration file.
    pub line: usize,
}

impl IgnoreRule {
    /// Whether the rule still applies on `today` (`YYYY-MM-DD`, UTC): through its `expires`
    /// day inclusive, or always without one.
    pub fn is_active(&self, today: &str) -> bool {
        is_active(self.expires.as_deref(), today)
    }

    /// Whether the rule covers a change, whatever its expiry (see [`is_active`](Self::is_active)).
    ///
    /// `stack_path` is the stack's path relative to the repository root (`.` for the root);
    /// `address` the resource instance address as terraform writes it;
    /// `attribute_path` the changed attribute as reports render it (`tags.env`,
    /// `rule[0].port`), or `None` (or empty) for the resource as a whole, such as a deleted
    /// resource.
    ///
    /// The resource glob matches the address or an address containing it (a module call, or
    /// the resource without its instance key), like `-target`. A rule with an attribute glob
    /// matches changed attributes at a matching path or below one (`tags` covers `tags.env`;
    /// `tags.*` also covers `tags["a b"]`), never the resource as a whole; a rule without one
    /// matches every change of the resource.
    pub fn matches(&self, stack_path: &str, address: &str, attribute_path: Option<&str>) -> bool {
        let scope = Scope::of(&self.resource, &self.attribute, &self.stack);
        scope.matches(stack_path, address, attribute_path)
    }

    /// [`is_active`](Self::is_active) on `today` and [`matches`](Self::matches).
    pub fn applies(
        &self,
        today: &str,
        stack_path: &str,
        address: &str,
        attribute_path: Option<&str>,
    ) -> bool {
        self.is_active(today) && self.matches(stack_path, address, attribute_path)
    }
}

/// Whether a rule expiring after `expires` (`YYYY-MM-DD`, inclusive; `None`: never) still
/// applies on `today`.
pub(super) fn is_active(expires: Option<&str>, today: &str) -> bool {
    // Fixed-width dates order as strings.
    expires.is_none_or(|expires| today <= expires)
}

/// What a rule of `.driftlog.toml` covers: its resource, attribute and stack globs.
pub(super) struct Scope<'a> {
    pub(super) resource: &'a str,
    pub(super) attribute: Option<&'a str>,
    pub(super) stack: Option<&'a str>,
}

impl<'a> Scope<'a> {
    /// A rule's globs, as its fields hold them.
    pub(super) fn of(
        resource: &'a str,
        attribute: &'a Option<String>,
        stack: &'a Option<String>,
    ) -> Self {
        Scope {
            resource,
            attribute: attribute.as_deref(),
            stack: stack.as_deref(),
        }
    }

    /// Whether the globs cover a change, as [`IgnoreRule::matches`] describes.
    pub(super) fn matches(
        &self,
        stack_path: &str,
        address: &str,
        attribute_path: Option<&str>,
    ) -> bool {
        if let Some(stack) = self.stack {
            if !glob::path_matches(stack, stack_path) {
                return false;
            }
        }
        if !glob::address_matches(self.resource, address) {
            return false;
        }
        match (
            self.attribute,
            attribute_path.filter(|path| !path.is_empty()),
        ) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(pattern), Some(path)) => glob::attribute_matches(pattern, path),
        }
    }
}

/// The id of a rule before duplicates are numbered.
pub(super) fn base_id(resource: &str, attribute: Option<&str>, stack: Option<&str>) -> String {
    let mut id = resource.to_owned();
    if let Some(attribute) = attribute {
        id.push(':');
        id.push_str(attribute);
    }
    if let Some(stack) = stack {
        id.push('@');
        id.push_str(stack);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(resource: &str, attribute: Option<&str>, stack: Option<&str>) -> IgnoreRule {
        IgnoreRule {
            id: base_id(resource, attribute, stack),
            resource: resource.to_owned(),
            attribute: attribute.map(str::to_owned),
            stack: stack.map(str::to_owned),
            expires: None,
            reason: "test".to_owned(),
            line: 1,
        }
    }

    #[test]
    fn expiry_is_inclusive() {
        let mut rule = rule("*", None, None);
        assert!(rule.is_active("2999-01-01"));
        rule.expires = Some("2026-12-31".to_owned());
        assert!(rule.is_active("2026-01-01"));
        assert!(rule.is_active("2026-12-31"));
        assert!(!rule.is_active("2027-01-01"));
        assert!(rule.applies("2026-12-31", "a", "x.y", None));
        assert!(!rule.applies("2027-01-01", "a", "x.y", None));
    }

    #[test]
    fn attribute_rules_match_attributes_only() {
        let rule = rule("aws_autoscaling_group.web", Some("desired_capacity"), None);
        assert!(rule.matches(".", "aws_autoscaling_group.web", Some("desired_capacity")));
        assert!(rule.matches(
            "x",
            "aws_autoscaling_group.web[0]",
            Some("desired_capacity")
        ));
        assert!(!rule.matches("x", "aws_autoscaling_group.web", Some("max_size")));
        assert!(!rule.matches("x", "aws_autoscaling_group.web", None));
        assert!(!rule.matches("x", "aws_autoscaling_group.web", Some("")));
        assert!(!rule.matches("x", "aws_autoscaling_group.api", Some("desired_capacity")));
    }

    #[test]
    fn resource_rules_match_everything_of_the_resource() {
        let rule = rule("aws_s3_bucket.*", None, None);
        assert!(rule.matches("x", "aws_s3_bucket.logs", None));
        assert!(rule.matches("x", "aws_s3_bucket.logs", Some("tags.env")));
        assert!(!rule.matches("x", "aws_s3_bucket_policy.logs", None));
    }

    #[test]
    fn stack_globs_limit_rules() {
        let rule = rule("*", Some("tags.*"), Some("infra/*"));
        assert!(rule.matches("infra/prod", "a.b", Some("tags.LastScanned")));
        assert!(rule.matches("./infra/prod", "a.b", Some(r#"tags["Last Scanned"]"#)));
        assert!(!rule.matches("infra/prod/eu", "a.b", Some("tags.x")));
        assert!(!rule.matches("apps/web", "a.b", Some("tags.x")));
        assert!(!rule.matches(".", "a.b", Some("tags.x")));
        assert!(!rule.matches("infra/prod", "a.b", Some("name")));
    }

    #[test]
    fn ids_name_what_they_cover() {
        assert_eq!(base_id("a.b", None, None), "a.b");
        assert_eq!(base_id("a.b", Some("tags.x"), None), "a.b:tags.x");
        assert_eq!(base_id("*", Some("t"), Some("infra/*")), "*:t@infra/*");
        assert_eq!(base_id("*", None, Some("s")), "*@s");
    }
}
