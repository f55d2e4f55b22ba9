//! `driftlog log`'s output: a line per record for people, or the records as stored for
//! tools. Rendering only: no parsing, no git.

use crate::audit::query::{address_matches, Listed};
use crate::audit::record::{ApplyOutcome, ChangeOutcome, Record};
use crate::drift::Action;

/// One line per record; with `resource`, only its addresses are named.
pub fn text(listed: &[Listed], resource: Option<&str>) -> String {
    listed
        .iter()
        .map(|listed| format!("{}\n", line(&listed.record, resource)))
        .collect()
}

/// A JSON array of the records exactly as stored (canonical JSON, one per line).
pub fn json(listed: &[Listed]) -> String {
    let lines: Vec<String> = listed
        .iter()
        .map(|listed| String::from_utf8_lossy(&listed.bytes).into_owned())
        .collect();
    if lines.is_empty() {
        "[]\n".to_owned()
    } else {
        format!("[\n{}\n]\n", lines.join(",\n"))
    }
}

/// `seq  time  stack (workspace)  result  drifted  by who`.
fn line(record: &Record, resource: Option<&str>) -> String {
    let mut result = record.result.as_str().to_owned();
    if let Some(failure) = &record.failure {
        result.push_str(&format!(" ({})", failure.kind));
    }
    let addresses: Vec<&str> = record
        .resources
        .iter()
        .map(|r| r.address.as_str())
        .filter(|a| resource.is_none_or(|wanted| address_matches(a, wanted)))
        .collect();
    let drifted = match (&record.apply, record.resources.len(), resource) {
        (Some(apply), ..) => applied(apply, resource),
        (None, ..) if record.adoption.is_some() => adoption(record),
        (None, 0, _) => "no drift".to_owned(),
        (None, n, None) => format!("{n} drifted: {}", addresses.join(", ")),
        (None, n, Some(_)) => format!("{n} drifted, matching: {}", addresses.join(", ")),
    };
    format!(
        "{:>6}  {}  {} ({})  {}  {}  by {}",
        record.seq,
        record.made_at(),
        record.stack.path,
        record.stack.workspace,
        result,
        drifted,
        match record.context.run() {
            Some(run) => format!("{} {run}", record.context.who()),
            None => record.context.who(),
        }
    )
}

/// `2 adopted, 1 refused, from record 5, pull request #3`.
fn adoption(record: &Record) -> String {
    let Some(adoption) = &record.adoption else {
        return String::new();
    };
    let mut text = format!(
        "{} adopted, {} refused, from record {}",
        adoption.adopted.len(),
        adoption.refusals.len(),
        adoption.acts_on.seq
    );
    if let Some(pull) = &adoption.pull_request {
        text.push_str(&format!(", pull request #{}", pull.number));
    }
    text
}

/// `applied 3 changes: +1 ~1 -1`; a failed apply says what completed and what errored.
fn applied(apply: &ApplyOutcome, resource: Option<&str>) -> String {
    let completed: Vec<Action> = apply
        .changes
        .iter()
        .filter(|c| c.outcome == ChangeOutcome::Complete)
        .map(|c| c.action)
        .collect();
    let errored = apply.changes.len() - completed.len();
    let count = |action: Action| completed.iter().filter(|a| **a == action).count();
    let counts: Vec<String> = [
        ("+", Action::Create),
        ("~", Action::Update),
        ("-/+", Action::Replace),
        ("-", Action::Delete),
        ("*", Action::Unknown),
    ]
    .iter()
    .filter_map(|(symbol, action)| Some((symbol, count(*action))).filter(|(_, n)| *n > 0))
    .map(|(symbol, n)| format!("{symbol}{n}"))
    .collect();
    let plural = |n: usize| if n == 1 { "change" } else { "changes" };
    let mut text = match (completed.len(), apply.exit_code) {
        (0, Some(0)) => "applied no changes".to_owned(),
        (n, Some(0)) => format!("applied {n} {}: {}", plural(n), counts.join(" ")),
        (0, _) => "apply: no change completed".to_owned(),
        (n, _) => format!("apply: {n} {} completed: {}", plural(n), counts.join(" ")),
    };
    if errored > 0 {
        text.push_str(&format!(", {errored} errored"));
    }
    if let Some(wanted) = resource {
        let matching: Vec<&str> = apply
            .changes
            .iter()
            .map(|c| c.address.as_str())
            .filter(|a| address_matches(a, wanted))
            .collect();
        text.push_str(&format!(", matching: {}", matching.join(", ")));
    }
    text
}
