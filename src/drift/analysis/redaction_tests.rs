//! Redaction: no value a mask withholds, however the mask or the value is shaped, reaches a
//! report, a comment or an audit record.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::audit::record::{ChainPosition, LogId, Record, StackRef};
use crate::context::{Local, RunContext};
use crate::drift::{Action, DriftClass, DriftedResource, ScanReport, Stack, Status, Summary};
use crate::report::{self, markdown, Format};

/// Every planted secret starts with it; no generated key or value can contain it.
const MARK: &str = "s3cr3t";

fn sides<'a>(d: &'a Document) -> Sides<'a> {
    Sides {
        before: &d.before,
        after: &d.after,
        before_sensitive: &d.before_sensitive,
        after_sensitive: &d.after_sensitive,
        after_unknown: &d.after_unknown,
    }
}

/// One drift entry's five trees, as terraform's `change` object spells them.
#[derive(Debug, Clone, serde::Deserialize)]
struct Document {
    #[serde(default)]
    before: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    before_sensitive: Value,
    #[serde(default)]
    after_sensitive: Value,
    #[serde(default = "empty_object")]
    after_unknown: Value,
}

fn empty_object() -> Value {
    json!({})
}

fn doc(before: Value, after: Value, before_sensitive: Value, after_sensitive: Value) -> Document {
    Document {
        before,
        after,
        before_sensitive,
        after_sensitive,
        after_unknown: json!({}),
    }
}

fn resource_of(d: &Document) -> DriftedResource {
    let sides = sides(d);
    DriftedResource {
        address: "kubernetes_manifest.app".into(),
        module_address: None,
        mode: "managed".into(),
        resource_type: "kubernetes_manifest".into(),
        name: "app".into(),
        index: None,
        provider: "registry.terraform.io/hashicorp/kubernetes".into(),
        action: Action::Update,
        previous_address: None,
        class: DriftClass::Managed,
        changes: attribute_changes(&sides),
        identifiers: identifiers(&sides),
        ignored: None,
    }
}

fn report_of(resource: DriftedResource) -> ScanReport {
    let mut report = ScanReport::new(
        Stack {
            dir: "infra".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        "2026-12-02T00:00:00Z".into(),
    );
    report.status = Status::Drifted;
    report.summary = Summary::of(1, std::slice::from_ref(&resource), &[], &[]);
    report.resources = vec![resource];
    report
}

/// Everything a user or the log gets from a report: terminal (plain and coloured), JSON,
/// markdown (the comment, the check run and the job summary), the annotations, and the
/// audit record's canonical bytes.
fn rendered(report: &ScanReport) -> Vec<(&'static str, String)> {
    let record = Record::of_scan(
        report,
        StackRef {
            path: "infra".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        RunContext::Local(Local::default()),
        LogId {
            repository: "example.com/acme/infra".into(),
            branch: "driftlog/audit".into(),
        },
        ChainPosition::genesis(),
        "SHA256:key".into(),
        "2026-12-02T00:00:00Z".into(),
    );
    let record = crate::audit::canonical::to_canonical_vec_of(&record).expect("canonical");
    let locate = |_: &DriftedResource| Some(("main.tf".to_owned(), 1));
    let annotations = crate::actions::drift_annotations(report, &locate, 10);
    vec![
        ("terminal", report::render(report, Format::Terminal, false)),
        (
            "coloured terminal",
            report::render(report, Format::Terminal, true),
        ),
        ("json", report::render(report, Format::Json, false)),
        ("markdown", report::render(report, Format::Markdown, false)),
        (
            "comment",
            markdown::render(report, &markdown::Budget::GITHUB_COMMENT),
        ),
        ("annotations", format!("{annotations:?}")),
        ("record", String::from_utf8_lossy(&record).into_owned()),
    ]
}

/// The drift of `d`, asserting `secret` is in none of its outputs.
fn assert_withheld(d: &Document, secret: &str) -> DriftedResource {
    let resource = resource_of(d);
    for (what, text) in rendered(&report_of(resource.clone())) {
        assert!(
            !text.contains(secret),
            "{what} shows {secret} for {d:?}:\n{text}"
        );
    }
    resource
}

fn at<'r>(resource: &'r DriftedResource, path: &str) -> (&'r AttrValue, &'r AttrValue) {
    let change = resource
        .changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no change at {path}: {:#?}", resource.changes));
    (&change.before, &change.after)
}

const S: &str = "s3cr3t-pw-9f2c";
const WITHHELD: (&AttrValue, &AttrValue) = (&AttrValue::Sensitive, &AttrValue::Sensitive);

#[test]
fn a_string_that_becomes_an_object_with_a_secret_is_withheld_whole() {
    let d = doc(
        json!({"x": "plain"}),
        json!({"x": {"pw": S}}),
        json!({}),
        json!({"x": {"pw": true}}),
    );
    assert_eq!(at(&assert_withheld(&d, S), "x"), WITHHELD);
    let back = doc(
        json!({"x": {"pw": S}}),
        json!({"x": "plain"}),
        json!({"x": {"pw": true}}),
        json!({}),
    );
    assert_eq!(at(&assert_withheld(&back, S), "x"), WITHHELD);
}

#[test]
fn an_object_that_becomes_an_array_or_back_is_withheld_whole() {
    let d = doc(
        json!({"body": {"spec": {"token": S}}}),
        json!({"body": ["a"]}),
        json!({"body": {"spec": {"token": true}}}),
        json!({"body": [false]}),
    );
    assert_eq!(at(&assert_withheld(&d, S), "body"), WITHHELD);
    let back = doc(
        json!({"body": ["a"]}),
        json!({"body": {"spec": {"token": S}}}),
        json!({"body": [false]}),
        json!({"body": {"spec": {"token": true}}}),
    );
    assert_eq!(at(&assert_withheld(&back, S), "body"), WITHHELD);
}

#[test]
fn a_string_that_becomes_a_list_with_a_secret_is_withheld_whole() {
    let d = doc(
        json!({"x": "plain"}),
        json!({"x": ["ok", S]}),
        json!({}),
        json!({"x": [false, true]}),
    );
    assert_eq!(at(&assert_withheld(&d, S), "x"), WITHHELD);
}

#[test]
fn malformed_masks_withhold_what_they_cover() {
    for mask in [
        json!("true"),
        json!(1),
        json!(null),
        json!({"0": true}),
        json!([false]),
        json!([false, false, false]),
    ] {
        let d = doc(
            json!({"x": ["ok", "old"]}),
            json!({"x": ["ok", S]}),
            json!({}),
            json!({ "x": mask }),
        );
        assert_eq!(at(&assert_withheld(&d, S), "x"), WITHHELD, "mask {mask}");
    }
    // A scalar under a malformed mask, and a whole document under one.
    for mask in [json!("true"), json!(1), json!({}), json!([])] {
        let d = doc(
            json!({"x": "old"}),
            json!({"x": S}),
            json!({}),
            json!({ "x": mask }),
        );
        assert_eq!(at(&assert_withheld(&d, S), "x"), WITHHELD, "mask {mask}");
    }
    for mask in [json!("true"), json!(1), json!([]), json!(null)] {
        let whole = doc(
            json!({"x": "old"}),
            json!({"x": S}),
            json!({}),
            mask.clone(),
        );
        assert_eq!(at(&assert_withheld(&whole, S), ""), WITHHELD, "mask {mask}");
    }
}

#[test]
fn well_formed_masks_still_show_what_they_do_not_cover() {
    let d = doc(
        json!({"rule": [{"port": 22, "token": S}], "tags": {"env": "prod"}}),
        json!({"rule": [{"port": 23, "token": S}], "tags": {"env": "dev"}}),
        json!({"rule": [{"token": true}], "tags": {}}),
        json!({"rule": [{"token": true}], "tags": {}}),
    );
    let resource = assert_withheld(&d, S);
    let known = |v: Value| AttrValue::Known(v);
    assert_eq!(
        at(&resource, "rule[0].port"),
        (&known(json!(22)), &known(json!(23)))
    );
    assert_eq!(
        at(&resource, "tags.env"),
        (&known(json!("prod")), &known(json!("dev")))
    );
    // Terraform leaves out the mask of a side without a value.
    let created = doc(json!(null), json!({"n": "a"}), json!(null), json!({}));
    assert_eq!(
        at(&assert_withheld(&created, S), "n"),
        (&AttrValue::Absent, &known(json!("a")))
    );
}

#[test]
fn a_container_shown_whole_is_withheld_when_it_holds_a_secret() {
    // The containers differ only by a null, so the differ shows them whole.
    let d = doc(
        json!({"c": {"pw": S, "n": null}}),
        json!({"c": {"pw": S}}),
        json!({"c": {"pw": true}}),
        json!({"c": {"pw": true}}),
    );
    assert_eq!(at(&assert_withheld(&d, S), "c"), WITHHELD);
    // Unknown after apply: the old value is not shown either.
    let unknown = Document {
        after_unknown: json!({"c": true}),
        ..doc(
            json!({"c": {"pw": S}}),
            json!({}),
            json!({"c": {"pw": true}}),
            json!({}),
        )
    };
    assert_eq!(
        at(&assert_withheld(&unknown, S), "c"),
        (&AttrValue::Sensitive, &AttrValue::Unknown)
    );
}

#[test]
fn a_map_key_that_is_a_secret_withholds_its_map() {
    let d = doc(
        json!({"labels": {S: "a"}, "pw": S}),
        json!({"labels": {S: "b"}, "pw": S}),
        json!({"pw": true}),
        json!({"pw": true}),
    );
    assert_eq!(at(&assert_withheld(&d, S), "labels"), WITHHELD);
}

#[test]
fn identifiers_never_carry_a_secret() {
    // A name from a sensitive variable, the id the provider copied from it.
    let d = doc(
        json!({"id": S, "name": S, "arn": format!("arn:aws:s3:::{S}"), "self_link": "ok", "size": 1}),
        json!({"id": S, "name": S, "arn": format!("arn:aws:s3:::{S}"), "self_link": "ok", "size": 2}),
        json!({"name": true}),
        json!({"name": true}),
    );
    let resource = assert_withheld(&d, S);
    assert_eq!(
        resource.identifiers,
        BTreeMap::from([("self_link".to_owned(), "ok".to_owned())])
    );
    // Masked on one side only.
    let one_sided = doc(
        json!({"name": S, "size": 1}),
        json!({"name": S, "size": 2}),
        json!({}),
        json!({"name": true}),
    );
    assert!(assert_withheld(&one_sided, S).identifiers.is_empty());
    // A whole-resource mask, and a malformed one.
    for mask in [json!(true), json!({"name": 1})] {
        let whole = doc(
            json!({"name": S, "size": 1}),
            json!({"name": S, "size": 2}),
            mask.clone(),
            json!({}),
        );
        assert!(assert_withheld(&whole, S).identifiers.is_empty(), "{mask}");
    }
    // A short sensitive value hides only an identifier that is exactly it.
    let short = doc(
        json!({"id": "i-1", "name": "web", "flag": true}),
        json!({"id": "i-1", "name": "web", "flag": false}),
        json!({"flag": true}),
        json!({"flag": true}),
    );
    assert_eq!(resource_of(&short).identifiers.len(), 2);
}

#[test]
fn identities_equal_to_a_secret_are_dropped() {
    let d = doc(
        json!({"name": S}),
        json!({"name": S}),
        json!({"name": true}),
        json!({"name": true}),
    );
    let mut found = BTreeMap::from([("id".to_owned(), S.to_owned())]);
    add_identity(
        &json!({"name": S, "region": "eu", "path": format!("buckets/{S}")}),
        &[sides(&d)],
        &mut found,
    );
    assert_eq!(
        found,
        BTreeMap::from([("identity.region".to_owned(), "eu".to_owned())])
    );
}

// The property: arbitrary values, arbitrary (often malformed) masks, a secret planted under
// every position a mask withholds.

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..3).prop_map(Value::from),
        "[ab]{0,2}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A mask for `value`: mostly shaped like it, sometimes `true`, `false`, absent, or malformed
/// (null, a number, a string, the wrong container, an array of the wrong length).
fn mask_for(value: &Value) -> BoxedStrategy<Value> {
    let malformed = prop_oneof![
        Just(Value::Null),
        Just(json!(1)),
        Just(json!("true")),
        Just(json!({})),
        Just(json!([])),
        Just(json!([false])),
        Just(json!([true, false, false])),
    ];
    let shaped: BoxedStrategy<Value> = match value {
        Value::Object(map) => {
            let children: Vec<BoxedStrategy<(String, Option<Value>)>> = map
                .iter()
                .map(|(key, item)| {
                    let key = key.clone();
                    prop::option::weighted(0.7, mask_for(item))
                        .prop_map(move |mask| (key.clone(), mask))
                        .boxed()
                })
                .collect();
            children
                .prop_map(|pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .filter_map(|(k, m)| m.map(|m| (k, m)))
                            .collect(),
                    )
                })
                .boxed()
        }
        Value::Array(items) => {
            let children: Vec<BoxedStrategy<Value>> = items.iter().map(mask_for).collect();
            children.prop_map(Value::Array).boxed()
        }
        _ => Just(Value::Bool(false)).boxed(),
    };
    prop_oneof![
        6 => shaped,
        2 => Just(Value::Bool(false)),
        2 => Just(Value::Bool(true)),
        1 => malformed,
    ]
    .boxed()
}

/// Whether the spec withholds the value under `mask` whole: any mask but `false`, absent,
/// an object over an object, or an array over an array as long, withholds it.
fn marks(mask: Option<&Value>, value: &Value) -> bool {
    match (mask, value) {
        (None | Some(Value::Bool(false)), _) => false,
        (Some(Value::Null), Value::Null) => false,
        (Some(Value::Object(_)), Value::Object(_) | Value::Null) => false,
        (Some(Value::Array(_)), Value::Null) => false,
        (Some(Value::Array(m)), Value::Array(v)) => m.len() != v.len(),
        _ => true,
    }
}

/// Replaces every scalar the mask withholds with a fresh secret (numbered by `count`).
fn plant(value: &mut Value, mask: Option<&Value>, count: &mut usize) {
    if marks(mask, value) {
        return fill(value, count);
    }
    let mask = match mask {
        Some(m @ (Value::Object(_) | Value::Array(_))) => m,
        _ => return,
    };
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                plant(item, mask.get(key), count);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                plant(item, mask.get(index), count);
            }
        }
        _ => {}
    }
}

fn fill(value: &mut Value, count: &mut usize) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, count)),
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, count)),
        _ => {
            *count += 1;
            *value = Value::String(format!("{MARK}-{count}"));
        }
    }
}

fn document() -> impl Strategy<Value = (Document, bool)> {
    let object = || {
        prop::collection::btree_map("[a-c]|id|name", value(), 0..4)
            .prop_map(|map| Value::Object(map.into_iter().collect()))
    };
    (object(), object(), value(), any::<bool>())
        .prop_flat_map(|(before, after, unknown, copy_id)| {
            (
                Just(before.clone()),
                Just(after.clone()),
                mask_for(&before),
                mask_for(&after),
                Just(unknown),
                Just(copy_id),
            )
        })
        .prop_map(|(mut before, mut after, bs, a_s, after_unknown, copy_id)| {
            let mut count = 0;
            plant(&mut before, Some(&bs), &mut count);
            plant(&mut after, Some(&a_s), &mut count);
            // A provider's id copied from a secret, itself not masked.
            if copy_id && count > 0 {
                for side in [&mut before, &mut after] {
                    if let Some(map) = side.as_object_mut() {
                        map.entry("id")
                            .or_insert_with(|| Value::String(format!("{MARK}-1")));
                    }
                }
            }
            let d = Document {
                before,
                after,
                before_sensitive: bs,
                after_sensitive: a_s,
                after_unknown,
            };
            (d, copy_id)
        })
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/redaction");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn fuzz_redaction_corpus() {
    let files = corpus();
    assert!(!files.is_empty(), "the corpus is empty");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        let d: Document =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(MARK), "{} plants no secret", file.display());
        let resource = assert_withheld(&d, MARK);
        assert!(
            !resource.changes.is_empty(),
            "{}: the drift itself is still reported",
            file.display()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_redaction((d, _copied) in document()) {
        let resource = resource_of(&d);
        for (what, text) in rendered(&report_of(resource.clone())) {
            prop_assert!(!text.contains(MARK), "{} shows a secret for {:?}:\n{}", what, d, text);
        }
        prop_assert!(resource.identifiers.values().all(|id| !id.contains(MARK)));
    }
}

#[test]
fn a_long_secret_copied_elsewhere_is_withheld_there_a_short_one_is_not() {
    let d = doc(
        json!({"pw": S, "copy": format!("user:{S}"), "pin": "v1", "version": "v1"}),
        json!({"pw": S, "copy": "other", "pin": "v2", "version": "v2"}),
        json!({"pw": true, "pin": true}),
        json!({"pw": true, "pin": true}),
    );
    let resource = assert_withheld(&d, S);
    assert_eq!(at(&resource, "copy"), WITHHELD);
    assert_eq!(at(&resource, "pin"), WITHHELD);
    assert_eq!(
        at(&resource, "version"),
        (
            &AttrValue::Known(json!("v1")),
            &AttrValue::Known(json!("v2"))
        ),
        "a short secret withholds only itself"
    );
}

#[test]
fn a_large_document_with_many_secrets_is_redacted_quickly() {
    // A manifest of 2,000 masked values next to 2,000 unmasked ones that all changed.
    let side = |tag: &str| {
        let secrets: serde_json::Map<String, Value> = (0..2000)
            .map(|i| (format!("k{i}"), json!(format!("{MARK}-{tag}-{i:05}"))))
            .collect();
        let plain: serde_json::Map<String, Value> = (0..2000)
            .map(|i| (format!("k{i}"), json!(format!("plain-{tag}-{i}"))))
            .collect();
        json!({"data": secrets, "labels": plain})
    };
    let mask = json!({"data": true});
    let d = doc(side("a"), side("b"), mask.clone(), mask);
    let started = std::time::Instant::now();
    let resource = resource_of(&d);
    assert_eq!(resource.changes.len(), 2001);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
