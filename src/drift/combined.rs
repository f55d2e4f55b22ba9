//! Several stacks in one report: a multi-stack scan, or the merge of the partial reports
//! that parallel CI jobs wrote; and reading saved reports of either shape back
//! ([`AnyReport::from_json`]), which are input like any other: their schema version is
//! checked before their shape, and nothing in them can make driftlog panic.
//!
//! A stack is known by its directory spelled one way ([`normalize_stack_dir`]): `infra`,
//! `./infra` and `infra/` are one stack, so two shards that spelled it differently are caught
//! as a duplicate rather than summed twice.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ScanReport, Status, SCHEMA_VERSION};
use crate::json::{is_too_deep, MAX_JSON_NESTING};

/// Why a saved report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SavedReportError {
    #[error("it is not JSON: {0}")]
    Syntax(serde_json::Error),
    #[error(
        "its JSON nests deeper than {MAX_JSON_NESTING} levels (at line {}, column {}), deeper \
         than any driftlog report",
        .0.line(),
        .0.column()
    )]
    TooDeep(serde_json::Error),
    #[error(
        "it was made by a newer driftlog (schema {found}, this one reads up to \
         {SCHEMA_VERSION}): upgrade driftlog to read it"
    )]
    Newer { found: u64 },
    #[error(
        "it has report schema version {found}; this driftlog reads version {SCHEMA_VERSION}: \
         scan again to make a current one"
    )]
    Older { found: u64 },
    #[error("it has no schema_version, so it is no driftlog report")]
    Unversioned,
    #[error("it does not have a report's shape: {0}")]
    Shape(serde_json::Error),
}

impl SavedReportError {
    /// A parse error as what it is: serde_json calls too deep nesting a syntax error.
    pub fn of_json(err: serde_json::Error) -> SavedReportError {
        if is_too_deep(&err) {
            SavedReportError::TooDeep(err)
        } else if err.is_syntax() || err.is_eof() || err.is_io() {
            SavedReportError::Syntax(err)
        } else {
            SavedReportError::Shape(err)
        }
    }
}

/// The one spelling of a stack directory: no `./` steps, no doubled or trailing `/`, `.` for
/// the current directory. `..` is kept (only the file system could resolve it).
pub fn normalize_stack_dir(dir: &str) -> String {
    let absolute = dir.starts_with('/');
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    match (absolute, parts.is_empty()) {
        (true, _) => format!("/{}", parts.join("/")),
        (false, true) => ".".to_owned(),
        (false, false) => parts.join("/"),
    }
}

/// Every stack's report, in a stable order, and their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CombinedReport {
    pub schema_version: u32,
    /// The worst status of any stack: failed, then drifted, then clean.
    pub status: Status,
    pub summary: CombinedSummary,
    /// Sorted by directory, then workspace.
    pub stacks: Vec<ScanReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CombinedSummary {
    pub stacks: usize,
    pub clean: usize,
    pub drifted: usize,
    pub failed: usize,
    /// Drifted resources that count, over all stacks.
    pub drifted_resources: usize,
    /// Drifted resources ignore rules cover, over all stacks.
    pub ignored_resources: usize,
    pub checked_resources: usize,
    /// Resources an engine could not check, over all stacks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_checked_resources: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Either shape of JSON report, as files on disk hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyReport {
    Combined(CombinedReport),
    Single(Box<ScanReport>),
}

impl AnyReport {
    /// Reads a saved report: JSON first, then its schema version (the report's, and each
    /// stack's in a combined one), and only then its shape, so a newer driftlog's report is
    /// named as such rather than as a mismatch.
    pub fn from_json(text: &str) -> Result<AnyReport, SavedReportError> {
        let value: Value = serde_json::from_str(text).map_err(SavedReportError::of_json)?;
        let combined = value.get("stacks").is_some();
        let mut versions = vec![value.get("schema_version")];
        if let Some(stacks) = value.get("stacks").and_then(Value::as_array) {
            versions.extend(stacks.iter().map(|stack| stack.get("schema_version")));
        }
        for version in versions {
            check_version(version)?;
        }
        // Parsed again from the text, so shape errors name a line and column.
        let report = if combined {
            AnyReport::Combined(serde_json::from_str(text).map_err(SavedReportError::of_json)?)
        } else {
            AnyReport::Single(serde_json::from_str(text).map_err(SavedReportError::of_json)?)
        };
        Ok(report)
    }

    pub fn into_stacks(self) -> Vec<ScanReport> {
        match self {
            AnyReport::Combined(combined) => combined.stacks,
            AnyReport::Single(single) => vec![*single],
        }
    }
}

fn check_version(version: Option<&Value>) -> Result<(), SavedReportError> {
    let version = version.ok_or(SavedReportError::Unversioned)?;
    let current = u64::from(SCHEMA_VERSION);
    match version.as_u64() {
        Some(found) if found > current => Err(SavedReportError::Newer { found }),
        Some(found) if found < current => Err(SavedReportError::Older { found }),
        // Current, or no whole number: the shape check names the latter.
        _ => Ok(()),
    }
}

/// Two partial reports named the same stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stack {dir} (workspace {workspace}) is in more than one report: each stack must be \
     scanned by exactly one job (check the shards)"
)]
pub struct DuplicateStack {
    pub dir: String,
    pub workspace: String,
}

impl CombinedReport {
    /// Combines stack reports; the same stack twice is an error, since one of them would
    /// silently win.
    pub fn of(mut stacks: Vec<ScanReport>) -> Result<CombinedReport, DuplicateStack> {
        for stack in &mut stacks {
            stack.stack.dir = normalize_stack_dir(&stack.stack.dir);
        }
        stacks.sort_by(|a, b| {
            (&a.stack.dir, &a.stack.workspace).cmp(&(&b.stack.dir, &b.stack.workspace))
        });
        if let Some(pair) = stacks.windows(2).find(|w| {
            (&w[0].stack.dir, &w[0].stack.workspace) == (&w[1].stack.dir, &w[1].stack.workspace)
        }) {
            return Err(DuplicateStack {
                dir: pair[0].stack.dir.clone(),
                workspace: pair[0].stack.workspace.clone(),
            });
        }
        let count = |status: Status| stacks.iter().filter(|s| s.status == status).count();
        let summary = CombinedSummary {
            stacks: stacks.len(),
            clean: count(Status::Clean),
            drifted: count(Status::Drifted),
            failed: count(Status::Failed),
            drifted_resources: stacks.iter().map(|s| s.summary.drifted).sum(),
            ignored_resources: stacks.iter().map(|s| s.summary.ignored).sum(),
            checked_resources: stacks.iter().map(|s| s.summary.checked).sum(),
            not_checked_resources: stacks.iter().map(|s| s.summary.not_checked).sum(),
        };
        let status = if summary.failed > 0 {
            Status::Failed
        } else if summary.drifted > 0 {
            Status::Drifted
        } else {
            Status::Clean
        };
        Ok(CombinedReport {
            schema_version: SCHEMA_VERSION,
            status,
            summary,
            stacks,
        })
    }

    /// Merges reports of disjoint sets of stacks (the shards of one scan).
    pub fn merge(reports: Vec<AnyReport>) -> Result<CombinedReport, DuplicateStack> {
        CombinedReport::of(
            reports
                .into_iter()
                .flat_map(AnyReport::into_stacks)
                .collect(),
        )
    }
}

/// The JSON Schema of [`CombinedReport`], as committed in `docs/combined-report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(CombinedReport).to_value();
    schema["$id"] =
        serde_json::Value::String(format!("urn:driftlog:combined-report:v{SCHEMA_VERSION}"));
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(dir: &str, status: Status) -> ScanReport {
        ScanReport::test(dir, status)
    }

    #[test]
    fn the_worst_status_wins_and_stacks_are_sorted() {
        let combined = CombinedReport::of(vec![
            report("b", Status::Drifted),
            report("a", Status::Clean),
        ])
        .expect("distinct stacks");
        assert_eq!(combined.status, Status::Drifted);
        assert_eq!(combined.stacks[0].stack.dir, "a");
        let with_failure = CombinedReport::of(vec![
            report("b", Status::Drifted),
            report("c", Status::Failed),
        ])
        .expect("distinct stacks");
        assert_eq!(with_failure.status, Status::Failed);
        assert_eq!(with_failure.summary.failed, 1);
        assert_eq!(with_failure.status.exit_code(), 1);
    }

    #[test]
    fn merging_partials_equals_combining_them_and_rejects_overlap() {
        let whole = CombinedReport::of(vec![
            report("a", Status::Clean),
            report("b", Status::Drifted),
            report("c", Status::Clean),
        ])
        .expect("distinct");
        let part = CombinedReport::of(vec![report("c", Status::Clean), report("a", Status::Clean)])
            .expect("distinct");
        let merged = CombinedReport::merge(vec![
            AnyReport::Combined(part),
            AnyReport::Single(Box::new(report("b", Status::Drifted))),
        ])
        .expect("disjoint");
        assert_eq!(merged, whole);
        let overlap = CombinedReport::merge(vec![
            AnyReport::Combined(whole.clone()),
            AnyReport::Single(Box::new(report("b", Status::Clean))),
        ]);
        assert!(overlap.is_err());
    }

    #[test]
    fn both_shapes_parse() {
        let single = serde_json::to_string(&report("a", Status::Clean)).expect("json");
        assert!(matches!(
            serde_json::from_str::<AnyReport>(&single),
            Ok(AnyReport::Single(_))
        ));
        let combined = serde_json::to_string(
            &CombinedReport::of(vec![report("a", Status::Clean)]).expect("one stack"),
        )
        .expect("json");
        assert!(matches!(
            serde_json::from_str::<AnyReport>(&combined),
            Ok(AnyReport::Combined(_))
        ));
    }

    #[test]
    fn saved_reports_are_checked_for_their_version_first() {
        let mut single = serde_json::to_value(report("a", Status::Clean)).expect("json");
        single["schema_version"] = json!(SCHEMA_VERSION + 1);
        // A newer driftlog may have changed the shape too.
        single["status"] = json!("some-new-status");
        let err = AnyReport::from_json(&single.to_string()).expect_err("newer");
        assert!(matches!(err, SavedReportError::Newer { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "it was made by a newer driftlog (schema {}, this one reads up to \
                 {SCHEMA_VERSION}): upgrade driftlog to read it",
                SCHEMA_VERSION + 1
            )
        );
        let mut combined = serde_json::to_value(
            CombinedReport::of(vec![report("a", Status::Clean)]).expect("one stack"),
        )
        .expect("json");
        combined["stacks"][0]["schema_version"] = json!(99);
        assert!(matches!(
            AnyReport::from_json(&combined.to_string()),
            Err(SavedReportError::Newer { found: 99 })
        ));
        combined["stacks"][0]["schema_version"] = json!(1);
        assert!(matches!(
            AnyReport::from_json(&combined.to_string()),
            Err(SavedReportError::Older { found: 1 })
        ));
        assert!(matches!(
            AnyReport::from_json("{}"),
            Err(SavedReportError::Unversioned)
        ));
        assert!(matches!(
            AnyReport::from_json("{ not json"),
            Err(SavedReportError::Syntax(_))
        ));
        let current = serde_json::to_string(&report("a", Status::Clean)).expect("json");
        assert!(matches!(
            AnyReport::from_json(&current),
            Ok(AnyReport::Single(_))
        ));
    }

    #[test]
    fn too_deep_json_is_named_so_not_a_syntax_error() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = AnyReport::from_json(&deep).expect_err("too deep");
        assert!(matches!(err, SavedReportError::TooDeep(_)), "{err}");
        assert!(err.to_string().contains("nests deeper than 127"), "{err}");
        let inside = format!(
            r#"{{"schema_version": {SCHEMA_VERSION}, "x": {}1{}}}"#,
            "[".repeat(130),
            "]".repeat(130)
        );
        assert!(matches!(
            AnyReport::from_json(&inside),
            Err(SavedReportError::TooDeep(_))
        ));
    }

    #[test]
    fn one_stack_spelled_two_ways_is_one_stack() {
        for (given, normal) in [
            ("infra", "infra"),
            ("./infra", "infra"),
            ("infra/", "infra"),
            ("./infra//prod/./", "infra/prod"),
            (".", "."),
            ("./", "."),
            ("", "."),
            ("/abs//x/", "/abs/x"),
            ("../up", "../up"),
        ] {
            assert_eq!(normalize_stack_dir(given), normal, "{given:?}");
        }
        let twice = CombinedReport::merge(vec![
            AnyReport::Single(Box::new(report("infra", Status::Clean))),
            AnyReport::Single(Box::new(report("./infra/", Status::Drifted))),
        ]);
        assert_eq!(
            twice,
            Err(DuplicateStack {
                dir: "infra".into(),
                workspace: "default".into()
            })
        );
        let merged = CombinedReport::merge(vec![AnyReport::Single(Box::new(report(
            "./infra",
            Status::Clean,
        )))])
        .expect("one stack");
        assert_eq!(merged.stacks[0].stack.dir, "infra");
    }

    mod fuzz {
        use super::*;
        use crate::report::{self, Format};
        use proptest::prelude::*;

        fn corpus() -> Vec<(String, String)> {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fuzz-corpus/saved-report");
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("the saved-report corpus")
                .map(|entry| entry.expect("a corpus entry").path())
                .collect();
            files.sort();
            files
                .into_iter()
                .map(|path| {
                    let bytes = std::fs::read(&path).expect("a corpus file");
                    let name = path.display().to_string();
                    (name, String::from_utf8_lossy(&bytes).into_owned())
                })
                .collect()
        }

        fn valid_base() -> Value {
            let (_, text) = corpus()
                .into_iter()
                .find(|(name, _)| name.ends_with("valid-drifted.json"))
                .expect("the valid seed");
            serde_json::from_str(&text).expect("the valid seed is JSON")
        }

        /// Reads `text` as `report post` and `report merge` do, and renders whatever reads,
        /// every way driftlog shows a report. Never panics; what reads is of this schema.
        fn read_and_render(text: &str) -> Result<(), SavedReportError> {
            let report = AnyReport::from_json(text)?;
            let stacks = report.clone().into_stacks();
            for stack in &stacks {
                assert_eq!(stack.schema_version, SCHEMA_VERSION);
                for format in [Format::Terminal, Format::Json, Format::Markdown] {
                    let _ = report::render(stack, format, true);
                }
                let _ = report::explanation::text(&stack.explanations);
            }
            if let Ok(merged) = CombinedReport::merge(vec![report]) {
                for format in [Format::Terminal, Format::Json, Format::Markdown] {
                    let _ = report::render_combined(&merged, format, false);
                }
            }
            Ok(())
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9./_-]{0,12}",
                "\\PC{0,16}",
                Just("éééééééééééééééé✓".to_owned()),
                Just("日本語".repeat(5)),
            ]
        }

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (0u64..6).prop_map(Value::from),
                text().prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                    prop::collection::btree_map(
                        prop_oneof![
                            text(),
                            Just("schema_version".to_owned()),
                            Just("stacks".to_owned())
                        ],
                        inner,
                        0..6
                    )
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        /// Every leaf of `value`, by a path of keys and indexes.
        fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        path.push(key.clone());
                        leaves(child, path, out);
                        path.pop();
                    }
                }
                Value::Array(items) => {
                    for (index, child) in items.iter().enumerate() {
                        path.push(index.to_string());
                        leaves(child, path, out);
                        path.pop();
                    }
                }
                _ => out.push(path.clone()),
            }
        }

        fn at_path<'v>(value: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
            path.iter().try_fold(value, |node, step| match node {
                Value::Object(map) => map.get_mut(step),
                Value::Array(items) => items.get_mut(step.parse::<usize>().ok()?),
                _ => None,
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn fuzz_saved_report(
                garbage in json(),
                mutations in prop::collection::vec((any::<prop::sample::Index>(), json()), 1..6),
                bytes in prop::collection::vec(any::<u8>(), 0..64),
            ) {
                // Arbitrary JSON: an error unless it is a report (it never is without a
                // version of this schema).
                let result = read_and_render(&garbage.to_string());
                let versioned = garbage.get("schema_version") == Some(&json!(SCHEMA_VERSION));
                prop_assert!(result.is_err() || versioned);

                // A valid report with some leaves replaced: read or refused, never a panic.
                let mut report = valid_base();
                let mut paths = Vec::new();
                leaves(&report, &mut Vec::new(), &mut paths);
                for (index, replacement) in mutations {
                    let path = index.get(&paths).clone();
                    if let Some(node) = at_path(&mut report, &path) {
                        *node = replacement;
                    }
                }
                let _ = read_and_render(&report.to_string());

                // Bytes, as far as they are text.
                let _ = read_and_render(&String::from_utf8_lossy(&bytes));
            }
        }

        #[test]
        fn fuzz_saved_report_corpus_reads_or_is_refused_without_panic() {
            for (name, text) in corpus() {
                let result = read_and_render(&text);
                // `valid-*` seeds are reports (hostile inside); the rest are no reports.
                if name.contains("/valid-") {
                    assert!(result.is_ok(), "{name}: {result:?}");
                } else {
                    assert!(result.is_err(), "{name} is hostile and reads");
                }
            }
        }
    }

    /// The committed schema is what the types generate; rerun with DRIFTLOG_UPDATE_SCHEMA=1.
    #[test]
    fn committed_combined_schema_matches_the_model() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/combined-report.schema.json");
        let generated = serde_json::to_string_pretty(&json_schema()).unwrap_or_default() + "\n";
        if std::env::var_os("DRIFTLOG_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/combined-report.schema.json is stale: run DRIFTLOG_UPDATE_SCHEMA=1 cargo test --lib schema"
        );
    }
}
