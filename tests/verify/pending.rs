//! Records folded from pending refs, checked by hand with jq and ssh-keygen, and pending refs
//! fetched with real git and reported by `driftlog verify`.

use super::*;
use driftlog::audit::pending::{self, PendingEntry};

fn committer() -> Committer {
    Committer {
        name: "driftlog".into(),
        email: "driftlog@example.com".into(),
    }
}

fn unix_time(text: &str) -> i64 {
    humantime::parse_rfc3339(text)
        .expect("time")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// A record of `stack` as a matrix job makes it before it joins the log.
fn made(log: &Log, stack: &'static str) -> PendingEntry {
    let scan = Scan {
        stack,
        ..Scan::default()
    };
    PendingEntry::sign(&scan.record(&log.key, ChainPosition::genesis()), &log.key).expect("sign")
}

/// Folds `entry` into the branch as the next writer does, an hour after it was made (so the
/// record keeps that time in `made`).
fn fold(log: &Log, entry: &PendingEntry) {
    let build = |position| entry.record.rebased(position);
    let time = unix_time(Scan::default().time) + 3600;
    log.store()
        .append_folded(&build, &log.key, &committer(), time, &entry.bytes)
        .expect("fold");
}

fn sh(dir: &Path, script: &str) -> std::process::Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("bash")
}

/// The README's steps for a `.pending` file, as written there.
const CHECK_BY_HAND: &str = r#"
set -e
git -C repo show driftlog/audit:records/000000/000/000000000002.json.pending > entry.json
git -C repo show driftlog/audit:records/000000/000/000000000002.json > placed.json
record=$(jq -r .record entry.json)
jq -r .signature entry.json > entry.sig
printf 'driftlog-pending v1\n%s' "$record" |
    ssh-keygen -Y verify -f allowed_signers -I driftlog@ci -n driftlog -s entry.sig
diff <(jq -S 'del(.seq, .prev, .time, .made)' <<<"$record") \
     <(jq -S 'del(.seq, .prev, .time, .made)' placed.json)
"#;

#[test]
fn a_folded_records_pending_entry_checks_by_hand_with_jq_and_ssh_keygen() {
    let log = Log::with_records(2);
    let entry = made(&log, "infra/shard-2");
    fold(&log, &entry);
    log.verify(&[]).assert_intact();

    let placed = log.record_bytes(BRANCH, 2);
    assert!(
        String::from_utf8_lossy(&placed).contains(r#""made":"2026-11-24T00:00:00Z""#),
        "{}",
        String::from_utf8_lossy(&placed)
    );
    let genuine = sh(log.dir.path(), CHECK_BY_HAND);
    assert!(
        genuine.status.success(),
        "{}{}",
        String::from_utf8_lossy(&genuine.stdout),
        String::from_utf8_lossy(&genuine.stderr)
    );
    assert!(
        String::from_utf8_lossy(&genuine.stdout).contains("Good \"driftlog\" signature"),
        "{}",
        String::from_utf8_lossy(&genuine.stdout)
    );

    // The same steps refuse an entry edited on the branch.
    let text = String::from_utf8(entry.bytes.clone()).expect("utf-8");
    let edited = text.replacen("infra/shard-2", "infra/shard-5", 1);
    assert_ne!(edited, text);
    let path = format!("{}{}", record_file(2), pending::FOLDED_SUFFIX);
    let tip = log.commits().pop().expect("tip");
    log.rewrite(
        log.commits().len() - 1,
        Signer::Key(&log.key_file),
        |_, scratch| scratch.put(&path, edited.as_bytes()),
    );
    assert_ne!(log.commits().pop(), Some(tip));
    let refused = sh(log.dir.path(), CHECK_BY_HAND);
    assert!(!refused.status.success(), "ssh-keygen must refuse it");
    log.verify(&[]).assert_problems(&[&format!(
        "seq 2: {path}, the pending entry record 2 was folded from, is refused: it was edited"
    )]);
}

/// The remote's pending ref `label` holding `entries`, pushed from the log's repository.
fn push_pending(log: &Log, label: &str, entries: &[PendingEntry]) -> String {
    let repo = git2::Repository::open(log.root()).expect("open");
    let commit = pending::write_commit(
        &repo,
        BRANCH,
        entries,
        &log.key,
        &committer(),
        unix_time(Scan::default().time),
    )
    .expect("pending commit");
    let name = pending::remote_ref(BRANCH, label);
    git(
        &log.root(),
        &["push", "-q", "origin", &format!("{commit}:{name}")],
    );
    name
}

const FETCH_PENDING: &str = "+refs/driftlog/pending/*:refs/driftlog/remotes/origin/pending/*";

#[test]
fn pending_refs_fetched_with_the_readmes_refspec_are_reported() {
    let log = Log::with_records(2);
    let top = log.dir.path();
    git(top, &["init", "-q", "--bare", "remote.git"]);
    git(&log.root(), &["remote", "add", "origin", "../remote.git"]);
    git(&log.root(), &["push", "-q", "origin", "main", BRANCH]);
    let waiting = push_pending(&log, "123.1.scan-a.0a1b2c", &[made(&log, "infra/a")]);

    git(top, &["clone", "-q", "remote.git", "clone"]);
    let clone = top.join("clone");
    git(
        &clone,
        &["fetch", "-q", "origin", &format!("{BRANCH}:{BRANCH}")],
    );
    git(&clone, &["fetch", "-q", "origin", FETCH_PENDING]);
    let allowed = log.allowed.to_str().expect("utf-8");
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--allowed-signers", allowed];
        args.extend(["--repository", "example.com/acme/infra"]);
        args.extend_from_slice(extra);
        driftlog(&clone, &args)
    };

    let run = verify(&[]);
    run.assert_intact();
    for text in [
        format!("pending ref {waiting} (origin, commit "),
        "): 1 record waiting to be folded".to_owned(),
        "1 record waits in 1 pending ref, not on the branch yet: the next `driftlog scan` or \
         `driftlog report merge` folds it into the branch"
            .to_owned(),
    ] {
        assert!(run.stdout.contains(&text), "{text:?} in:\n{}", run.stdout);
    }
    let json: Value = serde_json::from_str(&verify(&["--format", "json"]).stdout).expect("json");
    assert_eq!(json["intact"], true);
    assert_eq!(json["pending"][0]["ref"], waiting.as_str());
    assert_eq!(json["pending"][0]["remote"], "origin");
    assert_eq!(json["pending"][0]["records"], 1);
    assert_eq!(json["pending"][0]["waiting"], 1);
    assert_eq!(json["pending"][0]["folded"], 0);
    assert_eq!(json["pending"][0]["refused"], 0);

    // An entry edited on the remote: a problem, with the command that deletes it.
    let genuine = made(&log, "infra/b");
    let text = String::from_utf8(genuine.bytes.clone()).expect("utf-8");
    let edited = PendingEntry {
        record: genuine.record.clone(),
        bytes: text.replacen("infra/b", "infra/c", 1).into_bytes(),
    };
    let bad = push_pending(&log, "124.1.scan-b.3d4e5f", &[edited]);
    git(&clone, &["fetch", "-q", "origin", FETCH_PENDING]);
    let run = verify(&[]);
    run.assert_problems(&[&format!(
        "log: pending ref {bad} entry 0000.json is refused: it was edited after it was signed \
         (its signature no longer matches); it is kept; investigate and delete it (`git push \
         origin :{bad}`)"
    )]);
    let json: Value = serde_json::from_str(&verify(&["--format", "json"]).stdout).expect("json");
    assert_eq!(json["intact"], false);
    assert_eq!(json["pending"][0]["ref"], waiting.as_str());
    assert_eq!(json["pending"][1]["ref"], bad.as_str());
    assert_eq!(json["pending"][1]["refused"], 1);

    // The command it names deletes the ref; a pruning fetch then drops the local copy.
    git(&clone, &["push", "-q", "origin", &format!(":{bad}")]);
    git(&clone, &["fetch", "-q", "--prune", "origin", FETCH_PENDING]);
    verify(&[]).assert_intact();
}
