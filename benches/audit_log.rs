//! Audit log costs: one append at 1,000 and at 50,000 records of history (it should stay
//! nearly flat: records are sharded), `verify` throughput on the 50,000-record log (on every
//! core and on one, as a ratio), and an incremental verify of the last 100 records from the
//! checkpoint before them.
//!
//! `cargo bench --bench audit_log` (set AUDIT_BENCH_RECORDS to change 50,000; set
//! AUDIT_BENCH_KEEP=1 to keep the repository and its allowed signers, to profile
//! `driftlog verify` on it). Prints measurements; asserts nothing.

use std::time::Instant;

use driftlog::audit::record::{ChainPosition, LogId, Record, StackRef};
use driftlog::audit::sshsig::{allowed_signers_line, AllowedSigners, SigningKey};
use driftlog::audit::store::{AuditStore, Committer};
use driftlog::audit::verify::{verify, VerifyOptions};
use driftlog::context::{Local, RunContext};
use driftlog::drift::{ScanReport, Stack, Status};

// As in the driftlog binary, so verify is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ORIGIN: &str = "bench.example/acme/infra/driftlog/audit";

fn main() {
    let total: u64 = std::env::var("AUDIT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    if let Err(err) = run(total) {
        eprintln!("audit bench failed: {err}");
        std::process::exit(1);
    }
}

fn run(total: u64) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    git2::Repository::init(dir.path())?;
    let store = AuditStore::open(dir.path(), "driftlog/audit", ORIGIN)?;
    let key = SigningKey::generate()?;
    let committer = Committer {
        name: "bench".into(),
        email: "bench@example.com".into(),
    };
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
    let build = |position: ChainPosition| {
        Record::of_scan(
            &report,
            StackRef {
                path: "infra/prod".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            RunContext::Local(Local::default()),
            LogId {
                repository: "bench.example/acme/infra".into(),
                branch: "driftlog/audit".into(),
            },
            position,
            key.fingerprint(),
            "2026-11-24T00:00:00Z".into(),
        )
    };
    // Time a window of appends once the history reaches each mark.
    let marks = [1_000u64, total];
    let window = 200u64;
    let started = Instant::now();
    let mut per_append = Vec::new();
    let mut seq = 0u64;
    let incremental_from = total.saturating_sub(101);
    let mut since_line = None;
    let mut append = |seq: u64| -> Result<(), Box<dyn std::error::Error>> {
        let appended = store.append(&build, &key, &committer, i64::try_from(seq)?)?;
        if seq == incremental_from {
            since_line = Some(appended.checkpoint_line);
        }
        Ok(())
    };
    for mark in marks {
        while seq + window < mark {
            append(seq)?;
            seq += 1;
        }
        let t = Instant::now();
        for _ in 0..window {
            append(seq)?;
            seq += 1;
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / window as f64;
        println!("append at {mark:>6} records of history: {ms:.2} ms per record");
        per_append.push(ms);
    }
    println!(
        "append cost ratio {}/{}: {:.2} (1.00 = flat); built {seq} records in {:.0} s",
        marks[1],
        marks[0],
        per_append[1] / per_append[0],
        started.elapsed().as_secs_f64()
    );

    let allowed = AllowedSigners::parse(&allowed_signers_line("bench", &key))?;
    drop(store);
    // Each verify opens the repository afresh, as `driftlog verify` does.
    let time_verify = |label: &str, threads: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let repo = git2::Repository::open(dir.path())?;
        let t = Instant::now();
        let report = verify(
            &repo,
            "driftlog/audit",
            &VerifyOptions {
                allowed: &allowed,
                checkpoints: &[],
                since: None,
                repository: None,
                threads,
            },
        )?;
        let seconds = t.elapsed().as_secs_f64();
        println!(
            "verify ({label}): {} records in {seconds:.1} s = {:.0} records/s, {} problems",
            report.records,
            report.records as f64 / seconds,
            report.problems_total
        );
        Ok(seconds)
    };
    time_verify("loose objects, as written", 0)?;
    // A clone (what a reviewer verifies) has its objects packed.
    let repacked = std::process::Command::new("git")
        .args(["repack", "-a", "-d", "-q"])
        .current_dir(dir.path())
        .status()?;
    if !repacked.success() {
        return Err("git repack failed".into());
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let rehashing = time_verify(
        "packed, every core, libgit2 re-hashing and caching objects",
        0,
    )?;
    driftlog::audit::verify::fast_object_reads();
    let parallel = time_verify("packed, every core, as `driftlog verify` reads", 0)?;
    let single = time_verify("packed, one thread, as `driftlog verify` reads", 1)?;
    println!(
        "verify speed-up on {cores} cores: {:.2}x; from reading objects once: {:.2}x",
        single / parallel,
        rehashing / parallel
    );

    let since = since_line.ok_or("no checkpoint to start from")?;
    let repo = git2::Repository::open(dir.path())?;
    let t = Instant::now();
    let report = verify(
        &repo,
        "driftlog/audit",
        &VerifyOptions {
            allowed: &allowed,
            checkpoints: &[],
            since: Some(&since),
            repository: None,
            threads: 0,
        },
    )?;
    let incremental = t.elapsed().as_secs_f64();
    for problem in report.problems.iter().take(3) {
        println!("problem: {problem:?}");
    }
    println!(
        "verify --since (size {}): {} new records of {} in {:.3} s ({:.0}x faster than the full \
         walk), {} problems",
        report.since.unwrap_or(0),
        report.records - report.since.unwrap_or(0),
        report.records,
        incremental,
        parallel / incremental,
        report.problems_total
    );
    if std::env::var_os("AUDIT_BENCH_KEEP").is_some() {
        let kept = dir.keep();
        std::fs::write(
            kept.join("allowed_signers"),
            allowed_signers_line("bench", &key),
        )?;
        println!("kept the log in {}", kept.display());
    }
    Ok(())
}
