//! Cloud provider audit logs: which API calls may have changed a resource, who made them,
//! when and from where.
//!
//! [`EventLog::load`] reads audit log files (gzipped or not), detects each file's format from
//! its content and normalizes every record into an [`AuditEvent`]; [`EventLog::matching`]
//! finds the events that name one of a resource's identifiers inside a time window.
//!
//! Each format is an adapter that alone knows its provider's fields: `cloudtrail` (AWS
//! CloudTrail log files and `aws cloudtrail lookup-events` output) and `gcp` (Google Cloud
//! audit log entries). This module knows only how JSON documents hold records (in an array
//! under a key the adapter names, `{"Records": [...]}`; as a JSON array; one per line) and
//! what all formats share: times, identifiers, merging, indexing and matching (a bare name
//! matches only events of the resource's account and region: the rule is in `events::scope`).
//! A new format (Azure activity logs) is one adapter file and one entry in `ADAPTERS`.
//! This file holds the model, the index and the adapter boundary; reading a file (its bound,
//! gzip, its documents, each record detected and normalized, errors placed) is `events::read`.
//!
//! Documents are parsed with serde into borrowed spans (`RawValue`) and typed records, never
//! into `serde_json::Value` trees: while a file is read, memory holds its text and the
//! normalized events. 100,000 CloudTrail events (170 MB of JSON) load in about a second.

mod cloudtrail;
mod gcp;
mod read;
mod scope;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use read::{read_bounded, read_file};

/// One provider audit event, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The provider's id of the event: CloudTrail `eventID`, Google `insertId`.
    pub id: String,
    /// RFC 3339 in UTC, with as many fractional digits as the provider gave
    /// (`2026-11-20T14:02:11Z`, `2026-11-20T14:05:02.417392Z`).
    pub time: String,
    /// `time` as a point in time, for comparisons.
    #[serde(skip)]
    pub at: SystemTime,
    /// Which adapter read it.
    pub format: EventFormat,
    /// The file it came from, as given.
    pub file: String,
    /// `aws` or `gcp`.
    pub provider: String,
    /// The API's service: `ec2.amazonaws.com`, `compute.googleapis.com`.
    pub service: String,
    /// The API call: `ModifySecurityGroupRules`, `v1.compute.firewalls.patch`.
    pub action: String,
    /// Who made the call.
    pub actor: Actor,
    /// Where the call came from: an IP address, or a service's name for calls AWS services
    /// make (`autoscaling.amazonaws.com`).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// AWS region, Google location or zone.
    pub region: Option<String>,
    /// Where the call happened: the AWS account (`recipientAccountId`), the Google project.
    pub account: Option<String>,
    /// The call only read (`Describe*`, `get`): it cannot have changed anything.
    pub read_only: bool,
    /// Why the call failed (CloudTrail `errorCode: errorMessage`, Google's status): a failed
    /// call changed nothing.
    pub error: Option<String>,
    /// Every resource identifier the event names, sorted, each once. Strings shorter than
    /// [`MIN_IDENTIFIER_LEN`] or longer than [`MAX_IDENTIFIER_LEN`] are left out: they
    /// cannot match a resource.
    pub identifiers: Vec<String>,
}

/// Who made an API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// `assumed_role`, `user`, `root`, `service` (AWS); `user`, `service_account`,
    /// `principal`, `service` (Google); otherwise the provider's own type name, or `unknown`.
    pub kind: String,
    /// `role/TerraformDeploy`, `bob`, `autoscaling.amazonaws.com`, `alice@example.com`.
    pub name: String,
    /// More about the actor: the session name of an assumed role, the account of the root
    /// user, the first principal of a Google delegation chain (who impersonated).
    pub detail: Option<String>,
}

/// The audit log formats, one per adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFormat {
    /// AWS CloudTrail: log files and `aws cloudtrail lookup-events` output.
    #[serde(rename = "cloudtrail")]
    CloudTrail,
    /// Google Cloud audit log entries (`gcloud logging read --format=json`, log exports).
    GcpAuditLog,
}

impl EventFormat {
    /// The format's name for people.
    pub fn name(self) -> &'static str {
        match self {
            EventFormat::CloudTrail => "AWS CloudTrail",
            EventFormat::GcpAuditLog => "Google Cloud audit log",
        }
    }
}

impl fmt::Display for EventFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Resource identifiers shorter than this are never matched (nor indexed): `1`, `us`.
pub const MIN_IDENTIFIER_LEN: usize = 3;
/// Strings longer than this are not identifiers (an ARN is at most 2048 characters): policy
/// documents, scripts, certificates in request parameters.
pub const MAX_IDENTIFIER_LEN: usize = 2048;

/// The most driftlog reads of one event file, after decompression: the file, or what a
/// `.gz` expands to, is held in memory whole while it is read. Larger logs are split (a
/// trail writes one file per few minutes and region).
pub const MAX_EVENT_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reading audit log files.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The file, or what it decompresses to, is larger than [`MAX_EVENT_FILE_BYTES`].
    #[error(
        "{}: {what} more than {limit} bytes, the most driftlog reads of one event file \
         (MAX_EVENT_FILE_BYTES); split it or filter the events first",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    /// The file cannot be read.
    #[error("{}: cannot be read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON, or one of its records is not a valid event; `detail` says where
    /// (JSON line and column, and the record).
    #[error("{}: {detail}", path.display())]
    Malformed { path: PathBuf, detail: String },
    /// JSON, but of no shape an adapter reads.
    #[error("{}: not an audit log this version understands; expected {}", path.display(), expected_formats())]
    UnknownFormat { path: PathBuf },
}

/// Audit events from one or more files, indexed by the identifiers they name.
#[derive(Debug, Default)]
pub struct EventLog {
    /// Sorted by time, then id; each event once.
    events: Vec<AuditEvent>,
    /// Hash of an identifier → the events naming it (ascending). A hash may collide:
    /// [`EventLog::matching`] checks the event's own identifiers.
    index: HashMap<u64, Vec<usize>>,
    hasher: RandomState,
}

impl EventLog {
    /// Reads every file once (the format detected from content; gzip decompressed) and
    /// merges them. An event found in several files (same provider, id and time) is kept
    /// once, from the first file.
    pub fn load(paths: &[PathBuf]) -> Result<EventLog, EventsError> {
        let mut events = Vec::new();
        for path in paths {
            let bytes = read_bounded(path)?;
            read_file(path, &bytes, &mut events)?;
        }
        Ok(EventLog::from_events(events))
    }

    /// Reads one file's contents; `file` names it in events and errors.
    pub fn from_slice(file: &str, bytes: &[u8]) -> Result<EventLog, EventsError> {
        let mut events = Vec::new();
        read_file(Path::new(file), bytes, &mut events)?;
        Ok(EventLog::from_events(events))
    }

    fn from_events(mut events: Vec<AuditEvent>) -> EventLog {
        // Stable: of duplicates, the first file's stays first and is kept.
        events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        events.dedup_by(|later, kept| {
            later.at == kept.at && later.id == kept.id && later.provider == kept.provider
        });
        let hasher = RandomState::new();
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (position, event) in events.iter().enumerate() {
            for identifier in &event.identifiers {
                let slot = index
                    .entry(hasher.hash_one(identifier.as_str()))
                    .or_default();
                if slot.last() != Some(&position) {
                    slot.push(position);
                }
            }
        }
        EventLog {
            events,
            index,
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// All events, sorted by time, then id.
    pub fn events(&self) -> &[AuditEvent] {
        &self.events
    }

    /// Events that may have changed the resource with any of `identifiers`: naming one of
    /// them (exact string equality; identifiers shorter than [`MIN_IDENTIFIER_LEN`] are
    /// ignored), not read-only, not failed, at a time in `(after, until]` (`after` `None`:
    /// unbounded). An event found only by a bare name (no ARN, no `projects/…`) must also be
    /// of the resource's provider, account and region where both sides know them: see
    /// `events::scope`. Sorted by time, then id; each event once.
    pub fn matching(
        &self,
        identifiers: &[&str],
        after: Option<SystemTime>,
        until: SystemTime,
    ) -> Vec<&AuditEvent> {
        self.matching_in(identifiers, &[], after, until)
    }

    /// [`EventLog::matching`], the resource's place also taken from `place`: scoped
    /// identifiers (a CloudFormation stack's ARN) that are not matched themselves.
    pub fn matching_in(
        &self,
        identifiers: &[&str],
        place: &[&str],
        after: Option<SystemTime>,
        until: SystemTime,
    ) -> Vec<&AuditEvent> {
        let scoping: Vec<&str> = identifiers.iter().chain(place).copied().collect();
        let place = scope::Scope::of_resource(&scoping);
        let mut found: Vec<usize> = Vec::new();
        for identifier in identifiers {
            if identifier.len() < MIN_IDENTIFIER_LEN {
                continue;
            }
            let Some(candidates) = self.index.get(&self.hasher.hash_one(*identifier)) else {
                continue;
            };
            // A scoped identifier carries its place; a bare one is checked against ours.
            let bare = scope::Scope::of_identifier(identifier).is_none();
            found.extend(candidates.iter().copied().filter(|&position| {
                let event = &self.events[position];
                event
                    .identifiers
                    .binary_search_by(|known| known.as_str().cmp(identifier))
                    .is_ok()
                    && (!bare || place.admits(event))
            }));
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|position| &self.events[position])
            .filter(|event| {
                !event.read_only
                    && event.error.is_none()
                    && event.at <= until
                    && after.is_none_or(|after| event.at > after)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The adapter boundary.

/// One format: where its records sit in a document, and how one record reads.
struct Adapter {
    format: EventFormat,
    /// The documents it reads, for [`EventsError::UnknownFormat`].
    expected: &'static str,
    /// Documents `{KEY: [record, ...]}`: each KEY and how its records read.
    wrapped: &'static [(&'static str, ReadRecord)],
    /// Records standing alone (a JSON array's elements, or one per line): for each kind,
    /// whether an object with these top-level fields is one, and how it reads.
    bare: &'static [(IsRecord, ReadRecord)],
}

/// Whether an object with these top-level fields is a record of a kind.
type IsRecord = fn(&Fields<'_>) -> bool;

/// Reads one record: `None` for a record of the format that holds no audit event (a Google
/// log entry of another kind).
type ReadRecord = fn(&RawValue) -> Result<Option<Draft>, RecordError>;

/// Every format this build reads. Detection tries them in order.
const ADAPTERS: &[Adapter] = &[cloudtrail::ADAPTER, gcp::ADAPTER];

fn expected_formats() -> String {
    let names: Vec<&str> = ADAPTERS.iter().map(|adapter| adapter.expected).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// One record as its adapter read it; [`read_file`] adds the file and format, parses the
/// time and tidies the identifiers.
struct Draft {
    id: String,
    time: Time,
    provider: &'static str,
    service: String,
    action: String,
    actor: Actor,
    source_ip: Option<String>,
    user_agent: Option<String>,
    region: Option<String>,
    account: Option<String>,
    read_only: bool,
    error: Option<String>,
    identifiers: Vec<String>,
}

/// A time as a record gives it.
#[derive(Debug, Clone, PartialEq)]
enum Time {
    /// RFC 3339, any offset.
    Text(String),
    /// Seconds since the Unix epoch (`aws --cli-timestamp-format none`).
    EpochSeconds(f64),
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time or a number of seconds since 1970")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Time, E> {
                Ok(Time::Text(text.to_owned()))
            }
            fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Time, E> {
                Ok(Time::EpochSeconds(seconds))
            }
            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Time, E> {
                Ok(Time::EpochSeconds(seconds as f64))
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Time, E> {
                Ok(Time::EpochSeconds(seconds as f64))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

impl Time {
    fn parse(&self) -> Result<DateTime<Utc>, String> {
        match self {
            Time::Text(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|time| time.with_timezone(&Utc))
                .map_err(|error| format!("bad time {text:?}: {error}")),
            Time::EpochSeconds(seconds) => {
                let whole = seconds.floor();
                let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0) as u32;
                (whole.is_finite() && whole.abs() < 1e15)
                    .then(|| DateTime::from_timestamp(whole as i64, nanos))
                    .flatten()
                    .ok_or_else(|| format!("bad time {seconds}: not a time"))
            }
        }
    }
}

/// Why a record is not a valid event.
enum RecordError {
    /// Its JSON does not fit the format (serde's message, positions inside the record).
    Json(serde_json::Error),
    /// Something the event needs is missing or wrong.
    Invalid(String),
}

impl From<serde_json::Error> for RecordError {
    fn from(error: serde_json::Error) -> Self {
        RecordError::Json(error)
    }
}

/// The top-level fields of a JSON object, their values left unparsed.
struct Fields<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Fields<'a> {
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| *value)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Fields { entries })
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// An object key, borrowed unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Every string leaf of a JSON value (request parameters, responses), collected while it is
/// parsed, without building a tree. Strings that cannot be identifiers (see
/// [`MIN_IDENTIFIER_LEN`], [`MAX_IDENTIFIER_LEN`]) and `@type` tags are skipped.
#[derive(Debug, Default)]
struct StringLeaves(Vec<String>);

impl<'de> Deserialize<'de> for StringLeaves {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut leaves = Vec::new();
        deserializer.deserialize_any(Collect(&mut leaves))?;
        Ok(StringLeaves(leaves))
    }
}

struct Collect<'a>(&'a mut Vec<String>);

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if is_identifier(text) {
            self.0.push(text.to_owned());
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if key == "@type" {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Collect(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

fn is_identifier(text: &str) -> bool {
    (MIN_IDENTIFIER_LEN..=MAX_IDENTIFIER_LEN).contains(&text.len())
}

/// `Some` unless missing or empty.
fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests;
