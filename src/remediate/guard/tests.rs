use super::*;
use crate::drift::{AttrValue, AttributeChange, Ignored};
use crate::terraform::show::saved::{
    PlannedAttribute, SavedDeferral, SavedDrift, SavedOutputChange,
};
use proptest::prelude::*;

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

fn changed(address: &str, revert: &[&str], other: &[&str]) -> Revert {
    Revert {
        address: address.into(),
        drift: RecordedDrift::Changed {
            revert: set(revert),
            other: set(other),
        },
        allow_recreate: false,
    }
}

fn attribute(path: &str, recomputed: bool) -> PlannedAttribute {
    PlannedAttribute {
        path: path.into(),
        before: AttrValue::Known("x".into()),
        after: if recomputed {
            AttrValue::Unknown
        } else {
            AttrValue::Known("y".into())
        },
        recomputed,
    }
}

fn change(address: &str, action: PlannedAction, paths: &[&str]) -> SavedChange {
    SavedChange {
        address: address.into(),
        mode: "managed".into(),
        deposed: None,
        action,
        action_reason: None,
        replace_paths: Vec::new(),
        attributes: paths.iter().map(|p| attribute(p, false)).collect(),
    }
}

fn plan(changes: Vec<SavedChange>) -> SavedPlan {
    SavedPlan {
        changes,
        ..SavedPlan::default()
    }
}

fn refused(reverts: &[Revert], plan: &SavedPlan) -> Vec<String> {
    match guard(reverts, plan) {
        Ok(approved) => panic!("approved {approved:?}"),
        Err(refusals) => refusals.iter().map(ToString::to_string).collect(),
    }
}

const WEB: &str = "filestate_object.web";

#[test]
fn an_update_of_exactly_the_recorded_drift_is_approved() {
    let mut web = change(WEB, PlannedAction::Update, &["tags.env"]);
    web.attributes.push(attribute("revision", true));
    let approved = guard(
        &[changed(WEB, &["tags.env"], &["status"])],
        &plan(vec![web]),
    );
    assert_eq!(
        approved,
        Ok(vec![ApprovedChange {
            address: WEB.into(),
            action: PlannedAction::Update,
            reverts: vec!["tags.env".into()],
            recomputed: vec!["revision".into()],
        }])
    );
}

#[test]
fn a_change_beyond_the_recorded_drift_is_unapplied_code() {
    let web = change(
        WEB,
        PlannedAction::Update,
        &["description", "size", "tags.env"],
    );
    assert_eq!(
        refused(&[changed(WEB, &["tags.env"], &[])], &plan(vec![web])),
        [
            "applying would also apply unapplied code changes to filestate_object.web: \
          description, size"
        ]
    );
}

#[test]
fn drift_a_rule_does_not_select_or_the_plan_leaves_is_refused() {
    let revert =
        changed(WEB, &["tags.env", "tags.team"], &["description"]).only(|p| p != "tags.team");
    let web = change(WEB, PlannedAction::Update, &["description", "tags.env"]);
    assert_eq!(
        refused(&[revert], &plan(vec![web])),
        [
            "applying would also revert drift of filestate_object.web that no rule selects: \
          description"
        ]
    );
    let left = changed(WEB, &["tags.env", "size"], &[]);
    let web = change(WEB, PlannedAction::Update, &["tags.env"]);
    assert_eq!(
        refused(&[left], &plan(vec![web])),
        ["the plan would not revert all recorded drift of filestate_object.web: size"]
    );
}

#[test]
fn other_resources_outputs_deferrals_and_foreign_drift_are_refused() {
    let mut saved = plan(vec![
        change(WEB, PlannedAction::Update, &["tags.env"]),
        change("filestate_object.db", PlannedAction::Update, &["size"]),
        change("filestate_object.quiet", PlannedAction::NoOp, &[]),
    ]);
    saved.output_changes.push(SavedOutputChange {
        name: "web_id".into(),
        action: PlannedAction::Update,
    });
    saved.deferred.push(SavedDeferral {
        address: "filestate_object.later".into(),
        reason: "resource_config_unknown".into(),
        action: PlannedAction::Create,
    });
    saved.drift.push(SavedDrift {
        address: "filestate_object.dep".into(),
        action: PlannedAction::Update,
        paths: vec!["size".into()],
    });
    assert_eq!(
        refused(&[changed(WEB, &["tags.env"], &[])], &saved),
        [
            "the plan would also change filestate_object.db (update)",
            "terraform deferred the change of filestate_object.later (resource_config_unknown): \
             a partial plan is never applied",
            "the plan would also change output web_id (update)",
            "the plan's refresh found drift of filestate_object.dep, which is not being \
             reverted: applying would write it to the state and hide it from the next scan",
        ]
    );
}

#[test]
fn deletes_replaces_forgets_reads_and_deposed_objects_are_refused() {
    let mut replace = change(WEB, PlannedAction::DeleteThenCreate, &["zone"]);
    replace.action_reason = Some("replace_because_cannot_update".into());
    replace.replace_paths = vec!["zone".into()];
    assert_eq!(
        refused(&[changed(WEB, &["zone"], &[])], &plan(vec![replace])),
        [
            "the plan would replace filestate_object.web (delete+create, \
          replace_because_cannot_update, forced by zone); driftlog never replaces a resource"
        ]
    );
    for (action, expected) in [
        (PlannedAction::CreateThenDelete, "would replace"),
        (PlannedAction::CreateThenForget, "would replace"),
        (PlannedAction::Delete, "would delete filestate_object.web"),
        (PlannedAction::Forget, "(forget)"),
        (PlannedAction::Read, "would read filestate_object.web"),
        (PlannedAction::Unrecognized, "would unrecognized"),
    ] {
        let reasons = refused(
            &[changed(WEB, &["zone"], &[])],
            &plan(vec![change(WEB, action, &["zone"])]),
        );
        assert!(reasons[0].contains(expected), "{action}: {reasons:?}");
    }
    let mut deposed = change(WEB, PlannedAction::Delete, &[]);
    deposed.deposed = Some("00000001".into());
    let reasons = refused(
        &[changed(WEB, &["tags.env"], &[])],
        &plan(vec![
            change(WEB, PlannedAction::Update, &["tags.env"]),
            deposed,
        ]),
    );
    assert_eq!(
        reasons,
        ["the plan would delete the deposed object 00000001 of filestate_object.web"]
    );
}

#[test]
fn a_deleted_resource_is_created_only_when_allowed() {
    let deleted = Revert {
        address: WEB.into(),
        drift: RecordedDrift::Deleted,
        allow_recreate: false,
    };
    let create = plan(vec![change(WEB, PlannedAction::Create, &["name"])]);
    assert_eq!(
        refused(std::slice::from_ref(&deleted), &create),
        [
            "filestate_object.web was deleted out of band; re-creating it needs \
          allow_recreate = true"
        ]
    );
    let allowed = Revert {
        allow_recreate: true,
        ..deleted.clone()
    };
    assert!(guard(std::slice::from_ref(&allowed), &create).is_ok());
    assert_eq!(
        refused(&[changed(WEB, &["name"], &[])], &create),
        ["the plan would create filestate_object.web, which the record does not show deleted"]
    );
    let update = plan(vec![change(WEB, PlannedAction::Update, &["name"])]);
    assert!(refused(&[allowed], &update)[0].contains("drift changed since the record"));
}

#[test]
fn a_resource_the_plan_leaves_alone_has_nothing_to_revert() {
    let revert = [changed(WEB, &["tags.env"], &[])];
    for saved in [
        plan(vec![]),
        plan(vec![change(WEB, PlannedAction::NoOp, &[])]),
    ] {
        assert_eq!(
            refused(&revert, &saved),
            ["nothing to revert for filestate_object.web"]
        );
    }
    let errored = SavedPlan {
        errored: true,
        ..plan(vec![change(WEB, PlannedAction::Update, &["tags.env"])])
    };
    assert!(refused(&revert, &errored)[0].contains("could not finish the plan"));
}

#[test]
fn nested_paths_are_covered_only_beneath_what_was_recorded() {
    assert!(within("tags.env", "tags") && within("rule[0].port", "rule"));
    assert!(within("tags", "tags") && !within("tags_all.env", "tags"));
    assert!(!within("tags", "tags.env"));
    let whole = change(WEB, PlannedAction::Update, &["rule"]);
    assert!(
        refused(&[changed(WEB, &["rule[0].port"], &[])], &plan(vec![whole]))[0]
            .contains("unapplied code changes to filestate_object.web: rule")
    );
}

#[test]
fn only_counted_managed_drift_is_selected_from_a_record() {
    let mut ignored = AttributeChange {
        path: "status".into(),
        before: AttrValue::Known("a".into()),
        after: AttrValue::Known("b".into()),
        class: DriftClass::Unmanaged,
        ignored: Some(Ignored {
            rule: Ignored::BY_SCHEMA.into(),
            reason: "computed".into(),
            expires: None,
        }),
    };
    let managed = AttributeChange {
        path: "tags.env".into(),
        class: DriftClass::Managed,
        ignored: None,
        ..ignored.clone()
    };
    let mut resource = DriftedResource {
        address: WEB.into(),
        module_address: None,
        mode: "managed".into(),
        resource_type: "filestate_object".into(),
        name: "web".into(),
        index: None,
        provider: String::new(),
        action: Action::Update,
        previous_address: None,
        class: DriftClass::Managed,
        changes: vec![managed, ignored.clone()],
        identifiers: Default::default(),
        ignored: None,
    };
    assert_eq!(
        Revert::from_drift(&resource, false).map(|r| r.drift),
        Some(RecordedDrift::Changed {
            revert: set(&["tags.env"]),
            other: set(&["status"]),
        })
    );
    ignored.path = "region".into();
    resource.changes = vec![ignored];
    assert_eq!(Revert::from_drift(&resource, false), None, "nothing counts");
    resource.action = Action::Delete;
    resource.changes.clear();
    assert_eq!(
        Revert::from_drift(&resource, true).map(|r| r.drift),
        Some(RecordedDrift::Deleted)
    );
}

const ADDRESSES: [&str; 4] = ["a.x", "a.y", "a.z", "module.m.a.x"];
const PATHS: [&str; 7] = [
    "tags",
    "tags.env",
    "tags_all",
    "rule[0].port",
    "rule",
    "size",
    "zone",
];

fn any_action() -> impl Strategy<Value = PlannedAction> {
    prop::sample::select(vec![
        PlannedAction::NoOp,
        PlannedAction::Create,
        PlannedAction::Read,
        PlannedAction::Update,
        PlannedAction::Update,
        PlannedAction::Update,
        PlannedAction::DeleteThenCreate,
        PlannedAction::CreateThenDelete,
        PlannedAction::Delete,
        PlannedAction::Forget,
        PlannedAction::CreateThenForget,
        PlannedAction::Unrecognized,
    ])
}

fn any_paths() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(prop::sample::select(PATHS.to_vec()), 0..4)
        .prop_map(|paths| paths.into_iter().map(str::to_owned).collect())
}

fn any_revert() -> impl Strategy<Value = Revert> {
    (
        prop::sample::select(ADDRESSES.to_vec()),
        any::<bool>(),
        any_paths(),
        any_paths(),
        any::<bool>(),
    )
        .prop_map(|(address, deleted, revert, other, allow_recreate)| Revert {
            address: address.into(),
            drift: if deleted {
                RecordedDrift::Deleted
            } else {
                RecordedDrift::Changed { revert, other }
            },
            allow_recreate,
        })
}

fn any_change() -> impl Strategy<Value = SavedChange> {
    (
        prop::sample::select(ADDRESSES.to_vec()),
        any_action(),
        prop::collection::vec((prop::sample::select(PATHS.to_vec()), any::<bool>()), 0..4),
        prop::option::weighted(0.1, Just("00000001".to_owned())),
    )
        .prop_map(|(address, action, attributes, deposed)| SavedChange {
            deposed,
            attributes: attributes
                .into_iter()
                .map(|(path, recomputed)| attribute(path, recomputed))
                .collect(),
            ..change(address, action, &[])
        })
}

fn any_plan() -> impl Strategy<Value = SavedPlan> {
    (
        prop::collection::vec(any_change(), 0..5),
        prop::collection::vec(
            (prop::sample::select(ADDRESSES.to_vec()), any_action()),
            0..2,
        ),
        prop::option::weighted(0.1, any_action()),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.1, Just(())),
    )
        .prop_map(|(changes, drift, output, errored, deferred)| SavedPlan {
            changes,
            drift: drift
                .into_iter()
                .map(|(address, action)| SavedDrift {
                    address: address.into(),
                    action,
                    paths: Vec::new(),
                })
                .collect(),
            output_changes: output
                .map(|action| SavedOutputChange {
                    name: "o".into(),
                    action,
                })
                .into_iter()
                .collect(),
            deferred: deferred
                .map(|()| SavedDeferral {
                    address: "a.later".into(),
                    reason: "unknown".into(),
                    action: PlannedAction::Create,
                })
                .into_iter()
                .collect(),
            errored,
        })
}

/// The plan that reverts exactly `reverts`, then perhaps changed a little: other changes
/// beside it, one attribute more, another action, or the rest of a random plan.
fn near_plan(reverts: Vec<Revert>) -> impl Strategy<Value = (Vec<Revert>, SavedPlan)> {
    let exact: Vec<SavedChange> = reverts
        .iter()
        .map(|revert| match &revert.drift {
            RecordedDrift::Deleted => change(&revert.address, PlannedAction::Create, &["name"]),
            RecordedDrift::Changed { revert: paths, .. } => {
                let mut update = change(&revert.address, PlannedAction::Update, &[]);
                update.attributes = paths.iter().map(|p| attribute(p, false)).collect();
                update.attributes.push(attribute("revision", true));
                update
            }
        })
        .collect();
    (
        Just(reverts),
        Just(exact),
        any_plan(),
        0..5usize,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(reverts, mut changes, noise, mutation, at, path)| {
            let mut plan = SavedPlan::default();
            let len = changes.len();
            match mutation {
                1 => changes.extend(noise.changes),
                2 if len > 0 => changes[at.index(len)]
                    .attributes
                    .push(attribute(PATHS[path.index(PATHS.len())], false)),
                3 => {
                    plan = SavedPlan {
                        changes: Vec::new(),
                        ..noise
                    }
                }
                4 if len > 0 => {
                    changes[at.index(len)].action = noise
                        .changes
                        .first()
                        .map_or(PlannedAction::Delete, |c| c.action)
                }
                _ => {}
            }
            plan.changes = changes;
            (reverts, plan)
        })
}

fn any_case() -> impl Strategy<Value = (Vec<Revert>, SavedPlan)> {
    let reverts = || prop::collection::vec(any_revert(), 0..4);
    prop_oneof![(reverts(), any_plan()), reverts().prop_flat_map(near_plan),]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the guard approves changes nothing outside the recorded drift: only the
    /// resources being reverted, only in place (or a create of a deleted one, allowed), only
    /// recorded drift selected for reverting, all of it, and nothing else in the plan.
    #[test]
    fn fuzz_guard_never_approves_a_change_outside_the_recorded_drift(
        (reverts, plan) in any_case(),
    ) {
        let Ok(approved) = guard(&reverts, &plan) else { return Ok(()) };
        let first = |address: &str| reverts.iter().find(|r| r.address == address);
        prop_assert!(!plan.errored && plan.deferred.is_empty() && plan.output_changes.is_empty());
        for drift in &plan.drift {
            prop_assert!(drift.action == PlannedAction::NoOp || first(&drift.address).is_some());
        }
        let applied: Vec<&SavedChange> =
            plan.changes.iter().filter(|c| c.action != PlannedAction::NoOp).collect();
        prop_assert_eq!(applied.len(), approved.len());
        for change in applied {
            let revert = first(&change.address);
            prop_assert!(revert.is_some(), "{} is not being reverted", change.address);
            let Some(revert) = revert else { continue };
            prop_assert!(change.deposed.is_none());
            match (&revert.drift, change.action) {
                (RecordedDrift::Deleted, PlannedAction::Create) => {
                    prop_assert!(revert.allow_recreate)
                }
                (RecordedDrift::Changed { revert: selected, .. }, PlannedAction::Update) => {
                    prop_assert!(!selected.is_empty());
                    for path in change.changed_paths() {
                        prop_assert!(
                            selected.iter().any(|r| within(path, r)),
                            "{path} of {} is not recorded drift", change.address
                        );
                    }
                    for path in selected {
                        prop_assert!(change.changed_paths().any(|p| within(p, path) || within(path, p)));
                    }
                }
                (drift, action) => prop_assert!(false, "{action} approved for {drift:?}"),
            }
        }
        for revert in &reverts {
            prop_assert!(approved.iter().any(|a| a.address == revert.address));
        }
    }
}
