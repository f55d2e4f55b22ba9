//! Which drift counts: what the configuration defines, asked of terraform itself.
//!
//! A refresh-only plan reports every change a refresh sees, and so cries wolf on a renamed
//! resource, on an attribute under `lifecycle { ignore_changes }` and on a value only the
//! provider sets. A normal plan says what apply would do: an attribute it would set back is
//! managed by the configuration; one it keeps is not. That is exact where reading the HCL
//! is not (an expression that evaluates to null, dynamic blocks, a provider that treats two
//! spellings of a policy as equal), so driftlog asks terraform.
//!
//! It is also the cheapest exact answer: the normal plan runs only when the refresh-only
//! plan found a real change, and is targeted at the drifted resources (and both ends of
//! every move, which terraform requires), so a clean stack costs nothing extra and a drifted
//! one refreshes only what drifted. `terraform providers schema -json` would cost another
//! provider start and still miss `ignore_changes` and expressions that evaluate to null;
//! the plan's `relevant_attributes` answers another question (which drift a planned change
//! depends on).
//!
//! The HCL is read only to name why apply keeps a value: `ignore_changes` (and where it is
//! declared), or not set by the configuration. It never decides whether drift counts.

use std::path::Path;

use crate::drift::analysis::{self, Management, Planned};
use crate::drift::path;
use crate::drift::{Action, AttributeChange, DriftClass, DriftedResource, Ignored};
use crate::terraform::config::Declarations;
use crate::terraform::show::{PlanDocument, PlannedChangeEntry};

/// `Ignored.rule` for drift terraform's plan says the configuration does not manage.
pub const PLAN_RULE: &str = "terraform plan";
/// `Ignored.reason` for drift under `lifecycle { ignore_changes }`.
pub const IGNORE_CHANGES_REASON: &str = "lifecycle.ignore_changes in the configuration";

/// Classifies drifted resources from a normal plan of them.
pub struct Classifier<'a> {
    pub plan: &'a PlanDocument,
    pub declarations: &'a Declarations,
    /// Declarations are named relative to it (`main.tf:12`).
    pub stack_dir: &'a Path,
    /// A team's choice (`.driftlog.toml`): count drift the configuration does not set.
    pub count_unmanaged: bool,
}

impl Classifier<'_> {
    /// Sets each change's class and marks what does not count.
    pub fn classify(&self, resource: &mut DriftedResource) {
        let planned = self
            .plan
            .planned
            .get(&resource.address)
            .or_else(|| self.plan.deferred.get(&resource.address));
        let Some(planned) = planned else {
            // Terraform plans nothing for it: no resource block defines it any more.
            return self.set_aside(resource, "no longer in the configuration");
        };
        // Terraform puts a resource's identity in its planned change, not its drift entry.
        for identity in [
            &planned.change.before_identity,
            &planned.change.after_identity,
        ] {
            if !identity.is_null() {
                analysis::add_identity(identity, &mut resource.identifiers);
                break;
            }
        }
        let actions: Vec<&str> = planned.change.actions.iter().map(String::as_str).collect();
        match actions.as_slice() {
            ["forget"] => {
                return self.set_aside(
                    resource,
                    "a removed block takes it out of terraform's management",
                )
            }
            ["delete"] => {
                return self.set_aside(
                    resource,
                    "no longer in the configuration (the next apply destroys it)",
                )
            }
            _ => {}
        }
        if resource.action == Action::Delete {
            if actions.contains(&"create") {
                resource.class = DriftClass::Managed;
            } else {
                self.set_aside(resource, "the configuration would not create it again");
            }
            return;
        }
        let configured = self.plan.configured(
            resource.module_address.as_deref(),
            &resource.resource_type,
            &resource.name,
        );
        let ignore_changes = self.declarations.ignore_changes(
            resource.module_address.as_deref(),
            &resource.resource_type,
            &resource.name,
        );
        for change in &mut resource.changes {
            let Some(segments) = path::parse(&change.path) else {
                continue; // Only paths driftlog rendered reach here; keep it counted.
            };
            let segments: Vec<path::Segment<'_>> =
                segments.iter().map(path::SegmentBuf::as_segment).collect();
            let sets_top = |segments: &[path::Segment<'_>]| match segments.first() {
                Some(path::Segment::Key(key)) => configured.is_some_and(|set| set.contains(*key)),
                _ => false,
            };
            match analysis::management(&planned_values(planned), &segments) {
                Management::SetBack => change.class = DriftClass::Managed,
                Management::Recomputed if sets_top(&segments) => change.class = DriftClass::Managed,
                Management::Recomputed => self.unmanaged(
                    change,
                    "not set by the configuration: the provider recomputes it on apply",
                ),
                Management::LeftAlone => match ignore_changes {
                    Some(ignore) if ignore.covers(&segments) => {
                        change.class = DriftClass::IgnoredByConfiguration;
                        change.ignored = Some(Ignored {
                            rule: self.relative(&ignore.at.file, ignore.at.line),
                            reason: IGNORE_CHANGES_REASON.to_owned(),
                            expires: None,
                        });
                    }
                    _ if sets_top(&segments) => self.unmanaged(
                        change,
                        "apply leaves it as it is: the provider takes the real value for the \
                         configuration's",
                    ),
                    _ => self.unmanaged(
                        change,
                        "not set by the configuration (computed by the provider): apply leaves \
                         it alone",
                    ),
                },
            }
        }
        resource.class = resource_class(&resource.changes);
    }

    fn unmanaged(&self, change: &mut AttributeChange, reason: &str) {
        change.class = DriftClass::Unmanaged;
        if !self.count_unmanaged {
            change.ignored = Some(plan_mark(reason));
        }
    }

    /// The whole resource is outside the configuration's management.
    fn set_aside(&self, resource: &mut DriftedResource, reason: &str) {
        resource.class = DriftClass::Unmanaged;
        for change in &mut resource.changes {
            change.class = DriftClass::Unmanaged;
        }
        if !self.count_unmanaged {
            resource.ignored = Some(plan_mark(reason));
        }
    }

    fn relative(&self, file: &Path, line: u32) -> String {
        let file = file.strip_prefix(self.stack_dir).unwrap_or(file);
        format!("{}:{line}", file.display())
    }
}

fn planned_values(entry: &PlannedChangeEntry) -> Planned<'_> {
    Planned {
        before: &entry.change.before,
        after: &entry.change.after,
        after_unknown: &entry.change.after_unknown,
    }
}

fn plan_mark(reason: &str) -> Ignored {
    Ignored {
        rule: PLAN_RULE.to_owned(),
        reason: reason.to_owned(),
        expires: None,
    }
}

/// Managed when any change is; ignored by the configuration when every change is; else
/// unmanaged.
fn resource_class(changes: &[AttributeChange]) -> DriftClass {
    if changes.is_empty() || changes.iter().any(|c| c.class == DriftClass::Managed) {
        DriftClass::Managed
    } else if changes
        .iter()
        .all(|c| c.class == DriftClass::IgnoredByConfiguration)
    {
        DriftClass::IgnoredByConfiguration
    } else {
        DriftClass::Unmanaged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::AttrValue;
    use crate::terraform::show::parse_plan;

    fn drifted(address: &str, action: Action, paths: &[&str]) -> DriftedResource {
        DriftedResource {
            address: address.into(),
            module_address: None,
            mode: "managed".into(),
            resource_type: "a".into(),
            name: address.trim_start_matches("a.").into(),
            index: None,
            provider: "p".into(),
            action,
            previous_address: None,
            class: DriftClass::Managed,
            changes: paths
                .iter()
                .map(|path| AttributeChange {
                    path: (*path).into(),
                    before: AttrValue::Known(serde_json::json!(1)),
                    after: AttrValue::Known(serde_json::json!(2)),
                    class: DriftClass::Managed,
                    ignored: None,
                })
                .collect(),
            identifiers: Default::default(),
            ignored: None,
        }
    }

    fn classify(plan: &str, resource: &mut DriftedResource, count_unmanaged: bool) {
        let plan = parse_plan(plan.as_bytes()).unwrap_or_default();
        let declarations = Declarations::default();
        Classifier {
            plan: &plan,
            declarations: &declarations,
            stack_dir: Path::new("."),
            count_unmanaged,
        }
        .classify(resource);
    }

    #[test]
    fn resources_the_configuration_no_longer_defines_are_set_aside_whole() {
        // Not planned at all (removed from the code and gone), planned for destruction.
        for plan in [
            r#"{"resource_changes": []}"#,
            r#"{"resource_changes": [{"address": "a.x", "change": {"actions": ["delete"],
                "before": {"v": 2}, "after": null}}]}"#,
        ] {
            for action in [Action::Update, Action::Delete] {
                let mut resource = drifted("a.x", action, &["v"]);
                classify(plan, &mut resource, false);
                assert_eq!(resource.class, DriftClass::Unmanaged, "{plan}");
                assert!(!resource.counts(), "{plan}");
                assert!(resource
                    .changes
                    .iter()
                    .all(|c| c.class == DriftClass::Unmanaged));
            }
        }
    }

    #[test]
    fn a_deleted_resource_counts_when_apply_creates_it_again() {
        let plan = r#"{"resource_changes": [{"address": "a.x", "change": {"actions": ["create"],
            "before": null, "after": {"v": 1}}}]}"#;
        let mut resource = drifted("a.x", Action::Delete, &["v"]);
        classify(plan, &mut resource, false);
        assert_eq!(resource.class, DriftClass::Managed);
        assert!(resource.counts());
    }

    #[test]
    fn counting_unmanaged_drift_keeps_its_class_but_counts_it() {
        let plan = r#"{"resource_changes": [{"address": "a.x", "change": {"actions": ["no-op"],
            "before": {"v": 2}, "after": {"v": 2}}}]}"#;
        let mut resource = drifted("a.x", Action::Update, &["v"]);
        classify(plan, &mut resource, true);
        assert_eq!(resource.changes[0].class, DriftClass::Unmanaged);
        assert!(resource.counts());
        let mut resource = drifted("a.x", Action::Update, &["v"]);
        classify(plan, &mut resource, false);
        assert!(!resource.counts());
    }

    #[test]
    fn a_recomputed_value_counts_only_where_the_configuration_sets_it() {
        let plan = r#"{"resource_changes": [{"address": "a.x", "type": "a", "name": "x",
            "change": {"actions": ["update"], "before": {"v": 2, "w": 2}, "after": {},
                       "after_unknown": {"v": true, "w": true}}}],
            "configuration": {"root_module": {"resources": [{"mode": "managed", "type": "a",
                "name": "x", "expressions": {"v": {"references": ["a.y.id"]}}}]}}}"#;
        let mut resource = drifted("a.x", Action::Update, &["v", "w"]);
        classify(plan, &mut resource, false);
        assert_eq!(resource.changes[0].class, DriftClass::Managed);
        assert_eq!(resource.changes[1].class, DriftClass::Unmanaged);
    }
}
