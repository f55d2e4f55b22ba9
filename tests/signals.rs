//! Signals and timeouts after terraform: a GitHub API, a git remote or a notification
//! receiver that accepts and never answers is given up on, a signal stops the run within
//! seconds at any stage, the report is out before either, and a record that did not reach
//! the remote is in the spool. Also: a stage that cannot write its file does not keep the
//! others from running.

use std::ffi::OsStr;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fake_github::FakeGithub;
use crate::support::{assert_contains, git, terraform_env, Stack};

const TOKEN: &str = "ghs_fakeTOKENvalue0123456789";
const REPO: &str = "acme/infra";
const PR: u64 = 7;
const HEAD_SHA: &str = "1111111111111111111111111111111111111111";
const BRANCH: &str = "driftlog/audit";
/// How long a stopped driftlog may take to exit.
const STOP_WITHIN: Duration = Duration::from_secs(5);
/// How long a scan may take to reach the network stage it is tested in.
const REACH_WITHIN: Duration = Duration::from_secs(120);

/// A TCP server on loopback that accepts connections, reads what is sent, and never answers:
/// a stalled GitHub or `git://` server. It tells when a request arrived.
struct Silent {
    port: u16,
    arrived: Receiver<()>,
    stop: Arc<AtomicBool>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let (sender, arrived) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            let held: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let sender = sender.clone();
                let Ok(reader) = stream.try_clone() else {
                    continue;
                };
                held.lock().expect("held").push(reader);
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 4096];
                    // The first bytes of a request: it arrived. Then read on, answer nothing.
                    if matches!(stream.read(&mut buffer), Ok(n) if n > 0) {
                        let _ = sender.send(());
                    }
                    while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
                });
            }
        });
        Silent {
            port,
            arrived,
            stop,
        }
    }

    fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn git_url(&self) -> String {
        format!("git://127.0.0.1:{}/remote.git", self.port)
    }

    /// Waits until a request has arrived; returns when it did.
    fn wait_for_request(&self) -> Instant {
        self.arrived
            .recv_timeout(REACH_WITHIN)
            .expect("driftlog reached the server");
        Instant::now()
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A drifted stack in a git repository, with a signing key.
fn drifted_repository() -> (Stack, PathBuf) {
    let stack = Stack::rich();
    stack.apply(&[]);
    let (key, _) = stack.commit_to_git(&[]);
    stack.edit("web", |web| {
        web["description"] = json!("edited in the console")
    });
    (stack, key)
}

/// driftlog running in the background, its standard output collected as it comes.
struct Running {
    child: Child,
    /// Where it runs, for the leak capture of its audit refs and spool.
    dir: std::path::PathBuf,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

struct Exited {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From the signal (or from the start, without one) to the exit.
    took: Duration,
}

impl Running {
    fn start(stack: &Stack, args: &[impl AsRef<OsStr>], env: &[(&str, String)]) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
        command
            .args(args)
            .current_dir(&stack.root)
            .env("TMPDIR", &stack.tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        terraform_env(&mut command);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().expect("start driftlog");
        let collect = |mut pipe: Box<dyn Read + Send>| {
            let text = Arc::new(Mutex::new(String::new()));
            let into = Arc::clone(&text);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                    into.lock()
                        .expect("output")
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
            text
        };
        let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
        let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
        Running {
            child,
            dir: stack.root.clone(),
            stdout,
            stderr,
        }
    }

    /// Waits until standard output contains `text`.
    fn wait_for_stdout(&self, text: &str) {
        let deadline = Instant::now() + REACH_WITHIN;
        while !self.stdout.lock().expect("stdout").contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} never printed; stdout:\n{}\nstderr:\n{}",
                self.stdout.lock().expect("stdout"),
                self.stderr.lock().expect("stderr")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(self, name: &str) -> Exited {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.wait(Instant::now())
    }

    fn wait(mut self, since: Instant) -> Exited {
        let status = self.child.wait().expect("wait for driftlog");
        let took = since.elapsed();
        // The pipes are closed: what the readers have not taken yet arrives now.
        let drained = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&self.stdout) > 1 || Arc::strong_count(&self.stderr) > 1 {
            if Instant::now() > drained {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = |shared: &Arc<Mutex<String>>| shared.lock().expect("output").clone();
        let exited = Exited {
            code: status.code(),
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
            took,
        };
        crate::capture::bytes("stdout", exited.stdout.as_bytes());
        crate::capture::bytes("stderr", exited.stderr.as_bytes());
        crate::capture::audit_refs(&self.dir);
        exited
    }
}

/// The audit records on the local branch, by `driftlog log`.
fn records(stack: &Stack) -> Vec<Value> {
    let log = stack.driftlog_in(&stack.root, &["log", "--format", "json"]);
    serde_json::from_str(&log.stdout).unwrap_or_default()
}

/// The spool's waiting records.
fn spooled(stack: &Stack) -> Vec<String> {
    let dir = stack.root.join(".git/driftlog/spool").join(BRANCH);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json") && !name.contains("index"))
                .filter(|name| !name.contains("inflight") && !name.contains(".refused"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn publish_to(server: &str, key: &Path) -> Vec<String> {
    let publish = [
        "--repo",
        REPO,
        "--pr",
        "7",
        "--no-status",
        "--github-api-url",
        server,
    ];
    scan_with_key(key)
        .into_iter()
        .chain(publish)
        .map(str::to_owned)
        .collect()
}

#[test]
fn sigterm_while_github_never_answers_stops_the_run_with_the_report_out_and_the_record_kept() {
    let (stack, key, github) = with_silent_github();
    let args = publish_to(&github.http_url(), &key);
    let run = Running::start(&stack, &args, &[("GITHUB_TOKEN", TOKEN.to_owned())]);
    github.wait_for_request();
    // Publishing waits on GitHub, and the report is out already.
    run.wait_for_stdout("filestate_object.web");
    let out = run.signal("TERM");

    assert_eq!(out.code, Some(143), "{}", out.stderr);
    assert!(out.took < STOP_WITHIN, "took {:?}", out.took);
    assert_contains(&out.stderr, "abandoned, driftlog was stopped");
    // Recorded before publishing, on the branch (this repository has no remote).
    assert_contains(&out.stderr, "recorded as audit record 0");
    let records = records(&stack);
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(spooled(&stack).is_empty());
}

#[test]
fn a_github_api_that_never_answers_times_out() {
    let (stack, key, github) = with_silent_github();
    let args = publish_to(&github.http_url(), &key);
    let started = Instant::now();
    let run = Running::start(
        &stack,
        &args,
        &[
            ("GITHUB_TOKEN", TOKEN.to_owned()),
            ("DRIFTLOG_GITHUB_TIMEOUT", "1s".to_owned()),
            ("DRIFTLOG_GITHUB_DEADLINE", "2s".to_owned()),
        ],
    );
    let arrived = github.wait_for_request();
    let out = run.wait(started);

    // The request and its retries end at the deadline; drift still exits 2.
    assert!(
        arrived.elapsed() < Duration::from_secs(15),
        "{:?}",
        out.took
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_contains(&out.stderr, "no answer within 1s");
    assert_contains(&out.stderr, "DRIFTLOG_GITHUB_TIMEOUT");
    assert_contains(&out.stdout, "filestate_object.web");
    assert_eq!(records(&stack).len(), 1);
}

/// A drifted repository (see [`drifted_repository`]) and a GitHub API that never answers.
fn with_silent_github() -> (Stack, PathBuf, Silent) {
    let (stack, key) = drifted_repository();
    (stack, key, Silent::start())
}

/// A stack whose `origin` is a `git://` server that never answers.
fn with_silent_origin() -> (Stack, PathBuf, Silent) {
    let (stack, key) = drifted_repository();
    let server = Silent::start();
    git(&stack.root, &["remote", "add", "origin", &server.git_url()]);
    (stack, key, server)
}

fn scan_with_key(key: &Path) -> [&str; 6] {
    [
        "scan",
        ".",
        "--signing-key",
        key.to_str().expect("utf-8"),
        "--color",
        "never",
    ]
}

#[test]
fn a_git_remote_that_never_answers_times_out_with_the_record_spooled() {
    let (stack, key, server) = with_silent_origin();
    let started = Instant::now();
    let run = Running::start(
        &stack,
        &scan_with_key(&key),
        &[("DRIFTLOG_GIT_TIMEOUT", "1s".to_owned())],
    );
    let arrived = server.wait_for_request();
    let out = run.wait(started);

    assert!(
        arrived.elapsed() < Duration::from_secs(15),
        "{:?}: {}",
        out.took,
        out.stderr
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("the remote sent nothing for 1s")
            && out.stderr.contains("DRIFTLOG_GIT_TIMEOUT"),
        "{}",
        out.stderr
    );
    assert_contains(&out.stderr, "wait in the spool");
    assert_eq!(spooled(&stack).len(), 1, "the record is spooled");
    // The report came before the push.
    assert_contains(&out.stdout, "filestate_object.web");
}

/// A signal while the push waits on a remote that never answers stops the run at once, the
/// record spooled, whichever signal it is.
fn stop_during_push(signal: &str, code: i32, name: &str) {
    let (stack, key, server) = with_silent_origin();
    let run = Running::start(&stack, &scan_with_key(&key), &[]);
    server.wait_for_request();
    run.wait_for_stdout("filestate_object.web");
    let out = run.signal(signal);

    assert_eq!(out.code, Some(code), "{}", out.stderr);
    assert!(out.took < STOP_WITHIN, "took {:?}", out.took);
    assert_contains(
        &out.stderr,
        &format!("driftlog was stopped ({name}) before the audit branch"),
    );
    assert_contains(&out.stderr, "wait in the spool");
    assert_eq!(spooled(&stack).len(), 1, "the record is spooled");
}

#[test]
fn sigint_during_a_push_that_never_answers_stops_the_run_with_the_record_spooled() {
    stop_during_push("INT", 130, "SIGINT");
}

#[test]
fn sighup_during_a_push_that_never_answers_stops_the_run_with_the_record_spooled() {
    stop_during_push("HUP", 129, "SIGHUP");
}

#[test]
fn files_that_cannot_be_written_keep_no_other_stage_from_running() {
    let (stack, key) = drifted_repository();
    let fake = FakeGithub::start(TOKEN);
    fake.seed_pull_request(REPO, PR);
    let files = tempfile::tempdir().expect("runner dir");
    let event = files.path().join("event.json");
    std::fs::write(
        &event,
        json!({ "number": PR, "pull_request": { "number": PR, "head": { "sha": HEAD_SHA } } })
            .to_string(),
    )
    .expect("event");
    let outputs = files.path().join("output");
    let runner_temp = files.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).expect("runner temp");
    // The job summary is a directory; the report goes under a regular file.
    let summary = files.path().join("summary-dir");
    std::fs::create_dir_all(&summary).expect("summary dir");
    let plain_file = files.path().join("plain");
    std::fs::write(&plain_file, "").expect("plain file");
    let report = plain_file.join("report.json");
    let env: Vec<(String, String)> = [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_REPOSITORY", REPO.to_owned()),
        ("GITHUB_EVENT_NAME", "pull_request".to_owned()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_SHA", HEAD_SHA.to_owned()),
        ("GITHUB_API_URL", fake.api_url()),
        ("GITHUB_TOKEN", TOKEN.to_owned()),
        ("GITHUB_WORKSPACE", stack.root.display().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("GITHUB_OUTPUT", outputs.display().to_string()),
        ("RUNNER_TEMP", runner_temp.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let key = key.to_str().expect("utf-8");
    let report_arg = report.to_str().expect("utf-8");
    let out = stack.driftlog_with_env(
        &stack.root,
        &["scan", ".", "--signing-key", key, "--output", report_arg],
        &env,
    );

    // Drift is still told by the exit code; each failure is named.
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_contains(
        &out.stderr,
        &format!("writing the report to {}", report.display()),
    );
    assert_contains(&out.stderr, "writing the job summary");
    assert_contains(&out.stderr, "2 of the run's stages failed");
    // Everything else happened: the comment, the check, the outputs, the record.
    let comments = fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.contains("filestate_object.web"));
    assert!(
        !fake.check_runs(REPO).is_empty() || !fake.statuses(REPO, HEAD_SHA).is_empty(),
        "a check or status was set"
    );
    let outputs = std::fs::read_to_string(&outputs).expect("step outputs");
    let output = |name: &str| {
        outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} output in {outputs}"))
            .to_owned()
    };
    assert_eq!(output("drift"), "true");
    assert_eq!(output("audit-record"), "0");
    // The report could not go where asked, so the output names a copy that exists.
    let saved = PathBuf::from(output("report-json"));
    assert!(saved.starts_with(&runner_temp), "{outputs}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved report"))
            .expect("JSON");
    assert_eq!(saved["audit"]["seq"], 0);
    let records = records(&stack);
    assert_eq!(records.len(), 1, "{records:?}");
}

#[test]
fn sigint_while_a_notification_receiver_never_answers_stops_at_once_with_the_record_kept() {
    let stack = Stack::rich();
    stack.apply(&[]);
    std::fs::write(
        stack.root.join(".driftlog.toml"),
        "[[notify]]\nkind = \"webhook\"\nurl_env = \"DRIFT_HOOK_URL\"\n",
    )
    .expect("config");
    let (key, _) = stack.commit_to_git(&[]);
    stack.edit("web", |web| {
        web["description"] = json!("edited in the console")
    });
    let receiver = Silent::start();
    let url = format!("{}/hooks/never-answers", receiver.http_url());
    let run = Running::start(
        &stack,
        &scan_with_key(&key),
        &[("DRIFT_HOOK_URL", url.clone())],
    );
    // The drift is new, so the receiver is told; it takes the request and never answers.
    receiver.wait_for_request();
    let out = run.signal("INT");

    assert_eq!(out.code, Some(130), "{}", out.stderr);
    // Well inside the 10 s an attempt may take.
    assert!(out.took < STOP_WITHIN, "took {:?}", out.took);
    assert_contains(
        &out.stderr,
        "notification (drifted of .) not sent: webhook (DRIFT_HOOK_URL): stopped",
    );
    assert!(!out.stderr.contains(&url), "{}", out.stderr);
    assert_contains(&out.stderr, "recorded as audit record 0");
    assert_eq!(records(&stack).len(), 1);
}
