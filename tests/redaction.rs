//! Secrets in shapes real providers send but the test provider cannot: a dynamic attribute
//! (`kubernetes_manifest.object`, azapi's `body`) whose type changes, a malformed mask, an id
//! a provider copied from a sensitive name. Crafted documents, replayed by a stand-in
//! terraform, through the real binary: no report, comment or audit record shows them.

use serde_json::{json, Value};

use crate::support::{git, resource, Stack};

const MANIFEST_TOKEN: &str = "s3cr3t-manifest-token";
const BODY_KEY: &str = "s3cr3t-azapi-key";
const NAMED: &str = "s3cr3t-named-thing";
const ONE_SIDED: &str = "s3cr3t-one-sided";
const MALFORMED: &str = "s3cr3t-malformed-mask";
const PLANNED_ONLY: &str = "s3cr3t-planned-only";

/// One drifted resource: its address, and its drift entry's `change` (before, after, masks).
fn drifted(kind: &str, name: &str, change: Value) -> (String, Value) {
    let address = format!("{kind}.{name}");
    let entry = json!({
        "address": address, "mode": "managed", "type": kind, "name": name,
        "provider_name": "registry.terraform.io/example/dynamic",
        "change": change,
    });
    (address, entry)
}

fn change(before: Value, after: Value, before_sensitive: Value, after_sensitive: Value) -> Value {
    json!({"actions": ["update"], "before": before, "after": after, "after_unknown": {},
           "before_sensitive": before_sensitive, "after_sensitive": after_sensitive})
}

fn resources() -> Vec<(String, Value)> {
    vec![
        // A manifest field that was a string and became an object with a secret in it.
        drifted(
            "kubernetes_manifest",
            "app",
            change(
                json!({"object": {"data": "plain", "kind": "Secret"}}),
                json!({"object": {"data": {"token": MANIFEST_TOKEN}, "kind": "Secret"}}),
                json!({}),
                json!({"object": {"data": {"token": true}}}),
            ),
        ),
        // An azapi body that was an object with a secret and became an array.
        drifted(
            "azapi_resource",
            "vault",
            change(
                json!({"body": {"properties": {"key": BODY_KEY}}}),
                json!({"body": ["replaced"]}),
                json!({"body": {"properties": {"key": true}}}),
                json!({"body": [false]}),
            ),
        ),
        // A mask no terraform writes: a string where `true` belongs.
        drifted(
            "azapi_resource",
            "odd",
            change(
                json!({"body": "old"}),
                json!({"body": MALFORMED}),
                json!({}),
                json!({"body": "true"}),
            ),
        ),
        // The provider copied a sensitive name into its id.
        drifted(
            "dynamic_thing",
            "named",
            change(
                json!({"id": NAMED, "name": NAMED, "size": 1}),
                json!({"id": NAMED, "name": NAMED, "size": 2}),
                json!({"name": true}),
                json!({"name": true}),
            ),
        ),
        // The name masked on one side only.
        drifted(
            "dynamic_thing",
            "one_sided",
            change(
                json!({"name": ONE_SIDED, "size": 1}),
                json!({"name": ONE_SIDED, "size": 2}),
                json!({}),
                json!({"name": true}),
            ),
        ),
        // Unmasked in the drift entry; the normal plan masks an attribute holding the same
        // value (the state had no sensitivity marks yet), and there is no identity.
        drifted(
            "dynamic_thing",
            "planned_only",
            change(
                json!({"id": PLANNED_ONLY, "size": 1}),
                json!({"id": PLANNED_ONLY, "size": 2}),
                json!({}),
                json!({}),
            ),
        ),
    ]
}

/// The refresh-only plan's stream: the version, one drift notice per resource, the summary.
fn stream(addresses: &[String]) -> String {
    let mut lines = vec![
        json!({"@message": "Terraform 1.15.5", "terraform": "1.15.5",
                                "type": "version", "ui": "1.2"}),
    ];
    for address in addresses {
        let (kind, name) = address.split_once('.').expect("an address");
        lines.push(json!({
            "@message": format!("{address}: Drift detected (update)"),
            "type": "resource_drift",
            "change": {"action": "update", "resource": {
                "addr": address, "module": "", "resource": address,
                "resource_type": kind, "resource_name": name, "resource_key": null}},
        }));
    }
    lines.push(
        json!({"@message": "Plan: 0 to add, 0 to change, 0 to destroy.",
                      "type": "change_summary",
                      "changes": {"add": 0, "change": 0, "import": 0, "remove": 0,
                                  "operation": "plan"}}),
    );
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The `show -json` document: the drift, and a normal plan setting every value back.
fn show(resources: &[(String, Value)]) -> Value {
    let drift: Vec<Value> = resources.iter().map(|(_, entry)| entry.clone()).collect();
    let planned: Vec<Value> = drift
        .iter()
        .map(|entry| {
            let mut planned = entry.clone();
            let change = &entry["change"];
            planned["change"] = json!({"actions": ["update"],
                "before": change["after"], "after": change["before"], "after_unknown": {},
                "before_sensitive": change["after_sensitive"],
                "after_sensitive": change["before_sensitive"]});
            if entry["name"] == "planned_only" {
                for side in ["before", "after"] {
                    planned["change"][side]["token"] = json!(PLANNED_ONLY);
                    planned["change"][format!("{side}_sensitive")] = json!({"token": true});
                }
            }
            planned
        })
        .collect();
    json!({"format_version": "1.2", "terraform_version": "1.15.5",
           "resource_drift": drift, "resource_changes": planned, "errored": false})
}

/// A stack whose terraform is a stand-in replaying the crafted documents (the provider
/// schema unavailable, so the plan classifies).
fn crafted_stack() -> (Stack, String) {
    let resources = resources();
    let addresses: Vec<String> = resources.iter().map(|(a, _)| a.clone()).collect();
    let config: String = addresses
        .iter()
        .map(|address| {
            let (kind, name) = address.split_once('.').expect("an address");
            format!("resource \"{kind}\" \"{name}\" {{\n}}\n")
        })
        .collect();
    let stack = Stack::new(&[("main.tf", &config)]);
    std::fs::write(stack.root.join("refresh.jsonl"), stream(&addresses)).expect("write");
    std::fs::write(
        stack.root.join("show.json"),
        serde_json::to_vec(&show(&resources)).expect("JSON"),
    )
    .expect("write");
    let root = stack.root.display();
    let fake = stack.fake_terraform(
        "crafted-terraform",
        &format!(
            "#!/bin/sh\ncase \"$1 $2\" in\n\
             'plan '*) cat '{root}/refresh.jsonl'; exit 2 ;;\n\
             'show -json') cat '{root}/show.json' ;;\n\
             'providers schema') echo 'no schema here' >&2; exit 1 ;;\n\
             *) echo \"unexpected: $*\" >&2; exit 1 ;;\nesac\n"
        ),
    );
    (stack, fake)
}

fn withheld(report: &Value, address: &str, path: &str) {
    let (before, after) = crate::support::change(resource(report, address), path);
    assert_eq!(
        (before, after),
        (&json!({"kind": "sensitive"}), &json!({"kind": "sensitive"})),
        "{address} {path}"
    );
}

#[test]
fn secrets_in_changed_types_malformed_masks_and_copied_ids_reach_no_output() {
    let (stack, fake) = crafted_stack();
    let (key_file, _) = stack.commit_to_git(&["refresh.jsonl", "show.json", "crafted-terraform"]);
    let key = key_file.to_str().expect("utf-8");
    let json = stack.scan(&[
        "--format",
        "json",
        "--terraform-bin",
        &fake,
        "--signing-key",
        key,
    ]);
    assert_eq!(json.code, 2, "{}{}", json.stdout, json.stderr);
    let report = json.json();
    withheld(&report, "kubernetes_manifest.app", "object.data");
    withheld(&report, "azapi_resource.vault", "body");
    withheld(&report, "azapi_resource.odd", "body");
    // What is no secret is still shown, and the resources still count.
    assert_eq!(
        crate::support::change(resource(&report, "dynamic_thing.named"), "size"),
        (
            &json!({"kind": "known", "value": 1}),
            &json!({"kind": "known", "value": 2})
        )
    );
    assert_eq!(report["summary"]["drifted"], 6, "{report:#}");
    for address in [
        "dynamic_thing.named",
        "dynamic_thing.one_sided",
        "dynamic_thing.planned_only",
    ] {
        let ids = &resource(&report, address)["identifiers"];
        assert!(
            ids.as_object().is_none_or(|ids| ids.is_empty()),
            "{address}: {ids}"
        );
    }

    let terminal = stack.scan(&["--terraform-bin", &fake]);
    let markdown = stack.scan(&["--terraform-bin", &fake, "--format", "markdown"]);
    assert_eq!(terminal.code, 2, "{}", terminal.stderr);
    assert!(
        markdown.stdout.contains("kubernetes_manifest.app"),
        "{}",
        markdown.stdout
    );
    let record = git(
        &stack.root,
        &[
            "show",
            "driftlog/audit:records/000000/000/000000000000.json",
        ],
    );
    assert!(record.contains("azapi_resource.vault"), "{record}");
    let history = git(&stack.root, &["log", "-p", "driftlog/audit"]);
    for (what, text) in [
        ("the JSON report", &json.stdout),
        ("the scan's messages", &json.stderr),
        ("the terminal report", &terminal.stdout),
        ("the markdown report", &markdown.stdout),
        ("the audit branch", &history),
    ] {
        assert!(!text.contains("s3cr3t"), "{what} shows a secret:\n{text}");
    }
}
