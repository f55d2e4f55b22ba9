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
//!
//! Documents are parsed with serde into borrowed spans (`RawValue`) and typed records, never
//! into `serde_json::Value` trees: while a file is read, memory holds its text and the
//! normalized events. 100,000 CloudTrail events (170 MB of JSON) load in about a second.

mod cloudtrail;
mod gcp;
mod scope;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::json::{is_too_deep, MAX_JSON_NESTING};

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
        let place = scope::Scope::of_resource(identifiers);
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

// ---------------------------------------------------------------------------------------
// Reading a file.

/// The file's bytes, at most [`MAX_EVENT_FILE_BYTES`] of them (read through a limit, so a
/// file that grows or never ends, like a FIFO, is refused too).
fn read_bounded(path: &Path) -> Result<Vec<u8>, EventsError> {
    let failed = |source| EventsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let too_large = || EventsError::TooLarge {
        path: path.to_owned(),
        what: "it holds",
        limit: MAX_EVENT_FILE_BYTES,
    };
    // A regular file says its size: refused before anything is read.
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if size.is_some_and(|size| size > MAX_EVENT_FILE_BYTES) {
        return Err(too_large());
    }
    read_capped(file, MAX_EVENT_FILE_BYTES, size)
        .map_err(failed)?
        .ok_or_else(too_large)
}

/// All of `reader` if it holds at most `limit` bytes, else `None` once it has given more.
/// `expected` (a file's size, gzip's recorded one) is only a hint: room for it, up to
/// `limit`, is taken at once, so input of the expected size is read without copying. The
/// buffer grows by doubling but never past `limit`, so memory stays within twice the limit
/// however much the input holds (a 300 MiB gzip bomb peaks at 280 MB, 480 MB when its
/// recorded size lies, against 680 MB read whole).
fn read_capped(
    mut reader: impl Read,
    limit: u64,
    expected: Option<u64>,
) -> std::io::Result<Option<Vec<u8>>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let hint = expected.map_or(0, |size| usize::try_from(size).unwrap_or(limit));
    let mut out: Vec<u8> = Vec::with_capacity(hint.min(limit));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(Some(out)),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let len = out.len() + read;
        if len > limit {
            return Ok(None);
        }
        if out.capacity() < len {
            let grown = (out.capacity() * 2).clamp(len, limit);
            out.reserve_exact(grown - out.len());
        }
        out.extend_from_slice(&chunk[..read]);
    }
}

fn read_file(path: &Path, bytes: &[u8], events: &mut Vec<AuditEvent>) -> Result<(), EventsError> {
    read_file_within(path, bytes, events, MAX_EVENT_FILE_BYTES)
}

/// [`read_file`] with `limit` for [`MAX_EVENT_FILE_BYTES`] (tests use a small one).
fn read_file_within(
    path: &Path,
    bytes: &[u8],
    events: &mut Vec<AuditEvent>,
    limit: u64,
) -> Result<(), EventsError> {
    let malformed = |detail: String| EventsError::Malformed {
        path: path.to_owned(),
        detail,
    };
    let too_large = |what| EventsError::TooLarge {
        path: path.to_owned(),
        what,
        limit,
    };
    if bytes.len() as u64 > limit {
        return Err(too_large("it holds"));
    }
    let decompressed;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        // Read through a limit: a few kilobytes of gzip can expand to gigabytes.
        // A gzip member ends with its size modulo 2^32: a hint, not trusted.
        let recorded = bytes
            .last_chunk::<4>()
            .map(|size| u64::from(u32::from_le_bytes(*size)));
        decompressed = read_capped(flate2::read::MultiGzDecoder::new(bytes), limit, recorded)
            .map_err(|error| malformed(format!("not a valid gzip file: {error}")))?
            .ok_or_else(|| too_large("it decompresses to"))?;
        &decompressed[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(bytes).map_err(|error| {
        malformed(format!(
            "not UTF-8 text: invalid byte at offset {}",
            error.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(malformed("the file is empty".to_owned()));
    }
    let mut reader = FileReader {
        path,
        text,
        recognized: false,
        events,
    };
    let documents = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for document in documents {
        let document = document.map_err(|error| {
            let kind = if is_too_deep(&error) {
                ""
            } else {
                "not JSON: "
            };
            malformed(format!("{kind}{}", placed(&error, (1, 1))))
        })?;
        reader.document(document)?;
    }
    Ok(())
}

/// Where a record is in its file, for messages.
enum Place<'a> {
    /// `Records[3]`
    Wrapped(&'a str, usize),
    /// `[3]`: an element of a top-level array.
    Element(usize),
    /// A top-level object: one per line, or the whole file.
    Document,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Wrapped(key, index) => write!(f, "{key}[{index}]"),
            Place::Element(index) => write!(f, "[{index}]"),
            Place::Document => f.write_str("the record"),
        }
    }
}

struct FileReader<'a, 'e> {
    path: &'a Path,
    text: &'a str,
    /// Whether some record was of a known format: an unknown one after that is a malformed
    /// record, not an unknown file.
    recognized: bool,
    events: &'e mut Vec<AuditEvent>,
}

impl<'a> FileReader<'a, '_> {
    fn document(&mut self, document: &'a RawValue) -> Result<(), EventsError> {
        match document.get().as_bytes().first() {
            Some(b'[') => {
                let elements: Vec<&RawValue> = self.parse(document)?;
                for (index, element) in elements.into_iter().enumerate() {
                    self.bare(element, Place::Element(index))?;
                }
                Ok(())
            }
            Some(b'{') => {
                let fields: Fields<'a> = self.parse(document)?;
                for adapter in ADAPTERS {
                    for (key, read) in adapter.wrapped {
                        let Some(records) = fields.get(key) else {
                            continue;
                        };
                        if !records.get().starts_with('[') {
                            let (line, column) = self.position(records);
                            return Err(self.malformed(format!(
                                "`{key}` at line {line}, column {column} is not an array"
                            )));
                        }
                        self.recognized = true;
                        let records: Vec<&RawValue> = self.parse(records)?;
                        for (index, record) in records.into_iter().enumerate() {
                            self.record(adapter, *read, record, Place::Wrapped(key, index))?;
                        }
                        return Ok(());
                    }
                }
                self.bare_fields(document, &fields, Place::Document)
            }
            _ => Err(self.unknown(document, Place::Document)),
        }
    }

    fn bare(&mut self, record: &'a RawValue, place: Place<'_>) -> Result<(), EventsError> {
        if !record.get().starts_with('{') {
            return Err(self.unknown(record, place));
        }
        let fields: Fields<'a> = self.parse(record)?;
        self.bare_fields(record, &fields, place)
    }

    fn bare_fields(
        &mut self,
        record: &'a RawValue,
        fields: &Fields<'a>,
        place: Place<'_>,
    ) -> Result<(), EventsError> {
        for adapter in ADAPTERS {
            for (is_record, read) in adapter.bare {
                if is_record(fields) {
                    self.recognized = true;
                    return self.record(adapter, *read, record, place);
                }
            }
        }
        Err(self.unknown(record, place))
    }

    fn record(
        &mut self,
        adapter: &Adapter,
        read: ReadRecord,
        record: &RawValue,
        place: Place<'_>,
    ) -> Result<(), EventsError> {
        // Counting lines is linear in the file: only for errors.
        let invalid = |detail: &dyn Fn((usize, usize)) -> String| {
            let (line, column) = self.position(record);
            let detail = detail((line, column));
            self.malformed(format!("{place} at line {line}, column {column}: {detail}"))
        };
        let draft = match read(record) {
            Ok(Some(draft)) => draft,
            Ok(None) => return Ok(()),
            Err(RecordError::Invalid(detail)) => return Err(invalid(&|_| detail.clone())),
            Err(RecordError::Json(error)) => return Err(invalid(&|start| placed(&error, start))),
        };
        let time = (draft.time.parse()).map_err(|detail| invalid(&|_| detail.clone()))?;
        let mut identifiers = draft.identifiers;
        identifiers.retain(|identifier| is_identifier(identifier));
        identifiers.sort_unstable();
        identifiers.dedup();
        self.events.push(AuditEvent {
            id: draft.id,
            time: time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            at: time.into(),
            format: adapter.format,
            file: self.path.display().to_string(),
            provider: draft.provider.to_owned(),
            service: draft.service,
            action: draft.action,
            actor: draft.actor,
            source_ip: draft.source_ip,
            user_agent: draft.user_agent,
            region: draft.region,
            account: draft.account,
            read_only: draft.read_only,
            error: draft.error,
            identifiers,
        });
        Ok(())
    }

    /// Parses a span of the file, with errors at the file's line and column.
    fn parse<T: Deserialize<'a>>(&self, raw: &'a RawValue) -> Result<T, EventsError> {
        serde_json::from_str(raw.get()).map_err(|error| {
            self.malformed(format!(
                "unexpected JSON: {}",
                placed(&error, self.position(raw))
            ))
        })
    }

    fn unknown(&self, record: &RawValue, place: Place<'_>) -> EventsError {
        if !self.recognized {
            return EventsError::UnknownFormat {
                path: self.path.to_owned(),
            };
        }
        let (line, column) = self.position(record);
        self.malformed(format!(
            "{place} at line {line}, column {column} is not a record of a known format; \
             expected {}",
            expected_formats()
        ))
    }

    fn malformed(&self, detail: String) -> EventsError {
        EventsError::Malformed {
            path: self.path.to_owned(),
            detail,
        }
    }

    /// The 1-based line and column (in bytes) where `raw`, a span of the file, starts.
    fn position(&self, raw: &RawValue) -> (usize, usize) {
        let offset = (raw.get().as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = 1 + before.iter().filter(|&&byte| byte == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |newline| newline + 1);
        (line, offset - line_start + 1)
    }
}

/// serde's message with its position in the file: serde counts lines and columns from the
/// start of the text it parsed, which is at `start` in the file.
fn placed(error: &serde_json::Error, start: (usize, usize)) -> String {
    let message = error.to_string();
    if error.line() == 0 {
        return message;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    // Valid JSON may still be too deep for serde_json, which calls that a syntax error.
    let too_deep = format!(
        "valid JSON perhaps, but it nests deeper than {MAX_JSON_NESTING} levels, deeper than \
         any audit log"
    );
    let message = if is_too_deep(error) {
        &too_deep
    } else {
        message
    };
    let (line, column) = if error.line() == 1 {
        (start.0, start.1 + error.column().saturating_sub(1))
    } else {
        (start.0 + error.line() - 1, error.column())
    };
    format!("{message} at line {line}, column {column}")
}

#[cfg(test)]
mod tests;
