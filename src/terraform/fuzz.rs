//! Properties over what terraform (or whatever runs as it) may write: the `-json` stream, the
//! `show -json` document and the provider schemas. Nothing panics, garbage is an error and
//! never a clean scan, and no error quotes the input. Each property also replays the hostile
//! documents in `tests/fuzz-corpus/`.

use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::ExitStatus;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::process::StderrTail;
use super::{judge_plan, read_plan_stream, schema, show, stream, PlanRun, TerraformError};

const SECRET: &str = "s3cr3t-fuzz-value";

/// Every file of `tests/fuzz-corpus/<target>/`.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// A plan run to its end on `stream` with `exit_code`, as [`super::Terraform::plan`] judges it.
fn plan_of(stream: &[u8], exit_code: i32) -> Result<PlanRun, TerraformError> {
    let run = read_plan_stream("terraform", "terraform plan", stream, &mut |_| {})?;
    judge_plan(
        "terraform",
        "terraform plan",
        run,
        ExitStatus::from_raw(exit_code << 8),
        StderrTail::default(),
    )
}

/// Whether every non-empty line is one of terraform's JSON messages and one of them is
/// `version`: what a stream must be for a plan to succeed.
fn is_a_stream(bytes: &[u8]) -> bool {
    let mut version = false;
    for line in bytes.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match stream::parse_line(text) {
            Ok(stream::StreamEvent::Version(_)) => version = true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    version
}

/// What a stream is judged must hold: success only for a well-formed stream, and with no
/// error diagnostic; an error that never quotes terraform's text.
fn check_stream(bytes: &[u8]) -> Result<(), TestCaseError> {
    for exit_code in [0, 2] {
        match plan_of(bytes, exit_code) {
            Ok(run) => {
                prop_assert!(is_a_stream(bytes), "garbage became a plan: {run:?}");
                prop_assert!(run.tool.is_some());
                prop_assert!(!run
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == crate::drift::Severity::Error));
                prop_assert!(run.drift.len() <= run.lines);
            }
            Err(err) => {
                let message = err.to_string();
                prop_assert!(!message.contains(SECRET), "{message}");
                prop_assert!(!err.brief().contains(SECRET));
            }
        }
    }
    Ok(())
}

fn valid_stream() -> Vec<String> {
    [
        json!({"@level":"info","@message":"Terraform 1.15.5","terraform":"1.15.5","type":"version","ui":"1.2"}),
        json!({"type":"refresh_start","hook":{"resource":{"addr":"a.b"}}}),
        json!({"type":"refresh_complete","hook":{"resource":{"addr":"a.b"}}}),
        json!({"type":"resource_drift","change":{"resource":{"addr":"a.b"},"action":"update"}}),
        json!({"type":"diagnostic","diagnostic":{"severity":"warning","summary":"w","detail":"d"}}),
        // Terraform's own diagnostics are quoted by design; any other text never is.
        json!({"type":"planned_change","@message":SECRET,"change":{"resource":{"addr":"a.b"}}}),
        json!({"type":"outputs","outputs":{"o":{"action":"update","sensitive":true}}}),
        json!({"type":"change_summary","changes":{"add":0}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect()
}

/// One way to damage a stream.
#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    DropLine(usize),
    DuplicateLine(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::FlipByte(at, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(lines: &[String], mutations: &[Mutation]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    for mutation in mutations {
        match mutation {
            Mutation::DropLine(i) if !lines.is_empty() => {
                lines.remove(i % lines.len());
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % lines.len()].clone();
                lines.insert(i % lines.len(), line);
            }
            _ => {}
        }
    }
    let mut bytes = lines.join(&b'\n');
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::FlipByte(at, b) if !bytes.is_empty() => bytes[at % len] ^= b | 1,
            Mutation::Insert(at, more) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, more.iter().copied());
            }
            Mutation::Delete(at, n) if !bytes.is_empty() => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

/// Arbitrary JSON: every type, deep or wide, with numbers serde_json and terraform disagree
/// on written as text where it matters.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[a-z_]{0,12}".prop_map(Value::String),
        Just(Value::String(SECRET.to_owned())),
        Just(json!(["update"])),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,10}".boxed(),
                    prop::sample::select(FIELDS).prop_map(str::to_owned).boxed()
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// The member names the parsers look for, so arbitrary documents reach them.
const FIELDS: &[&str] = &[
    "resource_drift",
    "resource_changes",
    "deferred_changes",
    "resource_change",
    "configuration",
    "root_module",
    "resources",
    "module_calls",
    "module",
    "expressions",
    "constant_value",
    "prior_state",
    "values",
    "child_modules",
    "identity",
    "address",
    "change",
    "actions",
    "before",
    "after",
    "before_sensitive",
    "after_sensitive",
    "after_unknown",
    "mode",
    "type",
    "name",
    "provider_name",
    "provider_schemas",
    "resource_schemas",
    "block",
    "attributes",
    "block_types",
    "nested_type",
    "nesting_mode",
    "optional",
    "computed",
    "required",
];

/// Text JSON cannot hold as a value of its own: nesting, numbers out of every range.
fn hostile_json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (100..400usize).prop_map(|depth| format!(
            "{{\"resource_drift\":[{{\"address\":\"a\",\"change\":{{\"actions\":[\"update\"],\"before\":{}1{}}}}}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )),
        (100..400usize).prop_map(|depth| format!(
            "{{\"provider_schemas\":{}{}}}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        )),
        prop::sample::select(&["1e400", "-1e400", "123456789012345678901234567890", "-0", "1E-400"][..])
            .prop_map(|n| format!(
                "{{\"resource_drift\":[{{\"address\":\"a\",\"change\":{{\"actions\":[\"update\"],\"before\":{{\"n\":{n}}},\"after\":{{\"n\":1}}}}}}]}}"
            )),
    ]
}

/// A show document as the scan reads it: parsed, then analysed, never a panic; an error
/// never quotes the document.
fn check_show(json: &[u8]) -> Result<(), TestCaseError> {
    if let Err(err) = crate::scan::analyse_show_json(json) {
        prop_assert!(!err.to_string().contains(SECRET), "{err}");
    }
    if let Ok(document) = show::parse_plan(json) {
        for entry in document.planned.values() {
            prop_assert!(entry.deposed.is_none(), "a deposed change is not current");
        }
    }
    match show::saved::parse_saved_plan(json) {
        Err(err) => prop_assert!(!err.to_string().contains(SECRET), "{err}"),
        Ok(plan) => {
            for change in &plan.changes {
                let paths: Vec<&str> = change.attributes.iter().map(|a| a.path.as_str()).collect();
                prop_assert!(paths.windows(2).all(|w| w[0] <= w[1]), "{paths:?}");
            }
        }
    }
    Ok(())
}

/// A saved plan whose every value is masked (and a replace path through a secret key, an
/// output and a deferral holding secrets): nothing of them reaches the typed plan.
fn check_saved_masked(document: &Value) -> Result<(), TestCaseError> {
    let masked = json!({
        "resource_changes": [{"address": "a.b", "mode": "managed", "type": "a", "name": "b",
            "change": {"actions": ["delete", "create"], "before": document,
                "after": {"x": SECRET, "k": {SECRET: 1}},
                "after_unknown": {}, "before_sensitive": true, "after_sensitive": true,
                "replace_paths": [["k", SECRET], [SECRET]]},
            "action_reason": SECRET}],
        "output_changes": {"o": {"actions": ["update"], "before": SECRET, "after": document,
            "before_sensitive": true, "after_sensitive": true}},
        "deferred_changes": [{"reason": SECRET, "resource_change": {"address": "a.c",
            "change": {"actions": ["create"], "after": {"x": SECRET}}}}]
    });
    let plan = show::saved::parse_saved_plan(masked.to_string().as_bytes());
    prop_assert!(plan.is_ok(), "{plan:?}");
    let text = format!("{plan:?}");
    prop_assert!(!text.contains(SECRET), "{text}");
    Ok(())
}

/// A schema document: parsed or refused; paths followed into what parsed, never a panic.
fn check_schema(json: &[u8]) -> Result<(), TestCaseError> {
    use crate::drift::path::Segment;
    match schema::ProviderSchemas::parse(json) {
        Ok(schemas) => {
            let paths: [&[Segment<'_>]; 4] = [
                &[Segment::Key("a")],
                &[Segment::Key("block"), Segment::Index(0), Segment::Key("a")],
                &[Segment::Key("attributes"), Segment::Key("nested_type")],
                &[],
            ];
            for provider in ["a", "resource_schemas", ""] {
                for resource_type in ["a", "block", ""] {
                    if let Some(block) = schemas.resource(provider, resource_type) {
                        for path in paths {
                            let _ = block.find(path);
                        }
                    }
                }
            }
        }
        Err(err) => prop_assert!(!err.to_string().contains(SECRET), "{err}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_terraform_stream(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        check_stream(&bytes)?;
        check_stream(&mutate(&valid_stream(), &mutations))?;
    }

    #[test]
    fn fuzz_terraform_show(document in any_json(), hostile in hostile_json_text()) {
        check_show(document.to_string().as_bytes())?;
        let wrapped = json!({"resource_drift": [{"address": "a.b", "change": document.clone()}]});
        check_show(wrapped.to_string().as_bytes())?;
        // Whatever a value is, under a mask of `true` it never reaches the model.
        let sensitive = json!({"resource_drift": [{"address": "a.b", "change": {
            "actions": ["update"], "before": document, "after": {"x": SECRET},
            "before_sensitive": true, "after_sensitive": true}}]});
        let resources = crate::scan::analyse_show_json(sensitive.to_string().as_bytes());
        prop_assert!(resources.is_ok());
        let model = serde_json::to_string(&resources.unwrap_or_default()).unwrap_or_default();
        prop_assert!(!model.contains(SECRET), "{model}");
        check_saved_masked(&document)?;
        check_show(hostile.as_bytes())?;
    }

    #[test]
    fn fuzz_providers_schema(document in any_json(), hostile in hostile_json_text()) {
        check_schema(document.to_string().as_bytes())?;
        let wrapped = json!({"provider_schemas": {"a": {"resource_schemas": {"a": {"block": document}}}}});
        check_schema(wrapped.to_string().as_bytes())?;
        check_schema(hostile.as_bytes())?;
    }
}

#[test]
fn fuzz_terraform_stream_corpus() {
    // Every seed is hostile: none may make a plan succeed.
    for (name, bytes) in corpus("terraform-stream") {
        check_stream(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        for exit_code in [0, 2] {
            assert!(plan_of(&bytes, exit_code).is_err(), "{name} made a plan");
        }
    }
    assert!(plan_of(valid_stream().join("\n").as_bytes(), 0).is_ok());
}

#[test]
fn fuzz_terraform_show_corpus() {
    for (name, bytes) in corpus("terraform-show") {
        check_show(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        check_schema(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    // Replace paths through a masked key, keywords that are not terraform's: none kept.
    let seed = corpus("terraform-show")
        .into_iter()
        .find(|(name, _)| name.ends_with("saved-plan-secret-paths.json"))
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    let plan = show::saved::parse_saved_plan(&seed);
    let text = format!("{plan:?}");
    assert!(plan.is_ok() && !text.contains("s3cr3t"), "{text}");
    // The deepest seed is refused as too deep, not as a syntax error.
    let deep = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-corpus/terraform-show/deep.json"),
    )
    .expect("deep.json");
    let err = show::parse_plan(&deep)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("nesting deeper than driftlog reads"),
        "{err}"
    );
}
