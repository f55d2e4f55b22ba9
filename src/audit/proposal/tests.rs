//! Proposals against real repositories: a bare remote with `main`, a clone with local changes
//! as the work tree, checked with the real `git` (trees, parents, `verify-commit`). A path
//! remote is pushed to by libgit2 in-process, without hooks, so the refusal test talks to a
//! real `git daemon` over `git://`, where `git-receive-pack` runs the remote's hooks.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::*;
use crate::audit::sshsig::allowed_signers_line;
use crate::audit::store::sha256_hex;
use crate::audit::sync::Auth;

const BRANCH: &str = "driftlog/adopt/x";
const MAIN_TF: &str = "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"acme-logs\"\n}\n";
const ADOPTED_TF: &str = "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"acme-logs-v2\"\n}\n";

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed")
}

/// `git args` in `dir`, which must succeed; its output, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Commits what is staged in `dir` as someone who is not driftlog.
fn commit_as_dev(dir: &Path, message: &str) {
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

fn write(root: &Path, path: &str, content: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// What a proposal must leave exactly as it was in the work tree's repository.
#[derive(Debug, PartialEq, Eq)]
struct Untouched {
    head: String,
    head_ref: String,
    index_sha256: String,
    status: String,
    local_refs: String,
    files: BTreeMap<String, String>,
}

fn untouched(root: &Path) -> Untouched {
    // Hashed before `git status`, which is told not to refresh (rewrite) the index anyway.
    let index = std::fs::read(root.join(".git/index")).expect("index");
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            let kind = std::fs::symlink_metadata(&path)
                .expect("metadata")
                .file_type();
            if name == ".git" {
                continue;
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                files.insert(name, format!("-> {}", target.display()));
            } else if kind.is_dir() {
                pending.push(path);
            } else {
                files.insert(name, sha256_hex(&std::fs::read(&path).expect("read")));
            }
        }
    }
    Untouched {
        head: git(root, &["rev-parse", "HEAD"]),
        head_ref: git(root, &["symbolic-ref", "HEAD"]),
        index_sha256: sha256_hex(&index),
        status: git(
            root,
            &[
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "--untracked-files=all",
            ],
        ),
        // Not `refs/remotes`: libgit2 moves the remote-tracking refs a fetch or push
        // learns about, as git itself does (see the module documentation).
        local_refs: git(root, &["for-each-ref", "refs/heads", "refs/tags"]),
        files,
    }
}

/// A bare remote whose `main` holds a few stacks, an executable script and a symlink, and a
/// clone of it with a staged change, an unstaged one and an untracked file.
struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
    committer: Committer,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
        git(root, &["init", "-q", "-b", "main", "seed"]);
        let seed = root.join("seed");
        write(&seed, "README.md", "# infra\n");
        write(&seed, "infra/prod/main.tf", MAIN_TF);
        write(&seed, "infra/prod/variables.tf", "variable \"region\" {}\n");
        write(&seed, "infra/staging/main.tf", MAIN_TF);
        write(&seed, "scripts/plan.sh", "#!/bin/sh\nterraform plan\n");
        std::fs::set_permissions(
            seed.join("scripts/plan.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        std::os::unix::fs::symlink("../README.md", seed.join("infra/README.md")).expect("link");
        git(&seed, &["add", "-A"]);
        commit_as_dev(&seed, "stacks");
        git(&seed, &["push", "-q", "../remote.git", "main"]);
        git(root, &["clone", "-q", "remote.git", "clone"]);
        let clone = root.join("clone");
        write(&clone, "staged.tf", "# staged\n");
        git(&clone, &["add", "staged.tf"]);
        write(&clone, "infra/prod/main.tf", "# edited, not staged\n");
        write(&clone, "untracked.txt", "not added\n");
        Fixture {
            dir,
            key: SigningKey::generate().expect("key"),
            committer: Committer {
                name: "driftlog".into(),
                email: "driftlog@example.com".into(),
            },
        }
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn clone(&self) -> PathBuf {
        self.dir.path().join("clone")
    }

    /// [`Fixture::propose_on`] `origin`, `main` and [`BRANCH`] with the fixture's key.
    fn propose(&self, files: &[(&str, &str)]) -> Result<Proposed, ProposalError> {
        self.propose_on("origin", "main", BRANCH, files, Some(&self.key))
    }

    /// Proposes `files`, asserting that the clone's HEAD, index, work tree and branches are
    /// exactly as they were, whatever the outcome.
    fn propose_on(
        &self,
        remote: &str,
        base: &str,
        branch: &str,
        files: &[(&str, &str)],
        key: Option<&SigningKey>,
    ) -> Result<Proposed, ProposalError> {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec()))
            .collect();
        let before = untouched(&self.clone());
        let auth = Auth::github_token("ghs_s3cr3t_token", "https://github.com");
        let result = propose(&ProposalRequest {
            repository: &self.clone().join("infra"),
            remote,
            base,
            branch,
            files: &files,
            message: "driftlog: adopt the drift of infra/prod",
            expected_base: &[],
            signing_key: key,
            committer: &self.committer,
            auth: &auth,
            timeout: Some(Duration::from_secs(30)),
        });
        assert_eq!(untouched(&self.clone()), before, "{result:?}");
        result
    }

    /// The remote's `refname`, if it has one.
    fn remote_tip(&self, refname: &str) -> Option<String> {
        let out = run(&self.bare(), &["rev-parse", "--verify", "-q", refname]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Another developer's clone, to push what driftlog did not make.
    fn other(&self) -> PathBuf {
        let other = self.dir.path().join("other");
        if !other.exists() {
            git(self.dir.path(), &["clone", "-q", "remote.git", "other"]);
        }
        git(&other, &["fetch", "-q", "origin"]);
        other
    }

    /// A new commit on the remote's `main` by someone else; its id.
    fn advance_main(&self, path: &str, content: &str) -> String {
        let other = self.other();
        git(&other, &["checkout", "-q", "-B", "main", "origin/main"]);
        write(&other, path, content);
        git(&other, &["add", path]);
        commit_as_dev(&other, "moved on");
        git(&other, &["push", "-q", "origin", "main"]);
        git(&other, &["rev-parse", "HEAD"])
    }

    fn allowed_signers(&self, key: &SigningKey) -> PathBuf {
        let name = sha256_hex(key.fingerprint().as_bytes());
        let path = self.dir.path().join(format!("allowed-{name}"));
        std::fs::write(&path, allowed_signers_line("driftlog@ci", key)).expect("write");
        path
    }

    /// Whether the real git accepts `commit`'s signature with only `key` allowed.
    fn git_verifies(&self, commit: &str, key: &SigningKey) -> bool {
        let allowed = format!(
            "gpg.ssh.allowedSignersFile={}",
            self.allowed_signers(key).display()
        );
        let args = [
            "-c",
            "gpg.format=ssh",
            "-c",
            &allowed,
            "verify-commit",
            commit,
        ];
        run(&self.bare(), &args).status.success()
    }

    /// `rev`'s whole tree in the remote: path to (mode, blob).
    fn tree(&self, rev: &str) -> BTreeMap<String, (String, String)> {
        git(&self.bare(), &["ls-tree", "-r", "--full-tree", rev])
            .lines()
            .map(|line| {
                let (meta, path) = line.split_once('\t').expect("tab");
                let meta: Vec<&str> = meta.split(' ').collect();
                (path.to_owned(), (meta[0].to_owned(), meta[2].to_owned()))
            })
            .collect()
    }

    /// `base`'s tree with `files` written over it, as a proposal on it must hold.
    fn expected_tree(
        &self,
        base: &str,
        files: &[(&str, &str)],
    ) -> BTreeMap<String, (String, String)> {
        let mut tree = self.tree(base);
        for (path, content) in files {
            let blob = Oid::hash_object(ObjectType::Blob, content.as_bytes()).expect("hash");
            let mode = tree
                .get(*path)
                .map_or("100644".to_owned(), |(m, _)| m.clone());
            tree.insert((*path).to_owned(), (mode, blob.to_string()));
        }
        tree
    }

    /// Asserts `proposed` is on the remote as one commit on `base_tip` with `files` replaced,
    /// signed by the fixture's key.
    fn assert_proposal(&self, proposed: &Proposed, base_tip: &str, files: &[(&str, &str)]) {
        let branch = format!("refs/heads/{BRANCH}");
        assert_eq!(self.remote_tip(&branch).as_deref(), Some(&*proposed.commit));
        assert_eq!(proposed.base_commit, base_tip);
        let parents = git(&self.bare(), &["rev-list", "--parents", "-n1", &branch]);
        assert_eq!(parents, format!("{} {base_tip}", proposed.commit));
        assert_eq!(self.tree(&branch), self.expected_tree(base_tip, files));
        assert!(self.git_verifies(&proposed.commit, &self.key));
        let other = SigningKey::generate().expect("key");
        assert!(!self.git_verifies(&proposed.commit, &other));
        let who = git(
            &self.bare(),
            &["log", "-1", "--format=%cn <%ce> %an <%ae>", &branch],
        );
        assert_eq!(
            who,
            "driftlog <driftlog@example.com> driftlog <driftlog@example.com>"
        );
    }

    fn local_refs(&self, prefix: &str) -> String {
        git(
            &self.clone(),
            &["for-each-ref", "--format=%(refname)", prefix],
        )
    }
}

const FILES: [(&str, &str); 4] = [
    ("infra/prod/main.tf", ADOPTED_TF),
    ("scripts/plan.sh", "#!/bin/sh\nterraform plan -lock=false\n"),
    ("infra/new/deep/extra.tf", "# new\n"),
    ("TOP.md", "top\n"),
];

#[test]
fn a_proposal_is_one_signed_commit_on_main_replacing_only_its_files() {
    let fixture = Fixture::new();
    let main = fixture.remote_tip("refs/heads/main").expect("main");
    let proposed = fixture.propose(&FILES).expect("proposed");
    assert!(proposed.pushed);
    fixture.assert_proposal(&proposed, &main, &FILES);
    let tree = fixture.tree(&proposed.commit);
    assert_eq!(tree["scripts/plan.sh"].0, "100755", "stays executable");
    assert_eq!(tree["infra/README.md"].0, "120000", "the symlink is kept");
    assert_eq!(tree["infra/new/deep/extra.tf"].0, "100644");
    // The remote's main did not move, and no push source is left behind.
    assert_eq!(fixture.remote_tip("refs/heads/main"), Some(main));
    assert_eq!(fixture.local_refs("refs/driftlog/proposals/origin/out"), "");
}

#[test]
fn proposing_the_same_files_again_pushes_nothing() {
    let fixture = Fixture::new();
    let first = fixture.propose(&FILES).expect("proposed");
    let again = fixture.propose(&FILES).expect("proposed again");
    assert!(!again.pushed);
    assert_eq!(
        again,
        Proposed {
            pushed: false,
            ..first.clone()
        }
    );
    let branch = format!("refs/heads/{BRANCH}");
    assert_eq!(fixture.remote_tip(&branch), Some(first.commit));
    // Other content on the same base is a new commit, replacing driftlog's own.
    let changed = [("infra/prod/main.tf", "# other\n")];
    let replaced = fixture.propose(&changed).expect("replaced");
    assert!(replaced.pushed);
    fixture.assert_proposal(&replaced, &first.base_commit, &changed);
}

#[test]
fn a_moved_base_rebuilds_the_branch_on_it() {
    let fixture = Fixture::new();
    let first = fixture.propose(&FILES).expect("proposed");
    let moved = fixture.advance_main("infra/prod/variables.tf", "variable \"zone\" {}\n");
    assert_ne!(moved, first.base_commit);
    let rebuilt = fixture.propose(&FILES).expect("rebuilt");
    assert!(rebuilt.pushed);
    assert_ne!(rebuilt.commit, first.commit);
    fixture.assert_proposal(&rebuilt, &moved, &FILES);
    let tree = fixture.tree(&rebuilt.commit);
    assert_eq!(
        tree["infra/prod/variables.tf"],
        fixture.tree(&moved)["infra/prod/variables.tf"],
        "the new base's change is in it"
    );
}

/// Pushes a branch `branch` made by Dev in the other clone: `edit` on `start`, committed.
fn push_foreign(fixture: &Fixture, branch: &str, start: &str, edit: &[(&str, &str)]) -> String {
    let other = fixture.other();
    git(&other, &["checkout", "-q", "-B", "work", start]);
    for (path, content) in edit {
        write(&other, path, content);
        git(&other, &["add", path]);
    }
    commit_as_dev(&other, "by hand");
    git(
        &other,
        &[
            "push",
            "-q",
            "-f",
            "origin",
            &format!("HEAD:refs/heads/{branch}"),
        ],
    );
    git(&other, &["rev-parse", "HEAD"])
}

#[test]
fn a_branch_someone_else_made_is_never_replaced() {
    let fixture = Fixture::new();
    let files = [("infra/prod/main.tf", ADOPTED_TF)];
    let unsigned = "driftlog/adopt/unsigned";
    push_foreign(
        &fixture,
        unsigned,
        "origin/main",
        &[("README.md", "# mine\n")],
    );
    // Exactly the tree the proposal would write, on the same base, but not driftlog's.
    let same_tree = "driftlog/adopt/same-tree";
    push_foreign(&fixture, same_tree, "origin/main", &files);
    // Driftlog's proposal with someone's commit on top.
    let on_top = "driftlog/adopt/on-top";
    let ours = fixture.propose_on("origin", "main", on_top, &files, Some(&fixture.key));
    let ours = ours.expect("proposed");
    git(&fixture.other(), &["fetch", "-q", "origin"]);
    push_foreign(&fixture, on_top, &ours.commit, &[("README.md", "# more\n")]);
    // Signed the same way, by another key.
    let other_key = "driftlog/adopt/other-key";
    let stranger = SigningKey::generate().expect("key");
    fixture
        .propose_on("origin", "main", other_key, &files, Some(&stranger))
        .expect("proposed by another key");

    for (branch, why) in [
        (unsigned, "is not signed"),
        (same_tree, "is not signed"),
        (on_top, "not one commit on main"),
        (other_key, "not signed by this key"),
    ] {
        let refname = format!("refs/heads/{branch}");
        let before = fixture.remote_tip(&refname).expect("pushed");
        let refused = fixture.propose_on("origin", "main", branch, &files, Some(&fixture.key));
        match refused {
            Err(ProposalError::NotOurBranch {
                branch: named,
                why: said,
                ..
            }) => {
                assert_eq!(named, branch);
                assert!(said.contains(why), "{branch}: {said}");
            }
            other => panic!("{branch}: {other:?}"),
        }
        assert_eq!(fixture.remote_tip(&refname), Some(before), "{branch}");
    }

    // Without a key, driftlog's own is the committer's; Dev's commit is not.
    let by_committer = "driftlog/adopt/by-committer";
    let unsigned_ours = fixture.propose_on("origin", "main", by_committer, &files, None);
    assert!(unsigned_ours.expect("proposed").pushed);
    let again = fixture.propose_on("origin", "main", by_committer, &files, None);
    assert!(!again.expect("same").pushed);
    let refused = fixture.propose_on("origin", "main", unsigned, &files, None);
    assert!(
        matches!(&refused, Err(ProposalError::NotOurBranch { why, .. }) if why.contains("someone else")),
        "{refused:?}"
    );
}

#[test]
fn invalid_branches_and_paths_are_refused_before_anything_is_pushed() {
    let fixture = Fixture::new();
    let files = [("infra/prod/main.tf", ADOPTED_TF)];
    for branch in [
        "", "a..b", "a b", "x/", "/x", "x.lock", "a~b", "a:b", "a\\b", "@{u}",
    ] {
        let refused = fixture.propose_on("origin", "main", branch, &files, Some(&fixture.key));
        assert!(
            matches!(&refused, Err(ProposalError::InvalidBranch(name)) if name == branch),
            "{branch:?}: {refused:?}"
        );
        let refused = fixture.propose_on("origin", branch, BRANCH, &files, Some(&fixture.key));
        assert!(
            matches!(&refused, Err(ProposalError::InvalidBranch(name)) if name == branch),
            "base {branch:?}: {refused:?}"
        );
    }
    let hostile = [
        "../x",
        "infra/../../x",
        "/abs",
        ".git/config",
        "infra/.GIT/config",
        "a//b",
        "a/",
        "",
        "./x",
        "a/./b",
        "a\\b",
        "a\0b",
    ];
    // Each valid in form, but not a file of the base branch to replace.
    let in_the_tree = [
        vec!["infra/prod"],
        vec!["infra"],
        vec!["README.md/x"],
        vec!["scripts/plan.sh/deeper/x"],
        vec!["infra/README.md"],
        vec!["infra/README.md/x"],
        vec!["new.tf", "new.tf"],
        vec!["new/a", "new"],
        vec!["new", "new/a"],
    ];
    let cases = hostile
        .iter()
        .map(|path| vec![*path])
        .chain(in_the_tree)
        .collect::<Vec<_>>();
    for paths in cases {
        let files: Vec<(&str, &str)> = paths.iter().map(|p| (*p, "# s3cr3t-free\n")).collect();
        let refused = fixture.propose(&files);
        let last = paths.last().expect("a path");
        assert!(
            matches!(&refused, Err(ProposalError::InvalidPath { path, .. }) if path == last),
            "{paths:?}: {refused:?}"
        );
    }
    let heads = git(
        &fixture.bare(),
        &["for-each-ref", "--format=%(refname)", "refs/heads"],
    );
    assert_eq!(heads, "refs/heads/main");
}

#[test]
fn a_missing_base_is_reported() {
    let fixture = Fixture::new();
    let files = [("infra/prod/main.tf", ADOPTED_TF)];
    let refused = fixture.propose_on("origin", "trunk", BRANCH, &files, Some(&fixture.key));
    assert!(
        matches!(&refused, Err(ProposalError::BaseMissing { base, .. }) if base == "trunk"),
        "{refused:?}"
    );
    assert_eq!(fixture.remote_tip(&format!("refs/heads/{BRANCH}")), None);
}

/// `git daemon` serving the fixture's remote on loopback, one `--inetd` child per connection
/// on a listener bound before the first use (so no port race and no start-up wait).
struct Daemon {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    children: Arc<Mutex<Vec<Child>>>,
}

impl Daemon {
    fn serve(base: &Path) -> Daemon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let children = Arc::new(Mutex::new(Vec::new()));
        let base = base.to_owned();
        let accept = {
            let (stop, children) = (stop.clone(), children.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let input = OwnedFd::from(stream.try_clone().expect("clone socket"));
                    let child = Command::new("git")
                        .args(["daemon", "--inetd", "--export-all", "--enable=receive-pack"])
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

    fn url(&self) -> String {
        format!("git://127.0.0.1:{}/remote.git", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for child in self.children.lock().expect("lock").iter_mut() {
            let _ = child.wait();
        }
    }
}

#[test]
fn a_push_the_server_refuses_is_reported_and_leaves_nothing_behind() {
    let fixture = Fixture::new();
    let daemon = Daemon::serve(fixture.dir.path());
    git(
        &fixture.clone(),
        &["remote", "add", "served", &daemon.url()],
    );
    let hook = fixture.bare().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'proposals are closed today' >&2\nexit 1\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let branch = format!("refs/heads/{BRANCH}");
    let refused_as = |result: Result<Proposed, ProposalError>| match result {
        Err(ProposalError::PushRejected { reason, branch, .. }) => {
            assert_eq!(branch, BRANCH);
            assert!(reason.contains("pre-receive hook declined"), "{reason}");
            assert!(reason.contains("proposals are closed today"), "{reason}");
        }
        other => panic!("{other:?}"),
    };

    refused_as(fixture.propose_on("served", "main", BRANCH, &FILES, Some(&fixture.key)));
    assert_eq!(fixture.remote_tip(&branch), None);
    let out = "refs/driftlog/proposals/served/out";
    assert_eq!(fixture.local_refs(out), "");
    assert_eq!(
        fixture.local_refs("refs/driftlog/proposals/served/heads"),
        ""
    );

    // Once the server takes pushes, the same call goes through; then a rebuild over
    // driftlog's own branch is refused and leaves that branch where it was.
    std::fs::remove_file(&hook).expect("remove hook");
    let proposed = fixture.propose_on("served", "main", BRANCH, &FILES, Some(&fixture.key));
    let proposed = proposed.expect("proposed");
    assert!(proposed.pushed);
    fixture.assert_proposal(&proposed, &proposed.base_commit, &FILES);
    fixture.advance_main("README.md", "# moved\n");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'proposals are closed today' >&2\nexit 1\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    refused_as(fixture.propose_on("served", "main", BRANCH, &FILES, Some(&fixture.key)));
    assert_eq!(fixture.remote_tip(&branch), Some(proposed.commit));
    assert_eq!(fixture.local_refs(out), "");
}

#[test]
fn errors_never_carry_the_key_or_a_secret() {
    let fixture = Fixture::new();
    let files = [("infra/prod/main.tf", ADOPTED_TF)];
    git(
        &fixture.clone(),
        &[
            "remote",
            "add",
            "unreachable",
            "http://driftlog:s3cr3t@127.0.0.1:1/remote.git",
        ],
    );
    push_foreign(
        &fixture,
        BRANCH,
        "origin/main",
        &[("README.md", "# mine\n")],
    );
    let key = Some(&fixture.key);
    let errors = [
        fixture.propose_on("unreachable", "main", BRANCH, &files, key),
        fixture.propose_on("origin", "main", BRANCH, &files, key),
        fixture.propose_on("origin", "trunk", BRANCH, &files, key),
        fixture.propose_on("origin", "main", "a..b", &files, key),
        fixture.propose_on("origin", "main", BRANCH, &[("../s3cr3t", "x")], key),
        fixture.propose_on("nowhere", "main", BRANCH, &files, key),
    ];
    assert!(
        matches!(errors[0], Err(ProposalError::Unreachable(_))),
        "{:?}",
        errors[0]
    );
    assert!(matches!(errors[1], Err(ProposalError::NotOurBranch { .. })));
    let private = fixture.key.to_openssh("").expect("openssh");
    let key_lines: Vec<&str> = private
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(!key_lines.is_empty());
    for error in errors {
        let error = error.expect_err("refused");
        for text in [error.to_string(), format!("{error:?}")] {
            // The hostile path names itself; nothing else may say the secret.
            let text = text.replace("../s3cr3t", "");
            assert!(!text.contains("s3cr3t"), "{text}");
            for line in &key_lines {
                assert!(!text.contains(line), "{text}");
            }
        }
    }
}
