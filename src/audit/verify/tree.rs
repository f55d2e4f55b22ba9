//! Raw git trees, read without libgit2's tree parser: strict entry syntax and order, and
//! which paths a commit may change.

use git2::Oid;

/// Mode of a regular, non-executable file: the only one an audit branch holds.
pub(super) const REGULAR_FILE: u32 = 0o100644;
/// How many unexpected paths one problem names before it only counts the rest.
const LISTED_CHANGES: usize = 10;

use crate::audit::pending::FOLDED_SUFFIX;
use crate::audit::store::{
    record_path, CHECKPOINT_DIR, FRONTIER_FILE, NOTE_FILE, README_FILE, RECORDS_DIR,
};

/// What one commit's tree changed, file by file (a deleted directory counts once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

pub(super) struct Change {
    pub(super) path: String,
    pub(super) kind: ChangeKind,
    /// The new blob and its file mode, for added and modified files.
    pub(super) new: Option<(Oid, u32)>,
}

/// A record file a commit adds, with its detached signature if the commit adds that too.
pub(super) struct AddedRecord {
    pub(super) path: String,
    pub(super) seq_in_path: u64,
    pub(super) blob: Oid,
    pub(super) signature: Option<Oid>,
    /// The pending entry the record was folded from (`<path>.pending`), if the commit adds one.
    pub(super) pending: Option<Oid>,
}

/// One entry of a raw tree object.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<'t> {
    pub(super) name: &'t [u8],
    pub(super) id: Oid,
    pub(super) mode: u32,
}

impl Entry<'_> {
    pub(super) fn is_tree(&self) -> bool {
        self.mode == TREE_MODE
    }
}

pub(super) const TREE_MODE: u32 = 0o040000;

/// Parses raw tree entries (`<octal mode> <name>\0<20-byte id>`...), which must be in strict
/// git order and, when `previous` is given, after it: a tree with repeated or unsorted names
/// is not one git would write, and would make the diff unreliable.
pub(super) fn parse_entries<'t>(
    raw: &'t [u8],
    mut previous: Option<Entry<'t>>,
) -> Result<Vec<Entry<'t>>, String> {
    let mut entries = Vec::new();
    for entry in RawEntries(raw) {
        let entry = entry?;
        if previous.is_some_and(|p| git_order(&p, &entry) != std::cmp::Ordering::Less) {
            return Err(format!(
                "{} is out of order or repeated",
                String::from_utf8_lossy(entry.name)
            ));
        }
        previous = Some(entry);
        entries.push(entry);
    }
    Ok(entries)
}

/// The last entry of a raw tree, without checking the order: for a tree that was checked when
/// it was first read (every tree is read as a child before it is anyone's parent).
pub(super) fn last_entry(raw: &[u8]) -> Result<Option<Entry<'_>>, String> {
    RawEntries(raw).try_fold(None, |_, entry| entry.map(Some))
}

/// Iterates over the entries of a raw tree object, checking their syntax.
struct RawEntries<'t>(&'t [u8]);

impl<'t> Iterator for RawEntries<'t> {
    type Item = Result<Entry<'t>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let parsed = parse_entry(self.0);
        // After a malformed entry there is nothing more to read.
        self.0 = match &parsed {
            Ok((_, rest)) => rest,
            Err(_) => &[],
        };
        Some(parsed.map(|(entry, _)| entry))
    }
}

fn parse_entry(raw: &[u8]) -> Result<(Entry<'_>, &[u8]), String> {
    let space = raw
        .iter()
        .position(|b| *b == b' ')
        .ok_or("an entry has no mode")?;
    // Only the spellings git writes: `040000` and `40000` would parse alike, so two trees
    // with different ids could read the same and make a diff descend without end.
    let mode = match &raw[..space] {
        b"40000" => TREE_MODE,
        b"100644" => REGULAR_FILE,
        b"100755" => 0o100755,
        b"120000" => 0o120000,
        b"160000" => 0o160000,
        _ => return Err("an entry has a mode git does not write".to_owned()),
    };
    let after = &raw[space + 1..];
    let nul = after
        .iter()
        .position(|b| *b == 0)
        .ok_or("an entry's name is not terminated")?;
    let name = &after[..nul];
    if name.is_empty() || name.contains(&b'/') {
        return Err("an entry has an empty name or one with a slash".to_owned());
    }
    let id = after
        .get(nul + 1..nul + 21)
        .and_then(|bytes| Oid::from_bytes(bytes).ok())
        .ok_or("an entry's id is truncated")?;
    Ok((Entry { name, id, mode }, &after[nul + 21..]))
}

pub(super) fn removed(entry: &Entry<'_>, prefix: &str, out: &mut Vec<Change>) {
    let mut path = join(prefix, entry.name);
    if entry.is_tree() {
        path.push('/');
    }
    out.push(Change {
        path,
        kind: ChangeKind::Deleted,
        new: None,
    });
}

/// git's tree order: names compared bytewise, a directory as if its name ended in `/`.
pub(super) fn git_order(a: &Entry<'_>, b: &Entry<'_>) -> std::cmp::Ordering {
    let common = a.name.len().min(b.name.len());
    // Past the common length, a name that ended sorts first unless it is a directory's.
    let next = |e: &Entry<'_>| e.name.get(common).copied().or(e.is_tree().then_some(b'/'));
    a.name[..common]
        .cmp(&b.name[..common])
        .then_with(|| next(a).cmp(&next(b)))
}

pub(super) fn display(prefix: &str) -> &str {
    if prefix.is_empty() {
        "/"
    } else {
        prefix
    }
}

pub(super) fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Splits a commit's changes into the records it adds and everything it should not change.
pub(super) fn classify(changes: &[Change], is_root: bool) -> (Vec<AddedRecord>, Vec<&Change>) {
    let note_path = format!("{CHECKPOINT_DIR}/{NOTE_FILE}");
    let frontier_path = format!("{CHECKPOINT_DIR}/{FRONTIER_FILE}");
    let added_file = |path: &str| {
        changes.iter().find_map(|c| match (c.kind, c.new) {
            (ChangeKind::Added, Some((oid, REGULAR_FILE))) if c.path == path => Some(oid),
            _ => None,
        })
    };
    let mut records = Vec::new();
    let mut unexpected = Vec::new();
    for change in changes {
        let regular_added = change.kind == ChangeKind::Added
            && change.new.is_some_and(|(_, mode)| mode == REGULAR_FILE);
        // A symlink or an executable in their place is not what the store writes.
        let regular = change.new.is_some_and(|(_, mode)| mode == REGULAR_FILE);
        let checkpoint_file = change.path == note_path || change.path == frontier_path;
        if checkpoint_file && change.kind != ChangeKind::Deleted && regular {
            continue;
        }
        if is_root && change.path == README_FILE && change.kind == ChangeKind::Added && regular {
            continue;
        }
        if regular_added {
            if let Some(seq) = record_seq(&change.path) {
                if let Some((blob, _)) = change.new {
                    records.push(AddedRecord {
                        path: change.path.clone(),
                        seq_in_path: seq,
                        blob,
                        signature: added_file(&format!("{}.sig", change.path)),
                        pending: added_file(&format!("{}{FOLDED_SUFFIX}", change.path)),
                    });
                }
                continue;
            }
            // A signature, or a folded record's pending entry, only with its record.
            let beside = change
                .path
                .strip_suffix(".sig")
                .or_else(|| change.path.strip_suffix(FOLDED_SUFFIX));
            if beside.is_some_and(|p| record_seq(p).is_some() && added_file(p).is_some()) {
                continue;
            }
        }
        unexpected.push(change);
    }
    records.sort_by_key(|r| r.seq_in_path);
    (records, unexpected)
}

/// The seq of `records/<millions>/<thousands>/<seq>.json`, if `path` is exactly where
/// [`record_path`] puts that seq.
pub(super) fn record_seq(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?.strip_suffix(".json")?;
    if name.len() != 12 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u64 = name.parse().ok()?;
    let [a, b, file] = record_path(seq);
    (path == format!("{RECORDS_DIR}/{a}/{b}/{file}")).then_some(seq)
}

pub(super) fn describe_unexpected(changes: &[&Change]) -> String {
    let mut listed: Vec<String> = changes
        .iter()
        .take(LISTED_CHANGES)
        .map(|c| {
            let verb = match c.kind {
                ChangeKind::Added => "adds",
                ChangeKind::Modified => "changes",
                ChangeKind::Deleted => "deletes",
            };
            match c.new {
                Some((_, mode)) if mode != REGULAR_FILE => {
                    format!("{verb} {} with mode {mode:o}", c.path)
                }
                _ => format!("{verb} {}", c.path),
            }
        })
        .collect();
    if changes.len() > LISTED_CHANGES {
        listed.push(format!("and {} more", changes.len() - LISTED_CHANGES));
    }
    format!(
        "also {}: an audit commit adds one record and its signature (and the pending entry of a \
         record folded from a pending ref) and updates the checkpoint, nothing else",
        listed.join(", ")
    )
}

/// The first 16 hex digits, enough to tell hashes apart in a message.
pub(super) fn short_hash(hash: &str) -> String {
    match hash.get(..16) {
        Some(short) if hash.len() > 16 => format!("{short}…"),
        _ => hash.to_owned(),
    }
}
