//! The guard: a saved plan may be applied only if it reverts exactly the recorded drift.
//!
//! Pure, on typed data: the resources to revert (from a scan record's drift) and what the
//! saved plan would do ([`SavedPlan`]). It approves only in-place updates of those resources
//! whose changed attributes are all recorded drift selected for reverting, and that revert
//! all of it; a create only where the record says the resource was deleted and re-creating
//! it is allowed. Everything else is a refusal with its reason: a change to any other
//! resource, a delete, replace, forget, read or deferral, an output change, refreshed drift
//! of another resource that the apply would write to the state, an errored plan, or nothing
//! to revert. An unapplied code change on the same resource shows as an attribute outside
//! the recorded drift, so it can never ride along.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::drift::{Action, DriftClass, DriftedResource};
use crate::terraform::show::saved::{PlannedAction, SavedChange, SavedPlan};

/// What was recorded of a resource to revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedDrift {
    /// Changed in place.
    Changed {
        /// The recorded managed, counted drift selected for reverting (attribute paths).
        revert: BTreeSet<String>,
        /// The rest of its recorded drift: not managed, ignored, or not selected by a rule.
        other: BTreeSet<String>,
    },
    /// Deleted out of band.
    Deleted,
}

/// One resource to revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    pub address: String,
    pub drift: RecordedDrift,
    /// Whether a resource deleted out of band may be created again.
    pub allow_recreate: bool,
}

impl Revert {
    /// The counted drift of a recorded resource, all of its managed attributes selected;
    /// `None` when none of its drift counts (nothing a revert may touch).
    pub fn from_drift(resource: &DriftedResource, allow_recreate: bool) -> Option<Revert> {
        if !resource.counts() {
            return None;
        }
        let drift = if resource.action == Action::Delete {
            RecordedDrift::Deleted
        } else {
            let (revert, other): (Vec<_>, Vec<_>) = resource
                .changes
                .iter()
                .partition(|c| c.class == DriftClass::Managed && c.ignored.is_none());
            RecordedDrift::Changed {
                revert: revert.into_iter().map(|c| c.path.clone()).collect(),
                other: other.into_iter().map(|c| c.path.clone()).collect(),
            }
        };
        Some(Revert {
            address: resource.address.clone(),
            drift,
            allow_recreate,
        })
    }

    /// Keeps only the selected paths for reverting (a rule's attribute glob); the others
    /// become drift that must stay.
    pub fn only(mut self, selected: impl Fn(&str) -> bool) -> Revert {
        if let RecordedDrift::Changed { revert, other } = &mut self.drift {
            let (keep, drop): (BTreeSet<String>, BTreeSet<String>) = std::mem::take(revert)
                .into_iter()
                .partition(|p| selected(p));
            *revert = keep;
            other.extend(drop);
        }
        self
    }
}

/// A change the guard lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedChange {
    pub address: String,
    /// [`PlannedAction::Update`] or [`PlannedAction::Create`].
    pub action: PlannedAction,
    /// The attributes it sets back (for a create: none listed, the whole object).
    pub reverts: Vec<String>,
    /// What the provider recomputes on the way (an etag, a revision).
    pub recomputed: Vec<String>,
}

/// Why the guard refuses a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Terraform says planning failed part way.
    Errored,
    /// A change to a resource that is not being reverted.
    AlsoChanges {
        address: String,
        action: PlannedAction,
    },
    /// A change of a deposed object (always a delete).
    Deposed {
        address: String,
        deposed: String,
    },
    Deletes {
        address: String,
    },
    Replaces {
        address: String,
        action: PlannedAction,
        /// Terraform's reason, and the attributes that force it.
        reason: Option<String>,
        paths: Vec<String>,
    },
    Forgets {
        address: String,
    },
    /// A data source read during apply, or an action driftlog does not know.
    Other {
        address: String,
        action: PlannedAction,
    },
    /// A change terraform put off: the plan is partial.
    Deferred {
        address: String,
        reason: String,
    },
    /// A create of a resource the record does not say was deleted.
    CreatesUndeleted {
        address: String,
    },
    /// A create of a deleted resource, without `allow_recreate`.
    RecreateNotAllowed {
        address: String,
    },
    /// An update of a resource the record says was deleted.
    UpdatesDeleted {
        address: String,
    },
    /// Attributes outside the recorded drift: unapplied changes of the configuration.
    UnappliedCode {
        address: String,
        paths: Vec<String>,
    },
    /// Recorded drift no rule selected (or that does not count) would be reverted too.
    UnselectedDrift {
        address: String,
        paths: Vec<String>,
    },
    /// Recorded drift the plan would leave in place.
    LeavesDrift {
        address: String,
        paths: Vec<String>,
    },
    /// A resource to revert the plan does not change.
    NothingToRevert {
        address: String,
    },
    OutputChange {
        name: String,
        action: PlannedAction,
    },
    /// Drift of another resource the refresh found: applying writes it to the state without
    /// reverting it, and the next scan would no longer see it.
    RecordsOtherDrift {
        address: String,
    },
}

impl Refusal {
    /// The resource (or output) it is about.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Refusal::Errored => None,
            Refusal::OutputChange { name, .. } => Some(name),
            Refusal::AlsoChanges { address, .. }
            | Refusal::Deposed { address, .. }
            | Refusal::Deletes { address }
            | Refusal::Replaces { address, .. }
            | Refusal::Forgets { address }
            | Refusal::Other { address, .. }
            | Refusal::Deferred { address, .. }
            | Refusal::CreatesUndeleted { address }
            | Refusal::RecreateNotAllowed { address }
            | Refusal::UpdatesDeleted { address }
            | Refusal::UnappliedCode { address, .. }
            | Refusal::UnselectedDrift { address, .. }
            | Refusal::LeavesDrift { address, .. }
            | Refusal::NothingToRevert { address }
            | Refusal::RecordsOtherDrift { address } => Some(address),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Errored => write!(f, "terraform could not finish the plan; it is not applied"),
            Refusal::AlsoChanges { address, action } => {
                write!(f, "the plan would also change {address} ({action})")
            }
            Refusal::Deposed { address, deposed } => write!(
                f,
                "the plan would delete the deposed object {deposed} of {address}"
            ),
            Refusal::Deletes { address } => write!(f, "the plan would delete {address}"),
            Refusal::Replaces {
                address,
                action,
                reason,
                paths,
            } => {
                write!(f, "the plan would replace {address} ({action}")?;
                if let Some(reason) = reason {
                    write!(f, ", {reason}")?;
                }
                if !paths.is_empty() {
                    write!(f, ", forced by {}", paths.join(", "))?;
                }
                write!(f, "); driftlog never replaces a resource")
            }
            Refusal::Forgets { address } => {
                write!(f, "the plan would remove {address} from the state (forget)")
            }
            Refusal::Other { address, action } => write!(
                f,
                "the plan would {} {address}, which a revert never does",
                action.as_str()
            ),
            Refusal::Deferred { address, reason } => write!(
                f,
                "terraform deferred the change of {address} ({reason}): a partial plan is \
                 never applied"
            ),
            Refusal::CreatesUndeleted { address } => write!(
                f,
                "the plan would create {address}, which the record does not show deleted"
            ),
            Refusal::RecreateNotAllowed { address } => write!(
                f,
                "{address} was deleted out of band; re-creating it needs allow_recreate = true"
            ),
            Refusal::UpdatesDeleted { address } => write!(
                f,
                "the record shows {address} deleted, but the plan would update it: the drift \
                 changed since the record"
            ),
            Refusal::UnappliedCode { address, paths } => write!(
                f,
                "applying would also apply unapplied code changes to {address}: {}",
                paths.join(", ")
            ),
            Refusal::UnselectedDrift { address, paths } => write!(
                f,
                "applying would also revert drift of {address} that no rule selects: {}",
                paths.join(", ")
            ),
            Refusal::LeavesDrift { address, paths } => write!(
                f,
                "the plan would not revert all recorded drift of {address}: {}",
                paths.join(", ")
            ),
            Refusal::NothingToRevert { address } => write!(f, "nothing to revert for {address}"),
            Refusal::OutputChange { name, action } => {
                write!(f, "the plan would also change output {name} ({action})")
            }
            Refusal::RecordsOtherDrift { address } => write!(
                f,
                "the plan's refresh found drift of {address}, which is not being reverted: \
                 applying would write it to the state and hide it from the next scan"
            ),
        }
    }
}

/// Whether `path` is `ancestor` or lies beneath it (`tags.env` beneath `tags`).
fn within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn covered(path: &str, set: &BTreeSet<String>) -> bool {
    set.iter().any(|recorded| within(path, recorded))
}

/// Approves the plan's changes, or says every reason it refuses them.
pub fn guard(reverts: &[Revert], plan: &SavedPlan) -> Result<Vec<ApprovedChange>, Vec<Refusal>> {
    let mut wanted: BTreeMap<&str, &Revert> = BTreeMap::new();
    for revert in reverts {
        wanted.entry(revert.address.as_str()).or_insert(revert);
    }
    let mut refusals = Vec::new();
    if plan.errored {
        refusals.push(Refusal::Errored);
    }
    let mut approved = Vec::new();
    let mut changed: BTreeSet<&str> = BTreeSet::new();
    for change in &plan.changes {
        if change.action == PlannedAction::NoOp {
            continue;
        }
        let Some(revert) = wanted.get(change.address.as_str()) else {
            refusals.push(Refusal::AlsoChanges {
                address: change.address.clone(),
                action: change.action,
            });
            continue;
        };
        if let Some(deposed) = &change.deposed {
            refusals.push(Refusal::Deposed {
                address: change.address.clone(),
                deposed: deposed.clone(),
            });
            continue;
        }
        changed.insert(change.address.as_str());
        match judge(revert, change) {
            Ok(change) => approved.push(change),
            Err(mut reasons) => refusals.append(&mut reasons),
        }
    }
    for address in wanted.keys() {
        if !changed.contains(address) {
            refusals.push(Refusal::NothingToRevert {
                address: (*address).to_owned(),
            });
        }
    }
    refusals.extend(plan.deferred.iter().map(|d| Refusal::Deferred {
        address: d.address.clone(),
        reason: d.reason.clone(),
    }));
    refusals.extend(plan.output_changes.iter().map(|o| Refusal::OutputChange {
        name: o.name.clone(),
        action: o.action,
    }));
    refusals.extend(
        plan.drift
            .iter()
            .filter(|d| d.action != PlannedAction::NoOp && !wanted.contains_key(d.address.as_str()))
            .map(|d| Refusal::RecordsOtherDrift {
                address: d.address.clone(),
            }),
    );
    if refusals.is_empty() {
        Ok(approved)
    } else {
        Err(refusals)
    }
}

/// One change of a resource being reverted.
fn judge(revert: &Revert, change: &SavedChange) -> Result<ApprovedChange, Vec<Refusal>> {
    let address = change.address.clone();
    let recomputed = || -> Vec<String> {
        change
            .attributes
            .iter()
            .filter(|a| a.recomputed)
            .map(|a| a.path.clone())
            .collect()
    };
    match (change.action, &revert.drift) {
        (PlannedAction::Create, RecordedDrift::Deleted) if revert.allow_recreate => {
            Ok(ApprovedChange {
                address,
                action: PlannedAction::Create,
                reverts: Vec::new(),
                recomputed: Vec::new(),
            })
        }
        (PlannedAction::Create, RecordedDrift::Deleted) => {
            Err(vec![Refusal::RecreateNotAllowed { address }])
        }
        (PlannedAction::Create, RecordedDrift::Changed { .. }) => {
            Err(vec![Refusal::CreatesUndeleted { address }])
        }
        (PlannedAction::Update, RecordedDrift::Deleted) => {
            Err(vec![Refusal::UpdatesDeleted { address }])
        }
        (PlannedAction::Update, RecordedDrift::Changed { revert, .. }) if revert.is_empty() => {
            Err(vec![Refusal::NothingToRevert { address }])
        }
        (PlannedAction::Update, RecordedDrift::Changed { revert, other }) => {
            let paths: Vec<&str> = change.changed_paths().collect();
            let unapplied: Vec<String> = paths
                .iter()
                .filter(|p| !covered(p, revert) && !covered(p, other))
                .map(|p| (*p).to_owned())
                .collect();
            let unselected: Vec<String> = paths
                .iter()
                .filter(|p| !covered(p, revert) && covered(p, other))
                .map(|p| (*p).to_owned())
                .collect();
            let left: Vec<String> = revert
                .iter()
                .filter(|r| !paths.iter().any(|p| within(p, r) || within(r, p)))
                .cloned()
                .collect();
            let mut refusals = Vec::new();
            if !unapplied.is_empty() {
                refusals.push(Refusal::UnappliedCode {
                    address: address.clone(),
                    paths: unapplied,
                });
            }
            if !unselected.is_empty() {
                refusals.push(Refusal::UnselectedDrift {
                    address: address.clone(),
                    paths: unselected,
                });
            }
            if !left.is_empty() {
                refusals.push(Refusal::LeavesDrift {
                    address: address.clone(),
                    paths: left,
                });
            }
            if refusals.is_empty() {
                Ok(ApprovedChange {
                    address,
                    action: PlannedAction::Update,
                    reverts: paths.into_iter().map(str::to_owned).collect(),
                    recomputed: recomputed(),
                })
            } else {
                Err(refusals)
            }
        }
        (PlannedAction::Delete, _) => Err(vec![Refusal::Deletes { address }]),
        (PlannedAction::Forget, _) => Err(vec![Refusal::Forgets { address }]),
        (action, _) if action.is_replace() => Err(vec![Refusal::Replaces {
            address,
            action,
            reason: change.action_reason.clone(),
            paths: change.replace_paths.clone(),
        }]),
        (action, _) => Err(vec![Refusal::Other { address, action }]),
    }
}

/// The approved updates that would set an attribute to something other than what it was
/// before it drifted, as `recorded` (the scan record's resources) says: the configuration
/// changed that attribute since it was applied, and applying would roll that code change
/// out under the name of a revert. Sensitive values cannot be compared and pass.
pub fn unapplied_values(
    recorded: &[DriftedResource],
    approved: &[ApprovedChange],
    plan: &SavedPlan,
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for change in approved
        .iter()
        .filter(|a| a.action == PlannedAction::Update)
    {
        let (Some(resource), Some(planned)) = (
            recorded.iter().find(|r| r.address == change.address),
            plan.changes
                .iter()
                .find(|c| c.address == change.address && c.deposed.is_none()),
        ) else {
            continue;
        };
        let paths: Vec<String> = planned
            .attributes
            .iter()
            .filter(|a| !a.recomputed)
            .filter(|a| {
                resource.changes.iter().any(|c| {
                    c.path == a.path
                        && comparable(&c.before)
                        && comparable(&a.after)
                        && c.before != a.after
                })
            })
            .map(|a| a.path.clone())
            .collect();
        if !paths.is_empty() {
            refusals.push(Refusal::UnappliedCode {
                address: change.address.clone(),
                paths,
            });
        }
    }
    refusals
}

fn comparable(value: &crate::drift::AttrValue) -> bool {
    matches!(
        value,
        crate::drift::AttrValue::Known(_) | crate::drift::AttrValue::Absent
    )
}

#[cfg(test)]
mod tests;
