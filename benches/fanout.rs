//! The audit log under fan-out: N writer processes (matrix jobs) record one scan each on one
//! audit branch at the same moment, through a real `git daemon` over `git://`, so every push
//! goes through `git-receive-pack` and its compare-and-swap of the ref, as on a hosted remote.
//!
//! Per N: an initial record, N clones, then N processes (this bench re-run in writer mode)
//! that get ready, wait on one pipe the bench closes to start them all, and each call
//! `audit::sync::record` once with the default options. Prints the time to record (start
//! signal to return), failed writers and why, the pushes made (branch, pending refs, deleting
//! folded refs), the writers whose record ended on a pending ref, and the records on the remote
//! branch when they are done and after one later run folds what waited (counted and verified).
//!
//! `cargo bench --bench fanout` (DRIFTLOG_BENCH_WRITERS=8,32 to choose N;
//! DRIFTLOG_BENCH_TIMEOUT=<seconds>, default 120, bounds each run from the writers' spawn:
//! writers still running then are killed and counted as failed). Asserts nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use driftlog::audit::record::{ChainPosition, LogId, Record, StackRef};
use driftlog::audit::sshsig::{allowed_signers_line, AllowedSigners, SigningKey};
use driftlog::audit::store::{AuditStore, Committer};
use driftlog::audit::sync::{self, Outcome, SyncError, SyncOptions};
use driftlog::audit::verify::{verify, VerifyOptions};
use driftlog::context::{Local, RunContext};
use driftlog::drift::{ScanReport, Stack, Status};
use serde::{Deserialize, Serialize};

// As in the driftlog binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error + Send + Sync>;

const BRANCH: &str = "driftlog/audit";
const ORIGIN: &str = "bench.example/acme/infra/driftlog/audit";
/// In a writer process: the clone it records in (its presence selects writer mode).
const CLONE_ENV: &str = "DRIFTLOG_FANOUT_CLONE";
const MARKER_ENV: &str = "DRIFTLOG_FANOUT_MARKER";
const KEY_ENV: &str = "DRIFTLOG_FANOUT_KEY";
/// A file holding the start signal's time (Unix nanoseconds), written before the release.
const START_ENV: &str = "DRIFTLOG_FANOUT_START";
const READY_LINE: &str = "fanout-ready";
const RESULT_PREFIX: &str = "fanout-result ";

/// What a writer prints, as JSON after [`RESULT_PREFIX`].
#[derive(Serialize, Deserialize)]
struct WriterResult {
    ok: bool,
    /// From the start signal to `record` returning.
    ms: f64,
    /// Named counts the bench totals over the writers (see [`counts`]).
    counts: BTreeMap<String, u64>,
    error: Option<String>,
}

/// The one place that reads what `record` returned: a count added here is totalled and
/// printed by the bench with no other change.
fn counts(result: &Result<Outcome, SyncError>) -> Vec<(&'static str, u64)> {
    match result {
        Ok(outcome) => vec![
            ("retries", outcome.retries.into()),
            ("pushes", outcome.pushes.into()),
            ("pending", u64::from(outcome.pending_ref.is_some())),
            ("folded", outcome.folded() as u64),
        ],
        Err(_) => Vec::new(),
    }
}

fn main() {
    sync::configure_transport_timeouts();
    let result = match std::env::var_os(CLONE_ENV) {
        Some(clone) => writer(Path::new(&clone)),
        None => bench(),
    };
    if let Err(err) = result {
        eprintln!("fanout bench failed: {err}");
        std::process::exit(1);
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Error> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text:?} does not parse").into()),
        Err(_) => Ok(default),
    }
}

fn bench() -> Result<(), Error> {
    let writers: Vec<usize> = std::env::var("DRIFTLOG_BENCH_WRITERS")
        .unwrap_or_else(|_| "8,32,64".into())
        .split(',')
        .map(|n| n.trim().parse().map_err(|_| format!("writer count {n:?}")))
        .collect::<Result<_, _>>()?;
    let timeout = Duration::from_secs(env_or("DRIFTLOG_BENCH_TIMEOUT", 120)?);
    let key = SigningKey::generate()?;
    let mut rows = Vec::new();
    for n in writers {
        let started = Instant::now();
        let mut row = run(n, &key, timeout)?;
        row.wall = started.elapsed().as_secs_f64();
        rows.push(row);
    }
    println!(
        "\nwriters  p50 ms  p95 ms  max ms  failed  pushes  pending  on branch  after fold  \
         problems  setup s  run s  wall s"
    );
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// One scan's record, told apart by its stack path.
fn build(marker: &str, key: &SigningKey, position: ChainPosition) -> Record {
    let report = ScanReport {
        status: Status::Clean,
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
            path: marker.into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        RunContext::Local(Local::default()),
        LogId {
            repository: "bench.example/acme/infra".into(),
            branch: BRANCH.into(),
        },
        position,
        key.fingerprint(),
        "2026-11-24T00:00:00Z".into(),
    )
}

fn record(store: &AuditStore, marker: &str, key: &SigningKey) -> Result<Outcome, SyncError> {
    let committer = Committer {
        name: "driftlog".into(),
        email: "driftlog@example.com".into(),
    };
    let build = |position| build(marker, key, position);
    sync::record(store, &build, key, &committer, &SyncOptions::default())
}

/// Writer mode: get ready, say so, wait for the start signal, record once, print the result.
fn writer(clone: &Path) -> Result<(), Error> {
    let marker = std::env::var(MARKER_ENV)?;
    let key = SigningKey::from_openssh(&std::env::var(KEY_ENV)?)?;
    let store = AuditStore::open(clone, BRANCH, ORIGIN)?;
    println!("{READY_LINE}");
    // Blocks until the bench closes the pipe's write end: every writer wakes at once.
    std::io::stdin().read_to_end(&mut Vec::new())?;
    let started: u128 = std::fs::read_to_string(std::env::var(START_ENV)?)?
        .trim()
        .parse()?;
    let result = record(&store, &marker, &key);
    let ms = (unix_nanos() - started) as f64 / 1e6;
    let line = WriterResult {
        ok: result.is_ok(),
        ms,
        counts: counts(&result)
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect(),
        // Without the clone's temp path, so the same failure reads the same in every writer.
        error: result
            .err()
            .map(|e| e.to_string().replace(&*clone.to_string_lossy(), "<clone>")),
    };
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&line)?);
    Ok(())
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git").args(args).current_dir(dir).output()?;
    if !out.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `git daemon` serving `base` over `git://` with pushes enabled: one `git daemon --inetd`
/// per connection, on a port of our own.
struct Daemon {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    children: Arc<Mutex<Vec<Child>>>,
}

impl Daemon {
    fn serve(base: &Path) -> Result<Daemon, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let children = Arc::new(Mutex::new(Vec::<Child>::new()));
        let base_path = format!("--base-path={}", base.display());
        let (flag, spawned) = (stop.clone(), children.clone());
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let Ok(input) = stream.try_clone() else {
                    continue;
                };
                let child = Command::new("git")
                    .args(["daemon", "--inetd", "--export-all", "--enable=receive-pack"])
                    .args(["--informative-errors", "--log-destination=none", &base_path])
                    .stdin(Stdio::from(OwnedFd::from(input)))
                    .stdout(Stdio::from(OwnedFd::from(stream)))
                    .stderr(Stdio::null())
                    .spawn();
                let mut children = spawned.lock().unwrap_or_else(|e| e.into_inner());
                // Reaps the connections that ended, so a long run leaves no zombies.
                children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
                match child {
                    Ok(child) => children.push(child),
                    Err(err) => eprintln!("git daemon (is git-daemon installed?): {err}"),
                }
            }
        });
        Ok(Daemon {
            port,
            stop,
            accept: Some(accept),
            children,
        })
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
        for child in self
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
        {
            let _ = child.wait();
        }
    }
}

/// `<dir>/remote.git`, a bare repository whose `main` holds one commit.
fn bare_remote(dir: &Path) -> Result<(), Error> {
    let repo = git2::Repository::init_opts(
        dir.join("remote.git"),
        git2::RepositoryInitOptions::new()
            .bare(true)
            .initial_head("main"),
    )?;
    let mut tree = repo.treebuilder(None)?;
    tree.insert("main.tf", repo.blob(b"# stack\n")?, 0o100644)?;
    let tree = repo.find_tree(tree.write()?)?;
    let dev = git2::Signature::now("Dev", "dev@example.com")?;
    repo.commit(Some("refs/heads/main"), &dev, &dev, "stack", &tree, &[])?;
    Ok(())
}

/// A read end every writer waits on and the write end whose closing starts them all. Both
/// close on exec, so no child holds the write end open (the writers get a copy of the read
/// end as their stdin).
fn start_pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors, each owned exactly once below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: as above; nothing else refers to these descriptors.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

enum Event {
    Line(String),
    Closed,
}

/// One line of the summary table.
struct Row {
    writers: usize,
    p50: f64,
    p95: f64,
    max: f64,
    failed: usize,
    totals: BTreeMap<String, u64>,
    /// Records on the branch when the writers are done (the initial one included).
    on_branch: usize,
    /// After one more run, which folds whatever waited on pending refs.
    after_fold: usize,
    problems: u64,
    setup: f64,
    run: f64,
    /// The whole run: setup, writers, verify and clean-up.
    wall: f64,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = |name: &str| self.totals.get(name).copied().unwrap_or(0);
        write!(
            f,
            "{:>7}  {:>6.0}  {:>6.0}  {:>6.0}  {:>6}  {:>6}  {:>7}  {:>9}  {:>10}  {:>8}  {:>7.1}  {:>5.1}  {:>6.1}",
            self.writers,
            self.p50,
            self.p95,
            self.max,
            self.failed,
            total("pushes"),
            total("pending"),
            self.on_branch,
            self.after_fold,
            self.problems,
            self.setup,
            self.run,
            self.wall
        )
    }
}

/// `text` with each 40-digit hex object id as `<id>`, so failures that differ only in the
/// commits they name are counted together.
fn without_object_ids(text: &str) -> String {
    let mut out = String::new();
    let mut hex = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            hex.push(c);
            continue;
        }
        out.push_str(if hex.len() == 40 { "<id>" } else { &hex });
        hex.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Nearest rank; `sorted` ascending.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or(f64::NAN)
}

fn run(writers: usize, key: &SigningKey, timeout: Duration) -> Result<Row, Error> {
    let setup = Instant::now();
    let dir = tempfile::tempdir()?;
    bare_remote(dir.path())?;
    let bare = dir.path().join("remote.git");
    let daemon = Daemon::serve(dir.path())?;
    let url = daemon.url();
    let clone = |name: String| -> Result<_, Error> {
        let path = dir.path().join(name);
        git(
            dir.path(),
            &["clone", "-q", "remote.git", &path.to_string_lossy()],
        )?;
        git(&path, &["remote", "set-url", "origin", &url])?;
        Ok(path)
    };
    let first = AuditStore::open(&clone("initial".into())?, BRANCH, ORIGIN)?;
    record(&first, "initial", key)?;
    let clones = (0..writers)
        .map(|i| clone(format!("writer-{i}")))
        .collect::<Result<Vec<_>, _>>()?;

    let (wait_end, release_end) = start_pipe()?;
    let start_file = dir.path().join("start");
    let exe = std::env::current_exe()?;
    let key_text = key.to_openssh("fanout bench")?;
    let (events, received) = mpsc::channel();
    let mut children = Vec::new();
    for (i, clone) in clones.iter().enumerate() {
        let stderr = dir.path().join(format!("writer-{i}.stderr"));
        let mut child = Command::new(&exe)
            .env(CLONE_ENV, clone)
            .env(MARKER_ENV, format!("writer-{i}"))
            .env(KEY_ENV, &key_text)
            .env(START_ENV, &start_file)
            .stdin(Stdio::from(wait_end.try_clone()?))
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr)?)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let events = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = events.send((i, Event::Line(line)));
            }
            let _ = events.send((i, Event::Closed));
        });
        children.push((child, stderr));
    }
    drop(wait_end);
    let deadline = Instant::now() + timeout;
    let setup = setup.elapsed().as_secs_f64();

    // Released once every writer is ready (or already gone).
    let mut release = Some(release_end);
    let mut released = Instant::now();
    let mut waiting = writers;
    let mut open = writers;
    let mut results: Vec<Option<WriterResult>> = (0..writers).map(|_| None).collect();
    let mut ready = vec![false; writers];
    let mut timed_out = false;
    while open > 0 {
        if waiting == 0 {
            if let Some(release_end) = release.take() {
                std::fs::write(&start_file, unix_nanos().to_string())?;
                released = Instant::now();
                drop(release_end);
            }
        }
        match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((i, Event::Line(line))) if line == READY_LINE => {
                ready[i] = true;
                waiting -= 1;
            }
            Ok((i, Event::Line(line))) => {
                if let Some(json) = line.strip_prefix(RESULT_PREFIX) {
                    results[i] = Some(serde_json::from_str(json)?);
                }
            }
            Ok((i, Event::Closed)) => {
                open -= 1;
                if !ready[i] {
                    waiting -= 1;
                }
            }
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let run = released.elapsed().as_secs_f64();
    let mut failed_errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut times = Vec::new();
    let mut gave_up = Vec::new();
    let mut totals = BTreeMap::new();
    let mut failed = 0;
    for ((mut child, stderr), result) in children.into_iter().zip(results) {
        if timed_out && matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let status = child.wait()?;
        let result = result.unwrap_or_else(|| WriterResult {
            ok: false,
            ms: f64::NAN,
            counts: BTreeMap::new(),
            error: Some(if timed_out && status.code().is_none() {
                format!("killed after the {} s timeout", timeout.as_secs())
            } else {
                let text = std::fs::read_to_string(&stderr).unwrap_or_default();
                format!("exited ({status}) without a result: {}", text.trim())
            }),
        });
        for (name, n) in result.counts {
            *totals.entry(name).or_insert(0) += n;
        }
        if result.ok {
            times.push(result.ms);
        } else {
            failed += 1;
            if result.ms.is_finite() {
                gave_up.push(result.ms);
            }
            *failed_errors
                .entry(without_object_ids(&result.error.unwrap_or_default()))
                .or_insert(0) += 1;
        }
    }
    times.sort_by(f64::total_cmp);
    gave_up.sort_by(f64::total_cmp);

    let on_branch = git(&bare, &["rev-list", "--count", BRANCH])?
        .trim()
        .parse()?;
    let pending_refs = |bare: &Path| -> Result<usize, Error> {
        Ok(git(
            bare,
            &[
                "for-each-ref",
                "--format=%(refname)",
                "refs/driftlog/pending/",
            ],
        )?
        .lines()
        .count())
    };
    let waiting = pending_refs(&bare)?;
    // The next run folds whatever still waits.
    let later = record(&first, "later", key)?;
    let after_fold: usize = git(&bare, &["rev-list", "--count", BRANCH])?
        .trim()
        .parse()?;
    let left = pending_refs(&bare)?;
    let allowed = AllowedSigners::parse(&allowed_signers_line("bench", key))?;
    let report = verify(
        &git2::Repository::open_bare(&bare)?,
        BRANCH,
        &VerifyOptions {
            allowed: &allowed,
            checkpoints: &[],
            since: None,
            repository: None,
            threads: 0,
        },
    )?;
    let other_refs = git(&bare, &["for-each-ref", "--format=%(refname)"])?
        .lines()
        .filter(|r| *r != "refs/heads/main" && *r != format!("refs/heads/{BRANCH}"))
        .filter(|r| !r.starts_with("refs/driftlog/pending/"))
        .count();

    let row = Row {
        writers,
        p50: percentile(&times, 0.50),
        p95: percentile(&times, 0.95),
        max: times.last().copied().unwrap_or(f64::NAN),
        failed,
        totals,
        on_branch,
        after_fold,
        problems: report.problems_total,
        setup,
        run,
        wall: f64::NAN,
    };
    println!("\n{writers} writers at once (setup {setup:.1} s, run {run:.1} s)");
    println!(
        "  time to record, {} that succeeded: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        times.len(),
        row.p50,
        row.p95,
        row.max
    );
    println!("  failed: {failed}");
    if !gave_up.is_empty() {
        println!(
            "    {} returned an error after p50 {:.0} ms, max {:.0} ms",
            gave_up.len(),
            percentile(&gave_up, 0.50),
            gave_up.last().copied().unwrap_or(f64::NAN)
        );
    }
    for (error, n) in &failed_errors {
        println!("    {n} x {error}");
    }
    for (name, n) in &row.totals {
        println!("  {name}: {n} in all");
    }
    println!(
        "  on {BRANCH} when the writers were done: {on_branch} records (the initial one \
         included), {waiting} pending ref(s) waiting"
    );
    println!(
        "  one later run folded {} and added its own: {after_fold} records (expected {}), {left} \
         pending ref(s) left; verify: {} records, {} problems; other refs on the remote: \
         {other_refs}",
        later.folded(),
        writers + 2,
        report.records,
        report.problems_total
    );
    for problem in report.problems.iter().take(3) {
        println!("    problem: {problem:?}");
    }
    Ok(row)
}
