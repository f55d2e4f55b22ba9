//! The stream parser and the path differ on JSON recorded from real terraform runs
//! (`tests/fixtures/recorded/`, see its README for how it was recorded).

use driftlog::drift::{
    Action, AttrValue, DriftedResource, ScanReport, Severity, Stack, Status, Summary,
};
use driftlog::report::{self, Format};
use driftlog::scan::analyse_show_json;
use driftlog::terraform::stream::{parse_line, StreamEvent};
use serde_json::json;

fn recorded(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recorded")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn events(name: &str) -> Vec<StreamEvent> {
    recorded(name)
        .lines()
        .enumerate()
        .map(|(n, line)| {
            parse_line(line)
                .unwrap_or_else(|_| panic!("{name} line {} is not a stream message", n + 1))
        })
        .collect()
}

fn drifted() -> Vec<DriftedResource> {
    analyse_show_json(recorded("drift.show.json").as_bytes())
        .expect("recorded show document parses")
}

/// A report over the recorded drift, as a scan would build it.
fn recorded_report() -> ScanReport {
    let resources = drifted();
    ScanReport {
        schema_version: driftlog::drift::SCHEMA_VERSION,
        stack: Stack {
            dir: "recorded".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        tool: Some(driftlog::drift::Tool {
            name: driftlog::drift::ToolName::Terraform,
            version: "1.15.5".into(),
        }),
        status: Status::Drifted,
        started_at: "2026-11-24T00:00:00Z".into(),
        duration_ms: 1,
        summary: Summary::of(10, &resources, &[], &[]),
        resources,
        refactors: Vec::new(),
        output_changes: vec![],
        not_checked: Vec::new(),
        diagnostics: vec![],
        failure: None,
        evidence: Default::default(),
        audit: None,
        audit_pending: None,
        explanations: Vec::new(),
        owners: Vec::new(),
    }
}

fn find<'a>(resources: &'a [DriftedResource], address: &str) -> &'a DriftedResource {
    resources
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| panic!("{address} missing"))
}

fn paths(resource: &DriftedResource) -> Vec<&str> {
    resource.changes.iter().map(|c| c.path.as_str()).collect()
}

#[test]
fn clean_stream_has_a_version_and_no_drift() {
    let events = events("clean.plan.jsonl");
    assert_eq!(
        events[0],
        StreamEvent::Version(driftlog::drift::Tool {
            name: driftlog::drift::ToolName::Terraform,
            version: "1.15.5".into()
        })
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, StreamEvent::ResourceDrift(_))));
    let refreshed = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::RefreshComplete { .. }))
        .count();
    assert!(refreshed >= 6, "{refreshed} refresh_complete lines");
    assert!(events.contains(&StreamEvent::ChangeSummary));
}

#[test]
fn drift_stream_names_each_drifted_resource_and_action() {
    let mut drift: Vec<(String, String)> = events("drift.plan.jsonl")
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::ResourceDrift(n) => Some((n.address, n.action)),
            _ => None,
        })
        .collect();
    drift.sort();
    let expected = [
        (r#"filestate_object.keyed["we\"ird key"]"#, "update"),
        ("filestate_object.web", "update"),
        ("filestate_object.worker[1]", "delete"),
        ("module.bucket.filestate_object.this", "update"),
    ];
    assert_eq!(drift, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

#[test]
fn broken_stream_carries_the_error_diagnostic() {
    let diagnostics: Vec<_> = events("broken.plan.jsonl")
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::Diagnostic(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].severity, Severity::Error);
    assert_eq!(
        diagnostics[0].summary,
        "Reference to undeclared input variable"
    );
    assert!(diagnostics[0]
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("main.tf:")));
    assert_eq!(recorded("broken.plan.exitcode").trim(), "1");
}

#[test]
fn show_document_yields_attribute_paths_with_before_and_after() {
    let resources = drifted();
    assert_eq!(resources.len(), 4);
    let web = find(&resources, "filestate_object.web");
    assert_eq!(web.action, Action::Update);
    assert_eq!(paths(web), ["rule[1].cidr_blocks[0]", "secret", "tags.env"]);
    assert_eq!(web.changes[0].before, AttrValue::Known(json!("10.0.0.0/8")));
    assert_eq!(web.changes[0].after, AttrValue::Known(json!("10.1.0.0/16")));
    assert_eq!(
        (&web.changes[1].before, &web.changes[1].after),
        (&AttrValue::Sensitive, &AttrValue::Sensitive)
    );
    assert_eq!(web.changes[2].after, AttrValue::Known(json!("staging")));

    let keyed = find(&resources, r#"filestate_object.keyed["we\"ird key"]"#);
    assert_eq!(keyed.index, Some(json!("we\"ird key")));
    assert_eq!(paths(keyed), ["description"]);

    let bucket = find(&resources, "module.bucket.filestate_object.this");
    assert_eq!(bucket.module_address.as_deref(), Some("module.bucket"));
    assert_eq!(paths(bucket), ["enabled"]);

    let worker = find(&resources, "filestate_object.worker[1]");
    assert_eq!(worker.action, Action::Delete);
    assert_eq!(worker.index, Some(json!(1)));
    assert!(worker.changes.iter().all(|c| c.after == AttrValue::Absent));
}

#[test]
fn recorded_secrets_appear_in_no_rendering() {
    let raw = recorded("drift.show.json");
    assert!(
        raw.contains("s3cr3t-OLD-value") && raw.contains("s3cr3t-NEW-value"),
        "the fixture holds raw secrets"
    );
    let report = recorded_report();
    for format in [Format::Terminal, Format::Json, Format::Markdown] {
        for color in [false, true] {
            let text = report::render(&report, format, color);
            assert!(
                !text.contains("s3cr3t"),
                "{format:?} leaked a secret:\n{text}"
            );
        }
    }
    assert!(
        !format!("{report:?}").contains("s3cr3t"),
        "even Debug output holds no secret"
    );
}

#[test]
fn the_published_schema_accepts_reports_and_rejects_malformed_ones() {
    let validator =
        jsonschema::validator_for(&driftlog::drift::json_schema()).expect("valid schema");
    let report = recorded_report();
    let mut json = serde_json::to_value(&report).expect("serialize");
    assert!(validator.is_valid(&json));
    json["resources"][0]["changes"][0]["after"] = json!({"kind": "plaintext", "value": "x"});
    assert!(
        !validator.is_valid(&json),
        "an unknown value kind is rejected"
    );
    json["status"] = json!("weird");
    assert!(!validator.is_valid(&json));
}

/// The drift of the recorded classes scenario, classified as a scan does from the refresh-only
/// stream's notices and, with the stack's HCL, either the provider schemas and the refresh-only
/// plan's document, or the targeted normal plan's document.
fn recorded_classes(
    by_schema: bool,
    only: &[&str],
) -> (
    Vec<driftlog::terraform::stream::DriftNotice>,
    Option<Vec<DriftedResource>>,
) {
    use driftlog::scan::classify::Classifier;
    let notices: Vec<_> = events("classes.plan.jsonl")
        .into_iter()
        .filter_map(|event| match event {
            StreamEvent::ResourceDrift(notice)
                if only.is_empty() || only.contains(&notice.address.as_str()) =>
            {
                Some(notice)
            }
            _ => None,
        })
        .collect();
    let document = if by_schema {
        "classes.show.json"
    } else {
        "classes-classify.show.json"
    };
    let plan = driftlog::terraform::show::parse_plan(recorded(document).as_bytes())
        .expect("recorded plan document parses");
    let schemas = driftlog::terraform::schema::ProviderSchemas::parse(
        recorded("classes-providers-schema.json").as_bytes(),
    )
    .expect("recorded schema parses");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recorded/classes-config");
    let declarations = driftlog::terraform::config::Declarations::load(&dir);
    let classifier = Classifier {
        plan: &plan,
        schemas: by_schema.then_some(&schemas),
        declarations: &declarations,
        stack_dir: &dir,
        count_unmanaged: false,
    };
    let resources = driftlog::scan::classified_resources(&notices, &classifier);
    (notices, resources)
}

#[test]
fn recorded_refresh_reports_a_move_as_drift_and_driftlog_does_not() {
    let (notices, resources) = recorded_classes(false, &[]);
    let resources = resources.unwrap_or_default();
    let moved = notices
        .iter()
        .find(|n| n.action == "move")
        .expect("terraform streams the move as resource_drift");
    assert_eq!(moved.address, "filestate_object.renamed");
    assert_eq!(
        moved.previous_address.as_deref(),
        Some("filestate_object.old")
    );
    assert!(resources
        .iter()
        .all(|r| r.address != "filestate_object.renamed"));
    assert_eq!(resources.len(), 4, "web, quiet, pinned, gone");
}

#[test]
fn recorded_schema_decides_what_it_can_and_the_plan_the_rest() {
    let (_, by_schema) = recorded_classes(true, &[]);
    assert!(
        by_schema.is_none(),
        "web's computed status and revision need the plan"
    );
    let without_web = [
        "filestate_object.quiet",
        "filestate_object.pinned",
        "filestate_object.gone",
    ];
    let (_, by_schema) = recorded_classes(true, &without_web);
    let by_schema = by_schema.expect("the schema decides the rest");
    let (_, by_plan) = recorded_classes(false, &without_web);
    assert_eq!(
        by_schema,
        by_plan.unwrap_or_default(),
        "the same answer both ways"
    );
}

#[test]
fn recorded_normal_plan_classifies_every_drifted_attribute() {
    let rule = "terraform plan";
    let (_, resources) = recorded_classes(false, &[]);
    let resources = resources.expect("a plan always decides");
    let class = |address: &str, path: &str| {
        let change = find(&resources, address)
            .changes
            .iter()
            .find(|c| c.path == path)
            .unwrap_or_else(|| panic!("{address} {path}"));
        (
            change.class.as_str(),
            change.ignored.as_ref().map(|i| i.rule.as_str()),
        )
    };
    assert_eq!(class("filestate_object.web", "tags.env"), ("managed", None));
    for computed in ["status", "revision", "region"] {
        assert_eq!(
            class("filestate_object.web", computed),
            ("unmanaged", Some(rule)),
            "{computed}"
        );
    }
    assert_eq!(
        class("filestate_object.pinned", "region"),
        ("managed", None)
    );
    for ignored in ["tags.env", "description"] {
        assert_eq!(
            class("filestate_object.quiet", ignored),
            ("ignored_by_configuration", Some("main.tf:20"))
        );
    }
    let gone = find(&resources, "filestate_object.gone");
    assert_eq!(gone.action, Action::Delete);
    assert!(gone.counts());
    assert!(!find(&resources, "filestate_object.quiet").counts());
    // The recorded documents hold the secret raw; nothing built from them does.
    assert!(recorded("classes-classify.show.json").contains("s3cr3t-classes"));
    assert!(!format!("{resources:?}").contains("s3cr3t-classes"));
}
