//! Explanations and resource timelines as text: the one line a pull-request comment gives
//! each drifted resource, and the full account `driftlog explain` and `history` print.

use std::fmt::Write as _;

use super::{display_value, first_chars, human_time, human_time_seconds, plural};
use crate::drift::explanation::{CommitRef, EventRef, Explanation, RecordRef};
use crate::explain::HistoryEntry;

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
        Some(clean) if clean.kind == "apply" => {
            format!(
                "last applied {} ({})",
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
                let label = if clean.kind == "apply" {
                    "last applied"
                } else {
                    "last clean"
                };
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
                e.status == entry.status && e.stack == entry.stack && e.changes.is_empty()
            })
            .count();
        if entry.changes.is_empty() && run > 2 {
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
            commits: Some(vec![commit]),
            events: None,
            changes: vec![],
            identifiers: vec![],
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
