//! Pushing the audit branch: real git repositories, a real `git daemon` (so pushes go
//! through `git-receive-pack`, with its hooks and its atomic ref updates), real processes
//! racing each other.
//!
//! libgit2 pushes to a path or `file://` remote in-process, without hooks and without
//! checking the ref's old value, so only the first test uses one; every test that needs a
//! server's behaviour talks to `git daemon` over `git://`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use driftlog::audit::record::{ChainPosition, LogId, Record, StackRef};
use driftlog::audit::sshsig::SigningKey;
use driftlog::audit::store::{record_path, AuditStore, Committer};
use driftlog::audit::sync::{
    self, Auth, Outcome, PushFailure, RemoteChoice, RetryPolicy, Source, SyncError, SyncOptions,
};
use driftlog::context::{Local, RunContext};
use driftlog::drift::{ScanReport, Stack, Status};

pub(crate) const BRANCH: &str = "driftlog/audit";
use crate::support::{git, sha256};

pub(crate) const ORIGIN: &str = "example.com/acme/infra/driftlog/audit";
/// The helper test the concurrency test runs as a child process.
const CHILD: ChildWriter = ChildWriter {
    test: "sync::child_records_one_scan",
    clone_env: "DRIFTLOG_SYNC_CHILD",
    marker_env: "DRIFTLOG_SYNC_MARKER",
};
/// The signing key's text, for a child process to sign as its parent does.
const KEY_ENV: &str = "DRIFTLOG_SYNC_TEST_KEY";

/// A test that records one scan when run as a child process with `clone_env` naming the
/// clone and `marker_env` the marker, and does nothing otherwise.
pub(crate) struct ChildWriter {
    pub(crate) test: &'static str,
    pub(crate) clone_env: &'static str,
    pub(crate) marker_env: &'static str,
}

impl ChildWriter {
    /// The clone and the marker this process was given, if it was started as this child.
    pub(crate) fn started_as(&self) -> Option<(PathBuf, String)> {
        let clone = std::env::var_os(self.clone_env)?;
        let marker = std::env::var(self.marker_env).expect("marker");
        Some((PathBuf::from(clone), marker))
    }
}

pub(crate) fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(out.status.success(), "git {args:?}");
    out.stdout
}

/// A bare remote holding a `main` branch, in its own temp dir (the `git daemon` base path).
pub(crate) struct Remote {
    pub(crate) dir: tempfile::TempDir,
}

impl Remote {
    pub(crate) fn new() -> Remote {
        let dir = tempfile::tempdir().expect("temp dir");
        let bare = dir.path().join("remote.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        let seed = dir.path().join("seed");
        git(dir.path(), &["init", "-q", "-b", "main", "seed"]);
        std::fs::write(seed.join("main.tf"), "# stack\n").expect("write");
        git(&seed, &["add", "main.tf"]);
        commit_as_dev(&seed, "stack");
        git(
            &seed,
            &["push", "-q", bare.to_str().expect("utf-8"), "main"],
        );
        Remote { dir }
    }

    pub(crate) fn bare(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    pub(crate) fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    /// The audit branch's tip in the remote, if any.
    pub(crate) fn tip(&self) -> Option<String> {
        let out = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{BRANCH}"),
            ])
            .current_dir(self.bare())
            .output()
            .expect("git");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    pub(crate) fn hook(&self, name: &str, script: &str) {
        let path = self.bare().join("hooks").join(name);
        std::fs::write(&path, script).expect("write hook");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// Makes the next push to the audit branch lose a race to `rival`'s next record: that
    /// record is parked in the remote under another name, and a hook moves the branch to it
    /// once, while the push is in flight, so receive-pack's compare-and-swap of the ref fails.
    pub(crate) fn race_once_with(&self, rival: &Path) {
        record_in(rival, "rival", &options(RemoteChoice::LocalOnly)).expect("rival");
        git(
            rival,
            &[
                "push",
                "-q",
                "origin",
                &format!("{BRANCH}:refs/heads/rival"),
            ],
        );
        self.hook(
            "pre-receive",
            &format!(
                "#!/bin/sh\n\
                 [ -e raced ] && exit 0\n\
                 touch raced\n\
                 env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY \
                 -u GIT_ALTERNATE_OBJECT_DIRECTORIES \
                 git update-ref refs/heads/{BRANCH} refs/heads/rival\n"
            ),
        );
    }

    pub(crate) fn remove_hook(&self, name: &str) {
        std::fs::remove_file(self.bare().join("hooks").join(name)).expect("remove hook");
    }

    /// `count` clones like [`Remote::clone_busy`].
    pub(crate) fn clones_busy(&self, url: &str, count: usize) -> Vec<tempfile::TempDir> {
        (0..count).map(|_| self.clone_busy(url)).collect()
    }

    /// A clone with `origin` at `url`, `main` checked out, a staged and an unstaged change.
    pub(crate) fn clone_busy(&self, url: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(
            root,
            &["clone", "-q", self.bare().to_str().expect("utf-8"), "."],
        );
        git(root, &["remote", "set-url", "origin", url]);
        git(root, &["config", "user.name", "Dev"]);
        git(root, &["config", "user.email", "dev@example.com"]);
        leave_changes(root);
        dir
    }
}

/// Commits what is staged in `dir` as Dev, whatever the repository's configuration.
pub(crate) fn commit_as_dev(dir: &Path, message: &str) {
    git(
        dir,
        &[
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-m",
            message,
        ],
    );
}

/// A staged change and an unstaged one in the work tree at `root` (which has a `main.tf`),
/// for recording to leave alone.
pub(crate) fn leave_changes(root: &Path) {
    std::fs::write(root.join("staged.tf"), "# staged\n").expect("write");
    git(root, &["add", "staged.tf"]);
    std::fs::write(root.join("main.tf"), "# edited, not staged\n").expect("write");
}

/// `git daemon` serving a directory over `git://` with pushes enabled: one `git daemon
/// --inetd` per connection on a port of our own, so parallel tests never collide on ports.
pub(crate) struct Daemon {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    children: Arc<Mutex<Vec<Child>>>,
}

impl Daemon {
    pub(crate) fn serve(base: &Path) -> Daemon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let children = Arc::new(Mutex::new(Vec::new()));
        let base = base.to_owned();
        let accept = {
            let stop = stop.clone();
            let children = children.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let input = OwnedFd::from(stream.try_clone().expect("clone socket"));
                    let child = Command::new("git")
                        .arg("daemon")
                        .arg("--inetd")
                        .arg("--export-all")
                        .arg("--enable=receive-pack")
                        .arg("--informative-errors")
                        .arg("--log-destination=none")
                        .arg(format!("--base-path={}", base.display()))
                        .stdin(Stdio::from(input))
                        .stdout(Stdio::from(OwnedFd::from(stream)))
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("git daemon (git-daemon is installed)");
                    children.lock().expect("lock").push(child);
                }
            })
        };
        Daemon {
            port,
            stop,
            accept: Some(accept),
            children,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("git://127.0.0.1:{}/remote.git", self.port)
    }
}

/// Stops the loop `accept` that serves `port` until `stop` is set, and waits for it.
fn stop_accepting(stop: &AtomicBool, port: u16, accept: &mut Option<JoinHandle<()>>) {
    stop.store(true, Ordering::SeqCst);
    // Wakes the accept loop so it sees the flag.
    let _ = TcpStream::connect(("127.0.0.1", port));
    if let Some(accept) = accept.take() {
        let _ = accept.join();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        stop_accepting(&self.stop, self.port, &mut self.accept);
        for child in self.children.lock().expect("lock").iter_mut() {
            let _ = child.wait();
        }
    }
}

/// A scan of `.` in the default workspace by terraform 1.15.5, ending in `status`.
fn report(status: Status) -> ScanReport {
    ScanReport {
        status,
        tool: Some(driftlog::drift::Tool {
            name: driftlog::drift::ToolName::Terraform,
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
    }
}

/// A record whose stack path is `marker`, so each test can tell its records apart, made with
/// the test key.
pub(crate) fn scan_record(marker: &str, position: ChainPosition) -> Record {
    scan_record_by(marker, position, test_key())
}

/// [`scan_record`] naming `key` as its signer, as the recorder does.
pub(crate) fn scan_record_by(marker: &str, position: ChainPosition, key: &SigningKey) -> Record {
    scan_record_of(Status::Clean, marker, position, key)
}

/// [`scan_record_by`] of a scan that ended in `status`.
pub(crate) fn scan_record_of(
    status: Status,
    marker: &str,
    position: ChainPosition,
    key: &SigningKey,
) -> Record {
    Record::of_scan(
        &report(status),
        StackRef {
            path: marker.into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        RunContext::Local(Local {
            user_name: Some("Dev".into()),
            user_email: None,
            host: Some("ci".into()),
        }),
        LogId {
            repository: "example.com/acme/infra".into(),
            branch: BRANCH.into(),
        },
        position,
        key.fingerprint(),
        "2026-11-24T00:00:00Z".into(),
    )
}

pub(crate) fn committer() -> Committer {
    Committer {
        name: "driftlog".into(),
        email: "driftlog@example.com".into(),
    }
}

pub(crate) fn options(remote: RemoteChoice) -> SyncOptions {
    SyncOptions {
        remote,
        policy: RetryPolicy::default(),
        auth: Auth::none(),
        ..SyncOptions::default()
    }
}

/// [`options`] that give up on `remote` after `deadline`.
pub(crate) fn options_with_deadline(remote: RemoteChoice, deadline: Duration) -> SyncOptions {
    SyncOptions {
        policy: RetryPolicy {
            deadline,
            ..RetryPolicy::default()
        },
        ..options(remote)
    }
}

/// A [`Remote`] served over `git://` by a [`Daemon`] of its own.
pub(crate) fn served() -> (Remote, Daemon) {
    let remote = Remote::new();
    let daemon = Daemon::serve(remote.dir.path());
    (remote, daemon)
}

/// [`served`], and a clone of it whose record `initial` is on the remote's branch.
pub(crate) fn served_with_initial() -> (Remote, Daemon, tempfile::TempDir) {
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    record_in(clone.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    (remote, daemon, clone)
}

/// [`served_with_initial`], and another writer's clone of the remote, made after `initial`.
pub(crate) fn served_with_initial_and_other(
) -> (Remote, Daemon, tempfile::TempDir, tempfile::TempDir) {
    let (remote, daemon, ours) = served_with_initial();
    let other = remote.clone_busy(&daemon.url());
    (remote, daemon, ours, other)
}

/// [`served`], a clone, and a rival clone whose record `initial` is on the remote's branch and
/// whose next record lands there while the first clone's next push is in flight (see
/// [`Remote::race_once_with`]).
pub(crate) fn served_with_a_race() -> (Remote, Daemon, tempfile::TempDir, tempfile::TempDir) {
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    let rival = remote.clone_busy(&daemon.url());
    record_in(rival.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    remote.race_once_with(rival.path());
    (remote, daemon, clone, rival)
}

/// Asserts one of `outcome`'s warnings contains every one of `parts`.
#[track_caller]
pub(crate) fn assert_warned(outcome: &Outcome, parts: &[&str]) {
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| parts.iter().all(|part| w.contains(part))),
        "{:?}",
        outcome.warnings
    );
}

/// Asserts `err` is a push that failed to reach the remote, with its one record spooled.
#[track_caller]
pub(crate) fn assert_spooled_after_transport_failure(err: &SyncError) {
    assert!(
        matches!(
            err,
            SyncError::NotPushed {
                failure: PushFailure::Transport { .. },
                spooled: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The signing key of every run in this process, and of the child processes it starts (a
/// spool only pushes what its own key signed).
pub(crate) fn test_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| match std::env::var(KEY_ENV) {
        Ok(text) => SigningKey::from_openssh(&text).expect("the parent's key"),
        Err(_) => SigningKey::generate().expect("key"),
    })
}

pub(crate) fn record_in(
    dir: &Path,
    marker: &str,
    options: &SyncOptions,
) -> Result<Outcome, SyncError> {
    record_with(dir, marker, options, test_key())
}

pub(crate) fn record_with(
    dir: &Path,
    marker: &str,
    options: &SyncOptions,
    key: &SigningKey,
) -> Result<Outcome, SyncError> {
    let store = AuditStore::open(dir, BRANCH, ORIGIN).expect("open store");
    let build = |position| scan_record_by(marker, position, key);
    sync::record(&store, &build, key, &committer(), options)
}

/// HEAD, its branch, the index and the working tree, as git shows them.
pub(crate) fn work_state(dir: &Path) -> (String, String, String) {
    (
        git(dir, &["rev-parse", "HEAD"]),
        git(dir, &["symbolic-ref", "HEAD"]),
        git(dir, &["status", "--porcelain"]),
    )
}

/// The spooled records (`inflight.json` aside: it only exists while a push is unconfirmed;
/// `index.json` too: it lists the records while there are any).
pub(crate) fn spool_files(clone: &Path) -> Vec<String> {
    spool_dir_files(clone)
        .into_iter()
        .filter(|name| name != "inflight.json" && name != "index.json")
        .collect()
}

/// The pending refs the remote holds, by name.
pub(crate) fn pending_refs(bare: &Path) -> Vec<String> {
    git(
        bare,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/driftlog/pending/",
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Everything in the spool but its lock file.
pub(crate) fn spool_dir_files(clone: &Path) -> Vec<String> {
    let dir = clone.join(".git").join("driftlog/spool").join(BRANCH);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Checks the branch in `repo` is one linear chain of `expected` records, one per commit:
/// seq 0.., each `prev` the SHA-256 of the record file before it, each commit naming its
/// record's hash. Returns the records' stack paths (the markers) in chain order.
pub(crate) fn verify_chain(repo: &Path, expected: usize) -> Vec<String> {
    let commits = git(repo, &["rev-list", "--reverse", "--parents", BRANCH]);
    let commits: Vec<&str> = commits.lines().collect();
    assert_eq!(commits.len(), expected, "one commit per record");
    let mut previous = "0".repeat(64);
    let mut markers = Vec::new();
    for (seq, line) in commits.iter().enumerate() {
        let hashes: Vec<&str> = line.split_whitespace().collect();
        assert!(hashes.len() <= 2, "linear history: {line}");
        let commit = hashes[0];
        let [a, b, file] = record_path(seq as u64);
        let bytes = git_bytes(repo, &["show", &format!("{commit}:records/{a}/{b}/{file}")]);
        let hash = sha256(&bytes);
        assert_eq!(
            git(repo, &["show", "-s", "--format=%s", commit]).trim(),
            format!("driftlog: record {seq} sha256:{hash}")
        );
        let record: serde_json::Value = serde_json::from_slice(&bytes).expect("record JSON");
        assert_eq!(record["seq"], seq as u64);
        assert_eq!(record["prev"], previous.as_str(), "prev of record {seq}");
        previous = hash;
        markers.push(
            record["stack"]["path"]
                .as_str()
                .expect("stack path")
                .to_owned(),
        );
    }
    let files = git(repo, &["ls-tree", "-r", "--name-only", BRANCH, "records/"]);
    assert_eq!(
        files.lines().filter(|f| f.ends_with(".json")).count(),
        expected,
        "no stray records in the tree"
    );
    markers
}

/// Asserts the branch in `repo` is one chain (see [`verify_chain`]) of exactly the records
/// `expected` names, in that order.
#[track_caller]
pub(crate) fn assert_chain(repo: &Path, expected: &[&str]) {
    assert_eq!(verify_chain(repo, expected.len()), expected);
}

#[test]
fn the_first_record_creates_the_remote_branch_and_leaves_the_work_tree_alone() {
    let remote = Remote::new();
    let clone = remote.clone_busy(&remote.file_url());
    let before = work_state(clone.path());

    let outcome =
        record_in(clone.path(), "first", &options(RemoteChoice::Default)).expect("record");

    assert_eq!(work_state(clone.path()), before, "HEAD, index, work tree");
    assert!(!outcome.is_local_only());
    assert!(outcome
        .remote
        .as_deref()
        .is_some_and(|r| r.starts_with("origin (file://")));
    assert_eq!(outcome.retries, 0);
    assert_eq!(outcome.records.len(), 1);
    assert_eq!(outcome.records[0].source, Source::ThisScan);
    assert_eq!(outcome.head().expect("on the branch").seq, 0);
    assert_eq!(
        outcome.records[0].commit,
        outcome.head().expect("on the branch").commit
    );
    assert!(outcome
        .checkpoint_line()
        .expect("a checkpoint")
        .contains(ORIGIN));
    let local = git(clone.path(), &["rev-parse", BRANCH]);
    assert_eq!(remote.tip().as_deref(), Some(local.trim()));
    assert_eq!(local.trim(), outcome.head().expect("on the branch").commit);
    assert_eq!(
        git(clone.path(), &["rev-parse", &format!("origin/{BRANCH}")]),
        local,
        "the tracking ref follows"
    );
    assert_chain(&remote.bare(), &["first"]);
    assert!(spool_files(clone.path()).is_empty());
}

#[test]
fn without_a_remote_the_record_is_written_locally_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let outcome = record_in(dir.path(), "local", &options(RemoteChoice::Default)).expect("record");
    assert!(outcome.is_local_only());
    assert_eq!(outcome.head().expect("on the branch").seq, 0);
    assert_chain(dir.path(), &["local"]);
    assert!(spool_files(dir.path()).is_empty());

    let missing = record_in(
        dir.path(),
        "nowhere",
        &options(RemoteChoice::Named("upstream".into())),
    );
    assert!(
        matches!(missing, Err(SyncError::NoSuchRemote { ref name }) if name == "upstream"),
        "{missing:?}"
    );
    assert!(spool_files(dir.path()).is_empty(), "nothing half-written");

    // Moving a checked-out branch would leave the work tree behind its HEAD.
    let checked_out = tempfile::tempdir().expect("temp dir");
    git(checked_out.path(), &["init", "-q", "-b", BRANCH]);
    let refused = record_in(checked_out.path(), "x", &options(RemoteChoice::Default));
    assert!(
        matches!(refused, Err(SyncError::CheckedOut { .. })),
        "{refused:?}"
    );
}

#[test]
fn two_clones_taking_turns_each_build_on_the_others_records() {
    let (remote, daemon) = served();
    let clones = [
        remote.clone_busy(&daemon.url()),
        remote.clone_busy(&daemon.url()),
    ];
    let before: Vec<_> = clones.iter().map(|c| work_state(c.path())).collect();
    let mut expected = Vec::new();
    for turn in 0..6 {
        let marker = format!("turn-{turn}");
        let clone = clones[turn % 2].path();
        let outcome = record_in(clone, &marker, &options(RemoteChoice::Default)).expect("record");
        assert_eq!(outcome.head().expect("on the branch").seq, turn as u64);
        assert_eq!(outcome.retries, 0, "each run starts from the fetched tip");
        assert_eq!(
            remote.tip().as_deref(),
            Some(outcome.head().expect("on the branch").commit.as_str())
        );
        expected.push(marker);
    }
    assert_eq!(verify_chain(&remote.bare(), 6), expected);
    for (clone, before) in clones.iter().zip(before) {
        assert_eq!(work_state(clone.path()), before);
    }
}

/// Run by [`concurrent_processes_each_land_their_record_exactly_once`] in each child
/// process; does nothing in a normal test run.
#[test]
fn child_records_one_scan() {
    let Some((clone, marker)) = CHILD.started_as() else {
        return;
    };
    let options = SyncOptions {
        remote: RemoteChoice::Named("origin".into()),
        // Generous: this test is about correctness under contention, not the default budget.
        policy: RetryPolicy {
            deadline: Duration::from_secs(120),
            base: Duration::from_millis(50),
            cap: Duration::from_secs(1),
        },
        auth: Auth::none(),
        ..SyncOptions::default()
    };
    let outcome = record_in(&clone, &marker, &options).expect("the child's record");
    println!(
        "{marker}: seq {} after {} retries",
        outcome.head().expect("on the branch").seq,
        outcome.retries
    );
}

#[test]
fn concurrent_processes_each_land_their_record_exactly_once() {
    const WRITERS: usize = 8;
    let (remote, daemon, _first) = served_with_initial();
    let clones = remote.clones_busy(&daemon.url(), WRITERS);

    run_writers(numbered(&clones, |i| format!("writer-{i}")));

    let markers = verify_chain(&remote.bare(), WRITERS + 1);
    assert_eq!(markers[0], "initial");
    let mut writers: Vec<&str> = markers[1..].iter().map(String::as_str).collect();
    writers.sort();
    let expected: Vec<String> = (0..WRITERS).map(|i| format!("writer-{i}")).collect();
    assert_eq!(writers, expected, "every record exactly once");
    for clone in &clones {
        assert!(spool_files(clone.path()).is_empty());
    }
}

#[test]
fn a_push_that_loses_a_race_is_rebuilt_on_the_new_tip() {
    let (remote, _daemon, ours, _rival) = served_with_a_race();

    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("record");

    assert_eq!(outcome.retries, 1, "{outcome:?}");
    assert_eq!(outcome.head().expect("on the branch").seq, 2);
    assert_eq!(outcome.records.len(), 1);
    assert_chain(&remote.bare(), &["initial", "rival", "ours"]);
    assert_eq!(
        git(ours.path(), &["rev-parse", BRANCH]).trim(),
        outcome.head().expect("on the branch").commit,
        "the local branch dropped the commit that lost"
    );
}

#[test]
fn a_rejected_push_spools_the_record_and_the_next_run_pushes_it_first() {
    let (remote, _daemon, clone) = served_with_initial();
    let before = work_state(clone.path());
    remote.hook(
        "pre-receive",
        "#!/bin/sh\necho 'the audit branch is frozen by policy' >&2\nexit 1\n",
    );
    let remote_tip = remote.tip();

    for (run, spooled) in [("rejected-1", 1), ("rejected-2", 2)] {
        let err = record_in(clone.path(), run, &options(RemoteChoice::Default))
            .expect_err("the hook rejects");
        match &err {
            SyncError::NotPushed {
                failure: PushFailure::Rejected { reason, .. },
                spooled: n,
                ..
            } => {
                assert!(reason.contains("hook declined"), "{reason}");
                assert!(reason.contains("frozen by policy"), "{reason}");
                assert_eq!(*n, spooled);
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&format!("{spooled} audit record(s)")) && message.contains("spool"),
            "{message}"
        );
        assert_eq!(spool_files(clone.path()).len(), spooled);
        assert_eq!(remote.tip(), remote_tip, "nothing reached the remote");
    }
    // The unpushed records stay on the local branch, too.
    assert_chain(clone.path(), &["initial", "rejected-1", "rejected-2"]);

    remote.remove_hook("pre-receive");
    let outcome =
        record_in(clone.path(), "accepted", &options(RemoteChoice::Default)).expect("record");
    let sources: Vec<_> = outcome.records.iter().map(|r| r.source).collect();
    assert_eq!(sources, [Source::Spool, Source::Spool, Source::ThisScan]);
    assert_eq!(outcome.from_spool(), 2);
    assert_eq!(outcome.head().expect("on the branch").seq, 3);
    assert!(
        spool_dir_files(clone.path()).is_empty(),
        "the spool is empty"
    );
    assert_chain(
        &remote.bare(),
        &["initial", "rejected-1", "rejected-2", "accepted"],
    );
    assert_eq!(work_state(clone.path()), before);
}

#[test]
fn spooled_records_are_rebuilt_when_others_pushed_meanwhile() {
    let (remote, daemon) = served();
    let ours = remote.clone_busy(&daemon.url());
    let other = remote.clone_busy(&daemon.url());
    record_in(ours.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    remote.hook("pre-receive", "#!/bin/sh\nexit 1\n");
    record_in(ours.path(), "spooled", &options(RemoteChoice::Default)).expect_err("rejected");
    remote.remove_hook("pre-receive");
    record_in(other.path(), "other", &options(RemoteChoice::Default)).expect("other");

    // Our local branch now diverges from the remote by one commit, which is a spooled record:
    // it is dropped and rebuilt on top of the other writer's.
    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("record");
    assert_eq!(outcome.from_spool(), 1);
    assert_chain(&remote.bare(), &["initial", "other", "spooled", "ours"]);
    assert!(spool_files(ours.path()).is_empty());
}

#[test]
fn local_only_commits_are_pushed_along_or_kept() {
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    // A log kept locally before the remote was used.
    for marker in ["kept-0", "kept-1"] {
        record_in(clone.path(), marker, &options(RemoteChoice::LocalOnly)).expect("local");
    }
    let outcome = record_in(clone.path(), "pushed", &options(RemoteChoice::Default)).expect("push");
    let sources: Vec<_> = outcome.records.iter().map(|r| r.source).collect();
    assert_eq!(
        sources,
        [Source::LocalBranch, Source::LocalBranch, Source::ThisScan]
    );
    assert!(
        outcome.warnings.iter().any(|w| w.contains("2 commit(s)")),
        "{:?}",
        outcome.warnings
    );
    assert_chain(&remote.bare(), &["kept-0", "kept-1", "pushed"]);

    // Local commits that diverge from the remote are neither dropped nor force-pushed.
    let other = remote.clone_busy(&daemon.url());
    record_in(other.path(), "other", &options(RemoteChoice::Default)).expect("other");
    record_in(clone.path(), "local", &options(RemoteChoice::LocalOnly)).expect("local");
    let local_tip = git(clone.path(), &["rev-parse", BRANCH]);
    let err =
        record_in(clone.path(), "blocked", &options(RemoteChoice::Default)).expect_err("diverged");
    // The call fails (someone must look at the local commits), but the record is on the
    // remote, in a pending ref of its own, not only in this clone.
    let SyncError::NotPushed {
        failure:
            PushFailure::RefusedPending {
                refusal,
                pending_ref,
            },
        spooled: 0,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        matches!(**refusal, PushFailure::Diverged { local_only: 1, .. }),
        "{refusal:?}"
    );
    assert!(err.to_string().contains(pending_ref.as_str()), "{err}");
    assert_eq!(
        pending_refs(&remote.bare()),
        std::slice::from_ref(pending_ref)
    );
    assert_eq!(git(clone.path(), &["rev-parse", BRANCH]), local_tip);
    assert!(spool_files(clone.path()).is_empty());
    assert_eq!(verify_chain(&remote.bare(), 4)[3], "other");
}

#[test]
fn a_push_whose_answer_was_lost_is_not_appended_twice() {
    let (remote, _daemon, clone) = served_with_initial();
    // The server takes the update, then the connection dies before it can say so (once per
    // `dropped` marker).
    remote.hook(
        "reference-transaction",
        "#!/bin/sh\n\
         [ \"$1\" = committed ] || exit 0\n\
         [ -e dropped ] && exit 0\n\
         touch dropped\n\
         kill -9 $PPID\n",
    );

    // Across runs: no retry left, so the record stays spooled although it landed...
    let single = options_with_deadline(RemoteChoice::Default, Duration::ZERO);
    let err = record_in(clone.path(), "across", &single).expect_err("no answer");
    assert_spooled_after_transport_failure(&err);
    assert_chain(&remote.bare(), &["initial", "across"]);
    // ...and the next run sees it there instead of appending it again.
    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");
    assert_eq!(outcome.from_spool(), 1, "{outcome:?}");
    assert_chain(&remote.bare(), &["initial", "across", "next"]);
    assert!(spool_dir_files(clone.path()).is_empty());

    // Within a run: the retry finds its own record on the remote.
    std::fs::remove_file(remote.bare().join("dropped")).expect("re-arm the hook");
    let outcome =
        record_in(clone.path(), "within", &options(RemoteChoice::Default)).expect("record");
    assert_eq!(outcome.retries, 1, "{outcome:?}");
    assert_eq!(outcome.records.len(), 1);
    assert_chain(&remote.bare(), &["initial", "across", "next", "within"]);
    assert!(spool_dir_files(clone.path()).is_empty());
}

#[test]
fn processes_sharing_one_clone_take_turns() {
    const WRITERS: usize = 4;
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    let before = work_state(clone.path());
    run_writers((0..WRITERS).map(|i| (clone.path(), format!("shared-{i}"))));
    let mut markers = verify_chain(&remote.bare(), WRITERS);
    markers.sort();
    let expected: Vec<String> = (0..WRITERS).map(|i| format!("shared-{i}")).collect();
    assert_eq!(markers, expected);
    assert_eq!(
        git(clone.path(), &["rev-parse", BRANCH]).trim(),
        remote.tip().expect("remote branch")
    );
    assert_eq!(work_state(clone.path()), before);
}

/// A fake HTTP git server that answers every request with `status`, after asking for basic
/// auth when `challenge` is set, and keeps the `Authorization` headers it received.
struct HttpServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    fn start(challenge: bool) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut authorization = None;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("authorization") {
                                authorization = Some(value.trim().to_owned());
                            }
                        }
                    }
                    let response = match &authorization {
                        None if challenge => {
                            "HTTP/1.1 401 Unauthorized\r\n\
                             WWW-Authenticate: Basic realm=\"test\"\r\n"
                        }
                        _ => "HTTP/1.1 404 Not Found\r\n",
                    };
                    seen.lock().expect("lock").extend(authorization);
                    let _ = stream.write_all(
                        format!("{response}Content-Length: 0\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    );
                    let _ = stream.flush();
                    let mut rest = Vec::new();
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = stream.read_to_end(&mut rest);
                }
            })
        };
        HttpServer {
            port,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        stop_accepting(&self.stop, self.port, &mut self.accept);
    }
}

#[test]
fn credentials_reach_the_server_and_never_the_error() {
    // actions/checkout's persisted credentials: an extra header libgit2 does not read itself.
    let server = HttpServer::start(false);
    let remote = Remote::new();
    let url = format!("{}/acme/infra.git", server.base());
    let clone = remote.clone_busy(&url);
    let header_secret = "eC1hY2Nlc3MtdG9rZW46Z2hzX2V4dHJhaGVhZGVy";
    git(
        clone.path(),
        &[
            "config",
            &format!("http.{}/.extraheader", server.base()),
            &format!("AUTHORIZATION: basic {header_secret}"),
        ],
    );
    let err = record_in(clone.path(), "header", &options(RemoteChoice::Default))
        .expect_err("the server has no repository");
    assert_eq!(server.seen(), [format!("basic {header_secret}")]);
    let message = err.to_string();
    assert!(!message.contains(header_secret), "{message}");
    assert_spooled_after_transport_failure(&err);

    // GITHUB_TOKEN, offered when the server asks, to its own server only.
    let server = HttpServer::start(true);
    let url = format!("{}/acme/infra.git", server.base());
    let clone = remote.clone_busy(&url);
    let token = "ghs_token_never_printed";
    let with_token = SyncOptions {
        auth: Auth::github_token(token, &server.base()),
        ..options(RemoteChoice::Default)
    };
    let err = record_in(clone.path(), "token", &with_token).expect_err("no repository");
    let expected = base64_basic(&format!("x-access-token:{token}"));
    assert_eq!(server.seen(), [expected]);
    assert!(!err.to_string().contains(token), "{err}");

    let elsewhere = SyncOptions {
        auth: Auth::github_token(token, "https://github.com"),
        ..options(RemoteChoice::Default)
    };
    let before = server.seen().len();
    record_in(clone.path(), "elsewhere", &elsewhere).expect_err("no credentials");
    assert_eq!(
        server.seen().len(),
        before,
        "the token is not sent to another server"
    );
}

fn base64_basic(credentials: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// Starts one child process per (clone, marker), all at once, each running the test `child`
/// to record one scan in its clone, and waits for all of them to succeed.
pub(crate) fn run_writers_as<'a>(
    child: &ChildWriter,
    writers: impl Iterator<Item = (&'a Path, String)>,
) {
    let exe = std::env::current_exe().expect("test binary");
    let key = test_key().to_openssh("writer").expect("key text");
    let children: Vec<_> = writers
        .map(|(clone, marker)| {
            Command::new(&exe)
                .args(["--exact", child.test, "--nocapture", "--test-threads=1"])
                .env(child.clone_env, clone)
                .env(child.marker_env, marker)
                .env(KEY_ENV, &key)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the child")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "writer {i} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Pairs each of `clones` with the marker `name` makes of its index, for [`run_writers_as`].
pub(crate) fn numbered<'a>(
    clones: &'a [tempfile::TempDir],
    name: impl Fn(usize) -> String + 'a,
) -> impl Iterator<Item = (&'a Path, String)> + 'a {
    clones
        .iter()
        .enumerate()
        .map(move |(i, clone)| (clone.path(), name(i)))
}

/// [`run_writers_as`] this module's [`child_records_one_scan`].
fn run_writers<'a>(writers: impl Iterator<Item = (&'a Path, String)>) {
    run_writers_as(&CHILD, writers);
}
