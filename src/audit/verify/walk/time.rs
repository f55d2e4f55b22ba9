//! Times in a log only move forward (records of schema 3 on, which driftlog writes so): a
//! record's time agrees with its commit's within [`TIME_BOUND_SECONDS`], neither goes back
//! along the log, and the record's key was allowed at the record's time.

use super::Walk;
use crate::audit::record::{Record, LOG_TIME_SCHEMA};
use crate::audit::sshsig::{VerifiedSignature, DRIFTLOG_NAMESPACE};
use crate::audit::verify::check::unix_time;

/// How far a record's time and its commit's may differ (the store writes them equal).
pub const TIME_BOUND_SECONDS: i64 = 300;

/// The order-dependent facts of the last record: what the next must not go back on.
#[derive(Clone, Copy)]
pub(super) struct Clock {
    schema: u32,
    record_time: i64,
    commit_time: i64,
}

impl Walk<'_, '_> {
    /// Time only moves forward (from schema 3 on, when the writer guarantees it): the record's
    /// time agrees with its commit's, neither goes back, and the signing key was valid then.
    pub(super) fn check_time(
        &mut self,
        record: &Record,
        commit_time: i64,
        signature: &Option<Result<VerifiedSignature, String>>,
        problems: &mut Vec<String>,
    ) {
        let previous = self.clock;
        if let Some(previous) = previous {
            if record.schema_version < previous.schema {
                problems.push(format!(
                    "the record has schema {} after a record of schema {}: records cannot go \
                     back to an older format",
                    record.schema_version, previous.schema
                ));
            }
        }
        if record.schema_version < LOG_TIME_SCHEMA {
            self.clock = Some(Clock {
                schema: record.schema_version,
                record_time: i64::MIN,
                commit_time: i64::MIN,
            });
            return;
        }
        let Some(record_time) = humantime::parse_rfc3339(&record.time)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
        else {
            problems.push(format!(
                "the record's time {:?} is not an RFC 3339 UTC time",
                record.time
            ));
            return;
        };
        let apart = (record_time - commit_time).abs();
        if apart > TIME_BOUND_SECONDS {
            problems.push(format!(
                "the record's time {} and its commit's differ by {apart} s, more than \
                 {TIME_BOUND_SECONDS} s",
                record.time
            ));
        }
        if let Some(previous) = previous.filter(|p| p.schema >= LOG_TIME_SCHEMA) {
            if record_time < previous.record_time {
                problems.push(format!(
                    "the record's time {} is {} s before the previous record's: times in a log \
                     only move forward",
                    record.time,
                    previous.record_time - record_time
                ));
            }
            if commit_time < previous.commit_time {
                problems.push(format!(
                    "the commit's time is {} s before the previous commit's: times in a log \
                     only move forward",
                    previous.commit_time - commit_time
                ));
            }
        }
        if let Some(Ok(signer)) = signature {
            if let Err(err) =
                self.allowed
                    .authorize_at(&signer.key, DRIFTLOG_NAMESPACE, unix_time(record_time))
            {
                problems.push(format!("at the record's time {}: {err}", record.time));
            }
        }
        self.clock = Some(Clock {
            schema: record.schema_version,
            record_time: previous.map_or(record_time, |p| p.record_time.max(record_time)),
            commit_time: previous.map_or(commit_time, |p| p.commit_time.max(commit_time)),
        });
    }
}
