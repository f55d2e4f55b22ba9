//! On documents written from Terraform's source, not recorded: `internal/command/jsonplan/
//! plan.go` (`Change`, `actionString`, `ActionReason` values, `encodePaths`, `output_changes`,
//! `deferred_changes`, `errored`) at mirror HEAD `883c7221ee2e` (1.17.0-dev), the same
//! members as tag `v1.15.5` = `aa593a05`. The forget, the deferral and the data read cannot be
//! made by the test provider; the shapes follow the `tests/fixtures/written/` conventions.

use super::*;
use crate::drift::AttrValue;
use serde_json::json;

fn written() -> Vec<u8> {
    let web_before = json!({"id": "web", "name": "web", "description": "by hand",
        "secret": "s3cr3t-real", "tags": {"env": "staging"}, "revision": 3, "zone": null});
    let web_after = json!({"id": "web", "name": "web", "description": "web tier",
        "secret": "s3cr3t-code", "tags": {"env": "prod"}, "zone": null});
    json!({
      "format_version": "1.2",
      "terraform_version": "1.15.5",
      "resource_drift": [
        {"address": "filestate_object.web", "mode": "managed", "type": "filestate_object",
         "name": "web", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["update"],
           "before": {"id": "web", "name": "web", "description": "web tier",
                      "secret": "s3cr3t-code", "tags": {"env": "prod"}, "revision": 3, "zone": null},
           "after": web_before.clone(), "after_unknown": {},
           "before_sensitive": {"secret": true, "tags": {}},
           "after_sensitive": {"secret": true, "tags": {}}}}
      ],
      "resource_changes": [
        {"address": "filestate_object.web", "mode": "managed", "type": "filestate_object",
         "name": "web", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["update"], "before": web_before, "after": web_after,
           "after_unknown": {"revision": true, "tags": {}},
           "before_sensitive": {"secret": true, "tags": {}},
           "after_sensitive": {"secret": true, "tags": {}}}},
        {"address": "filestate_object.moved", "mode": "managed", "type": "filestate_object",
         "name": "moved", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["delete", "create"],
           "before": {"id": "moved", "name": "moved", "zone": "z2"},
           "after": {"name": "moved", "zone": "z1"},
           "after_unknown": {"id": true, "revision": true},
           "before_sensitive": {}, "after_sensitive": {},
           "replace_paths": [["zone"], ["tags", "s3cr3t-key"]]},
         "action_reason": "replace_because_cannot_update"},
        {"address": "filestate_object.moved", "mode": "managed", "type": "filestate_object",
         "name": "moved", "deposed": "00000001",
         "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["delete"], "before": {"id": "moved-old"}, "after": null,
           "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}},
        {"address": "filestate_object.legacy", "mode": "managed", "type": "filestate_object",
         "name": "legacy", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["forget"], "before": {"id": "legacy"}, "after": null,
           "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false},
         "action_reason": "delete_because_no_resource_config"},
        {"address": "data.filestate_object.lookup", "mode": "data", "type": "filestate_object",
         "name": "lookup", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["read"], "before": null, "after": {"name": "lookup"},
           "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {}},
         "action_reason": "read_because_config_unknown"},
        {"address": "filestate_object.quiet", "mode": "managed", "type": "filestate_object",
         "name": "quiet", "provider_name": "registry.terraform.io/example/filestate",
         "change": {"actions": ["no-op"], "before": {"id": "quiet"}, "after": {"id": "quiet"},
           "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}}
      ],
      "deferred_changes": [
        {"reason": "resource_config_unknown",
         "resource_change": {"address": "filestate_object.later", "mode": "managed",
           "type": "filestate_object", "name": "later",
           "change": {"actions": ["create"], "before": null, "after": {},
             "after_unknown": {"id": true}}}}
      ],
      "output_changes": {
        "web_id": {"actions": ["no-op"], "before": "web", "after": "web",
                   "after_unknown": false, "before_sensitive": false, "after_sensitive": false},
        "token": {"actions": ["update"], "before": "s3cr3t-a", "after": "s3cr3t-b",
                  "after_unknown": false, "before_sensitive": true, "after_sensitive": true}
      },
      "configuration": {"root_module": {"resources": [
        {"address": "filestate_object.web", "mode": "managed", "type": "filestate_object",
         "name": "web", "expressions": {"name": {"constant_value": "web"},
           "description": {"constant_value": "web tier"},
           "secret": {"constant_value": "s3cr3t-code"},
           "tags": {"constant_value": {"env": "prod"}}}}
      ]}},
      "errored": false
    })
    .to_string()
    .into_bytes()
}

fn plan() -> SavedPlan {
    parse_saved_plan(&written()).unwrap_or_else(|e| panic!("parses: {e}"))
}

fn change<'p>(plan: &'p SavedPlan, address: &str, deposed: Option<&str>) -> &'p SavedChange {
    plan.changes
        .iter()
        .find(|c| c.address == address && c.deposed.as_deref() == deposed)
        .unwrap_or_else(|| panic!("{address} {deposed:?} not in {plan:#?}"))
}

#[test]
fn every_action_terraform_writes_is_read() {
    let plan = plan();
    let actions: Vec<(&str, Option<&str>, PlannedAction)> = plan
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.deposed.as_deref(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("data.filestate_object.lookup", None, PlannedAction::Read),
            ("filestate_object.legacy", None, PlannedAction::Forget),
            (
                "filestate_object.moved",
                None,
                PlannedAction::DeleteThenCreate
            ),
            (
                "filestate_object.moved",
                Some("00000001"),
                PlannedAction::Delete
            ),
            ("filestate_object.quiet", None, PlannedAction::NoOp),
            ("filestate_object.web", None, PlannedAction::Update),
        ]
    );
    for (actions, expected) in [
        (&["create", "delete"][..], PlannedAction::CreateThenDelete),
        (&["create", "forget"][..], PlannedAction::CreateThenForget),
        (&["create"][..], PlannedAction::Create),
        (&["delete", "forget"][..], PlannedAction::Unrecognized),
        (&[][..], PlannedAction::Unrecognized),
    ] {
        assert_eq!(PlannedAction::from_terraform(actions), expected);
    }
    assert_eq!(
        change(&plan, "filestate_object.legacy", None)
            .action_reason
            .as_deref(),
        Some("delete_because_no_resource_config")
    );
    assert_eq!(
        change(&plan, "data.filestate_object.lookup", None).mode,
        "data"
    );
}

#[test]
fn an_update_lists_what_it_changes_and_what_the_provider_recomputes() {
    let plan = plan();
    let web = change(&plan, "filestate_object.web", None);
    let paths: Vec<(&str, bool)> = web
        .attributes
        .iter()
        .map(|a| (a.path.as_str(), a.recomputed))
        .collect();
    assert_eq!(
        paths,
        [
            ("description", false),
            ("revision", true),
            ("secret", false),
            ("tags.env", false),
        ]
    );
    assert_eq!(
        web.changed_paths().collect::<Vec<_>>(),
        ["description", "secret", "tags.env"]
    );
    let secret = &web.attributes[2];
    assert_eq!(
        (&secret.before, &secret.after),
        (&AttrValue::Sensitive, &AttrValue::Sensitive)
    );
    assert_eq!(web.attributes[3].after, AttrValue::Known(json!("prod")));
}

#[test]
fn no_secret_reaches_the_typed_plan() {
    let text = format!("{:?}", plan());
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[test]
fn replace_paths_keep_only_what_the_differ_named() {
    let plan = plan();
    let moved = change(&plan, "filestate_object.moved", None);
    assert_eq!(
        moved.replace_paths,
        ["zone"],
        "a path through a key no attribute change names is left out"
    );
    assert_eq!(
        moved.action_reason.as_deref(),
        Some("replace_because_cannot_update")
    );
    assert!(moved.action.is_replace());
}

#[test]
fn drift_outputs_and_deferrals_are_read() {
    let plan = plan();
    assert_eq!(
        plan.drift,
        [SavedDrift {
            address: "filestate_object.web".into(),
            action: PlannedAction::Update,
            paths: vec!["description".into(), "secret".into(), "tags.env".into()],
        }]
    );
    assert_eq!(
        plan.output_changes,
        [SavedOutputChange {
            name: "token".into(),
            action: PlannedAction::Update
        }],
        "only outputs that change"
    );
    assert_eq!(
        plan.deferred,
        [SavedDeferral {
            address: "filestate_object.later".into(),
            reason: "resource_config_unknown".into(),
            action: PlannedAction::Create,
        }]
    );
    assert!(!plan.errored);
}

#[test]
fn an_unknown_attribute_the_configuration_writes_is_a_change() {
    let doc = json!({
      "resource_changes": [
        {"address": "filestate_object.b", "mode": "managed", "type": "filestate_object",
         "name": "b", "change": {"actions": ["update"],
           "before": {"description": "x", "revision": 1},
           "after": {}, "after_unknown": {"description": true, "revision": true},
           "before_sensitive": {}, "after_sensitive": {}}}
      ],
      "configuration": {"root_module": {"resources": [
        {"address": "filestate_object.b", "mode": "managed", "type": "filestate_object",
         "name": "b", "expressions": {"description": {"references": ["filestate_object.a.id"]}}}
      ]}}
    });
    let plan = parse_saved_plan(doc.to_string().as_bytes()).unwrap_or_default();
    let b = &plan.changes[0];
    assert_eq!(b.changed_paths().collect::<Vec<_>>(), ["description"]);
    let orphan = json!({"resource_changes": [{"address": "filestate_object.c",
        "mode": "managed", "type": "filestate_object", "name": "c",
        "change": {"actions": ["update"], "before": {"revision": 1}, "after": {},
                   "after_unknown": {"revision": true},
                   "before_sensitive": {}, "after_sensitive": {}}}]});
    let plan = parse_saved_plan(orphan.to_string().as_bytes()).unwrap_or_default();
    assert_eq!(
        plan.changes[0].changed_paths().collect::<Vec<_>>(),
        ["revision"],
        "without its block, nothing is known to be the provider's"
    );
}

#[test]
fn a_malformed_document_is_an_error_that_quotes_nothing() {
    let doc = br#"{"resource_changes":[{"address":"a.b","change":{"actions":"s3cr3t"}}]}"#;
    let err = parse_saved_plan(doc).map(drop).err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| !e.contains("s3cr3t")),
        "{err:?}"
    );
    let doc = br#"{"output_changes":{"o":{"actions":["update"]}},"errored":"s3cr3t"}"#;
    assert!(parse_saved_plan(doc).is_err());
}
