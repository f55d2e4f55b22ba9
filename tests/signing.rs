//! driftlog's keys and SSH signatures against the reference tools: `ssh-keygen` (key files,
//! fingerprints, `-Y sign`/`-Y verify`) and `git verify-commit` with `gpg.format=ssh`.
//! Both tools are required: a missing one fails the test with the reason, it never skips.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use driftlog::audit::sshsig::{
    allowed_signers_line, verify, AllowedSigners, KeyError, SigningKey, VerifyError,
};
use tempfile::TempDir;

/// Runs `program` with `args` (and `stdin`), failing clearly when the tool is not installed.
fn run(program: &str, args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        // Only the settings a test passes: no user or system git configuration.
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|error| {
        let package = if program == "git" {
            "git"
        } else {
            "openssh-client"
        };
        panic!("the signing tests need `{program}` on PATH ({error}); install {package}")
    });
    if let Some(input) = stdin {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait for the tool")
}

/// Like [`run`], and the command must succeed; returns its stdout.
fn ok(program: &str, args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> String {
    let output = run(program, args, dir, stdin);
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes a private key the way ssh-keygen insists on: readable by its owner only.
fn write_private_key(dir: &Path, name: &str, key: &SigningKey, comment: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, key.to_openssh(comment).expect("encode key")).expect("write key");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod key");
    path
}

/// `ssh-keygen -l -f` prints `256 SHA256:... comment (ED25519)`.
fn ssh_keygen_fingerprint(dir: &Path, key_file: &str) -> String {
    let listing = ok("ssh-keygen", &["-l", "-f", key_file], dir, None);
    listing
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint field")
        .to_string()
}

fn ssh_keygen_generate(dir: &Path, name: &str, args: &[&str]) {
    let mut all = vec!["-q", "-f", name];
    all.extend_from_slice(args);
    ok("ssh-keygen", &all, dir, None);
}

fn ssh_keygen_verify(dir: &Path, principal: &str, data: &[u8]) -> Output {
    run(
        "ssh-keygen",
        &[
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            principal,
            "-n",
            "driftlog",
            "-s",
            "record.sig",
        ],
        dir,
        Some(data),
    )
}

#[test]
fn a_driftlog_key_loads_in_ssh_keygen_with_the_same_public_key_and_fingerprint() {
    let dir = TempDir::new().expect("temp dir");
    let key = SigningKey::generate().expect("generate");
    write_private_key(dir.path(), "key", &key, "driftlog@ci");

    let public = ok("ssh-keygen", &["-y", "-f", "key"], dir.path(), None);
    assert_eq!(public.trim_end(), key.public_key_openssh("driftlog@ci"));
    assert_eq!(ssh_keygen_fingerprint(dir.path(), "key"), key.fingerprint());
}

#[test]
fn an_ssh_keygen_key_loads_in_driftlog_and_signs() {
    let dir = TempDir::new().expect("temp dir");
    ssh_keygen_generate(
        dir.path(),
        "key",
        &["-t", "ed25519", "-N", "", "-C", "me@host"],
    );

    let key = SigningKey::from_openssh(&fs::read_to_string(dir.path().join("key")).expect("key"))
        .expect("driftlog reads an ssh-keygen key");
    let public = fs::read_to_string(dir.path().join("key.pub")).expect("key.pub");
    assert_eq!(key.public_key_openssh("me@host"), public.trim_end());
    assert_eq!(key.fingerprint(), ssh_keygen_fingerprint(dir.path(), "key"));

    // And what it signs, ssh-keygen accepts.
    fs::write(
        dir.path().join("allowed_signers"),
        allowed_signers_line("me@host", &key),
    )
    .expect("write allowed signers");
    fs::write(
        dir.path().join("record.sig"),
        key.sign("driftlog", b"data").expect("sign"),
    )
    .expect("write signature");
    let output = ssh_keygen_verify(dir.path(), "me@host", b"data");
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn unusable_ssh_keygen_keys_are_refused_with_the_reason() {
    let dir = TempDir::new().expect("temp dir");
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).expect("key file");

    ssh_keygen_generate(
        dir.path(),
        "encrypted",
        &["-t", "ed25519", "-N", "a passphrase"],
    );
    let error = SigningKey::from_openssh(&read("encrypted")).expect_err("encrypted");
    assert!(matches!(error, KeyError::Encrypted { .. }), "{error}");
    assert!(error.to_string().contains("ssh-keygen -p"), "{error}");

    ssh_keygen_generate(dir.path(), "ecdsa", &["-t", "ecdsa", "-N", ""]);
    let error = SigningKey::from_openssh(&read("ecdsa")).expect_err("ecdsa");
    assert!(error.to_string().contains("ecdsa-sha2-nistp256"), "{error}");

    ssh_keygen_generate(dir.path(), "pem", &["-t", "ecdsa", "-N", "", "-m", "PEM"]);
    let error = SigningKey::from_openssh(&read("pem")).expect_err("PEM");
    assert!(matches!(error, KeyError::NotOpenSsh { .. }), "{error}");
    assert!(error.to_string().contains("EC PRIVATE KEY"), "{error}");
}

#[test]
fn ssh_keygen_verifies_driftlog_signatures_and_rejects_altered_data() {
    let dir = TempDir::new().expect("temp dir");
    let key = SigningKey::generate().expect("generate");
    let record = b"{\"scan\":1,\"drifted\":true}\n".to_vec();
    fs::write(dir.path().join("record"), &record).expect("write record");
    fs::write(
        dir.path().join("allowed_signers"),
        format!(
            "# driftlog's signers\n{}\n",
            allowed_signers_line("driftlog@ci", &key)
        ),
    )
    .expect("write allowed signers");
    let signature = key.sign("driftlog", &record).expect("sign");
    fs::write(dir.path().join("record.sig"), &signature).expect("write signature");

    let output = ssh_keygen_verify(dir.path(), "driftlog@ci", &record);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!(
            "Good \"driftlog\" signature for driftlog@ci with ED25519 key {}",
            key.fingerprint()
        )),
        "{}",
        text(&output)
    );

    let mut altered = record.clone();
    altered[3] ^= 0x01;
    let output = ssh_keygen_verify(dir.path(), "driftlog@ci", &altered);
    assert!(
        !output.status.success(),
        "altered data verified: {}",
        text(&output)
    );

    let output = ssh_keygen_verify(dir.path(), "someone@else", &record);
    assert!(
        !output.status.success(),
        "wrong principal verified: {}",
        text(&output)
    );

    // Ed25519 is deterministic: ssh-keygen's own signature is the very same text.
    write_private_key(dir.path(), "key", &key, "");
    ok(
        "ssh-keygen",
        &["-q", "-Y", "sign", "-f", "key", "-n", "driftlog", "record"],
        dir.path(),
        None,
    );
    let theirs = fs::read_to_string(dir.path().join("record.sig")).expect("ssh-keygen's sig");
    assert_eq!(signature, theirs);
}

#[test]
fn driftlog_verifies_ssh_keygen_signatures() {
    let dir = TempDir::new().expect("temp dir");
    ssh_keygen_generate(dir.path(), "key", &["-t", "ed25519", "-N", ""]);
    let record = b"scan record\n";
    fs::write(dir.path().join("record"), record).expect("write record");
    ok(
        "ssh-keygen",
        &["-q", "-Y", "sign", "-f", "key", "-n", "driftlog", "record"],
        dir.path(),
        None,
    );
    let signature = fs::read_to_string(dir.path().join("record.sig")).expect("signature");
    let public = fs::read_to_string(dir.path().join("key.pub")).expect("key.pub");
    let allowed =
        AllowedSigners::parse(&format!("ops@example.com namespaces=\"driftlog\" {public}"))
            .expect("allowed signers");

    let verified = verify(
        &signature,
        "driftlog",
        record,
        &allowed,
        Some("ops@example.com"),
    )
    .expect("driftlog accepts ssh-keygen's signature");
    assert_eq!(
        verified.fingerprint,
        ssh_keygen_fingerprint(dir.path(), "key")
    );
    assert_eq!(verified.principal, "ops@example.com");

    let error = verify(&signature, "driftlog", b"scan recorD\n", &allowed, None)
        .expect_err("altered record");
    assert!(matches!(error, VerifyError::BadSignature), "{error}");
    let error = verify(&signature, "git", record, &allowed, None).expect_err("wrong namespace");
    assert!(
        matches!(error, VerifyError::WrongNamespace { .. }),
        "{error}"
    );
}

#[test]
fn namespace_restrictions_agree_with_ssh_keygen() {
    let dir = TempDir::new().expect("temp dir");
    let key = SigningKey::generate().expect("generate");
    let line = format!(
        "driftlog@ci namespaces=\"git\" {}",
        key.public_key_openssh("")
    );
    fs::write(dir.path().join("allowed_signers"), &line).expect("write allowed signers");
    let signature = key.sign("driftlog", b"data").expect("sign");
    fs::write(dir.path().join("record.sig"), &signature).expect("write signature");

    let output = ssh_keygen_verify(dir.path(), "driftlog@ci", b"data");
    assert!(!output.status.success(), "{}", text(&output));
    let allowed = AllowedSigners::parse(&line).expect("allowed signers");
    let error = verify(
        &signature,
        "driftlog",
        b"data",
        &allowed,
        Some("driftlog@ci"),
    )
    .expect_err("namespace not permitted");
    assert!(
        matches!(error, VerifyError::NamespaceNotPermitted { .. }),
        "{error}"
    );
}

/// A throwaway repository with an allowed signers file trusting `key` as `driftlog@ci`.
fn git_repo(key: &SigningKey) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    ok("git", &["init", "-q", "."], dir.path(), None);
    ok(
        "git",
        &["config", "user.name", "Driftlog Test"],
        dir.path(),
        None,
    );
    ok(
        "git",
        &["config", "user.email", "driftlog@example.com"],
        dir.path(),
        None,
    );
    fs::write(
        dir.path().join("allowed_signers"),
        allowed_signers_line("driftlog@ci", key),
    )
    .expect("write allowed signers");
    dir
}

fn git_verify_commit(dir: &Path, commit: &str) -> Output {
    let allowed = dir.join("allowed_signers");
    run(
        "git",
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
            "verify-commit",
            "--verbose",
            commit,
        ],
        dir,
        None,
    )
}

/// The commit with a `gpgsig` header the way git stores it: after the other headers, each
/// continuation line of the armored signature indented by one space.
fn with_gpgsig(commit: &str, signature: &str) -> String {
    let (headers, message) = commit.split_once("\n\n").expect("headers and message");
    let value = signature.trim_end_matches('\n').replace('\n', "\n ");
    format!("{headers}\ngpgsig {value}\n\n{message}")
}

fn hash_commit(dir: &Path, content: &str) -> String {
    ok(
        "git",
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        dir,
        Some(content.as_bytes()),
    )
    .trim()
    .to_string()
}

#[test]
fn git_verify_commit_accepts_a_commit_signed_by_driftlog() {
    let key = SigningKey::generate().expect("generate");
    let repo = git_repo(&key);
    let dir = repo.path();
    let tree = ok(
        "git",
        &["hash-object", "-t", "tree", "-w", "/dev/null"],
        dir,
        None,
    );
    assert_eq!(tree.trim(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");

    let commit = format!(
        "tree {}\n\
         author Driftlog Test <driftlog@example.com> 1700000000 +0000\n\
         committer Driftlog Test <driftlog@example.com> 1700000000 +0000\n\
         \n\
         Audit: scan 1 of prod, drifted\n",
        tree.trim()
    );
    // git verifies over the commit without its gpgsig header: exactly what was signed.
    let signature = key.sign_git_commit(&commit).expect("sign commit");
    let signed = with_gpgsig(&commit, &signature);
    let sha = hash_commit(dir, &signed);
    assert_eq!(ok("git", &["cat-file", "commit", &sha], dir, None), signed);

    let output = git_verify_commit(dir, &sha);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!(
            "Good \"git\" signature for driftlog@ci with ED25519 key {}",
            key.fingerprint()
        )),
        "{}",
        text(&output)
    );

    let forged = with_gpgsig(&commit.replace("drifted", "clean"), &signature);
    let forged_sha = hash_commit(dir, &forged);
    let output = git_verify_commit(dir, &forged_sha);
    assert!(
        !output.status.success(),
        "an altered commit verified: {}",
        text(&output)
    );
}

#[test]
fn git2_commit_signed_with_driftlogs_signature_is_what_git_commit_s_writes() {
    // The way the audit store will write commits: git2 builds the buffer, driftlog signs it.
    let key = SigningKey::generate().expect("generate");
    let repo_dir = git_repo(&key);
    let dir = repo_dir.path();
    let repo = git2::Repository::open(dir).expect("open repo");
    let tree_id = repo
        .treebuilder(None)
        .and_then(|builder| builder.write())
        .expect("empty tree");
    let tree = repo.find_tree(tree_id).expect("tree");
    let who = git2::Signature::new(
        "Driftlog Test",
        "driftlog@example.com",
        &git2::Time::new(1_700_000_000, 0),
    )
    .expect("signature");
    let buffer = repo
        .commit_create_buffer(&who, &who, "Audit: scan 2\n", &tree, &[])
        .expect("commit buffer");
    let content = buffer.as_str().expect("utf-8 commit");
    let signature = key.sign_git_commit(content).expect("sign commit");
    let oid = repo
        .commit_signed(content, &signature, Some("gpgsig"))
        .expect("commit_signed")
        .to_string();

    let output = git_verify_commit(dir, &oid);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("Good \"git\" signature for driftlog@ci"),
        "{}",
        text(&output)
    );

    // git itself, signing with the same key (written by driftlog) at the same time, makes the
    // very same object: Ed25519 is deterministic and the header layout is identical.
    let key_file = write_private_key(dir, "key", &key, "");
    let mut command = Command::new("git");
    command
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("user.signingkey={}", key_file.display()))
        .args(["commit", "-q", "-S", "--allow-empty", "-m", "Audit: scan 2"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000");
    let output = command.output().expect("git is installed");
    assert!(output.status.success(), "git commit -S: {}", text(&output));
    let head = ok("git", &["rev-parse", "HEAD"], dir, None);
    assert_eq!(
        head.trim(),
        oid,
        "git wrote:\n{}\ndriftlog wrote:\n{}",
        ok("git", &["cat-file", "commit", head.trim()], dir, None),
        ok("git", &["cat-file", "commit", &oid], dir, None)
    );
}
