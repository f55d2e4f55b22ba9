use super::tree::*;
use super::*;
use crate::audit::note;
use crate::audit::record::{ChainPosition, StackRef};
use crate::audit::record::{LogId, Record};
use crate::audit::sshsig::DRIFTLOG_NAMESPACE;
use crate::audit::sshsig::{allowed_signers_line, SigningKey};
use crate::audit::store::{Appended, AuditStore, Committer};
use crate::audit::store::{CHECKPOINT_DIR, MESSAGE_PREFIX, NOTE_FILE};
use crate::context::{Local, RunContext};
use crate::drift::{ScanReport, Stack, Status};

const BRANCH: &str = "driftlog/audit";
const ORIGIN: &str = "example.com/acme/infra/driftlog/audit";

struct Log {
    dir: tempfile::TempDir,
    key: SigningKey,
    allowed: AllowedSigners,
    appended: Vec<Appended>,
}

fn record(key: &SigningKey, branch: &str, position: ChainPosition) -> Record {
    let report = ScanReport {
        status: Status::Clean,
        tool: Some(crate::drift::Tool {
            name: crate::drift::ToolName::Terraform,
            version: "1.15.5".into(),
        }),
        ..ScanReport::new(
            Stack {
                dir: ".".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            "2026-11-24T00:00:00Z".into(),
        )
    };
    Record::of_scan(
        &report,
        StackRef {
            path: "infra/prod".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        RunContext::Local(Local::default()),
        LogId {
            repository: "example.com/acme/infra".into(),
            branch: branch.into(),
        },
        position,
        key.fingerprint(),
        "2026-11-24T00:00:00Z".into(),
    )
}

impl Log {
    /// `n` records on `branch` (whose records name `record_branch`) under `origin`.
    fn build(n: usize, branch: &str, record_branch: &str, origin: &str) -> Log {
        let dir = tempfile::tempdir().expect("temp dir");
        git2::Repository::init(dir.path()).expect("init");
        let key = SigningKey::generate().expect("key");
        let allowed = AllowedSigners::parse(&allowed_signers_line("ci", &key)).expect("parse");
        let store = AuditStore::open(dir.path(), branch, origin).expect("open");
        let committer = Committer {
            name: "ci".into(),
            email: "ci@example.com".into(),
        };
        let build = |position| record(&key, record_branch, position);
        let appended = (0..n)
            .map(|i| {
                store
                    .append(&build, &key, &committer, 1_790_000_000 + i as i64)
                    .expect("append")
            })
            .collect();
        Log {
            dir,
            key,
            allowed,
            appended,
        }
    }

    fn new(n: usize) -> Log {
        Log::build(n, BRANCH, BRANCH, ORIGIN)
    }

    fn repo(&self) -> Repository {
        Repository::open(self.dir.path()).expect("open")
    }

    fn verify(&self, checkpoints: &[String]) -> Report {
        verify_log(&self.repo(), BRANCH, &self.allowed, checkpoints).expect("verify")
    }

    /// Replaces the tip commit by one whose tree has `edits` applied (`None` deletes),
    /// signed by `key` like the store signs.
    fn replace_tip(&self, edits: &[(&str, Option<&[u8]>)], key: &SigningKey) {
        self.replace_tip_at(edits, key, None)
    }

    /// [`Log::replace_tip`], with the commit's author and committer time set to `time`.
    fn replace_tip_at(&self, edits: &[(&str, Option<&[u8]>)], key: &SigningKey, time: Option<i64>) {
        let repo = self.repo();
        let refname = format!("refs/heads/{BRANCH}");
        let tip = repo
            .find_reference(&refname)
            .and_then(|r| r.peel_to_commit())
            .expect("tip");
        let mut tree = tip.tree().expect("tree").id();
        for (path, content) in edits {
            let parts: Vec<&str> = path.split('/').collect();
            tree = edit_tree(&repo, Some(tree), &parts, *content);
        }
        let tree = repo.find_tree(tree).expect("tree");
        let parents: Vec<git2::Commit<'_>> = tip.parents().collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let who = match time {
            Some(time) => git2::Signature::new("ci", "ci@example.com", &git2::Time::new(time, 0))
                .expect("signature"),
            None => tip.committer().to_owned(),
        };
        commit_and_move(
            &repo,
            &tree,
            &parents,
            &who,
            tip.message().expect("utf-8"),
            key,
        );
    }

    fn tip_file(&self, path: &str) -> Vec<u8> {
        let repo = self.repo();
        let tree = repo
            .revparse_single(&format!("{BRANCH}^{{tree}}"))
            .and_then(|o| o.peel_to_tree())
            .expect("tree");
        let entry = tree.get_path(std::path::Path::new(path)).expect(path);
        let blob = repo.find_blob(entry.id()).expect("blob");
        blob.content().to_vec()
    }
}

/// Commits `tree` on `parents` (signed by `key` as the store signs), as `who` with `message`,
/// and moves the branch there.
fn commit_and_move(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    parents: &[&git2::Commit<'_>],
    who: &git2::Signature<'_>,
    message: &str,
    key: &SigningKey,
) {
    let buffer = repo
        .commit_create_buffer(who, who, message, tree, parents)
        .expect("buffer");
    let content = buffer.as_str().expect("utf-8");
    let signature = key.sign_git_commit(content).expect("sign");
    let commit = repo
        .commit_signed(content, &signature, Some("gpgsig"))
        .expect("commit");
    repo.reference(&format!("refs/heads/{BRANCH}"), commit, true, "tamper")
        .expect("move");
}

fn edit_tree(repo: &Repository, base: Option<Oid>, path: &[&str], content: Option<&[u8]>) -> Oid {
    let base = base.map(|oid| repo.find_tree(oid).expect("tree"));
    let mut builder = repo.treebuilder(base.as_ref()).expect("builder");
    match path {
        [name] => match content {
            Some(bytes) => {
                let blob = repo.blob(bytes).expect("blob");
                builder.insert(name, blob, 0o100644).expect("insert");
            }
            None => builder.remove(name).expect("remove"),
        },
        [dir, rest @ ..] => {
            let existing = base
                .as_ref()
                .and_then(|t| t.get_name(dir))
                .map(|entry| entry.id());
            let subtree = edit_tree(repo, existing, rest, content);
            builder.insert(dir, subtree, 0o040000).expect("insert");
        }
        [] => unreachable!("a path has a name"),
    }
    builder.write().expect("write tree")
}

fn whats(report: &Report) -> String {
    report
        .problems
        .iter()
        .map(|p| format!("{:?} {}\n", p.seq, p.what))
        .collect()
}

#[test]
fn record_paths_are_only_where_the_store_puts_them() {
    assert_eq!(record_seq("records/000000/000/000000000007.json"), Some(7));
    assert_eq!(
        record_seq("records/000001/002/000001002003.json"),
        Some(1_002_003)
    );
    assert_eq!(record_seq("records/000000/001/000000000007.json"), None);
    assert_eq!(record_seq("records/000000/000/7.json"), None);
    assert_eq!(record_seq("records/000000/000/000000000007.json.sig"), None);
    assert_eq!(record_seq("elsewhere/000000/000/000000000007.json"), None);
}

#[test]
fn tree_order_puts_a_directory_after_a_file_named_like_it_with_a_dot() {
    let entry = |name: &'static str, is_tree| Entry {
        name: name.as_bytes(),
        id: Oid::zero(),
        mode: if is_tree { TREE_MODE } else { REGULAR_FILE },
    };
    // "a.json" < "a/" because '.' < '/', while "a" < "a.json" for two files.
    assert_eq!(
        git_order(&entry("a.json", false), &entry("a", true)),
        std::cmp::Ordering::Less
    );
    assert_eq!(
        git_order(&entry("a", false), &entry("a.json", false)),
        std::cmp::Ordering::Less
    );
}

#[test]
fn raw_trees_must_be_sorted_without_repeats() {
    let entry = |mode: &str, name: &str| {
        let mut raw = format!("{mode} {name}\0").into_bytes();
        raw.extend_from_slice(&[7; 20]);
        raw
    };
    let sorted = [entry("100644", "a.json"), entry("40000", "a")].concat();
    let names: Vec<&[u8]> = parse_entries(&sorted, None)
        .expect("sorted")
        .iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, [&b"a.json"[..], b"a"]);
    let last = last_entry(&sorted).expect("parses").expect("an entry");
    assert!(last.is_tree());
    // The fast path's tail must come after the old tree's last entry.
    assert!(parse_entries(&entry("100644", "a.json"), Some(last)).is_err());

    let repeated = [entry("100644", "b"), entry("100644", "b")].concat();
    assert!(parse_entries(&repeated, None)
        .expect_err("repeated")
        .contains("b is out of order or repeated"));
    let unsorted = [entry("100644", "b"), entry("100644", "a")].concat();
    assert!(parse_entries(&unsorted, None).is_err());
    assert!(parse_entries(b"100644 a\0short", None).is_err());
    assert!(parse_entries(&entry("10x644", "a"), None).is_err());
    // Only git's own spellings: `040000` reads as `40000`, so two trees with different ids
    // could parse alike and a diff could descend between them without end.
    assert!(parse_entries(&entry("040000", "a"), None).is_err());
    assert!(parse_entries(&entry("0100644", "a"), None).is_err());
    assert!(parse_entries(&entry("40000", "a"), None).is_ok());
}

#[test]
fn an_intact_log_verifies_and_reports_its_head() {
    let log = Log::new(3);
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!((report.records, report.commits), (3, 3));
    assert_eq!(report.origin.as_deref(), Some(ORIGIN));
    let head = report.head.expect("a head");
    let last = &log.appended[2];
    assert_eq!(head.seq, 2);
    assert_eq!(head.commit, last.commit);
    assert_eq!(head.record_sha256, last.record_sha256);
    assert_eq!(head.merkle_root, last.merkle_root);
    assert_eq!(
        head.checkpoint_line.as_deref(),
        Some(last.checkpoint_line.as_str())
    );
}

#[test]
fn given_checkpoints_match_as_lines_and_as_notes() {
    let log = Log::new(3);
    let line = log.appended[1].checkpoint_line.clone();
    let note = note::checkpoint_from_line(&line).expect("note");
    let report = log.verify(&[line, note]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.checkpoints_matched, 2);

    let report = log.verify(&["driftlog-checkpoint v1 nonsense".to_owned()]);
    assert!(
        whats(&report).contains("checkpoint 1 you gave is malformed"),
        "{}",
        whats(&report)
    );
}

#[test]
fn a_missing_branch_cannot_be_verified() {
    let log = Log::new(1);
    let result = verify_log(&log.repo(), "nope", &log.allowed, &[]);
    assert!(
        matches!(result, Err(VerifyError::NoBranch { .. })),
        "{result:?}"
    );
}

#[test]
fn a_record_copied_from_another_branch_is_a_problem() {
    let log = Log::build(1, BRANCH, "elsewhere/audit", ORIGIN);
    let report = log.verify(&[]);
    let problems = whats(&report);
    assert!(
        problems.contains("the record belongs to the branch \"elsewhere/audit\""),
        "{problems}"
    );
}

#[test]
fn a_checkpoint_for_another_log_is_a_problem() {
    let log = Log::build(1, BRANCH, BRANCH, "example.com/other/driftlog/audit");
    let report = log.verify(&[]);
    assert!(
        whats(&report)
            .contains("checkpoint/note is for the log \"example.com/other/driftlog/audit\""),
        "{}",
        whats(&report)
    );
}

#[test]
fn a_forged_frontier_is_a_problem() {
    let log = Log::new(3);
    log.replace_tip(
        &[(
            "checkpoint/frontier.json",
            Some(br#"{"hashes":[],"size":0}"#),
        )],
        &log.key,
    );
    let report = log.verify(&[]);
    assert_eq!(report.problems.len(), 1, "{}", whats(&report));
    assert!(
        whats(&report).contains("checkpoint/frontier.json is not the recomputed compact range"),
        "{}",
        whats(&report)
    );
}

#[test]
fn a_checkpoint_signed_by_an_unknown_key_is_a_problem() {
    let log = Log::new(2);
    let stranger = Log::new(2);
    let note = stranger.tip_file("checkpoint/note");
    log.replace_tip(&[("checkpoint/note", Some(&note))], &log.key);
    let report = log.verify(&[]);
    assert!(
        whats(&report).contains(
            "checkpoint/note is not a checkpoint signed by an allowed key: the note has no \
             valid signature by a known key"
        ),
        "{}",
        whats(&report)
    );
    assert_eq!(report.head.and_then(|h| h.checkpoint_line), None);
}

#[test]
fn a_re_serialized_record_is_not_canonical() {
    let log = Log::new(1);
    let path = "records/000000/000/000000000000.json";
    let value: serde_json::Value = serde_json::from_slice(&log.tip_file(path)).expect("record");
    let pretty = serde_json::to_vec_pretty(&value).expect("pretty");
    let signature = log.key.sign(DRIFTLOG_NAMESPACE, &pretty).expect("sign");
    log.replace_tip(
        &[
            (path, Some(&pretty)),
            (&format!("{path}.sig"), Some(signature.as_bytes())),
        ],
        &log.key,
    );
    let problems = whats(&log.verify(&[]));
    assert!(problems.contains("is not canonical JSON"), "{problems}");
}

#[test]
fn the_readme_may_only_be_added_by_the_first_commit() {
    let log = Log::new(2);
    log.replace_tip(
        &[("README.md", Some(b"edited\n")), ("checkpoint/note", None)],
        &log.key,
    );
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains("also changes README.md, deletes checkpoint/note"),
        "{problems}"
    );
    assert!(
        problems.contains("checkpoint/note is missing"),
        "{problems}"
    );
}

fn verify_with<'a>(log: &'a Log, since: Option<&'a str>, repository: Option<&'a str>) -> Report {
    verify(
        &log.repo(),
        BRANCH,
        &VerifyOptions {
            allowed: &log.allowed,
            checkpoints: &[],
            since,
            repository,
            threads: 0,
        },
    )
    .expect("verify")
}

#[test]
fn a_log_copied_from_another_repository_is_named_so() {
    let log = Log::new(2);
    let report = verify_with(&log, None, Some("example.com/acme/infra"));
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(
        report.log_repository.as_deref(),
        Some("example.com/acme/infra")
    );
    let report = verify_with(&log, None, Some("example.com/other/infra"));
    assert!(
        whats(&report).contains("it was copied from another log"),
        "{}",
        whats(&report)
    );
}

#[test]
fn signers_are_counted_by_principal_and_key() {
    let log = Log::new(3);
    let report = log.verify(&[]);
    assert_eq!(
        report.signers,
        [SignerCount {
            principal: "ci".into(),
            fingerprint: log.key.fingerprint(),
            records: 3
        }]
    );
}

#[test]
fn a_commit_dated_before_the_previous_one_is_a_problem() {
    // A retired key signing with a date inside its validity window, after its successor's
    // records: the time goes back, and that is what gives it away.
    let log = Log::new(3);
    log.replace_tip_at(&[], &log.key, Some(1_790_000_000 - 86_400));
    let report = log.verify(&[]);
    let problems = whats(&report);
    assert!(
        problems.contains("times in a log only move forward"),
        "{problems}"
    );
    assert!(problems.contains("differ by 86402 s"), "{problems}");
}

#[test]
fn a_key_outside_its_validity_window_is_refused() {
    let log = Log::new(2);
    // Trust the key only until before the first record's time.
    let line = allowed_signers_line("ci", &log.key).replacen(
        "namespaces=",
        "valid-before=\"20260101\",namespaces=",
        1,
    );
    let allowed = AllowedSigners::parse(&line).expect("parse");
    let report = verify_log(&log.repo(), BRANCH, &allowed, &[]).expect("verify");
    assert!(!report.is_intact());
    assert!(
        whats(&report).contains("is not valid at"),
        "{}",
        whats(&report)
    );
}

#[test]
fn an_incremental_verify_reads_only_the_records_after_its_checkpoint() {
    let log = Log::new(5);
    let since = log.appended[2].checkpoint_line.clone();
    let report = verify_with(&log, Some(&since), None);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.since, Some(3));
    assert_eq!((report.records, report.commits), (5, 2));
    let head = report.head.expect("head");
    assert_eq!(head.merkle_root, log.appended[4].merkle_root);
    assert_eq!(
        head.checkpoint_line.as_deref(),
        Some(log.appended[4].checkpoint_line.as_str())
    );
    // The tip's own checkpoint: nothing new to read.
    let tip = log.appended[4].checkpoint_line.clone();
    let report = verify_with(&log, Some(&tip), None);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.commits, 0);
}

#[test]
fn an_incremental_verify_catches_a_history_rewritten_before_its_checkpoint() {
    let log = Log::new(4);
    let since = log.appended[1].checkpoint_line.clone();
    // Rebuild the whole log from scratch with the same key: every record re-signed, the
    // tree different from what the checkpoint committed to.
    let rewritten = Log::build(4, BRANCH, BRANCH, ORIGIN);
    let repo = log.repo();
    let other = rewritten.repo();
    let tip = other
        .refname_to_id(&format!("refs/heads/{BRANCH}"))
        .expect("tip");
    let mut remote = repo
        .remote_anonymous(other.path().to_str().expect("path"))
        .expect("remote");
    remote
        .fetch(
            &[format!("+refs/heads/{BRANCH}:refs/heads/{BRANCH}")],
            None,
            None,
        )
        .expect("fetch");
    assert_eq!(
        repo.refname_to_id(&format!("refs/heads/{BRANCH}"))
            .expect("tip"),
        tip
    );
    let allowed = AllowedSigners::parse(&format!(
        "{}\n{}",
        allowed_signers_line("ci", &log.key),
        allowed_signers_line("ci", &rewritten.key)
    ))
    .expect("parse");
    let report = verify(
        &repo,
        BRANCH,
        &VerifyOptions {
            allowed: &allowed,
            checkpoints: &[],
            since: Some(&since),
            repository: None,
            threads: 0,
        },
    )
    .expect("verify");
    let problems = whats(&report);
    assert!(
        problems.contains("not consistent with the --since checkpoint"),
        "{problems}"
    );
    assert!(problems.contains("was rewritten"), "{problems}");
    assert_eq!(report.since, None, "the whole log was walked instead");
}

#[test]
fn an_incremental_verify_catches_a_truncated_log() {
    let log = Log::new(4);
    let since = log.appended[3].checkpoint_line.clone();
    let repo = log.repo();
    let second = Oid::from_str(&log.appended[1].commit).expect("oid");
    repo.reference(&format!("refs/heads/{BRANCH}"), second, true, "truncate")
        .expect("reset");
    let report = verify_with(&log, Some(&since), None);
    let problems = whats(&report);
    assert!(problems.contains("records were removed"), "{problems}");
}

#[test]
fn a_tree_nested_twenty_thousand_deep_is_a_problem_not_a_crash() {
    let log = Log::new(1);
    let repo = log.repo();
    let mut id = repo.blob(b"deep").expect("blob");
    let mut mode = 0o100644;
    for _ in 0..20_000 {
        let mut builder = repo.treebuilder(None).expect("builder");
        builder.insert("d", id, mode).expect("insert");
        id = builder.write().expect("tree");
        mode = 0o040000;
    }
    let tip = repo
        .find_reference(&format!("refs/heads/{BRANCH}"))
        .and_then(|r| r.peel_to_commit())
        .expect("tip");
    let mut builder = repo
        .treebuilder(Some(&tip.tree().expect("tree")))
        .expect("builder");
    builder.insert("deep", id, 0o040000).expect("insert");
    let tree = repo
        .find_tree(builder.write().expect("tree"))
        .expect("tree");
    commit_and_move(&repo, &tree, &[&tip], &tip.committer(), "deep", &log.key);
    let report = log.verify(&[]);
    assert!(
        whats(&report).contains(&format!("nested deeper than {MAX_TREE_DEPTH} directories")),
        "{}",
        whats(&report)
    );
}

#[test]
fn an_oversized_record_is_never_read() {
    let log = Log::new(2);
    let path = "records/000000/000/000000000001.json";
    let huge = vec![b' '; MAX_RECORD_BYTES + 1];
    log.replace_tip(&[(path, Some(&huge))], &log.key);
    let report = log.verify(&[]);
    assert!(
        whats(&report).contains(&format!("over the limit of {MAX_RECORD_BYTES}")),
        "{}",
        whats(&report)
    );
}

#[test]
fn a_record_whose_signature_fails_is_not_parsed() {
    let log = Log::new(2);
    let path = "records/000000/000/000000000001.json";
    // Not even JSON: were it parsed, a parse error would be reported too.
    log.replace_tip(&[(path, Some(b"{not json"))], &log.key);
    let report = log.verify(&[]);
    let problems = whats(&report);
    assert!(problems.contains("signature"), "{problems}");
    assert!(problems.contains("not read further"), "{problems}");
    assert!(!problems.contains("is not a driftlog record"), "{problems}");
}

#[test]
fn problems_are_capped_but_all_counted() {
    let log = Log::new(1);
    let repo = log.repo();
    let mut parent = repo
        .find_reference(&format!("refs/heads/{BRANCH}"))
        .and_then(|r| r.peel_to_commit())
        .expect("tip");
    let tree = parent.tree().expect("tree");
    let who = parent.committer().to_owned();
    for n in 0..(MAX_PROBLEMS + 50) {
        let id = repo
            .commit(None, &who, &who, &format!("junk {n}"), &tree, &[&parent])
            .expect("commit");
        parent = repo.find_commit(id).expect("commit");
    }
    repo.reference(&format!("refs/heads/{BRANCH}"), parent.id(), true, "junk")
        .expect("move");
    let report = log.verify(&[]);
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert!(
        report.problems_total > MAX_PROBLEMS as u64,
        "{}",
        report.problems_total
    );
}

#[test]
fn checkpoint_files_must_be_regular_files() {
    for mode in [0o100755, 0o120000] {
        let log = Log::new(2);
        let repo = log.repo();
        let tip = repo
            .find_reference(&format!("refs/heads/{BRANCH}"))
            .and_then(|r| r.peel_to_commit())
            .expect("tip");
        let root = tip.tree().expect("tree");
        let checkpoint = root.get_name(CHECKPOINT_DIR).expect("checkpoint").id();
        let checkpoint = repo.find_tree(checkpoint).expect("tree");
        let note = checkpoint.get_name(NOTE_FILE).expect("note").id();
        let mut inner = repo.treebuilder(Some(&checkpoint)).expect("builder");
        inner.insert(NOTE_FILE, note, mode).expect("insert");
        let inner = inner.write().expect("tree");
        let mut outer = repo.treebuilder(Some(&root)).expect("builder");
        outer
            .insert(CHECKPOINT_DIR, inner, 0o040000)
            .expect("insert");
        let tree = repo.find_tree(outer.write().expect("tree")).expect("tree");
        let parents: Vec<git2::Commit<'_>> = tip.parents().collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let message = tip.message().expect("utf-8");
        commit_and_move(&repo, &tree, &parents, &tip.committer(), message, &log.key);
        let report = log.verify(&[]);
        assert!(
            whats(&report).contains(&format!("checkpoint/note with mode {mode:o}")),
            "{mode:o}: {}",
            whats(&report)
        );
    }
}

#[test]
fn an_earlier_checkpoint_must_name_an_allowed_key_too() {
    let log = Log::new(2);
    let stranger = Log::new(2);
    let note = stranger.tip_file("checkpoint/note");
    log.replace_tip(&[("checkpoint/note", Some(&note))], &log.key);
    let store = AuditStore::open(log.dir.path(), BRANCH, ORIGIN).expect("open");
    let committer = Committer {
        name: "ci".into(),
        email: "ci@example.com".into(),
    };
    let build = |position| record(&log.key, BRANCH, position);
    store
        .append(&build, &log.key, &committer, 1_790_000_100)
        .expect("append");
    let report = log.verify(&[]);
    assert_eq!(report.records, 3);
    assert!(
        whats(&report)
            .contains("Some(1) checkpoint/note is not a checkpoint signed by an allowed key"),
        "{}",
        whats(&report)
    );
}

#[test]
fn an_incremental_verify_catches_a_replaced_last_record() {
    // A key holder puts another record in the place of the checkpoint's last one, keeping
    // the genuine frontier and naming the new bytes in the message.
    let log = Log::new(3);
    let since = log.appended[2].checkpoint_line.clone();
    let repo = log.repo();
    let tip = repo
        .find_reference(&format!("refs/heads/{BRANCH}"))
        .and_then(|r| r.peel_to_commit())
        .expect("tip");
    let position = ChainPosition {
        seq: 2,
        prev: log.appended[1].record_sha256.clone(),
    };
    let other = record(&log.key, BRANCH, position).joined_at("2026-11-24T00:00:09Z");
    let bytes = crate::audit::store::encode(&other).expect("encode");
    let signature = log.key.sign(DRIFTLOG_NAMESPACE, &bytes).expect("sign");
    let path = ["records", "000000", "000", "000000000002.json"];
    let sig_path = ["records", "000000", "000", "000000000002.json.sig"];
    let tree = edit_tree(&repo, Some(tip.tree_id()), &path, Some(&bytes));
    let tree = edit_tree(&repo, Some(tree), &sig_path, Some(signature.as_bytes()));
    let tree = repo.find_tree(tree).expect("tree");
    let message = format!(
        "{MESSAGE_PREFIX}2 sha256:{}",
        crate::audit::store::sha256_hex(&bytes)
    );
    let parents: Vec<git2::Commit<'_>> = tip.parents().collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    commit_and_move(&repo, &tree, &parents, &tip.committer(), &message, &log.key);
    let report = verify_with(&log, Some(&since), None);
    let problems = whats(&report);
    assert!(problems.contains("it was replaced"), "{problems}");
    assert_eq!(report.since, None, "the whole log was walked instead");
}

#[test]
fn only_the_first_of_several_added_records_is_read() {
    let log = Log::new(1);
    let huge = vec![b'x'; 1 << 20];
    let edits: Vec<(String, Option<&[u8]>)> = (1..=20)
        .map(|seq| {
            (
                format!("records/000000/000/{seq:012}.json"),
                Some(&huge[..]),
            )
        })
        .collect();
    let edits: Vec<(&str, Option<&[u8]>)> = edits.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    log.replace_tip(&edits, &log.key);
    let report = log.verify(&[]);
    let problems = whats(&report);
    assert!(
        problems.contains(
            "adds 21 records: every audit commit adds exactly one (only the first was read)"
        ),
        "{problems}"
    );
}

#[test]
fn history_and_explain_never_read_an_oversized_record() {
    let log = Log::new(2);
    let path = "records/000000/000/000000000001.json";
    // Still a valid record once parsed: only its size gives it away.
    let mut padded = log.tip_file(path);
    padded.resize(MAX_RECORD_BYTES + 1, b' ');
    log.replace_tip(&[(path, Some(&padded))], &log.key);
    let err = crate::audit::reader::read_log(&log.repo(), BRANCH).expect_err("refused");
    assert!(
        err.to_string()
            .contains(&format!("more than the {MAX_RECORD_BYTES}")),
        "{err}"
    );
}

/// Every file in `tests/fuzz-corpus/audit-record/`: hostile record documents.
fn audit_record_corpus() -> Vec<Vec<u8>> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/audit-record");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-corpus/audit-record")
        .map(|entry| entry.expect("entry").path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "the audit record corpus is empty");
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("corpus file"))
        .collect()
}

/// `bytes` as the tip's record, signed by the allowed key (so verify parses it): verify, the
/// reader, explain and the store's head each answer, with problems or errors, and never panic.
fn check_record_bytes(log: &Log, original: &[u8], bytes: &[u8]) {
    const TIP: &str = "records/000000/000/000000000001.json";
    let signature = log.key.sign(DRIFTLOG_NAMESPACE, bytes).expect("sign");
    let sig_path = format!("{TIP}.sig");
    log.replace_tip(
        &[(TIP, Some(bytes)), (&sig_path, Some(signature.as_bytes()))],
        &log.key,
    );
    let report = log.verify(&[]);
    assert!(report.problems.len() <= MAX_PROBLEMS);
    if bytes != original {
        assert!(
            !report.is_intact(),
            "a changed record verified: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let repo = log.repo();
    if let Ok(entries) = crate::audit::reader::read_log(&repo, BRANCH) {
        let explained = crate::explain::Log::new(entries);
        for index in 0..explained.len() {
            let _ = explained.explain_scan(index, &[]);
        }
    }
    let store = AuditStore::open(log.dir.path(), BRANCH, ORIGIN).expect("open");
    let _ = store.head();
    let _ = store.log_id();
}

/// Byte edits at positions taken modulo the length.
fn mutate_bytes(seed: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(kind, at, value) in edits {
        let len = bytes.len();
        match kind % 3 {
            0 if len > 0 => {
                bytes.remove(at % len);
            }
            1 => bytes.insert(at % (len + 1), value),
            _ if len > 0 => bytes[at % len] = value,
            _ => {}
        }
    }
    bytes
}

#[test]
fn the_audit_record_corpus_is_refused_not_a_crash() {
    let log = Log::new(2);
    let original = log.tip_file("records/000000/000/000000000001.json");
    for bytes in audit_record_corpus() {
        check_record_bytes(&log, &original, &bytes);
    }
}

/// One log for every case: each replaces the same tip, so the cases stay independent.
#[test]
fn fuzz_audit_record() {
    let log = Log::new(2);
    let original = log.tip_file("records/000000/000/000000000001.json");
    let mut seeds = audit_record_corpus();
    seeds.push(original.clone());
    fuzz_mutations(
        seeds,
        b"{}[]\":,0123456789-.eE\\ntrufalsn\x00\xff\xc3 ",
        &|bytes| check_record_bytes(&log, &original, bytes),
    );
}

/// Runs `check` on up to 64 mutations (a dozen byte edits at most, from `alphabet`) of the
/// `seeds`; a panic in `check` fails the property.
fn fuzz_mutations(seeds: Vec<Vec<u8>>, alphabet: &[u8], check: &dyn Fn(&[u8])) {
    use proptest::prelude::*;
    let edit = (
        0u8..3,
        any::<usize>(),
        prop::sample::select(alphabet.to_vec()),
    );
    let strategy = (
        prop::sample::select(seeds),
        prop::collection::vec(edit, 0..12),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(seed, edits)| {
            check(&mutate_bytes(&seed, &edits));
            Ok(())
        })
        .expect("every mutation is refused or read, never a panic");
}

mod adoption;
mod pending;
mod remediation;
