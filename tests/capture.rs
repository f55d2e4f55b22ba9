//! Everything driftlog writes during the integration tests, kept for the leak scan
//! (`leaks.rs`): each run's stdout and stderr, the files it wrote (`--output`, the job summary,
//! `GITHUB_OUTPUT`), every request body the fake GitHub received, and the audit branches,
//! pending refs and spool of the repository it ran in. The secrets the tests handed driftlog
//! (tokens, signing keys) are registered beside them, so the scan knows what to look for.
//!
//! The capture lives in `<target>/leak-capture/`; `scripts/test.sh` empties it before the suite
//! and scans it after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// `<target>/leak-capture`.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
            .join("leak-capture")
    })
    .clone()
}

/// One new file name in the capture: unique across the processes and threads of a test run.
fn next_path(kind: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed").replace([':', '/'], "_");
    let dir = root().join("outputs");
    std::fs::create_dir_all(&dir).expect("create the leak capture dir");
    dir.join(format!("{test}.{}.{n}.{kind}", std::process::id()))
}

/// Keeps `bytes` (something driftlog wrote) for the scan.
pub fn bytes(kind: &str, bytes: &[u8]) {
    if !bytes.is_empty() {
        std::fs::write(next_path(kind), bytes).expect("write to the leak capture");
    }
}

/// Keeps the file at `path`, when driftlog wrote one there (a regular file: tests also name
/// `/dev/zero` and FIFOs).
pub fn file(kind: &str, path: &Path) {
    if let Some(content) = read_regular(path) {
        bytes(kind, &content);
    }
}

fn read_regular(path: &Path) -> Option<Vec<u8>> {
    let regular = std::fs::metadata(path).ok()?.is_file();
    regular.then(|| std::fs::read(path).ok()).flatten()
}

/// Registers a secret the test gave driftlog (a token, a key's private part): the scan fails
/// when any capture holds it.
pub fn secret(value: &str) {
    if value.len() < 8 {
        return; // too short to search for without false alarms
    }
    let dir = root().join("secrets");
    std::fs::create_dir_all(&dir).expect("create the leak capture's secrets dir");
    let name = ring::digest::digest(&ring::digest::SHA256, value.as_bytes())
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    std::fs::write(dir.join(name), value).expect("register a test secret");
}

/// The private half of an OpenSSH signing key, in the spellings an output could carry it in.
pub fn signing_key(openssh: &str) {
    use base64::Engine;
    // Any whole line of the key's body past its first two (which hold the public key) carries
    // private bytes; the short last line is padding.
    for line in openssh.lines().filter(|l| !l.starts_with("-----")).skip(2) {
        if line.trim().len() >= 40 {
            secret(line.trim());
        }
    }
    if let Ok(key) = ssh_key::PrivateKey::from_openssh(openssh.trim()) {
        if let Some(pair) = key.key_data().ed25519() {
            let seed = pair.private.to_bytes();
            secret(&seed.iter().map(|b| format!("{b:02x}")).collect::<String>());
            secret(&base64::engine::general_purpose::STANDARD.encode(seed));
            secret(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed));
        }
    }
}

/// One process run: its output, the files it was told to write, and the audit refs of the
/// repositories it worked in.
pub fn run(args: &[&str], cwd: &Path, env: &[(String, String)], stdout: &[u8], stderr: &[u8]) {
    bytes("stdout", stdout);
    bytes("stderr", stderr);
    for (name, value) in env {
        match name.as_str() {
            "GITHUB_STEP_SUMMARY" => file("summary", Path::new(value)),
            "GITHUB_OUTPUT" => file("outputs", Path::new(value)),
            "DRIFTLOG_GITHUB_TOKEN" | "INPUT_GITHUB_TOKEN" | "GITHUB_TOKEN" => secret(value),
            "DRIFTLOG_SIGNING_KEY" | "INPUT_SIGNING_KEY" => signing_key(value),
            _ => {}
        }
    }
    let mut dirs = vec![cwd.to_path_buf()];
    for pair in args.windows(2) {
        if matches!(pair[0], "--output" | "-o") {
            let path = cwd.join(pair[1]);
            file("report", &path);
        }
        if matches!(pair[0], "--signing-key") {
            if let Some(key) = read_regular(&cwd.join(pair[1])) {
                signing_key(&String::from_utf8_lossy(&key));
            }
        }
    }
    dirs.extend(args.iter().map(|a| cwd.join(a)).filter(|p| p.is_dir()));
    for dir in dirs {
        audit_refs(&dir);
    }
}

/// The audit branch, pending refs and spool of the repository holding `dir`, if any: every
/// object they reach (records, trees, commit messages, notes) in one capture file.
pub fn audit_refs(dir: &Path) {
    let Some(git_dir) = git_stdout(dir, &["rev-parse", "--absolute-git-dir"]) else {
        return;
    };
    let git_dir = PathBuf::from(git_dir.trim());
    let refs = git_stdout(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads/driftlog",
            "refs/driftlog",
            "refs/notes",
        ],
    )
    .unwrap_or_default();
    let refs: Vec<&str> = refs.lines().collect();
    if !refs.is_empty() {
        let objects = git_stdout(dir, &[&["rev-list", "--objects"][..], &refs].concat());
        if let Some(objects) = objects {
            let ids: String = objects
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(|id| format!("{id}\n"))
                .collect();
            if let Some(dump) = git_with_stdin(dir, &["cat-file", "--batch"], ids.as_bytes()) {
                bytes("audit", &dump);
            }
        }
    }
    let spool = git_dir.join("driftlog");
    if spool.is_dir() {
        for entry in walk(&spool) {
            file("spool", &entry);
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn git_stdout(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    out.status.success().then_some(out.stdout)
}

/// [`run`] for a finished [`std::process::Output`].
pub fn output(args: &[&str], cwd: &Path, env: &[(String, String)], out: &std::process::Output) {
    run(args, cwd, env, &out.stdout, &out.stderr);
}
