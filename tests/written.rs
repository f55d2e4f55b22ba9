//! Documents written from the tools' source, not recorded (see
//! `tests/fixtures/written/README.md`): OpenTofu, which cannot be installed here, and
//! Terraform features the test provider cannot produce (resource identity, write-only
//! attributes, deferred changes, `forget`, ephemeral resources, moves in a normal plan).

use std::path::{Path, PathBuf};

use driftlog::drift::DriftedResource;
use driftlog::scan::classify::Classifier;
use driftlog::terraform::config::Declarations;
use driftlog::terraform::show::{parse_plan, PlanDocument};
use driftlog::terraform::stream::{parse_line, DriftNotice, StreamEvent};
use serde_json::{json, Value};

use crate::support::{resource, Stack};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/written")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

fn document(name: &str) -> PlanDocument {
    parse_plan(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The notices a refresh would have streamed for the document's drift entries.
fn notices(plan: &PlanDocument) -> Vec<DriftNotice> {
    plan.resource_drift
        .iter()
        .map(|entry| DriftNotice {
            address: entry.address.clone(),
            action: entry.change.actions.join(","),
            previous_address: entry.previous_address.clone(),
        })
        .collect()
}

/// The document's drift, classified without any configuration files (no `ignore_changes`).
fn classified(name: &str) -> Vec<DriftedResource> {
    let plan = document(name);
    let declarations = Declarations::default();
    let classifier = Classifier {
        plan: &plan,
        schemas: None,
        declarations: &declarations,
        stack_dir: Path::new("."),
        count_unmanaged: false,
    };
    driftlog::scan::classified_resources(&notices(&plan), &classifier)
        .expect("a plan always decides")
}

fn class(resource: &DriftedResource, path: &str) -> &'static str {
    resource
        .changes
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.class.as_str())
        .unwrap_or_else(|| panic!("no change at {path}: {resource:#?}"))
}

/// A stand-in `tofu` that replays what OpenTofu prints for each command and notes the
/// arguments it was given; `providers schema` fails unless `with_schema`.
fn fake_tofu(stack: &Stack, with_schema: bool) -> (String, PathBuf) {
    let dir = fixture("opentofu");
    let args_log = stack.root.join(format!("tofu-args-{with_schema}"));
    let schema = if with_schema {
        format!("cat '{}/providers-schema.json'", dir.display())
    } else {
        "echo 'no schema here' >&2; exit 1".to_owned()
    };
    let tofu = stack.fake_terraform(
        &format!("tofu-{with_schema}"),
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{log}'\ncase \"$1 $2\" in\n\
             'plan -refresh-only') cat '{dir}/refresh.plan.jsonl'; exit 2 ;;\n\
             'plan '*) cat '{dir}/classify.plan.jsonl'; exit 2 ;;\n\
             'show -json') cat '{dir}/classify.show.json' ;;\n\
             'providers schema') {schema} ;;\n\
             *) echo \"unexpected: $*\" >&2; exit 1 ;;\nesac\n",
            log = args_log.display(),
            dir = dir.display()
        ),
    );
    (tofu, args_log)
}

fn class_at(resource: &Value, path: &str) -> (Value, Value) {
    resource["changes"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["path"] == path))
        .map(|c| (c["class"].clone(), c["ignored"]["rule"].clone()))
        .unwrap_or_else(|| panic!("no {path}: {resource:#}"))
}

#[test]
fn opentofu_is_read_classified_and_named() {
    let stack = Stack::new(&[(
        "main.tf",
        &String::from_utf8_lossy(&read("opentofu/main.tf")),
    )]);
    for with_schema in [true, false] {
        let (tofu, args_log) = fake_tofu(&stack, with_schema);
        let run = stack.scan_json_with(&tofu);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let report = run.json();
        assert_eq!(
            report["tool"],
            json!({"name": "opentofu", "version": "1.11.2"})
        );
        let web = resource(&report, "filestate_object.web");
        assert_eq!(class_at(web, "tags.env"), (json!("managed"), Value::Null));
        // Computed only: with or without a schema, the plan says apply leaves it.
        assert_eq!(
            class_at(web, "status"),
            (json!("unmanaged"), json!("terraform plan"))
        );
        assert_eq!(
            report["evidence"]["provider_schema_sha256"].is_string(),
            with_schema,
            "{report:#}"
        );
        let quiet = resource(&report, "filestate_object.quiet");
        assert_eq!(
            class_at(quiet, "description"),
            (json!("ignored_by_configuration"), json!("main.tf:29"))
        );
        assert_eq!(
            resource(&report, "filestate_object.gone")["class"],
            "managed"
        );
        assert_eq!(
            report["refactors"],
            json!([{"address": "filestate_object.renamed",
                    "previous_address": "filestate_object.old", "action": "move"}])
        );
        assert_eq!(report["summary"]["drifted"], 2, "web and gone");

        let args = std::fs::read_to_string(&args_log).unwrap_or_default();
        let classify = args
            .lines()
            .find(|line| line.starts_with("plan ") && !line.contains("-refresh-only"))
            .unwrap_or_else(|| panic!("no classifying plan ran: {args}"));
        for target in ["web", "quiet", "gone", "renamed", "old"] {
            assert!(
                classify.contains(&format!("-target=filestate_object.{target}")),
                "both ends of a move and every drifted resource are targeted: {classify}"
            );
        }
    }

    let (tofu, _) = fake_tofu(&stack, true);
    let terminal = stack.scan(&["--terraform-bin", &tofu]);
    assert!(
        terminal.stdout.contains("OpenTofu 1.11.2 · scanned in")
            && terminal.stdout.contains("changed outside OpenTofu"),
        "{}",
        terminal.stdout
    );
    let markdown = stack.scan(&["--terraform-bin", &tofu, "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("OpenTofu 1.11.2"),
        "{}",
        markdown.stdout
    );
    let json = stack.scan_json_with(&tofu);
    for out in [
        &json.stdout,
        &terminal.stdout,
        &markdown.stdout,
        &json.stderr,
    ] {
        assert!(!out.contains("hunter2-web"), "the secret leaked");
    }
}

#[test]
fn the_opentofu_stream_names_the_tool_and_its_moves() {
    let text = String::from_utf8_lossy(&read("opentofu/refresh.plan.jsonl")).into_owned();
    let events: Vec<StreamEvent> = text
        .lines()
        .map(|line| parse_line(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let Some(StreamEvent::Version(tool)) = events.first() else {
        panic!("no version first: {events:?}")
    };
    assert_eq!(tool.to_string(), "OpenTofu 1.11.2");
    let moves: Vec<&DriftNotice> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ResourceDrift(notice) if !notice.is_object_change() => Some(notice),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 1);
    assert_eq!(
        moves[0].previous_address.as_deref(),
        Some("filestate_object.old")
    );
}

#[test]
fn resource_identity_from_the_planned_change_becomes_identifiers() {
    let resources = classified("terraform-1.12-identity-normal.show.json");
    let logs = &resources[0];
    assert_eq!(class(logs, "tags.env"), "managed");
    assert_eq!(
        logs.identifiers.get("identity.bucket").map(String::as_str),
        Some("acme-logs-prod")
    );
    assert_eq!(
        logs.identifiers
            .get("identity.account_id")
            .map(String::as_str),
        Some("111122223333")
    );
    // A refresh-only plan has the identity in its prior state only, where the schema path
    // takes it from.
    let plan = document("terraform-1.12-identity.show.json");
    let identity = plan
        .identity("aws_s3_bucket.logs")
        .cloned()
        .unwrap_or_default();
    assert_eq!(identity["bucket"], "acme-logs-prod");
}

#[test]
fn write_only_attributes_never_drift() {
    let resources = classified("terraform-1.11-write-only.show.json");
    let db = &resources[0];
    assert_eq!(class(db, "allocated_storage"), "managed");
    assert!(
        db.changes.iter().all(|c| !c.path.starts_with("password")),
        "{:?}",
        db.changes
    );
}

#[test]
fn a_deferred_planned_change_still_classifies_its_drift() {
    let resources = classified("terraform-1.14-deferred.show.json");
    let service = &resources[0];
    assert_eq!(service.address, "aws_ecs_service.api");
    assert_eq!(class(service, "desired_count"), "managed");
    assert!(service.counts());
}

#[test]
fn a_forgotten_resource_is_not_managed_drift() {
    let resources = classified("terraform-1.7-forget.show.json");
    let legacy = &resources[0];
    assert_eq!(class(legacy, "instance_type"), "unmanaged");
    assert!(!legacy.counts());
    let reason = legacy
        .ignored
        .as_ref()
        .map(|i| i.reason.as_str())
        .unwrap_or_default();
    assert!(reason.contains("removed block"), "{reason}");
}

#[test]
fn ephemeral_resources_in_the_stream_are_neither_drift_nor_errors() {
    let text = String::from_utf8_lossy(&read("terraform-1.10-ephemeral.plan.jsonl")).into_owned();
    let mut drift = Vec::new();
    for line in text.lines() {
        match parse_line(line) {
            Ok(StreamEvent::ResourceDrift(notice)) => drift.push(notice.address),
            Ok(StreamEvent::RefreshStart { address }) => {
                assert!(!address.starts_with("ephemeral."), "{line}")
            }
            Ok(_) => {}
            Err(_) => panic!("not JSON: {line}"),
        }
    }
    assert_eq!(drift, ["postgresql_database.app"]);
}

#[test]
fn a_normal_plan_reports_a_moved_and_drifted_resource_under_its_new_address() {
    let resources = classified("terraform-1.15-normal-move.show.json");
    assert_eq!(
        resources.len(),
        1,
        "the move-only queue is no drift: {resources:#?}"
    );
    let queue = &resources[0];
    assert_eq!(queue.address, "aws_sqs_queue.b");
    assert_eq!(queue.previous_address.as_deref(), Some("aws_sqs_queue.a"));
    assert_eq!(class(queue, "tags.env"), "managed");
    let stream =
        String::from_utf8_lossy(&read("terraform-1.15-normal-move.plan.jsonl")).into_owned();
    let notices: Vec<DriftNotice> = stream
        .lines()
        .filter_map(|line| match parse_line(line) {
            Ok(StreamEvent::ResourceDrift(notice)) => Some(notice),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].is_object_change());
    assert_eq!(
        notices[0].previous_address.as_deref(),
        Some("aws_sqs_queue.a")
    );
}
