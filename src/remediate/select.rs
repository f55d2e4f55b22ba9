//! Which recorded drift each rule reverts: pure, from a scan record's resources and the
//! rules. A resource goes to the first active rule that covers any of its counted drift,
//! reverted when that rule's action is `revert` (an `adopt` rule's is `driftlog adopt`'s);
//! its drift the rule does not cover stays recorded as drift that must not be reverted, so
//! the guard refuses a plan that would revert it too. Drift no rule covers is left, and
//! reported.

use crate::config::remediate::Action as RuleAction;
use crate::config::RemediateRule;
use crate::drift::{Action, DriftedResource};

use super::guard::Revert;

/// What one rule selects.
#[derive(Debug, Clone)]
pub struct RuleSelection<'r> {
    pub rule: &'r RemediateRule,
    pub reverts: Vec<Revert>,
}

impl RuleSelection<'_> {
    /// More resources than the rule's `max_resources` allows: none of them is reverted.
    pub fn over_limit(&self) -> bool {
        self.reverts.len() > self.rule.max_resources as usize
    }
}

/// The drift of one stack's record, shared out among the rules.
#[derive(Debug, Clone, Default)]
pub struct Selection<'r> {
    /// In the rules' order; only rules that selected something.
    pub rules: Vec<RuleSelection<'r>>,
    /// Resources with counted drift that no active revert rule covers.
    pub unmatched: Vec<String>,
}

impl Selection<'_> {
    pub fn resources(&self) -> usize {
        self.rules.iter().map(|r| r.reverts.len()).sum()
    }
}

/// Shares the counted drift of `resources` (a scan record of the stack at `stack`) out
/// among the active revert `rules` of `today`.
pub fn select<'r>(
    rules: &'r [RemediateRule],
    today: &str,
    stack: &str,
    resources: &[DriftedResource],
) -> Selection<'r> {
    let mut selection = Selection::default();
    for resource in resources.iter().filter(|r| r.counts()) {
        let address = resource.address.as_str();
        // A resource an adopt rule takes is drift this remediation leaves, like unmatched.
        let Some(rule) = covering_rule(rules, today, stack, resource)
            .filter(|rule| rule.action == RuleAction::Revert)
        else {
            selection.unmatched.push(resource.address.clone());
            continue;
        };
        let Some(revert) = Revert::from_drift(resource, rule.allow_recreate) else {
            continue;
        };
        let revert = revert.only(|path| rule.applies(today, stack, address, Some(path)));
        match selection
            .rules
            .iter_mut()
            .find(|s| std::ptr::eq(s.rule, rule))
        {
            Some(selected) => selected.reverts.push(revert),
            None => selection.rules.push(RuleSelection {
                rule,
                reverts: vec![revert],
            }),
        }
    }
    selection
}

/// The first active rule covering any of `resource`'s counted drift (a deleted resource: a
/// rule for the whole resource), whatever its action: one rule decides what happens to a
/// resource, so no drift is both reverted and adopted.
pub fn covering_rule<'r>(
    rules: &'r [RemediateRule],
    today: &str,
    stack: &str,
    resource: &DriftedResource,
) -> Option<&'r RemediateRule> {
    let address = resource.address.as_str();
    let whole = resource.action == Action::Delete || resource.changes.is_empty();
    rules.iter().find(|rule| match whole {
        true => rule.applies(today, stack, address, None),
        false => resource
            .counted_changes()
            .any(|c| rule.applies(today, stack, address, Some(&c.path))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::AttrValue;
    use crate::remediate::guard::RecordedDrift;
    use serde_json::json;

    fn rule(
        resource: &str,
        attribute: Option<&str>,
        action: RuleAction,
        line: usize,
    ) -> RemediateRule {
        RemediateRule {
            resource: resource.into(),
            attribute: attribute.map(str::to_owned),
            stack: None,
            action,
            reason: "only through code".into(),
            allow_recreate: false,
            max_resources: 2,
            expires: None,
            line,
        }
    }

    fn changed(address: &str, paths: &[&str]) -> DriftedResource {
        DriftedResource::test(
            address,
            Action::Update,
            paths
                .iter()
                .map(|p| (*p, AttrValue::Known(json!(1)), AttrValue::Known(json!(2)))),
        )
    }

    #[test]
    fn the_first_rule_covering_a_resource_takes_it_and_only_the_paths_it_covers() {
        let rules = [
            rule("aws_s3_bucket.*", None, RuleAction::Adopt, 1),
            rule(
                "aws_security_group.*",
                Some("ingress*"),
                RuleAction::Revert,
                5,
            ),
            rule("aws_*", None, RuleAction::Revert, 9),
        ];
        let resources = [
            changed("aws_security_group.web", &["ingress[0].port", "tags.env"]),
            changed("aws_s3_bucket.logs", &["acl"]),
            changed("google_thing.x", &["a"]),
        ];
        let selection = select(&rules, "2026-12-02", ".", &resources);
        assert_eq!(
            selection.unmatched,
            vec!["aws_s3_bucket.logs".to_owned(), "google_thing.x".to_owned()],
            "the bucket is the adopt rule's: the later revert rule does not take it"
        );
        let lines: Vec<usize> = selection.rules.iter().map(|s| s.rule.line).collect();
        assert_eq!(lines, vec![5], "the adopt rule reverts nothing");
        assert_eq!(
            selection.rules[0].reverts[0].drift,
            RecordedDrift::Changed {
                revert: ["ingress[0].port".to_owned()].into(),
                other: ["tags.env".to_owned()].into(),
            }
        );
    }

    #[test]
    fn expired_rules_and_ignored_drift_select_nothing() {
        let mut expired = rule("*", None, RuleAction::Revert, 1);
        expired.expires = Some("2026-01-31".into());
        let mut ignored = changed("aws_x.a", &["tags.env"]);
        ignored.changes[0].ignored = Some(crate::drift::Ignored {
            rule: ".driftlog.toml:3".into(),
            reason: "autoscaler".into(),
            expires: None,
        });
        let rules = [expired];
        let resources = [changed("aws_x.b", &["a"]), ignored];
        let selection = select(&rules, "2026-12-02", ".", &resources);
        assert!(selection.rules.is_empty());
        assert_eq!(selection.unmatched, vec!["aws_x.b".to_owned()]);
    }

    #[test]
    fn a_rule_over_its_limit_says_so_and_a_deleted_resource_needs_a_whole_resource_rule() {
        let rules = [
            rule("aws_x.*", Some("*"), RuleAction::Revert, 1),
            rule("aws_*", None, RuleAction::Revert, 2),
        ];
        let deleted = DriftedResource::test("aws_x.gone", Action::Delete, []);
        let resources = [
            changed("aws_x.a", &["p"]),
            changed("aws_x.b", &["p"]),
            changed("aws_x.c", &["p"]),
            deleted,
        ];
        let selection = select(&rules, "2026-12-02", ".", &resources);
        assert!(selection.rules[0].over_limit());
        assert_eq!(selection.rules[1].reverts[0].address, "aws_x.gone");
        assert!(!selection.rules[1].over_limit());
        assert_eq!(selection.resources(), 4);
    }
}
