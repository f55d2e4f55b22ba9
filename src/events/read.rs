//! Reading one event file: its bytes within [`MAX_EVENT_FILE_BYTES`] (a `.gz` decompressed
//! through the limit), its JSON documents, and each record detected by the adapters and
//! normalized into an [`AuditEvent`]; errors name the file, line and column.

use std::fmt;
use std::io::Read;
use std::path::Path;

use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    expected_formats, is_identifier, Adapter, AuditEvent, EventsError, Fields, ReadRecord,
    RecordError, ADAPTERS, MAX_EVENT_FILE_BYTES,
};
use crate::json::{is_too_deep, MAX_JSON_NESTING};

/// The file's bytes, at most [`MAX_EVENT_FILE_BYTES`] of them (read through a limit, so a
/// file that grows or never ends, like a FIFO, is refused too).
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, EventsError> {
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
pub(super) fn read_capped(
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

pub(super) fn read_file(
    path: &Path,
    bytes: &[u8],
    events: &mut Vec<AuditEvent>,
) -> Result<(), EventsError> {
    read_file_within(path, bytes, events, MAX_EVENT_FILE_BYTES)
}

/// [`read_file`] with `limit` for [`MAX_EVENT_FILE_BYTES`] (tests use a small one).
pub(super) fn read_file_within(
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
