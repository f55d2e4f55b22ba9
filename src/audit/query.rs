//! `driftlog log`'s reading: the records on the tip of the audit branch, newest first, as
//! stored, filtered by stack, resource, time and count. Nothing is checked here (no
//! signature, chain or checkpoint): that is `driftlog verify`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::reader::{record_files, ReadError};
use super::record::Record;
use super::OpenRepositoryError;
use crate::explain::normalize_stack;

/// Which records to list.
#[derive(Debug, Clone)]
pub struct LogQuery {
    /// The repository holding the audit branch (or a directory inside it).
    pub repo: PathBuf,
    pub branch: String,
    /// Only records of this stack (relative to the repository root, as recorded).
    pub stack: Option<String>,
    /// Only records in which this address (or something inside it) drifted or was applied.
    pub resource: Option<String>,
    /// Only records made at or after this time.
    pub since: Option<SystemTime>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

/// A record listed, and its bytes as stored.
pub struct Listed {
    pub record: Record,
    pub bytes: Vec<u8>,
}

/// Why the records could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Open(#[from] OpenRepositoryError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("reading the tip of {branch}")]
    Tip {
        branch: String,
        #[source]
        source: git2::Error,
    },
    #[error("listing the records")]
    List(#[source] git2::Error),
    #[error("reading {path}")]
    Blob {
        path: String,
        #[source]
        source: git2::Error,
    },
}

/// The records `query` asks for, newest first; a file that is not a record is skipped, with
/// a warning handed to `warn` as it is found.
pub fn list(query: &LogQuery, warn: &mut dyn FnMut(String)) -> Result<Vec<Listed>, QueryError> {
    let repo = super::discover_repository(&query.repo)?;
    let refname = format!("refs/heads/{}", query.branch);
    let tip = repo
        .refname_to_id(&refname)
        .map_err(|_| ReadError::NoBranch(query.branch.clone()))?;
    let tree = repo
        .find_commit(tip)
        .and_then(|commit| commit.tree())
        .map_err(|source| QueryError::Tip {
            branch: query.branch.clone(),
            source,
        })?;
    let mut files = record_files(&repo, &tree).map_err(QueryError::List)?;
    files.reverse();

    let stack = query.stack.as_deref().map(normalize_stack);
    let mut shown = Vec::new();
    for (path, oid) in files {
        if query.limit.is_some_and(|limit| shown.len() >= limit) {
            break;
        }
        let bytes = match repo.find_blob(oid) {
            Ok(blob) => blob.content().to_vec(),
            Err(source) => return Err(QueryError::Blob { path, source }),
        };
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(record) => record,
            Err(err) => {
                warn(format!(
                    "{path} is not a record ({err}); run driftlog verify"
                ));
                continue;
            }
        };
        if stack
            .as_deref()
            .is_some_and(|s| normalize_stack(&record.stack.path) != s)
        {
            continue;
        }
        if let Some(address) = &query.resource {
            if !addresses(&record).any(|a| address_matches(a, address)) {
                continue;
            }
        }
        if let Some(since) = query.since {
            // A time that does not parse cannot be shown to be recent enough.
            match humantime::parse_rfc3339_weak(record.made_at()) {
                Ok(time) if time >= since => {}
                _ => continue,
            }
        }
        shown.push(Listed { record, bytes });
    }
    Ok(shown)
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

/// Whether `address` is `wanted` or inside it (`module.net` holds `module.net.aws_subnet.a`;
/// `aws_subnet.a` holds `aws_subnet.a[0]`).
pub fn address_matches(address: &str, wanted: &str) -> bool {
    address
        .strip_prefix(wanted)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// RFC 3339 with any offset, or a bare day at midnight UTC.
pub fn parse_since(text: &str) -> Result<SystemTime, String> {
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
