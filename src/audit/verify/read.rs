//! Reading an audit branch's objects, bounded: every object's size is read from its header
//! before it is loaded, trees are followed only so deep, and a commit's changes only so many.
//! A hostile branch therefore costs at most these limits per commit, never a stack overflow.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use git2::{ObjectType, Odb, Oid, Repository};

use super::check::{self, CommitChecked, CommitFiles, RecordFiles};
use super::commit;
use super::tree::{
    classify, describe_unexpected, display, git_order, join, last_entry, parse_entries, removed,
    Change, ChangeKind, Entry,
};
use crate::audit::note::NoteVerifier;
use crate::audit::pending;
use crate::audit::sshsig::AllowedSigners;
use crate::audit::store::{CHECKPOINT_DIR, FRONTIER_FILE, NOTE_FILE};

/// The largest record file read (records hold the redacted drift model; a scan of thousands
/// of drifted resources stays far below this).
pub const MAX_RECORD_BYTES: usize = 16 << 20;
/// Signatures, the checkpoint note and the frontier are a few hundred bytes each.
pub const MAX_SMALL_FILE_BYTES: usize = 64 << 10;
/// A record shard holds 1,000 records and their signatures: about 100 KB of tree.
pub const MAX_TREE_BYTES: usize = 4 << 20;
/// Commits are a header and a one-line message.
pub const MAX_COMMIT_BYTES: usize = 1 << 20;
/// The store writes `records/<millions>/<thousands>/<file>`: three directories deep.
pub const MAX_TREE_DEPTH: usize = 8;
/// An append changes four files (five for the first).
pub const MAX_CHANGES: usize = 10_000;
/// Tree bytes one commit's diff may parse: an append parses a few small trees and the tail
/// of one shard, so this only stops a commit built to make the diff parse without end.
pub const MAX_PARSED_TREE_BYTES: usize = 32 << 20;

/// Commits handed from a worker to the walk at a time: small enough that a worker holds
/// little ([`MAX_RECORD_BYTES`] each at worst), large enough to keep every core busy.
const CHUNK_COMMITS: usize = 32;

/// Reads and checks `chain` (oldest first) on `threads` workers, each with its own handle on
/// the repository at `path`, and hands every commit to `conclude` in chain order. Chunks of
/// commits go round-robin to the workers, and each worker runs at most one chunk ahead, so
/// memory stays bounded however long the log is. `parent_tree` is the tree before the
/// chain's first commit (`None` from the root).
#[allow(clippy::too_many_arguments)]
pub(super) fn read_in_order(
    path: &Path,
    chain: &[Oid],
    parent_tree: Option<Oid>,
    from_root: bool,
    allowed: &AllowedSigners,
    note_keys: &[[u8; 32]],
    threads: usize,
    mut conclude: impl FnMut(CommitFiles, CommitChecked),
) -> Result<(), git2::Error> {
    let chunks: Vec<&[Oid]> = chain.chunks(CHUNK_COMMITS).collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    type Chunk = Result<Vec<(CommitFiles, CommitChecked)>, git2::Error>;
    std::thread::scope(|scope| {
        let mut receivers = Vec::new();
        for worker in 0..threads {
            let (send, receive) = mpsc::sync_channel::<Chunk>(1);
            receivers.push(receive);
            let chunks = &chunks;
            let spawned = std::thread::Builder::new()
                .name(format!("verify-{worker}"))
                .spawn_scoped(scope, move || {
                    let repo = match Repository::open(path) {
                        Ok(repo) => repo,
                        Err(err) => return drop(send.send(Err(err))),
                    };
                    let odb = match repo.odb() {
                        Ok(odb) => odb,
                        Err(err) => return drop(send.send(Err(err))),
                    };
                    let mut reader = CommitReader::new(&odb, note_keys);
                    for index in (worker..chunks.len()).step_by(threads) {
                        let start = index * CHUNK_COMMITS;
                        let mut parent = match start.checked_sub(1) {
                            None => parent_tree,
                            Some(before) => commit::read(&odb, chain[before]).ok().map(|c| c.tree),
                        };
                        let mut done = Vec::with_capacity(chunks[index].len());
                        for (offset, oid) in chunks[index].iter().enumerate() {
                            let is_root = from_root && start + offset == 0;
                            let is_tip = start + offset + 1 == chain.len();
                            let mut files = reader.read_commit(*oid, parent, is_root, is_tip);
                            if !files.tree.is_zero() {
                                parent = Some(files.tree);
                            }
                            let checked = check::check(&files, allowed);
                            // Hashed and parsed: the bytes are not kept while the chunk waits.
                            for record in &mut files.records {
                                if let Ok(bytes) = &mut record.bytes {
                                    *bytes = Vec::new();
                                }
                                if let Some((_, Ok(bytes))) = &mut record.pending {
                                    *bytes = Vec::new();
                                }
                            }
                            done.push((files, checked));
                        }
                        if send.send(Ok(done)).is_err() {
                            return; // The walk stopped.
                        }
                    }
                });
            if let Err(err) = spawned {
                // Without a worker, its chunks never come: stop before waiting for them.
                return Err(git2::Error::from_str(&format!(
                    "starting a verify worker: {err}"
                )));
            }
        }
        for index in 0..chunks.len() {
            let chunk = receivers[index % threads]
                .recv()
                .unwrap_or_else(|_| Err(git2::Error::from_str("a verify worker stopped")))?;
            for (files, checked) in chunk {
                conclude(files, checked);
            }
        }
        Ok(())
    })
}

/// The verifiers for checkpoints under the key name `origin`: one per allowed key that may
/// sign in the driftlog namespace (none if `origin` is not a valid key name).
pub(super) fn note_verifiers(keys: &[[u8; 32]], origin: &str) -> Vec<NoteVerifier> {
    keys.iter()
        .filter_map(|key| NoteVerifier::new(origin, *key).ok())
        .collect()
}

/// Reads commits, bounded, with checkpoint verifiers at hand: one per thread (libgit2's
/// handles are not shared between threads).
pub(super) struct CommitReader<'r> {
    reader: Reader<'r>,
    note_keys: &'r [[u8; 32]],
    verifiers: HashMap<String, Arc<[NoteVerifier]>>,
}

impl<'r> CommitReader<'r> {
    pub(super) fn new(odb: &'r Odb<'r>, note_keys: &'r [[u8; 32]]) -> Self {
        CommitReader {
            reader: Reader::new(odb),
            note_keys,
            verifiers: HashMap::new(),
        }
    }

    /// Reads one commit, bounded, diffing its tree against `parent_tree` (the previous commit's
    /// in the walk; `None` for the root).
    pub(super) fn read_commit(
        &mut self,
        oid: Oid,
        parent_tree: Option<Oid>,
        is_root: bool,
        verify_note: bool,
    ) -> CommitFiles {
        let mut files = CommitFiles {
            oid,
            parents: 0,
            time: 0,
            first_line: Vec::new(),
            signature: Err(String::new()),
            tree: Oid::zero(),
            problems: Vec::new(),
            added_records: 0,
            seq: None,
            records: Vec::new(),
            note: Err(String::new()),
            verify_note,
            frontier: Err(String::new()),
        };
        let commit = match commit::read(self.reader.odb, oid) {
            Ok(commit) => commit,
            Err(err) => {
                files
                    .problems
                    .push((None, format!("cannot read the commit: {err}")));
                files.signature = Err("the commit was not read".into());
                files.note = Err("the commit was not read".into());
                return files;
            }
        };
        files.parents = commit.parents.len();
        files.time = commit.time;
        files.first_line = commit.first_line;
        files.signature = commit
            .signature
            .ok_or_else(|| "the commit is not signed".to_owned());
        files.tree = commit.tree;

        self.reader.next_commit();
        let mut changes = Vec::new();
        let diffed = self.reader.diff(parent_tree, files.tree, "", &mut changes);
        if let Err(err) = diffed {
            files.problems.push((None, err));
        }
        let (added, unexpected) = classify(&changes, is_root);
        files.seq = added.last().map(|r| r.seq_in_path);
        if !unexpected.is_empty() {
            files
                .problems
                .push((files.seq, describe_unexpected(&unexpected)));
        }
        files.added_records = added.len();
        // A commit adds one record: a second is a problem, and reading every one of up to
        // [`MAX_CHANGES`] records (each up to [`MAX_RECORD_BYTES`]) would make memory the
        // attacker's to choose. Only the first (the lowest seq) is read.
        for record in added.into_iter().take(1) {
            let read = |oid: Oid, limit| {
                self.reader
                    .blob(oid, limit)
                    .map_err(|err| format!("cannot read {}: {err}", record.path))
            };
            files.records.push(RecordFiles {
                bytes: read(record.blob, MAX_RECORD_BYTES),
                signature: record.signature.map(|sig| read(sig, MAX_SMALL_FILE_BYTES)),
                pending: record.pending.map(|entry| {
                    let bytes = self
                        .reader
                        .blob(entry, pending::MAX_ENTRY_BYTES)
                        .map_err(|err| format!("cannot be read ({err})"));
                    (entry, bytes)
                }),
                path: record.path,
                seq_in_path: record.seq_in_path,
            });
        }
        let note_path = format!("{CHECKPOINT_DIR}/{NOTE_FILE}");
        files.note = self
            .reader
            .blob_at(files.tree, &note_path)
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| format!("{note_path} is not text"))
            })
            .map(|signed| {
                let origin = signed.split('\n').next().unwrap_or_default().to_owned();
                let verifiers = self.verifiers(&origin);
                (signed, verifiers)
            });
        files.frontier = self
            .reader
            .blob_at(files.tree, &format!("{CHECKPOINT_DIR}/{FRONTIER_FILE}"));
        files
    }

    /// `checkpoint/frontier.json` in the tree `tree`.
    pub(super) fn frontier_at(&mut self, tree: Oid) -> Result<Vec<u8>, String> {
        self.reader
            .blob_at(tree, &format!("{CHECKPOINT_DIR}/{FRONTIER_FILE}"))
    }

    /// Trusted checkpoint verifiers under the key name `origin`, cached.
    fn verifiers(&mut self, origin: &str) -> Arc<[NoteVerifier]> {
        let keys = self.note_keys;
        Arc::clone(
            self.verifiers
                .entry(origin.to_owned())
                .or_insert_with(|| note_verifiers(keys, origin).into()),
        )
    }
}

/// A tree object as read, shared by the caches without copying its bytes (a record shard is
/// up to 100 KB, rewritten by every append).
#[derive(Clone)]
pub(super) struct RawTree<'r>(Rc<git2::OdbObject<'r>>);

impl std::ops::Deref for RawTree<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.data()
    }
}

/// The object database and the raw trees read for the current commit and its parent: each
/// tree an append rewrites is read once, as the child's, and reused as the parent's.
pub(super) struct Reader<'r> {
    pub(super) odb: &'r Odb<'r>,
    trees: HashMap<Oid, RawTree<'r>>,
    parent_trees: HashMap<Oid, RawTree<'r>>,
    /// Each tree's last entry, as found when the tree was read as a child: an append extends
    /// a record shard at its end, and finding where the old shard ended would otherwise parse
    /// the whole shard again.
    lasts: HashMap<Oid, Option<LastEntry>>,
    parent_lasts: HashMap<Oid, Option<LastEntry>>,
    /// Tree bytes parsed for the current commit, against [`MAX_PARSED_TREE_BYTES`].
    parsed: usize,
}

/// A tree entry kept beyond the tree's bytes.
#[derive(Clone)]
struct LastEntry {
    name: Vec<u8>,
    id: Oid,
    mode: u32,
}

impl LastEntry {
    fn of(entry: &Entry<'_>) -> LastEntry {
        LastEntry {
            name: entry.name.to_vec(),
            id: entry.id,
            mode: entry.mode,
        }
    }

    fn entry(&self) -> Entry<'_> {
        Entry {
            name: &self.name,
            id: self.id,
            mode: self.mode,
        }
    }
}

impl<'r> Reader<'r> {
    pub(super) fn new(odb: &'r Odb<'r>) -> Self {
        Reader {
            odb,
            trees: HashMap::new(),
            parent_trees: HashMap::new(),
            lasts: HashMap::new(),
            parent_lasts: HashMap::new(),
            parsed: 0,
        }
    }

    /// Moves on to the next commit: this commit's trees become the parent's.
    pub(super) fn next_commit(&mut self) {
        std::mem::swap(&mut self.parent_trees, &mut self.trees);
        self.trees.clear();
        std::mem::swap(&mut self.parent_lasts, &mut self.lasts);
        self.lasts.clear();
        self.parsed = 0;
    }

    /// A raw tree, from this commit's or the parent's trees when already read.
    pub(super) fn tree(&mut self, oid: Oid) -> Result<RawTree<'r>, String> {
        if let Some(raw) = self.trees.get(&oid) {
            return Ok(raw.clone());
        }
        let raw = match self.parent_trees.get(&oid) {
            Some(raw) => raw.clone(),
            None => {
                let (size, kind) = self
                    .odb
                    .read_header(oid)
                    .map_err(|err| format!("cannot read the tree {oid}: {err}"))?;
                if kind != ObjectType::Tree {
                    return Err(format!("{oid} is a {kind}, not a tree"));
                }
                if size > MAX_TREE_BYTES {
                    return Err(format!(
                        "the tree {oid} is {size} bytes, over the limit of {MAX_TREE_BYTES}: not \
                         read"
                    ));
                }
                let object = self
                    .odb
                    .read(oid)
                    .map_err(|err| format!("cannot read the tree {oid}: {err}"))?;
                RawTree(Rc::new(object))
            }
        };
        self.trees.insert(oid, raw.clone());
        Ok(raw)
    }

    /// The blob at `path` in the tree `root`, through the cached trees.
    pub(super) fn blob_at(&mut self, root: Oid, path: &str) -> Result<Vec<u8>, String> {
        let mut id = root;
        let mut parts = path.split('/').peekable();
        while let Some(name) = parts.next() {
            let raw = self.tree(id)?;
            let entries = parse_entries(&raw, None).map_err(|e| format!("{path}: {e}"))?;
            let entry = entries
                .iter()
                .find(|e| e.name == name.as_bytes() && e.is_tree() == parts.peek().is_some());
            id = entry.ok_or_else(|| format!("{path} is missing"))?.id;
        }
        self.blob(id, MAX_SMALL_FILE_BYTES)
            .map_err(|err| format!("cannot read {path}: {err}"))
    }

    /// The files that differ between the raw trees `old` and `new`, descending only into
    /// subtrees whose ids differ: an append touches a handful of trees however long the log
    /// is. When `new` is `old` plus entries at its end, as when a record joins its shard, only
    /// those entries are parsed.
    pub(super) fn diff(
        &mut self,
        old: Option<Oid>,
        new: Oid,
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<(), String> {
        let depth = prefix.split('/').filter(|p| !p.is_empty()).count();
        if depth > MAX_TREE_DEPTH {
            return Err(format!(
                "{prefix} is nested deeper than {MAX_TREE_DEPTH} directories (an audit branch \
                 has 3): not read further"
            ));
        }
        if out.len() > MAX_CHANGES {
            return Err(format!(
                "the commit changes more than {MAX_CHANGES} files: not read further"
            ));
        }
        let malformed = |e: String| format!("the tree {} is malformed: {e}", display(prefix));
        let new_raw = self.tree(new)?;
        let old_raw = old.map(|oid| self.tree(oid)).transpose()?;
        let old_bytes = old_raw.as_deref().unwrap_or_default();
        self.parsed += new_raw.len() + old_bytes.len();
        if self.parsed > MAX_PARSED_TREE_BYTES {
            return Err(format!(
                "the commit's trees are more than {MAX_PARSED_TREE_BYTES} bytes to compare: not \
                 read further"
            ));
        }
        if let Some(tail) = new_raw.strip_prefix(old_bytes) {
            let last = match old {
                Some(oid) => self.last_of(oid, old_bytes).map_err(malformed)?,
                None => None,
            };
            let entries =
                parse_entries(tail, last.as_ref().map(LastEntry::entry)).map_err(malformed)?;
            let new_last = entries.last().map(LastEntry::of).or_else(|| last.clone());
            self.lasts.insert(new, new_last);
            for entry in &entries {
                self.added(entry, prefix, out)?;
            }
            return Ok(());
        }
        let (old, new) = (old_bytes, &new_raw[..]);
        let old_entries = parse_entries(old, None).map_err(malformed)?;
        let new_entries = parse_entries(new, None).map_err(malformed)?;
        let (mut i, mut j) = (0, 0);
        loop {
            let (a, b) = match (old_entries.get(i), new_entries.get(j)) {
                (None, None) => break,
                (Some(a), None) => (Some(a), None),
                (None, Some(b)) => (None, Some(b)),
                (Some(a), Some(b)) => match git_order(a, b) {
                    std::cmp::Ordering::Less => (Some(a), None),
                    std::cmp::Ordering::Greater => (None, Some(b)),
                    std::cmp::Ordering::Equal => (Some(a), Some(b)),
                },
            };
            match (a, b) {
                (Some(a), None) => removed(a, prefix, out),
                (None, Some(b)) => self.added(b, prefix, out)?,
                (Some(a), Some(b)) if a.id != b.id || a.mode != b.mode => {
                    let path = join(prefix, b.name);
                    match (a.is_tree(), b.is_tree()) {
                        (true, true) => self.diff(Some(a.id), b.id, &path, out)?,
                        (false, false) => out.push(Change {
                            path,
                            kind: ChangeKind::Modified,
                            new: Some((b.id, b.mode)),
                        }),
                        _ => {
                            removed(a, prefix, out);
                            self.added(b, prefix, out)?;
                        }
                    }
                }
                _ => {}
            }
            i += usize::from(a.is_some());
            j += usize::from(b.is_some());
        }
        Ok(())
    }

    fn added(
        &mut self,
        entry: &Entry<'_>,
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<(), String> {
        let path = join(prefix, entry.name);
        if entry.is_tree() {
            self.diff(None, entry.id, &path, out)
        } else {
            out.push(Change {
                path,
                kind: ChangeKind::Added,
                new: Some((entry.id, entry.mode)),
            });
            Ok(())
        }
    }

    /// The last entry of the tree `oid` (whose bytes are `raw`), remembered from when it was
    /// read as a child, else found.
    fn last_of(&mut self, oid: Oid, raw: &[u8]) -> Result<Option<LastEntry>, String> {
        if let Some(last) = self.lasts.get(&oid).or_else(|| self.parent_lasts.get(&oid)) {
            return Ok(last.clone());
        }
        Ok(last_entry(raw)?.as_ref().map(LastEntry::of))
    }

    /// A blob's bytes if it is no larger than `limit`: the size is read from the object's
    /// header first, so an oversized blob is never loaded.
    pub(super) fn blob(&self, oid: Oid, limit: usize) -> Result<Vec<u8>, String> {
        let (size, kind) = self.odb.read_header(oid).map_err(|e| e.to_string())?;
        if kind != ObjectType::Blob {
            return Err(format!("{oid} is a {kind}, not a file"));
        }
        if size > limit {
            return Err(format!("it is {size} bytes, over the limit of {limit}"));
        }
        let object = self.odb.read(oid).map_err(|e| e.to_string())?;
        Ok(object.data().to_vec())
    }
}
