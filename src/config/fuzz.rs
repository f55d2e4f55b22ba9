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
