//! `driftlog explain` on a long log: 50,000 records (50 stacks scanned 1,000 times each, the
//! last scans drifted) and a 100,000-event CloudTrail file. Prints the time of each phase and
//! of the whole command; explain reads each record and each event once, so both should scale
//! linearly.
//!
//! `cargo bench --bench explain` (EXPLAIN_BENCH_RECORDS, EXPLAIN_BENCH_EVENTS change the
//! sizes). The log is written with `git fast-import` (one commit per record, the real tree
//! layout, unsigned: explain does not check signatures, verify does). Asserts nothing.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use driftlog::audit::reader::read_log;
use driftlog::audit::record::{ChainPosition, LogId, Record, StackRef, GENESIS_PREV};
use driftlog::audit::store::{encode, record_path, sha256_hex, RECORDS_DIR};
use driftlog::context::{Local, RunContext};
use driftlog::drift::{
    Action, AttrValue, AttributeChange, DriftedResource, ScanReport, Stack, Status,
};
use driftlog::events::EventLog;
use driftlog::explain::Log;
use serde_json::json;

const STACKS: u64 = 50;

fn main() {
    let size = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let records = size("EXPLAIN_BENCH_RECORDS", 50_000);
    let events = size("EXPLAIN_BENCH_EVENTS", 100_000);
    if let Err(err) = run(records, events) {
        eprintln!("explain bench failed: {err}");
        std::process::exit(1);
    }
}

fn run(total: u64, event_count: u64) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let repo_dir = dir.path().join("repo");
    git(&["init", "-q", "-b", "main", repo_dir.to_str().ok_or("path")?])?;
    let start = humantime::parse_rfc3339("2025-01-01T00:00:00Z")?;
    let step = Duration::from_secs(600);

    let t = Instant::now();
    write_log(&repo_dir, total, start, step)?;
    println!(
        "built a {total}-record log with git fast-import in {:.1?}",
        t.elapsed()
    );

    let events_file = dir.path().join("cloudtrail.json");
    write_events(&events_file, event_count, start, step * total as u32)?;
    println!(
        "wrote {event_count} CloudTrail events ({:.1} MB)",
        std::fs::metadata(&events_file)?.len() as f64 / 1e6
    );

    let repo = git2::Repository::open(&repo_dir)?;
    let t = Instant::now();
    let entries = read_log(&repo, "driftlog/audit")?;
    let read = t.elapsed();
    let t = Instant::now();
    let events = EventLog::load(std::slice::from_ref(&events_file))?;
    let load = t.elapsed();
    let t = Instant::now();
    let log = Log::new(entries);
    let mut explanations = Vec::new();
    for stack in log.stacks_at(None)? {
        explanations.extend(log.explain_scan(log.latest_scan(&stack)?, &[]));
    }
    driftlog::explain::events::attach_events(&mut explanations, &events);
    let explain = t.elapsed();
    let matched: usize = explanations
        .iter()
        .map(|e| e.events.as_ref().map_or(0, Vec::len))
        .sum();
    println!(
        "read {} records in {read:.2?} ({:.0} records/s)",
        log.len(),
        log.len() as f64 / read.as_secs_f64()
    );
    println!(
        "read {} events in {load:.2?} ({:.0} events/s)",
        events.len(),
        events.len() as f64 / load.as_secs_f64()
    );
    println!(
        "explained {} drifted resources in {explain:.2?} ({matched} matching events)",
        explanations.len()
    );

    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(["explain", "--format", "json", "--events"])
        .arg(&events_file)
        .current_dir(&repo_dir)
        .output()?;
    let whole = t.elapsed();
    if !out.status.success() {
        return Err(format!("driftlog explain: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    println!("driftlog explain (whole command, incl. git history): {whole:.2?}");
    Ok(())
}

/// 50 stacks in turn; each stack's last two scans see two resources drifted.
fn write_log(
    repo: &std::path::Path,
    total: u64,
    start: SystemTime,
    step: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut import = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .stdin(Stdio::piped())
        .spawn()?;
    let mut stdin = std::io::BufWriter::new(import.stdin.take().ok_or("stdin")?);
    let mut prev = GENESIS_PREV.to_owned();
    let per_stack = total / STACKS;
    for seq in 0..total {
        let stack = seq % STACKS;
        let round = seq / STACKS;
        let time = start + step * seq as u32;
        let drifted = round + 2 >= per_stack;
        let mut report = ScanReport::new(
            Stack {
                dir: format!("stacks/s{stack:02}"),
                workspace: "default".into(),
                cloudformation: None,
            },
            humantime::format_rfc3339_seconds(time).to_string(),
        );
        report.status = if drifted {
            Status::Drifted
        } else {
            Status::Clean
        };
        if drifted {
            report.resources = (0..2).map(|n| resource(stack, n)).collect();
        }
        let record = Record::of_scan(
            &report,
            StackRef {
                path: format!("stacks/s{stack:02}"),
                workspace: "default".into(),
                cloudformation: None,
            },
            RunContext::Local(Local::default()),
            LogId {
                repository: "bench.example/acme/infra".into(),
                branch: "driftlog/audit".into(),
            },
            ChainPosition {
                seq,
                prev: prev.clone(),
            },
            "SHA256:bench".into(),
            humantime::format_rfc3339_seconds(time).to_string(),
        );
        let bytes = encode(&record)?;
        let sha = sha256_hex(&bytes);
        let [a, b, file] = record_path(seq);
        let message = format!("driftlog: record {seq} sha256:{sha}\n");
        let epoch = time.duration_since(SystemTime::UNIX_EPOCH)?.as_secs();
        write!(
            stdin,
            "commit refs/heads/driftlog/audit\ncommitter bench <bench@example.com> {epoch} +0000\n\
             data {}\n{message}M 100644 inline {RECORDS_DIR}/{a}/{b}/{file}\ndata {}\n",
            message.len(),
            bytes.len()
        )?;
        stdin.write_all(&bytes)?;
        stdin.write_all(b"\n")?;
        prev = sha;
    }
    stdin.flush()?;
    drop(stdin);
    if !import.wait()?.success() {
        return Err("git fast-import failed".into());
    }
    Ok(())
}

fn resource(stack: u64, n: u64) -> DriftedResource {
    DriftedResource {
        previous_address: None,
        class: Default::default(),
        address: format!("aws_security_group.sg{n}"),
        module_address: None,
        mode: "managed".into(),
        resource_type: "aws_security_group".into(),
        name: format!("sg{n}"),
        index: None,
        provider: "registry.terraform.io/hashicorp/aws".into(),
        action: Action::Update,
        changes: vec![AttributeChange {
            class: Default::default(),
            path: "tags.env".into(),
            before: AttrValue::Known(json!("prod")),
            after: AttrValue::Known(json!("staging")),
            ignored: None,
        }],
        identifiers: [("id".to_owned(), format!("sg-{stack:02}-{n}"))].into(),
        ignored: None,
    }
}

/// Events spread over the log's whole span, naming the stacks' resources and others.
fn write_events(
    path: &std::path::Path,
    count: u64,
    start: SystemTime,
    span: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"{\"Records\":[")?;
    for i in 0..count {
        let time = start + span.mul_f64(i as f64 / count as f64);
        let target = if i % 10 == 0 {
            format!("sg-{:02}-{}", i % STACKS, i % 2)
        } else {
            format!("sg-other-{i}")
        };
        let event = json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "userName": format!("user{}", i % 40),
                              "arn": format!("arn:aws:iam::123456789012:user/user{}", i % 40)},
            "eventTime": humantime::format_rfc3339_seconds(time).to_string(),
            "eventSource": "ec2.amazonaws.com",
            "eventName": if i % 3 == 0 { "DescribeSecurityGroups" } else { "ModifySecurityGroupRules" },
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": {"groupId": target, "securityGroupRuleIds": {"items": [{"securityGroupRuleId": format!("sgr-{i}")}]}},
            "responseElements": {"_return": true},
            "requestID": format!("req-{i}"),
            "eventID": format!("ev-{i}"),
            "readOnly": i % 3 == 0,
            "eventType": "AwsApiCall",
            "recipientAccountId": "123456789012"
        });
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &event)?;
    }
    out.write_all(b"]}")?;
    out.flush()?;
    Ok(())
}

fn git(args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    if Command::new("git").args(args).status()?.success() {
        Ok(())
    } else {
        Err(format!("git {args:?} failed").into())
    }
}
