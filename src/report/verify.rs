//! `driftlog verify`'s report for people and tools: the text (problems capped, the pending
//! refs, the head and the checkpoint to keep) and the `--format json` document. Rendering
//! only: no parsing, no git.

use serde::Serialize;

use crate::audit::trust::{Since, TrustRoot};
use crate::audit::verify::{self, Problem, Report, UNDETECTABLE};

/// The `--format json` document: the report, plus where the trust came from.
#[derive(Serialize)]
struct JsonOutput<'a> {
    allowed_signers: &'a str,
    trust_root: &'a TrustRoot,
    intact: bool,
    /// The checkpoint the walk started from, and where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    since_checkpoint: Option<&'a Since>,
    #[serde(flatten)]
    report: &'a Report,
    warnings: &'a [String],
    undetectable: &'a str,
}

/// The `--format json` document, pretty-printed, newline-terminated.
pub fn json(
    report: &Report,
    trust_root: &TrustRoot,
    since: Option<&Since>,
    warnings: &[String],
) -> String {
    let output = JsonOutput {
        allowed_signers: &trust_root.describe(),
        trust_root,
        intact: report.is_intact(),
        since_checkpoint: since,
        report,
        warnings,
        undetectable: UNDETECTABLE,
    };
    // Serializing plain data to a String cannot fail.
    let mut out = serde_json::to_string_pretty(&output).unwrap_or_default();
    out.push('\n');
    out
}

/// A hostile branch can hold any number of broken commits: the text names the first of
/// their problems and counts the rest (`--format json` lists the first thousand).
const PROBLEM_LINES: usize = 100;

/// The report for people; `source` says where the allowed signers were read.
pub fn text(report: &Report, source: &str) -> String {
    let mut lines = vec![format!("allowed signers: {source}")];
    if let Some(size) = report.since {
        lines.push(format!(
            "verified from a checkpoint at size {size}: the records before it are proven \
             unchanged through it"
        ));
    }
    lines.extend(report.problems.iter().take(PROBLEM_LINES).map(describe));
    if report.problems_total > PROBLEM_LINES as u64 {
        lines.push(format!(
            "…and {} more problems (--format json lists the first {})",
            report.problems_total - PROBLEM_LINES as u64,
            verify::MAX_PROBLEMS
        ));
    }
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    lines.push(format!(
        "{}: {} verified, {} ({})",
        report.branch,
        plural(report.records, "record", "records"),
        plural(report.problems_total, "problem", "problems"),
        [
            plural(report.commits, "commit", "commits"),
            plural(
                report.checkpoints_matched as u64,
                "given checkpoint matched",
                "given checkpoints matched"
            ),
        ]
        .join(", ")
    ));
    for signer in &report.signers {
        lines.push(format!(
            "signed by {} ({}): {}",
            signer.principal,
            signer.fingerprint,
            plural(signer.records, "record", "records")
        ));
    }
    lines.extend(pending_lines(report));
    if let Some(head) = &report.head {
        lines.push(format!(
            "head: record {} sha256:{} in commit {}, Merkle root {}",
            head.seq,
            head.record_sha256,
            short(&head.commit),
            head.merkle_root
        ));
        lines.push(match &head.checkpoint_line {
            // A checkpoint of a log with problems would vouch for them later.
            Some(_) if !report.is_intact() => {
                "checkpoint: none to keep while the log has problems".to_owned()
            }
            Some(line) => format!("checkpoint (keep it to verify later): {line}"),
            None => "checkpoint: none (the tip's checkpoint did not verify or does not match the \
                     records)"
                .to_owned(),
        });
    }
    lines.push(UNDETECTABLE.to_owned());
    lines.push(String::new());
    lines.join("\n")
}

/// Pending refs listed one a line before the text only counts them.
const PENDING_LINES: usize = 20;

/// The pending refs found: each (a refused one is a problem, listed with them), then how many
/// records wait and what folds them.
fn pending_lines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    let records = |n: usize| match n {
        1 => "1 record".to_owned(),
        n => format!("{n} records"),
    };
    for pending in report.pending.iter().take(PENDING_LINES) {
        let mut parts = Vec::new();
        if pending.waiting > 0 {
            parts.push(format!("{} waiting to be folded", records(pending.waiting)));
        }
        if pending.folded > 0 {
            parts.push(format!(
                "{} folded, the ref not deleted yet (`{}`)",
                records(pending.folded),
                pending.delete_command()
            ));
        }
        if pending.refused > 0 {
            parts.push(format!("{} refused", records(pending.refused)));
        }
        if let Some(why) = &pending.error {
            parts.push(format!("refused: {why}"));
        }
        lines.push(format!(
            "pending ref {} ({}, commit {}): {}",
            pending.name,
            pending.remote,
            short(&pending.commit),
            parts.join(", ")
        ));
    }
    if report.pending.len() > PENDING_LINES {
        lines.push(format!(
            "…and {} more pending refs (--format json lists them)",
            report.pending.len() - PENDING_LINES
        ));
    }
    if report.pending_unread > 0 {
        lines.push(format!(
            "…and {} more pending refs not read (at most {} are)",
            report.pending_unread,
            report.pending.len()
        ));
    }
    let waiting: usize = report.pending.iter().map(|p| p.waiting).sum();
    if waiting > 0 {
        let refs = report.pending.iter().filter(|p| p.waiting > 0).count();
        lines.push(format!(
            "{} {} in {refs} pending {}, not on the branch yet: the next `driftlog scan` or \
             `driftlog report merge` folds {} into the branch",
            records(waiting),
            if waiting == 1 { "waits" } else { "wait" },
            if refs == 1 { "ref" } else { "refs" },
            if waiting == 1 { "it" } else { "them" }
        ));
    }
    lines
}

/// `commit <short> seq <n>: <what>`, leaving out what the problem is not tied to.
fn describe(problem: &Problem) -> String {
    match (&problem.commit, problem.seq) {
        (Some(commit), Some(seq)) => {
            format!("commit {} seq {seq}: {}", short(commit), problem.what)
        }
        (Some(commit), None) => format!("commit {}: {}", short(commit), problem.what),
        (None, Some(seq)) => format!("seq {seq}: {}", problem.what),
        (None, None) => format!("log: {}", problem.what),
    }
}

fn short(commit: &str) -> &str {
    super::first_chars(commit, 12)
}

#[cfg(test)]
mod tests {
    use crate::audit::verify::{LogHead, Problem, Report};

    fn report(problems: usize) -> Report {
        Report {
            branch: "driftlog/audit".into(),
            origin: None,
            records: 3,
            commits: 3,
            head: Some(LogHead {
                commit: "0123456789abcdef".into(),
                seq: 2,
                record_sha256: "ab".into(),
                merkle_root: "cd".into(),
                checkpoint_line: Some("driftlog-checkpoint v1 x 3 root sig".into()),
            }),
            checkpoints_matched: 0,
            log_repository: None,
            signers: Vec::new(),
            since: None,
            pending: Vec::new(),
            pending_unread: 0,
            problems_total: problems as u64,
            problems: (0..problems)
                .map(|n| Problem {
                    commit: None,
                    seq: Some(n as u64),
                    what: "junk".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn problems_are_capped_and_a_broken_log_offers_no_checkpoint() {
        let text = super::text(&report(250), "test");
        assert_eq!(text.matches(": junk").count(), super::PROBLEM_LINES);
        assert!(text.contains("…and 150 more problems"), "{text}");
        assert!(text.contains("250 problems"), "{text}");
        assert!(!text.contains("keep it"), "{text}");
        let intact = super::text(&report(0), "test");
        assert!(intact.contains("checkpoint (keep it to verify later): driftlog-checkpoint"));
    }
}
