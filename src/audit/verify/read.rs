//! Reading an audit branch's objects, bounded: every object's size is read from its header
//! before it is loaded, trees are followed only so deep, and a commit's changes only so many.
//! A hostile branch therefore costs at most these limits per commit, never a stack overflow.

use std::collections::HashMap;
use std::rc::Rc;

use git2::{ObjectType, Odb, Oid};

use super::tree::{
    display, git_order, join, last_entry, parse_entries, removed, Change, ChangeKind, Entry,
};

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

/// The object database and the raw trees read for the current commit and its parent: each
/// tree an append rewrites is read once, as the child's, and reused as the parent's.
pub(super) struct Reader<'r> {
    pub(super) odb: Odb<'r>,
    trees: HashMap<Oid, Rc<[u8]>>,
    parent_trees: HashMap<Oid, Rc<[u8]>>,
}

impl<'r> Reader<'r> {
    pub(super) fn new(odb: Odb<'r>) -> Self {
        Reader {
            odb,
            trees: HashMap::new(),
            parent_trees: HashMap::new(),
        }
    }

    /// Moves on to the next commit: this commit's trees become the parent's.
    pub(super) fn next_commit(&mut self) {
        std::mem::swap(&mut self.parent_trees, &mut self.trees);
        self.trees.clear();
    }

    /// A commit object's raw bytes, if no larger than [`MAX_COMMIT_BYTES`].
    pub(super) fn commit_size_ok(&self, oid: Oid) -> Result<(), String> {
        let (size, kind) = self
            .odb
            .read_header(oid)
            .map_err(|err| format!("cannot read the commit: {err}"))?;
        if kind != ObjectType::Commit {
            return Err(format!("{oid} is a {kind}, not a commit"));
        }
        if size > MAX_COMMIT_BYTES {
            return Err(format!(
                "the commit is {size} bytes, over the limit of {MAX_COMMIT_BYTES}: not read"
            ));
        }
        Ok(())
    }

    /// A raw tree, from this commit's or the parent's trees when already read.
    pub(super) fn tree(&mut self, oid: Oid) -> Result<Rc<[u8]>, String> {
        if let Some(raw) = self.trees.get(&oid) {
            return Ok(Rc::clone(raw));
        }
        let raw = match self.parent_trees.get(&oid) {
            Some(raw) => Rc::clone(raw),
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
                Rc::from(object.data())
            }
        };
        self.trees.insert(oid, Rc::clone(&raw));
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
        old: Option<&[u8]>,
        new: &[u8],
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
        let old = old.unwrap_or_default();
        if let Some(tail) = new.strip_prefix(old) {
            let last = last_entry(old).map_err(malformed)?;
            for entry in parse_entries(tail, last).map_err(malformed)? {
                self.added(&entry, prefix, out)?;
            }
            return Ok(());
        }
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
                        (true, true) => {
                            let (old_tree, new_tree) = (self.tree(a.id)?, self.tree(b.id)?);
                            self.diff(Some(&old_tree), &new_tree, &path, out)?;
                        }
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
            let tree = self.tree(entry.id)?;
            self.diff(None, &tree, &path, out)
        } else {
            out.push(Change {
                path,
                kind: ChangeKind::Added,
                new: Some((entry.id, entry.mode)),
            });
            Ok(())
        }
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
