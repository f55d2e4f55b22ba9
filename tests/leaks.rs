//! The leak scan: every output the integration tests captured (`capture.rs`) searched for every
//! test secret. Each sensitive value a test gives terraform contains `s3cr3t`; tokens and signing
//! keys are registered by the runs that handed them to driftlog. A new leak anywhere (a report,
//! a record blob, a comment, a summary, an annotation, an error) fails the suite.
//!
//! `scripts/test.sh` runs the suite, then `every_output_of_the_suite_is_free_of_test_secrets`
//! (ignored in a plain `cargo test`, where the capture is still being written).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;

/// The text every sensitive test value contains.
pub const SECRET_MARK: &str = "s3cr3t";

/// Fewer captured outputs than this means the capture itself broke, not that nothing leaked.
const MIN_CAPTURED: usize = 200;

/// Output kinds a full suite run must have captured at least once each.
const KINDS: &[&str] = &[
    "stdout",
    "stderr",
    "audit",
    "github-request",
    "summary",
    "outputs",
    "report",
    "notification",
];

struct Hit {
    file: String,
    secret: String,
    context: String,
}

#[derive(Default)]
struct Scanned {
    files: usize,
    bytes: u64,
    by_kind: BTreeMap<String, usize>,
    hits: Vec<Hit>,
}

fn secrets(root: &Path) -> Vec<String> {
    let mut secrets = vec![SECRET_MARK.to_string()];
    if let Ok(entries) = std::fs::read_dir(root.join("secrets")) {
        for entry in entries.flatten() {
            if let Ok(value) = std::fs::read_to_string(entry.path()) {
                secrets.push(value);
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    secrets
}

/// A secret as a failure may show it: its first three characters and its length.
fn masked(secret: &str) -> String {
    let head: String = secret.chars().take(3).collect();
    format!("{head}… ({} chars)", secret.chars().count())
}

fn scan(root: &Path) -> Scanned {
    let secrets = secrets(root);
    let matcher = AhoCorasick::new(&secrets).expect("the secrets make an automaton");
    let mut scanned = Scanned::default();
    let Ok(entries) = std::fs::read_dir(root.join("outputs")) else {
        return scanned;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let content = std::fs::read(&path).expect("read a captured output");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = name.rsplit('.').next().unwrap_or_default().to_string();
        *scanned.by_kind.entry(kind).or_default() += 1;
        scanned.files += 1;
        scanned.bytes += content.len() as u64;
        if let Some(found) = matcher.find(&content) {
            let secret = &secrets[found.pattern().as_usize()];
            let start = found.start().saturating_sub(80);
            let end = (found.end() + 80).min(content.len());
            let around = String::from_utf8_lossy(&content[start..end]).replace(secret, "<SECRET>");
            scanned.hits.push(Hit {
                file: name,
                secret: masked(secret),
                context: around,
            });
        }
    }
    scanned
}

fn describe(hits: &[Hit]) -> String {
    hits.iter()
        .map(|h| format!("{} holds {}:\n    …{}…", h.file, h.secret, h.context))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "scripts/test.sh runs it after the whole suite has written its capture"]
fn every_output_of_the_suite_is_free_of_test_secrets() {
    let root = crate::capture::root();
    let scanned = scan(&root);
    eprintln!(
        "leak scan: {} outputs ({} bytes) searched for {} secrets: {:?}",
        scanned.files,
        scanned.bytes,
        secrets(&root).len(),
        scanned.by_kind
    );
    assert!(
        scanned.files >= MIN_CAPTURED,
        "only {} outputs in {}: run the whole suite first (scripts/test.sh does)",
        scanned.files,
        root.display()
    );
    for kind in KINDS {
        assert!(
            scanned.by_kind.contains_key(*kind),
            "no `{kind}` output was captured: the capture of that channel is broken"
        );
    }
    assert!(
        scanned.hits.is_empty(),
        "{} outputs hold a test secret:\n{}",
        scanned.hits.len(),
        describe(&scanned.hits)
    );
}

#[test]
fn the_scan_finds_a_secret_in_any_output_and_passes_clean_ones() {
    let root = tempfile::tempdir().expect("temp dir");
    let outputs = root.path().join("outputs");
    std::fs::create_dir_all(&outputs).expect("mkdir");
    std::fs::create_dir_all(root.path().join("secrets")).expect("mkdir");
    std::fs::write(root.path().join("secrets/token"), "ghs_registeredTOKEN123").expect("write");
    let files = [
        (
            "a.1.stdout",
            "password = n3w-s3cr3t-FROM-console".as_bytes(),
        ),
        (
            "b.2.audit",
            b"{\"id\":\"ghs_registeredTOKEN123\"}".as_slice(),
        ),
        ("c.3.github-request", b"clean comment".as_slice()),
        ("d.4.stderr", "é non-ASCII then s3cr3t".as_bytes()),
    ];
    for (name, content) in files {
        std::fs::write(outputs.join(name), content).expect("write");
    }
    let scanned = scan(root.path());
    assert_eq!(scanned.files, 4);
    let hit_files: Vec<&str> = scanned.hits.iter().map(|h| h.file.as_str()).collect();
    assert_eq!(hit_files, ["a.1.stdout", "b.2.audit", "d.4.stderr"]);
    let report = describe(&scanned.hits);
    assert!(!report.contains("ghs_registeredTOKEN123") && !report.contains("s3cr3t-FROM"));
    assert!(report.contains("ghs… (22 chars)"), "{report}");
}
