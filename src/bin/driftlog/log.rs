//! `driftlog log`: lists the audit records on the branch's tip, newest first.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use driftlog::audit::reader::record_files;
use driftlog::audit::record::{ApplyOutcome, ChangeOutcome, Record};
use driftlog::drift::Action;
use driftlog::explain::normalize_stack;

use crate::log_location::FormatArg;
use crate::verify::write_stdout;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Lists the records on the tip of the audit branch, newest first: seq, time, \
                  stack, result, drifted resources and who ran the scan. It reads them as they \
                  are and checks no signature, chain or checkpoint: run `driftlog verify` for \
                  that."
)]
pub struct Args {
    #[command(flatten)]
    pub log: crate::log_location::LogLocation,

    /// Only records of the stack at PATH (relative to the repository root, as recorded).
    #[arg(long, value_name = "PATH")]
    pub stack: Option<String>,

    /// Only records in which ADDRESS drifted or an apply changed it: a resource address, or
    /// a module address (`module.net`) for everything in it. The listed addresses are
    /// filtered the same way.
    #[arg(long, value_name = "ADDRESS")]
    pub resource: Option<String>,

    /// Only records made at or after DATE: RFC 3339 (`2026-11-24T09:30:00Z`,
    /// `2026-11-24T10:30:00+01:00`) or a day (`2026-11-24`, midnight UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<SystemTime>,

    /// At most N records (the newest).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,

    /// `text`: one line per record. `json`: an array of the matching records exactly as
    /// stored (canonical JSON, one per line), whole even when --resource matched only some of
    /// their resources.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let repo = driftlog::audit::discover_repository(&args.log.repo)?;
    let refname = format!("refs/heads/{}", args.log.branch);
    let tip = repo.refname_to_id(&refname).map_err(|_| {
        anyhow::anyhow!(
            "there is no branch {0} in the repository (to read a remote's log, git fetch origin \
             {0}:{0})",
            args.log.branch
        )
    })?;
    let tree = repo
        .find_commit(tip)
        .and_then(|commit| commit.tree())
        .with_context(|| format!("reading the tip of {}", args.log.branch))?;
    let mut files = record_files(&repo, &tree).context("listing the records")?;
    files.reverse();

    let stack = args.stack.as_deref().map(normalize_stack);
    let mut shown = Vec::new();
    for (path, oid) in files {
        if args.limit.is_some_and(|limit| shown.len() >= limit) {
            break;
        }
        let bytes = repo
            .find_blob(oid)
            .with_context(|| format!("reading {path}"))?
            .content()
            .to_vec();
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(record) => record,
            Err(err) => {
                eprintln!("driftlog: warning: {path} is not a record ({err}); run driftlog verify");
                continue;
            }
        };
        if stack
            .as_deref()
            .is_some_and(|s| normalize_stack(&record.stack.path) != s)
        {
            continue;
        }
        if let Some(address) = &args.resource {
            if !addresses(&record).any(|a| address_matches(a, address)) {
                continue;
            }
        }
        if let Some(since) = args.since {
            // A time that does not parse cannot be shown to be recent enough.
            match humantime::parse_rfc3339_weak(record.made_at()) {
                Ok(time) if time >= since => {}
                _ => continue,
            }
        }
        shown.push((record, bytes));
    }

    let output = match args.format {
        FormatArg::Json => {
            let lines: Vec<String> = shown
                .iter()
                .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
                .collect();
            if lines.is_empty() {
                "[]\n".to_owned()
            } else {
                format!("[\n{}\n]\n", lines.join(",\n"))
            }
        }
        FormatArg::Text => {
            if shown.is_empty() {
                eprintln!("driftlog: no record matches");
            }
            shown
                .iter()
                .map(|(record, _)| format!("{}\n", line(record, args.resource.as_deref())))
                .collect()
        }
    };
    write_stdout(&output)?;
    Ok(ExitCode::SUCCESS)
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

/// The addresses a record is about: what drifted, or what its apply changed.
fn addresses(record: &Record) -> impl Iterator<Item = &str> {
    let applied = record.apply.iter().flat_map(|a| &a.changes);
    record
        .resources
        .iter()
        .map(|r| r.address.as_str())
        .chain(applied.map(|c| c.address.as_str()))
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

/// Whether `address` is `wanted` or inside it (`module.net` holds `module.net.aws_subnet.a`;
/// `aws_subnet.a` holds `aws_subnet.a[0]`).
fn address_matches(address: &str, wanted: &str) -> bool {
    address
        .strip_prefix(wanted)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// RFC 3339 with any offset, or a bare day at midnight UTC.
fn parse_since(text: &str) -> Result<SystemTime, String> {
    let invalid = || format!("{text:?} is not an RFC 3339 time or a YYYY-MM-DD day");
    if text.len() == 10 {
        return humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).map_err(|_| invalid());
    }
    if text.ends_with(['Z', 'z']) {
        let utc = format!("{}Z", &text[..text.len() - 1]);
        return humantime::parse_rfc3339(&utc).map_err(|_| invalid());
    }
    // humantime reads only UTC: parse the local time as UTC, then undo the offset.
    let split = text.len().checked_sub(6).ok_or_else(invalid)?;
    let (local, offset) = (text.get(..split).ok_or_else(invalid)?, &text[split..]);
    let sign = match offset.as_bytes().first() {
        Some(b'+') => 1i64,
        Some(b'-') => -1,
        _ => return Err(invalid()),
    };
    let (hours, minutes) = offset[1..].split_once(':').ok_or_else(invalid)?;
    let hours: u64 = hours.parse().map_err(|_| invalid())?;
    let minutes: u64 = minutes.parse().map_err(|_| invalid())?;
    if hours > 23 || minutes > 59 {
        return Err(invalid());
    }
    let as_utc = humantime::parse_rfc3339(&format!("{local}Z")).map_err(|_| invalid())?;
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    let time = if sign > 0 {
        as_utc.checked_sub(shift)
    } else {
        as_utc.checked_add(shift)
    };
    time.ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_and_offsets() {
        let utc = parse_since("2026-11-24T09:30:00Z").expect("utc");
        assert_eq!(parse_since("2026-11-24T10:30:00+01:00"), Ok(utc));
        assert_eq!(parse_since("2026-11-24T08:30:00-01:00"), Ok(utc));
        assert_eq!(
            parse_since("2026-11-24"),
            humantime::parse_rfc3339("2026-11-24T00:00:00Z").map_err(|e| e.to_string())
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-11-24T10:30:00+25:00").is_err());
    }

    #[test]
    fn addresses_match_themselves_and_what_they_contain() {
        assert!(address_matches("module.net.aws_subnet.a", "module.net"));
        assert!(address_matches("aws_subnet.a[0]", "aws_subnet.a"));
        assert!(address_matches("aws_subnet.a", "aws_subnet.a"));
        assert!(!address_matches("aws_subnet.ab", "aws_subnet.a"));
        assert!(!address_matches("module.network.x.y", "module.net"));
    }
}
