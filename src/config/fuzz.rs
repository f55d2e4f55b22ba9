//! `fuzz_config`: any text as `.driftlog.toml` gives a valid configuration or an error at a
//! real file:line:column, never a panic. Seeds, and hostile documents replayed as they are,
//! live in `tests/fuzz-corpus/config/`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

fn corpus() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/config");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-corpus/config")
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the config corpus is empty");
    files
}

/// A repository with two stacks and a module, like the ones configurations name.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in [
        (
            "infra/prod/main.tf",
            "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
        ),
        ("envs/a/live/main.tf", "resource \"a\" \"b\" {}\n"),
        ("modules/m/main.tf", "resource \"a\" \"b\" {}\n"),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// What every outcome of parsing `text` must satisfy.
fn check(root: &Path, text: &str) -> Result<(), TestCaseError> {
    let file = root.join(FILE_NAME);
    match Config::parse(root, &file, text) {
        Ok(config) => {
            for stack in &config.stacks {
                prop_assert!(stack.path.is_relative(), "{:?}", stack.path);
                prop_assert!(
                    !stack.path.components().any(|c| c == Component::ParentDir),
                    "{:?} leaves the repository",
                    stack.path
                );
                prop_assert!(root.join(&stack.path).is_dir(), "{:?}", stack.path);
            }
            for rule in &config.ignore {
                prop_assert!(!rule.reason.trim().is_empty());
                prop_assert!(rule.line >= 1);
            }
            check_remediate(text, &config.remediate)?;
        }
        Err(error @ ConfigError::Invalid { .. }) => {
            let ConfigError::Invalid {
                file: named,
                line,
                column,
                ..
            } = &error
            else {
                unreachable!("matched above")
            };
            prop_assert_eq!(named, &file);
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let lines: Vec<&str> = text.split('\n').collect();
            prop_assert!(
                *line >= 1 && *line <= lines.len(),
                "line {} of {}",
                line,
                lines.len()
            );
            let width = lines[line - 1].chars().count();
            prop_assert!(
                *column >= 1 && *column <= width + 1,
                "column {} of a line {} wide",
                column,
                width
            );
            let prefix = format!("{}:{line}:{column}: ", file.display());
            prop_assert!(error.to_string().starts_with(&prefix), "{}", error);
        }
        Err(other) => prop_assert!(false, "not a positioned error: {}", other),
    }
    Ok(())
}

/// What every parsed `[[remediate]]` rule must satisfy: the required keys set and not blank,
/// the guard within its bounds, its line in the file.
fn check_remediate(text: &str, rules: &[RemediateRule]) -> Result<(), TestCaseError> {
    let lines = text.split('\n').count();
    for rule in rules {
        prop_assert!(!rule.reason.trim().is_empty());
        prop_assert!(!rule.resource.trim().is_empty());
        prop_assert!(
            (1..=remediate::MAX_REMEDIATE_RESOURCES).contains(&rule.max_resources),
            "{}",
            rule.max_resources
        );
        prop_assert!(rule.line >= 1 && rule.line <= lines, "line {}", rule.line);
        if let Some(expires) = &rule.expires {
            prop_assert_eq!(expires.len(), 10);
        }
    }
    Ok(())
}

/// A `[[remediate]]` value as written: valid or not, of the right type or another.
fn remediate_value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i64..1100).prop_map(|n| n.to_string()),
        // The guard's edges, and past what a u32 holds.
        prop::sample::select(vec![0i64, 1, 1000, 1001, -1, 4_294_967_297])
            .prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(vec![
            "\"revert\"",
            "\"adopt\"",
            "\"Revert\"",
            "\"\"",
            "\" \"",
            "\"a.*\"",
            "\"aws_security_group.web\"",
            "\"tags.*\"",
            "2027-06-30",
            "2027-02-30",
            "\"2027-06-30\"",
            "1.5",
            "[]",
            "{}",
            "\"s\\u00e9\"",
        ])
        .prop_map(str::to_owned),
        "\"[^\"\\\\\n]{0,12}\"",
    ]
}

/// Any `[[remediate]]` entry of known and unknown keys gives a rule holding exactly what was
/// written, or an error at a position in the entry naming a `remediate` key.
#[test]
fn fuzz_remediate_rules() {
    let dir = repository();
    // Each key written at most once, the required ones mostly valid, so that most entries
    // get as far as the values that are checked last.
    let usually = |valid: &'static [&'static str]| {
        prop_oneof![
            3 => prop::sample::select(valid).prop_map(str::to_owned),
            1 => remediate_value(),
        ]
    };
    let strategy = (
        prop::option::weighted(0.95, usually(&["\"a.*\"", "\"*\""])),
        prop::option::weighted(0.95, usually(&["\"revert\"", "\"adopt\""])),
        prop::option::weighted(0.95, usually(&["\"why\""])),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "attribute",
                    "stack",
                    "allow_recreate",
                    "max_resources",
                    "expires",
                    "max",
                ]),
                remediate_value(),
            ),
            0..4,
        ),
    )
        .prop_map(|(resource, action, reason, mut rest)| {
            rest.sort_by_key(|(key, _)| *key);
            rest.dedup_by_key(|(key, _)| *key);
            let required = [
                ("resource", resource),
                ("action", action),
                ("reason", reason),
            ];
            let required = required
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?)));
            required.chain(rest).collect::<Vec<(&str, String)>>()
        });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |entries| {
            let mut text = String::from("[[stacks]]\npath = \"infra/prod\"\n\n[[remediate]]\n");
            for (key, value) in &entries {
                text.push_str(&format!("{key} = {value}\n"));
            }
            check(dir.path(), &text)?;
            match Config::parse(dir.path(), &dir.path().join(FILE_NAME), &text) {
                Ok(config) => {
                    prop_assert_eq!(config.remediate.len(), 1);
                    let rule = &config.remediate[0];
                    prop_assert_eq!(rule.line, 4);
                    let written = |key: &str| {
                        entries
                            .iter()
                            .find(|(k, _)| *k == key)
                            .map(|(_, v)| v.trim_matches('"').to_owned())
                    };
                    prop_assert_eq!(Some(rule.action.as_str().to_owned()), written("action"));
                    prop_assert_eq!(
                        rule.max_resources.to_string(),
                        written("max_resources")
                            .unwrap_or(remediate::DEFAULT_MAX_RESOURCES.to_string())
                    );
                    prop_assert_eq!(
                        rule.allow_recreate.to_string(),
                        written("allow_recreate").unwrap_or("false".into())
                    );
                }
                Err(ConfigError::Invalid { line, key, .. }) => {
                    // Only the entry (from its header on) can be at fault.
                    prop_assert!(line >= 4, "line {} of\n{}", line, text);
                    let key = key.unwrap_or_default();
                    prop_assert!(key.starts_with("remediate"), "{} in\n{}", key, text);
                }
                Err(other) => prop_assert!(false, "{}", other),
            }
            Ok(())
        })
        .expect("every entry gives its rule or a positioned error");
}

/// One edit at a character position (taken modulo the length, so always a boundary).
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    /// Repeats the `len` characters at the position.
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let significant = prop::sample::select(vec![
        '[', ']', '{', '}', '"', '\'', '=', ',', '.', '#', '\n', '\r', '\\', '*', '/', ' ', '0',
        'é', '\u{feff}', '\u{0}', 'x',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), significant).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Edit::Repeat(at, len)),
    ]
}

fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for edit in edits {
        let len = chars.len();
        match *edit {
            Edit::Delete(at) if len > 0 => {
                chars.remove(at % len);
            }
            Edit::Delete(_) => {}
            Edit::Insert(at, c) => chars.insert(at % (len + 1), c),
            Edit::Repeat(at, span) if len > 0 => {
                let start = at % len;
                let end = (start + span).min(len);
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
            Edit::Repeat(..) => {}
        }
    }
    chars.into_iter().collect()
}

#[test]
fn the_config_corpus_parses_or_fails_at_a_position() {
    let dir = repository();
    for (path, text) in corpus() {
        if let Err(failure) = check(dir.path(), &text) {
            panic!("{}: {failure}", path.display());
        }
    }
}

/// One repository for every case: parsing only reads it.
#[test]
fn fuzz_config() {
    let dir = repository();
    let strategy = (
        prop::sample::select(corpus()),
        prop::collection::vec(edit(), 0..8),
        "(?s).{0,40}",
        any::<bool>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(seed, edits, noise, use_noise)| {
            let text = if use_noise {
                noise
            } else {
                mutate(&seed.1, &edits)
            };
            check(dir.path(), &text)
        })
        .expect("every text gives a config or a positioned error");
}
