//! Explanations and resource timelines as text: the one line a pull-request comment gives
//! each drifted resource, and the full account `driftlog explain` and `history` print.

use std::fmt::Write as _;

use super::{display_value, first_chars, human_time, human_time_seconds, plural};
use crate::drift::explanation::{CommitRef, EventRef, Explanation, RecordRef, RemediationRef};
use crate::explain::{HistoryEntry, RemediationEntry};

/// "first seen 2026-11-20 03:00 UTC (record 41, run …); last clean 2026-11-19 03:00 UTC
/// (record 40); no recorded apply in between; ModifySecurityGroupRules by role/ops-admin at
/// 2026-11-19 14:02 UTC (event 3f2a…)". `current` is the seq of the scan being reported, so
/// a drift first seen there reads "first seen in this scan".
pub fn one_line(explanation: &Explanation, current: Option<u64>) -> String {
    let first = &explanation.first_seen;
    let mut parts = vec![if Some(first.seq) == current {
        format!("new in this scan (record {})", first.seq)
    } else {
        format!("first seen {} ({})", human_time(&first.time), source(first))
    }];
    parts.push(match &explanation.last_clean {
        Some(clean) if clean.kind == "apply" || clean.kind == "remediation" => {
            format!(
                "{} {} ({})",
                last_label(clean),
                human_time(&clean.time),
                source(clean)
            )
        }
        Some(clean) => format!(
            "last clean {} (record {})",
            human_time(&clean.time),
            clean.seq
        ),
        None => "never seen clean in the log".to_owned(),
    });
    parts.push(match explanation.applies.as_slice() {
        [] => "no recorded apply in between".to_owned(),
        [one] => format!("apply in between: record {} by {}", one.seq, one.who),
        many => format!(
            "{} in between (records {})",
            plural(many.len(), "recorded apply"),
            many.iter()
                .map(|a| a.seq.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    match explanation.remediations.as_slice() {
        [] => {}
        [one] => parts.push(format!(
            "remediation in between: record {} by rule {} ({})",
            one.record.seq, one.rule, one.outcome
        )),
        many => parts.push(format!(
            "{} in between (records {})",
            plural(many.len(), "remediation"),
            many.iter()
                .map(|r| r.record.seq.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    match explanation.commits.as_deref() {
        Some([]) => parts.push("no commit to the stack in between".to_owned()),
        Some([one]) => parts.push(format!("commit {} in between", commit_short(one))),
        Some(many) => parts.push(format!(
            "{} to the stack in between",
            plural(many.len(), "commit")
        )),
        None => {}
    }
    match explanation.events.as_deref() {
        Some([]) => parts.push("no matching cloud event".to_owned()),
        Some([one]) => parts.push(event_short(one)),
        Some([first, rest @ ..]) => {
            parts.push(format!("{} (and {} more)", event_short(first), rest.len()))
        }
        None => {}
    }
    parts.join("; ")
}

/// The whole account of each explanation, for `driftlog explain`.
pub fn text(explanations: &[Explanation]) -> String {
    let mut out = String::new();
    for (index, e) in explanations.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let stack = if e.workspace == "default" {
            e.stack.clone()
        } else {
            format!("{} ({})", e.stack, e.workspace)
        };
        let _ = writeln!(out, "{} in {stack}", e.address);
        let _ = writeln!(
            out,
            "  first seen drifted  {}  {}",
            human_time_seconds(&e.first_seen.time),
            record_line(&e.first_seen)
        );
        match &e.last_clean {
            Some(clean) => {
                let label = last_label(clean);
                let _ = writeln!(
                    out,
                    "  {label:<18}  {}  {}",
                    human_time_seconds(&clean.time),
                    record_line(clean)
                );
                let _ = writeln!(
                    out,
                    "  so it drifted between {} and {}",
                    human_time_seconds(&clean.time),
                    human_time_seconds(&e.first_seen.time)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  last clean          unknown: no earlier record shows it clean, so the \
                     drift may predate the log"
                );
            }
        }
        if e.applies.is_empty() {
            let _ = writeln!(out, "  applies in between  none recorded");
        } else {
            let _ = writeln!(out, "  applies in between");
            for apply in &e.applies {
                let _ = writeln!(
                    out,
                    "    {}  {}",
                    human_time_seconds(&apply.time),
                    record_line(apply)
                );
            }
        }
        if !e.remediations.is_empty() {
            let _ = writeln!(out, "  remediations in between");
            for remediation in &e.remediations {
                let _ = writeln!(out, "    {}", remediation_line(remediation));
            }
        }
        for failed in &e.failed_scans {
            let _ = writeln!(
                out,
                "  scan failed         {}  record {} (saw nothing)",
                human_time_seconds(&failed.time),
                failed.seq
            );
        }
        match &e.commits {
            None => {
                let _ = writeln!(
                    out,
                    "  commits in between  unknown (no main branch history)"
                );
            }
            Some(commits) if commits.is_empty() => {
                let _ = writeln!(out, "  commits in between  none touched the stack's files");
            }
            Some(commits) => {
                let _ = writeln!(out, "  commits in between (touching the stack's files)");
                for commit in commits {
                    let _ = writeln!(
                        out,
                        "    {}  {}  {}: {}",
                        human_time_seconds(&commit.time),
                        first_chars(&commit.sha, 12),
                        commit.author,
                        commit.summary
                    );
                }
            }
        }
        match &e.events {
            None => {}
            Some(events) if events.is_empty() => {
                let _ = writeln!(
                    out,
                    "  cloud events        none matched (identifiers: {})",
                    if e.identifiers.is_empty() {
                        "none known".to_owned()
                    } else {
                        e.identifiers.join(", ")
                    }
                );
            }
            Some(events) => {
                let _ = writeln!(out, "  cloud events in between");
                for event in events {
                    let _ = writeln!(out, "    {}", event_long(event));
                }
            }
        }
        if !e.changes.is_empty() {
            let _ = writeln!(out, "  changes");
            for change in &e.changes {
                let since = match change.since_after {
                    Some(after) => format!("after record {after}"),
                    None => "since the log began".to_owned(),
                };
                let hidden = if change.value_hidden {
                    " (sensitive: compared by path only)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "    {}: {} -> {}   first seen in record {}, {since}{hidden}",
                    change.change.path,
                    display_value(&change.change.before),
                    display_value(&change.change.after),
                    change.first_seen
                );
            }
        }
    }
    out
}

/// `driftlog explain`'s text: the explanations, or, without any, which latest scans showed
/// no drift (`clean`, as stacks) of the `addresses` asked about (empty: any).
pub fn latest_text(explanations: &[Explanation], clean: &[String], addresses: &[String]) -> String {
    if !explanations.is_empty() {
        return text(explanations);
    }
    let scanned = if clean.is_empty() {
        "no stack has a completed scan in the log".to_owned()
    } else {
        format!("the latest scan of {}", clean.join(", "))
    };
    if addresses.is_empty() {
        format!("No drift in {scanned}\n")
    } else {
        format!("Not drifted in {scanned}: {}\n", addresses.join(", "))
    }
}

/// A resource's timeline, newest first; runs of clean scans fold into one line.
pub fn history_text(address: &str, entries: &[HistoryEntry]) -> String {
    let mut out = format!("{address}\n");
    let mut index = 0;
    while index < entries.len() {
        let entry = &entries[index];
        let run = entries[index..]
            .iter()
            .take_while(|e| {
                e.status == entry.status
                    && e.stack == entry.stack
                    && e.changes.is_empty()
                    && e.remediation.is_none()
            })
            .count();
        if entry.changes.is_empty() && entry.remediation.is_none() && run > 2 {
            let oldest = &entries[index + run - 1];
            let _ = writeln!(
                out,
                "  {} .. {}  records {}..{}  {}  {} ({} records)",
                human_time_seconds(&oldest.record.time),
                human_time_seconds(&entry.record.time),
                oldest.record.seq,
                entry.record.seq,
                entry.stack.display(),
                entry.status.as_str(),
                run
            );
            index += run;
            continue;
        }
        let action = entry
            .action
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  record {:<6} {}  {}: {}{action}  by {}{}",
            human_time_seconds(&entry.record.time),
            entry.record.seq,
            entry.stack.display(),
            entry.record.kind,
            entry.status.as_str(),
            entry.record.who,
            entry
                .record
                .run
                .as_deref()
                .map(|r| format!(", run {r}"))
                .unwrap_or_default()
        );
        if let Some(remediation) = &entry.remediation {
            remediation_lines(&mut out, remediation);
        }
        for change in &entry.changes {
            let _ = writeln!(
                out,
                "      {}: {} -> {}",
                change.path,
                display_value(&change.before),
                display_value(&change.after)
            );
        }
        index += 1;
    }
    out
}

/// What a window's start did: `last clean`, or the apply or remediation that changed it.
fn last_label(record: &RecordRef) -> &'static str {
    match record.kind.as_str() {
        "apply" => "last applied",
        "remediation" => "last reverted",
        _ => "last clean",
    }
}

/// A remediation inside a window: when, its record, its rule and outcome.
fn remediation_line(remediation: &RemediationRef) -> String {
    let mut text = format!(
        "{}  {}; rule {}: {}",
        human_time_seconds(&remediation.record.time),
        record_line(&remediation.record),
        remediation.rule,
        remediation.outcome
    );
    if let Some(reason) = &remediation.refused {
        text.push_str(&format!("; refused this resource: {reason}"));
    }
    text
}

/// A remediation's lines in a timeline, under its entry: rule, what it acted on, its plan
/// and the scan that verified it, and why it refused the resource.
fn remediation_lines(out: &mut String, remediation: &RemediationEntry) {
    let rule = &remediation.rule;
    let _ = writeln!(
        out,
        "      rule {} ({}): {}",
        rule.name,
        rule.action.as_str(),
        rule.reason
    );
    let mut acted = format!(
        "      acted on record {}; outcome {}",
        remediation.acts_on,
        remediation.outcome.as_str()
    );
    if let Some(plan) = &remediation.plan_sha256 {
        acted.push_str(&format!("; plan sha256 {}", first_chars(plan, 12)));
    }
    if let Some(verified) = remediation.verified_by {
        acted.push_str(&format!("; verified by record {verified}"));
    }
    let _ = writeln!(out, "{acted}");
    if let Some(reason) = &remediation.refused {
        let _ = writeln!(out, "      refused: {reason}");
    }
}

fn source(record: &RecordRef) -> String {
    match &record.run {
        Some(run) => format!("record {}, run {run}", record.seq),
        None => format!("record {}", record.seq),
    }
}

fn record_line(record: &RecordRef) -> String {
    let mut text = format!("record {} ({} {}", record.seq, record.kind, record.result);
    if let Some(applied) = &record.applied {
        text.push_str(&format!(", {applied} of this resource"));
    }
    text.push_str(&format!(") by {}", record.who));
    if let Some(run) = &record.run {
        text.push_str(&format!(", run {run}"));
    }
    if let Some(commit) = &record.commit {
        text.push_str(&format!(", commit {}", first_chars(commit, 12)));
    }
    text
}

fn commit_short(commit: &CommitRef) -> String {
    format!(
        "{} by {} at {}",
        first_chars(&commit.sha, 7),
        commit.author,
        human_time_seconds(&commit.time)
    )
}

fn event_short(event: &EventRef) -> String {
    format!(
        "{} by {} at {} (event {})",
        event.action,
        event.actor,
        human_time_seconds(&event.time),
        event.id
    )
}

fn event_long(event: &EventRef) -> String {
    let mut text = format!(
        "{}  {} ({}) by {}",
        human_time_seconds(&event.time),
        event.action,
        event.service,
        event.actor
    );
    if let Some(ip) = &event.source_ip {
        text.push_str(&format!(" from {ip}"));
    }
    if let Some(agent) = &event.user_agent {
        text.push_str(&format!(" ({})", super::shorten(agent, 60)));
    }
    text.push_str(&format!("  [event {} in {}]", event.id, event.file));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_explanations_the_latest_scans_are_named_clean() {
        assert_eq!(
            latest_text(&[], &[], &[]),
            "No drift in no stack has a completed scan in the log\n"
        );
        let clean = ["infra".to_owned(), "app (staging)".to_owned()];
        assert_eq!(
            latest_text(&[], &clean, &["a.b".to_owned(), "c.d".to_owned()]),
            "Not drifted in the latest scan of infra, app (staging): a.b, c.d\n"
        );
    }

    fn record(seq: u64, commit: &str) -> RecordRef {
        RecordRef {
            seq,
            commit: Some(commit.to_owned()),
            time: "2026-11-20T03:00:00Z".into(),
            kind: "scan".into(),
            result: "drifted".into(),
            who: "ci".into(),
            run: None,
            applied: None,
        }
    }

    /// Saved reports are input: a sha of multi-byte characters is cut by characters.
    #[test]
    fn non_ascii_shas_are_cut_by_characters() {
        let sha = "ééééééééééééééé✓";
        let commit = CommitRef {
            sha: sha.into(),
            time: "2026-11-20T01:00:00Z".into(),
            author: "ö".into(),
            summary: "ü".into(),
        };
        let explanation = Explanation {
            address: "a.b".into(),
            stack: "infra".into(),
            workspace: "default".into(),
            first_seen: record(2, sha),
            last_clean: Some(record(1, "ü")),
            applies: vec![],
            failed_scans: vec![],
            remediations: vec![],
            commits: Some(vec![commit]),
            events: None,
            changes: vec![],
            identifiers: vec![],
            place: vec![],
            template: None,
        };
        let line = one_line(&explanation, None);
        assert!(line.contains("commit ééééééé by ö"), "{line}");
        let full = text(&[explanation]);
        assert!(full.contains("by ci, commit éééééééééééé\n"), "{full}");
        assert!(
            full.contains("    2026-11-20 01:00:00 UTC  éééééééééééé  ö: ü"),
            "{full}"
        );
    }
}
