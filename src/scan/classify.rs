//! Which drift counts: what the configuration defines, asked of terraform itself.
//!
//! A refresh-only plan reports every change a refresh sees, and so cries wolf on a renamed
//! resource, on an attribute under `lifecycle { ignore_changes }` and on a value only the
//! provider sets. Two of terraform's answers tell them apart; driftlog takes the cheaper one
//! where it is enough, and never lets a guess hide drift:
//!
//! 1. **The provider schema** (`terraform providers schema -json`, one provider start, read
//!    only when the refresh found a changed object) with the `configuration` section of the
//!    refresh-only plan's `show`, already read: an argument the configuration can set and
//!    writes (or leaves unset, which apply restores) is managed; an optional and computed
//!    string, number or bool it leaves out or sets to `null` is not. `ignore_changes` comes
//!    from the HCL, where terraform reads it from.
//! 2. **A normal plan** targeted at the drifted resources (and both ends of every move,
//!    which terraform requires) for everything else: computed-only attributes (the provider
//!    may derive them from managed ones and set them back, as AWS does `tags_all`), optional
//!    and computed arguments set by an expression (it may be null) or holding collections
//!    (dynamic blocks are missing from the configuration section), blocks the code does not
//!    write, paths the schema lacks, resources without a block. What apply would do is the
//!    answer: set back is managed, kept is not, recomputed counts where the code writes it.
//!
//! Where the schema decides, a provider that takes two spellings of one value for the same
//! (a reordered policy) is not asked: that drift counts, as the refresh reported it.
//! Measured on 2,000 resources (`bench/scan-overhead.sh`): the schema costs about 0.3 s, the
//! targeted plan about 5 s, nearly all of it terraform loading the whole state however few
//! resources are targeted. A clean stack runs neither. The plan's `relevant_attributes`
//! answers another question (which drift a planned change depends on).
//!
//! Beyond `ignore_changes`, the HCL decides nothing; where it is declared is named in the
//! record (`main.tf:12`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::drift::analysis::{self, Management, Planned, Sides};
use crate::drift::path::{self, Segment};
use crate::drift::{Action, AttributeChange, DriftClass, DriftedResource, Ignored};
use crate::terraform::config::Declarations;
use crate::terraform::schema::{Found, ProviderSchemas};
use crate::terraform::show::{Argument, PlanDocument, PlannedChangeEntry, RawChange};

const NOT_SET: &str = "not set by the configuration (computed by the provider): apply leaves \
                       it alone";
const GONE: &str = "no longer in the configuration";

/// Classifies drifted resources from terraform's documents.
pub struct Classifier<'a> {
    /// The `show -json` document: of a normal plan of the drifted resources, or, with
    /// `schemas`, of the refresh-only plan.
    pub plan: &'a PlanDocument,
    /// Set: decide from the provider schemas and `plan`'s configuration (step 1 above).
    /// Unset: `plan` is a normal plan; decide from what it would do (step 2).
    pub schemas: Option<&'a ProviderSchemas>,
    pub declarations: &'a Declarations,
    /// Declarations are named relative to it (`main.tf:12`).
    pub stack_dir: &'a Path,
    /// A team's choice (`.driftlog.toml`): count drift the configuration does not set.
    pub count_unmanaged: bool,
}

/// Whether a resource's drift could be classified without a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Yes,
    /// The schema cannot tell: classify again from a normal plan.
    NeedsPlan,
}

impl Classifier<'_> {
    /// Sets each change's class and marks what does not count.
    pub fn classify(&self, resource: &mut DriftedResource) -> Decided {
        if resource.resource_type.is_empty() {
            // Terraform named a drift it gave no values for: nothing to ask about, so it
            // counts as it is.
            return Decided::Yes;
        }
        match self.schemas {
            Some(schemas) => self.by_schema(schemas, resource),
            None => {
                self.by_plan(resource);
                Decided::Yes
            }
        }
    }

    fn by_schema(&self, schemas: &ProviderSchemas, resource: &mut DriftedResource) -> Decided {
        let configured = self.plan.configured(
            resource.module_address.as_deref(),
            &resource.resource_type,
            &resource.name,
        );
        // No resource block for it: gone from the code, or a block driftlog failed to match.
        // Only a plan tells which; setting drift aside on a guess could hide it.
        let Some(configured) = configured else {
            return Decided::NeedsPlan;
        };
        if let Some(identity) = self.plan.identity(&resource.address) {
            let drift = self.drift_change(&resource.address);
            let sides: Vec<Sides<'_>> = drift.into_iter().map(sides).collect();
            analysis::add_identity(identity, &sides, &mut resource.identifiers);
        }
        if resource.action == Action::Delete {
            resource.class = DriftClass::Managed;
            return Decided::Yes;
        }
        let Some(schema) = schemas.resource(&resource.provider, &resource.resource_type) else {
            return Decided::NeedsPlan;
        };
        let ignore_changes = self.ignore_changes(resource);
        self.decide_changes(
            resource,
            Some(configured),
            |segments, argument| match ignore_changes.covering(segments) {
                Some(rule) => Some(Verdict::IgnoredAt(rule)),
                None => schema_verdict(schema.find(segments), argument),
            },
        )
    }

    fn by_plan(&self, resource: &mut DriftedResource) {
        let planned = self
            .plan
            .planned
            .get(&resource.address)
            .or_else(|| self.plan.deferred.get(&resource.address));
        let Some(planned) = planned else {
            // Terraform plans nothing for it: no resource block defines it any more.
            return self.set_aside(resource, GONE);
        };
        // Terraform puts a resource's identity in its planned change, not its drift entry.
        let no_identity = serde_json::Value::Null;
        let identity = [
            &planned.change.before_identity,
            &planned.change.after_identity,
        ]
        .into_iter()
        .find(|identity| !identity.is_null())
        .unwrap_or(&no_identity);
        // The planned change may mask what the drift entry does not (the state had no marks
        // yet): identifiers naming such a value go, identity or not.
        let changes = [Some(&planned.change), self.drift_change(&resource.address)];
        let sides: Vec<Sides<'_>> = changes.into_iter().flatten().map(sides).collect();
        analysis::add_identity(identity, &sides, &mut resource.identifiers);
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
        let ignore_changes = self.ignore_changes(resource);
        self.decide_changes(resource, configured, |segments, argument| {
            let sets_top = argument.is_some();
            Some(
                match analysis::management(&planned_values(planned), segments) {
                    Management::SetBack => Verdict::Managed,
                    Management::Recomputed if sets_top => Verdict::Managed,
                    Management::Recomputed => Verdict::Unmanaged(
                        "not set by the configuration: the provider recomputes it on apply",
                    ),
                    Management::LeftAlone => match ignore_changes.covering(segments) {
                        Some(rule) => Verdict::IgnoredAt(rule),
                        None if sets_top => Verdict::Unmanaged(
                            "apply leaves it as it is: the provider takes the real value for the \
                         configuration's",
                        ),
                        None => Verdict::Unmanaged(NOT_SET),
                    },
                },
            )
        });
    }

    /// Decides every change with `decide`, given its path and how the code writes the
    /// top-level argument it is in, then marks them all; `NeedsPlan` as soon as one cannot be
    /// decided, leaving the resource as it was.
    fn decide_changes(
        &self,
        resource: &mut DriftedResource,
        configured: Option<&BTreeMap<String, Argument>>,
        decide: impl Fn(&[Segment<'_>], Option<Argument>) -> Option<Verdict>,
    ) -> Decided {
        let mut verdicts = Vec::with_capacity(resource.changes.len());
        for change in &resource.changes {
            // Only paths driftlog rendered reach here; one it cannot read back counts.
            let Some(owned) = path::parse(&change.path) else {
                verdicts.push(Verdict::Managed);
                continue;
            };
            let segments: Vec<Segment<'_>> =
                owned.iter().map(path::SegmentBuf::as_segment).collect();
            let argument = match (segments.first(), configured) {
                (Some(Segment::Key(key)), Some(configured)) => configured.get(*key).copied(),
                _ => None,
            };
            match decide(&segments, argument) {
                Some(verdict) => verdicts.push(verdict),
                None => return Decided::NeedsPlan,
            }
        }
        for (change, verdict) in resource.changes.iter_mut().zip(verdicts) {
            self.apply(change, verdict);
        }
        resource.class = resource_class(&resource.changes);
        Decided::Yes
    }

    fn ignore_changes(&self, resource: &DriftedResource) -> IgnoreChanges<'_> {
        IgnoreChanges {
            declared: self.declarations.ignore_changes(
                resource.module_address.as_deref(),
                &resource.resource_type,
                &resource.name,
            ),
            classifier: self,
        }
    }

    fn apply(&self, change: &mut AttributeChange, verdict: Verdict) {
        match verdict {
            Verdict::Managed => change.class = DriftClass::Managed,
            Verdict::IgnoredAt(rule) => {
                change.class = DriftClass::IgnoredByConfiguration;
                change.ignored = Some(Ignored {
                    rule,
                    reason: Ignored::IGNORE_CHANGES.to_owned(),
                    expires: None,
                });
            }
            Verdict::Unmanaged(reason) => {
                change.class = DriftClass::Unmanaged;
                if !self.count_unmanaged {
                    change.ignored = Some(self.mark(reason));
                }
            }
        }
    }

    /// The whole resource is outside the configuration's management.
    /// The resource's drift entry in this document, whose masks its identity is held to.
    fn drift_change(&self, address: &str) -> Option<&RawChange> {
        self.plan
            .resource_drift
            .iter()
            .find(|entry| entry.address == address)
            .map(|entry| &entry.change)
    }

    fn set_aside(&self, resource: &mut DriftedResource, reason: &str) {
        resource.class = DriftClass::Unmanaged;
        for change in &mut resource.changes {
            change.class = DriftClass::Unmanaged;
        }
        if !self.count_unmanaged {
            resource.ignored = Some(self.mark(reason));
        }
    }

    /// Why a drift does not count, naming which of terraform's answers said so.
    fn mark(&self, reason: &str) -> Ignored {
        let rule = if self.schemas.is_some() {
            Ignored::BY_SCHEMA
        } else {
            Ignored::BY_PLAN
        };
        Ignored {
            rule: rule.to_owned(),
            reason: reason.to_owned(),
            expires: None,
        }
    }
}

/// What the schema and the configuration say of one change, when that is enough: `None`
/// when only a plan can tell.
fn schema_verdict(found: Option<Found>, argument: Option<Argument>) -> Option<Verdict> {
    let written = argument.is_some();
    match found? {
        // Blocks the code writes define their content; unwritten ones may be dynamic blocks
        // (the configuration section leaves those out) or optional and computed.
        Found::Block => written.then_some(Verdict::Managed),
        Found::Attribute {
            top_level: false, ..
        } if !written => None,
        Found::Attribute {
            flags,
            top_level,
            primitive,
        } => match (flags.computed, flags.optional || flags.required) {
            // The provider may plan it back with what it derives from (`tags_all`).
            (true, false) => None,
            (true, true) if !top_level || !primitive => None,
            (true, true) => match argument {
                None | Some(Argument::Null) => Some(Verdict::Unmanaged(NOT_SET)),
                Some(Argument::Constant) => Some(Verdict::Managed),
                Some(Argument::Expression | Argument::Block) => None,
            },
            // The configuration defines it (its value, or none): apply sets it back.
            (false, _) => Some(Verdict::Managed),
        },
    }
}

/// What one change turned out to be.
enum Verdict {
    Managed,
    /// Under `ignore_changes` declared at this `file:line`.
    IgnoredAt(String),
    Unmanaged(&'static str),
}

/// A resource's `ignore_changes`, if it has one.
struct IgnoreChanges<'a> {
    declared: Option<&'a crate::terraform::config::IgnoreChanges>,
    classifier: &'a Classifier<'a>,
}

impl IgnoreChanges<'_> {
    /// Where the declaration that covers `path` is written, relative to the stack.
    fn covering(&self, path: &[Segment<'_>]) -> Option<String> {
        let declared = self.declared.filter(|ignore| ignore.covers(path))?;
        let file = &declared.at.file;
        let file = file.strip_prefix(self.classifier.stack_dir).unwrap_or(file);
        Some(format!("{}:{}", file.display(), declared.at.line))
    }
}

/// A change's values and masks, for what analysis withholds.
fn sides(change: &RawChange) -> Sides<'_> {
    change.sides()
}

fn planned_values(entry: &PlannedChangeEntry) -> Planned<'_> {
    Planned {
        before: &entry.change.before,
        after: &entry.change.after,
        after_unknown: &entry.change.after_unknown,
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
            schemas: None,
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

#[cfg(test)]
mod schema_tests {
    use super::*;
    use crate::drift::AttrValue;
    use crate::terraform::show::parse_plan;

    const SCHEMA: &[u8] = br#"{"provider_schemas": {"p": {"resource_schemas": {"a": {"block": {
        "attributes": {
          "id": {"type": "string", "computed": true},
          "size": {"type": "number", "optional": true},
          "zone": {"type": "string", "optional": true, "computed": true}
        },
        "block_types": {"rule": {"nesting_mode": "list", "block": {"attributes": {
          "zone": {"type": "string", "optional": true, "computed": true}}}}}}}}}}}"#;

    fn refreshed(expressions: &str) -> PlanDocument {
        parse_plan(
            format!(
                r#"{{"configuration": {{"root_module": {{"resources": [{{"mode": "managed",
                    "type": "a", "name": "x", "expressions": {expressions}}}]}}}}}}"#
            )
            .as_bytes(),
        )
        .unwrap_or_default()
    }

    fn decide(expressions: &str, path: &str) -> (Decided, DriftClass) {
        let plan = refreshed(expressions);
        let schemas = ProviderSchemas::parse(SCHEMA).unwrap_or_default();
        let declarations = Declarations::default();
        let mut resource = DriftedResource {
            address: "a.x".into(),
            module_address: None,
            mode: "managed".into(),
            resource_type: "a".into(),
            name: "x".into(),
            index: None,
            provider: "p".into(),
            action: Action::Update,
            previous_address: None,
            class: DriftClass::Managed,
            changes: vec![AttributeChange {
                path: path.into(),
                before: AttrValue::Known(serde_json::json!(1)),
                after: AttrValue::Known(serde_json::json!(2)),
                class: DriftClass::Managed,
                ignored: None,
            }],
            identifiers: Default::default(),
            ignored: None,
        };
        let decided = Classifier {
            plan: &plan,
            schemas: Some(&schemas),
            declarations: &declarations,
            stack_dir: Path::new("."),
            count_unmanaged: false,
        }
        .classify(&mut resource);
        (decided, resource.changes[0].class)
    }

    #[test]
    fn the_schema_decides_what_it_can_and_leaves_the_rest_to_a_plan() {
        use DriftClass::{Managed, Unmanaged};
        let decided = |class| (Decided::Yes, class);
        assert_eq!(
            decide("{}", "id").0,
            Decided::NeedsPlan,
            "computed only: the provider may derive it from managed attributes"
        );
        assert_eq!(
            decide("{}", "size"),
            decided(Managed),
            "unset optional: set back to null"
        );
        assert_eq!(
            decide("{}", "zone"),
            decided(Unmanaged),
            "optional+computed unset"
        );
        let null = r#"{"zone": {"constant_value": null}}"#;
        assert_eq!(decide(null, "zone"), decided(Unmanaged));
        let literal = r#"{"zone": {"constant_value": "eu"}}"#;
        assert_eq!(decide(literal, "zone"), decided(Managed));
        let expression = r#"{"zone": {"references": ["var.zone"]}}"#;
        assert_eq!(
            decide(expression, "zone").0,
            Decided::NeedsPlan,
            "may be null"
        );
        assert_eq!(decide("{}", "rule[0].zone").0, Decided::NeedsPlan, "nested");
        assert_eq!(
            decide("{}", "unknown").0,
            Decided::NeedsPlan,
            "not in the schema"
        );
    }
}
