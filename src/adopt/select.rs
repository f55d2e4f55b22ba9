//! Which recorded drift the `adopt` rules take, as values to write: pure, from a scan record's
//! resources and the rules. A resource belongs to the first active rule covering its drift
//! ([`covering_rule`], the same choice `driftlog remediate` makes), so no drift is both
//! reverted and adopted.
//!
//! What is never adopted is refused here, before any file is read: a sensitive value (a
//! secret must not land in code), a resource deleted outside terraform, a resource in a
//! module (its block is shared by every call), and a value several instances of one block
//! disagree on.

use std::collections::BTreeMap;

use crate::audit::record::AdoptionRefusal;
use crate::config::remediate::Action as RuleAction;
use crate::config::RemediateRule;
use crate::drift::{Action, AttrValue, DriftedResource};
use crate::remediate::select::covering_rule;

use super::edit::{NewValue, Wanted};

/// One value to write into a resource block, and the drifted instances it adopts.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub wanted: Wanted,
    /// The resource's address without an instance key: what the proof plan targets, so an
    /// instance that did not drift shows up as changed by the edit.
    pub target: String,
    /// Each drifted instance's address and its recorded values.
    pub instances: Vec<Instance>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub address: String,
    pub before: AttrValue,
    pub after: AttrValue,
}

/// What one adopt rule takes.
#[derive(Debug, Clone)]
pub struct RuleAdoption<'r> {
    pub rule: &'r RemediateRule,
    pub candidates: Vec<Candidate>,
    pub refusals: Vec<AdoptionRefusal>,
}

/// Shares the counted drift of `resources` (a scan record of the stack at `stack`) out among
/// the active adopt `rules` of `today`; only rules that took something.
pub fn select<'r>(
    rules: &'r [RemediateRule],
    today: &str,
    stack: &str,
    resources: &[DriftedResource],
) -> Vec<RuleAdoption<'r>> {
    let mut taken: Vec<RuleAdoption<'r>> = Vec::new();
    for resource in resources
        .iter()
        .filter(|r| r.counts() && r.mode == "managed")
    {
        let Some(rule) = covering_rule(rules, today, stack, resource)
            .filter(|rule| rule.action == RuleAction::Adopt)
        else {
            continue;
        };
        let index = match taken.iter().position(|t| std::ptr::eq(t.rule, rule)) {
            Some(index) => index,
            None => {
                taken.push(RuleAdoption {
                    rule,
                    candidates: Vec::new(),
                    refusals: Vec::new(),
                });
                taken.len() - 1
            }
        };
        let adoption = &mut taken[index];
        match refuse_resource(resource) {
            Some(reason) => adoption.refusals.push(AdoptionRefusal {
                address: resource.address.clone(),
                path: None,
                reason,
            }),
            None => take_changes(adoption, resource, |path| {
                rule.applies(today, stack, &resource.address, Some(path))
            }),
        }
    }
    for adoption in &mut taken {
        refuse_disagreements(adoption);
        refuse_over_limit(adoption);
    }
    taken
}

/// Why a whole resource is not adopted, if it is not.
fn refuse_resource(resource: &DriftedResource) -> Option<String> {
    if resource.action == Action::Delete {
        return Some(
            "it was deleted outside terraform: a deleted resource is not adopted (remove its \
             block by hand to accept the deletion, or restore it with a revert rule)"
                .into(),
        );
    }
    if let Some(module) = &resource.module_address {
        return Some(format!(
            "it is in {module}: only the root module's blocks are edited, since a module's \
             code is shared by every call of it"
        ));
    }
    if resource.action != Action::Update {
        return Some(format!(
            "its drift is a {:?}, not changed attributes: only changed attributes are adopted",
            resource.action
        ));
    }
    if resource.changes.is_empty() {
        return Some("it drifted without a changed attribute: there is nothing to write".into());
    }
    None
}

fn take_changes(
    adoption: &mut RuleAdoption<'_>,
    resource: &DriftedResource,
    covered: impl Fn(&str) -> bool,
) {
    let target = format!("{}.{}", resource.resource_type, resource.name);
    for change in resource.counted_changes().filter(|c| covered(&c.path)) {
        let refuse = |reason: &str| AdoptionRefusal {
            address: resource.address.clone(),
            path: Some(change.path.clone()),
            reason: reason.to_owned(),
        };
        let value = match (&change.before, &change.after) {
            (AttrValue::Sensitive, _) | (_, AttrValue::Sensitive) => {
                adoption.refusals.push(refuse(
                    "it is sensitive: a secret is never written into the configuration",
                ));
                continue;
            }
            (AttrValue::Unknown, _) | (_, AttrValue::Unknown) => {
                adoption.refusals.push(refuse(
                    "its real value is not known, so there is nothing to write",
                ));
                continue;
            }
            (_, AttrValue::Known(value)) => NewValue::Set(value.clone()),
            (_, AttrValue::Absent) => NewValue::Remove,
        };
        let instance = Instance {
            address: resource.address.clone(),
            before: change.before.clone(),
            after: change.after.clone(),
        };
        let same = adoption
            .candidates
            .iter_mut()
            .find(|c| c.target == target && c.wanted.path == change.path);
        match same {
            Some(candidate) => candidate.instances.push(instance),
            None => adoption.candidates.push(Candidate {
                wanted: Wanted {
                    resource_type: resource.resource_type.clone(),
                    name: resource.name.clone(),
                    path: change.path.clone(),
                    value,
                },
                target: target.clone(),
                instances: vec![instance],
            }),
        }
    }
}

/// A block's instances share one text: a value is written only when every drifted instance
/// has the same one (the proof plan then checks the instances that did not drift).
fn refuse_disagreements(adoption: &mut RuleAdoption<'_>) {
    let mut kept = Vec::new();
    for candidate in std::mem::take(&mut adoption.candidates) {
        let first = &candidate.instances[0].after;
        if candidate.instances.iter().all(|i| &i.after == first) {
            kept.push(candidate);
            continue;
        }
        let values: Vec<String> = candidate
            .instances
            .iter()
            .map(|i| format!("{} = {}", i.address, shown(&i.after)))
            .collect();
        for instance in &candidate.instances {
            adoption.refusals.push(AdoptionRefusal {
                address: instance.address.clone(),
                path: Some(candidate.wanted.path.clone()),
                reason: format!(
                    "the instances of {} drifted to different values ({}): one block sets \
                     them all, so it is adopted only when every instance agrees",
                    candidate.target,
                    values.join(", ")
                ),
            });
        }
    }
    adoption.candidates = kept;
}

fn refuse_over_limit(adoption: &mut RuleAdoption<'_>) {
    let resources: BTreeMap<&str, ()> = adoption
        .candidates
        .iter()
        .flat_map(|c| c.instances.iter().map(|i| (i.address.as_str(), ())))
        .collect();
    let limit = adoption.rule.max_resources as usize;
    if resources.len() <= limit {
        return;
    }
    let count = resources.len();
    for candidate in std::mem::take(&mut adoption.candidates) {
        for instance in candidate.instances {
            adoption.refusals.push(AdoptionRefusal {
                address: instance.address,
                path: Some(candidate.wanted.path.clone()),
                reason: format!(
                    "the rule would adopt {count} resources, more than its max_resources \
                     ({limit}): none of them is adopted"
                ),
            });
        }
    }
}

fn shown(value: &AttrValue) -> String {
    match value {
        AttrValue::Known(value) => value.to_string(),
        AttrValue::Absent => "(absent)".into(),
        AttrValue::Sensitive => "(sensitive)".into(),
        AttrValue::Unknown => "(unknown)".into(),
    }
}

#[cfg(test)]
mod tests;
