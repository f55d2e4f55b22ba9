//! A saved normal plan as the remediation guard judges it: every change terraform would make
//! if the plan file were applied, typed, with attribute values redacted as scan drift is.
//!
//! Read from `terraform show -json <plan>` (`resource_changes[]` with deposed objects
//! included, `resource_drift[]`, `output_changes`, `deferred_changes[]`, `errored`). Raw
//! values are compared here and in [`analysis`]; nothing raw is kept.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{malformed, Argument, DeferredChange, MalformedShow, PlanDocument, PlannedChangeEntry};
use crate::drift::analysis;
use crate::drift::path::{self, Segment};
use crate::drift::AttrValue;

/// What terraform would do to one object, as `change.actions` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlannedAction {
    NoOp,
    Create,
    Read,
    Update,
    /// `["delete", "create"]`: a replace, the old object first.
    DeleteThenCreate,
    /// `["create", "delete"]`: a replace (`create_before_destroy`).
    CreateThenDelete,
    Delete,
    /// `["forget"]` (Terraform 1.7+): dropped from the state, left in place.
    Forget,
    /// `["create", "forget"]`: a replace that leaves the old object behind.
    CreateThenForget,
    /// Any other list: a future action, never trusted.
    Unrecognized,
}

impl PlannedAction {
    /// Reads terraform's `actions` list.
    pub fn from_terraform<S: AsRef<str>>(actions: &[S]) -> Self {
        let actions: Vec<&str> = actions.iter().map(AsRef::as_ref).collect();
        match actions.as_slice() {
            ["no-op"] => PlannedAction::NoOp,
            ["create"] => PlannedAction::Create,
            ["read"] => PlannedAction::Read,
            ["update"] => PlannedAction::Update,
            ["delete", "create"] => PlannedAction::DeleteThenCreate,
            ["create", "delete"] => PlannedAction::CreateThenDelete,
            ["delete"] => PlannedAction::Delete,
            ["forget"] => PlannedAction::Forget,
            ["create", "forget"] => PlannedAction::CreateThenForget,
            _ => PlannedAction::Unrecognized,
        }
    }

    /// As terraform writes it: `update`, `delete+create`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlannedAction::NoOp => "no-op",
            PlannedAction::Create => "create",
            PlannedAction::Read => "read",
            PlannedAction::Update => "update",
            PlannedAction::DeleteThenCreate => "delete+create",
            PlannedAction::CreateThenDelete => "create+delete",
            PlannedAction::Delete => "delete",
            PlannedAction::Forget => "forget",
            PlannedAction::CreateThenForget => "create+forget",
            PlannedAction::Unrecognized => "unrecognized",
        }
    }

    /// Whether the object is replaced (either order, or replaced and forgotten).
    pub fn is_replace(self) -> bool {
        matches!(
            self,
            PlannedAction::DeleteThenCreate
                | PlannedAction::CreateThenDelete
                | PlannedAction::CreateThenForget
        )
    }
}

impl std::fmt::Display for PlannedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attribute a planned change modifies, its values redacted as in scan drift.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAttribute {
    /// In driftlog's path syntax (`tags.env`, `rule[0].port`).
    pub path: String,
    /// The real value now (the refreshed object).
    pub before: AttrValue,
    /// What apply would make of it.
    pub after: AttrValue,
    /// Known only after apply, and the resource block does not write the attribute: the
    /// provider recomputes it (an etag, a revision), the configuration does not change it.
    pub recomputed: bool,
}

/// One `resource_changes[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedChange {
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    /// Set for a change to a deposed object, not the current one.
    pub deposed: Option<String>,
    pub action: PlannedAction,
    /// Terraform's `action_reason` (`replace_because_cannot_update`...), when it gives one.
    pub action_reason: Option<String>,
    /// The attributes that force the replace, in driftlog's path syntax.
    pub replace_paths: Vec<String>,
    /// Every attribute whose value the change modifies, sorted by path.
    pub attributes: Vec<PlannedAttribute>,
}

impl SavedChange {
    /// The paths whose value apply would change, leaving out what the provider recomputes.
    pub fn changed_paths(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(|a| !a.recomputed)
            .map(|a| a.path.as_str())
    }
}

/// A `resource_drift[]` entry of the saved plan: what its refresh found changed outside
/// terraform. Applying the plan writes it to the state.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedDrift {
    pub address: String,
    pub action: PlannedAction,
    /// The drifted attributes, in driftlog's path syntax.
    pub paths: Vec<String>,
}

/// An `output_changes` member whose action is not `no-op`.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOutputChange {
    pub name: String,
    pub action: PlannedAction,
}

/// A `deferred_changes[]` entry: a change terraform put off to a later plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedDeferral {
    pub address: String,
    /// Terraform's reason (`resource_config_unknown`...).
    pub reason: String,
    pub action: PlannedAction,
}

/// Everything applying a saved plan would do, typed and redacted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedPlan {
    /// Sorted by address, then deposed key.
    pub changes: Vec<SavedChange>,
    pub drift: Vec<SavedDrift>,
    /// Only those that change, by name.
    pub output_changes: Vec<SavedOutputChange>,
    pub deferred: Vec<SavedDeferral>,
    /// Terraform's `errored`: the plan is incomplete because planning failed.
    pub errored: bool,
}

#[derive(Deserialize)]
struct SavedDocument {
    #[serde(default)]
    resource_changes: Vec<PlannedChangeEntry>,
    #[serde(default)]
    resource_drift: Vec<PlannedChangeEntry>,
    #[serde(default)]
    output_changes: BTreeMap<String, OutputEntry>,
    #[serde(default)]
    deferred_changes: Vec<DeferredChange>,
    #[serde(default)]
    errored: bool,
}

#[derive(Deserialize)]
struct OutputEntry {
    actions: Vec<String>,
}

/// Reads a saved normal plan's `show -json` document into what applying it would do.
pub fn parse_saved_plan(json: &[u8]) -> Result<SavedPlan, MalformedShow> {
    let configured = super::parse_plan(json)?;
    let doc = serde_json::from_slice::<SavedDocument>(json).map_err(malformed)?;
    let mut changes: Vec<SavedChange> = doc
        .resource_changes
        .iter()
        .map(|entry| saved_change(entry, &configured))
        .collect();
    changes.sort_by(|a, b| (&a.address, &a.deposed).cmp(&(&b.address, &b.deposed)));
    let mut drift: Vec<SavedDrift> = doc
        .resource_drift
        .iter()
        .map(|entry| SavedDrift {
            address: entry.address.clone(),
            action: PlannedAction::from_terraform(&entry.change.actions),
            paths: analysis::attribute_changes(&entry.change.sides())
                .into_iter()
                .map(|change| change.path)
                .collect(),
        })
        .collect();
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(SavedPlan {
        changes,
        drift,
        output_changes: doc
            .output_changes
            .into_iter()
            .map(|(name, entry)| SavedOutputChange {
                name,
                action: PlannedAction::from_terraform(&entry.actions),
            })
            .filter(|output| output.action != PlannedAction::NoOp)
            .collect(),
        deferred: doc
            .deferred_changes
            .iter()
            .map(|deferred| SavedDeferral {
                address: deferred.resource_change.address.clone(),
                reason: deferred
                    .reason
                    .as_deref()
                    .and_then(keyword)
                    .unwrap_or("unknown")
                    .to_owned(),
                action: PlannedAction::from_terraform(&deferred.resource_change.change.actions),
            })
            .collect(),
        errored: doc.errored,
    })
}

fn saved_change(entry: &PlannedChangeEntry, plan: &PlanDocument) -> SavedChange {
    let change = &entry.change;
    let block = plan.configured(
        entry.module_address.as_deref(),
        &entry.resource_type,
        &entry.name,
    );
    let attributes: Vec<PlannedAttribute> = analysis::attribute_changes(&change.sides())
        .into_iter()
        .map(|attribute| {
            let recomputed = attribute.after == AttrValue::Unknown
                && block.is_some_and(|block| !writes(block, &attribute.path));
            PlannedAttribute {
                path: attribute.path,
                before: attribute.before,
                after: attribute.after,
                recomputed,
            }
        })
        .collect();
    SavedChange {
        address: entry.address.clone(),
        mode: entry.mode.clone(),
        deposed: entry.deposed.clone(),
        action: PlannedAction::from_terraform(&change.actions),
        action_reason: entry
            .action_reason
            .as_deref()
            .and_then(keyword)
            .map(str::to_owned),
        replace_paths: replace_paths(&change.replace_paths, &attributes),
        attributes,
    }
}

/// Whether the resource block writes the top-level attribute of `path` (a value, an
/// expression or a block; `= null` is as if unset).
fn writes(block: &BTreeMap<String, Argument>, path: &str) -> bool {
    let top = path::parse(path)
        .and_then(|segments| match segments.first() {
            Some(path::SegmentBuf::Key(key)) => Some(key.clone()),
            _ => None,
        })
        .unwrap_or_default();
    // A path driftlog cannot read back is treated as written: it then counts as a change.
    top.is_empty() || block.get(&top).is_some_and(|arg| *arg != Argument::Null)
}

/// Terraform's replace paths in driftlog's syntax. A path is kept only where it leads to (or
/// is) an attribute the differ already named, whose rendering it vetted for withheld keys;
/// else it is cut to its top-level attribute if that leads to one, else left out. A key of
/// terraform's choosing may be a secret (a map key), so nothing unvetted is rendered.
fn replace_paths(raw: &Value, attributes: &[PlannedAttribute]) -> Vec<String> {
    let leads_to = |path: &str| {
        !path.is_empty()
            && attributes.iter().any(|a| {
                a.path == path
                    || a.path
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
    };
    let mut paths: Vec<String> = raw
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|steps| {
            let segments: Vec<Segment<'_>> = steps
                .as_array()?
                .iter()
                .map(|step| match step {
                    Value::String(key) => Some(Segment::Key(key)),
                    Value::Number(index) => index
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .map(Segment::Index),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let whole = path::render(&segments);
            let top = path::render(segments.get(..1)?);
            [whole, top].into_iter().find(|path| leads_to(path))
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Terraform's own keywords (`replace_because_cannot_update`); anything else is not kept.
fn keyword(text: &str) -> Option<&str> {
    (!text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    .then_some(text)
}

#[cfg(test)]
mod tests;
