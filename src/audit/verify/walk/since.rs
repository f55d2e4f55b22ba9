//! Starting from a checkpoint (`--since`): the commit that adds the checkpoint's last record,
//! proven to extend it (signed, its frontier the checkpoint's size and root, its record the
//! tree's last leaf), so that only the commits after it are read.

use git2::Oid;

use super::Walk;
use crate::audit::merkle::CompactRange;
use crate::audit::store::{hex, message_record, MESSAGE_PREFIX};
use crate::audit::verify::check;
use crate::audit::verify::commit;
use crate::audit::verify::read::CommitReader;
use crate::audit::verify::tree::short_hash;

impl Walk<'_, '_> {
    /// Incremental verification: finds the commit that holds record `size - 1` of the
    /// checkpoint `since` and proves the branch consistent with it there (that commit signed
    /// by an allowed key, its frontier the compact range of exactly that size and root, so
    /// every later tree extends the checkpoint's). Returns the commits after it, oldest
    /// first, with the walk's state set as if it had read everything before; `None` (with a
    /// problem said) when the branch is not consistent with it or it is not for this log.
    pub(in crate::audit::verify) fn start_from(
        &mut self,
        since: &str,
        tip: Oid,
    ) -> Option<Vec<Oid>> {
        let (checkpoint, signed) = match self.parse_given(since) {
            Ok(opened) => opened,
            Err(err) => {
                self.problem(None, None, format!("the --since checkpoint {err}"));
                return None;
            }
        };
        let size = checkpoint.size;
        let base_seq = size.checked_sub(1)?;
        let odb = match self.repo.odb() {
            Ok(odb) => odb,
            Err(err) => {
                self.problem(None, None, format!("cannot read the branch: {err}"));
                return None;
            }
        };
        let read_raw = |oid: Oid| commit::read(&odb, oid);
        let mut after = Vec::new();
        let mut next = Some(tip);
        let (base_oid, base) = loop {
            let Some(oid) = next else {
                self.problem(
                    None,
                    Some(base_seq),
                    format!(
                        "the --since checkpoint has {size} records, but no commit of the branch \
                         adds record {base_seq}: records were removed or the history rewritten"
                    ),
                );
                return None;
            };
            let commit = match read_raw(oid) {
                Ok(commit) => commit,
                Err(err) => {
                    self.problem(Some(oid), None, format!("cannot read the commit: {err}"));
                    return None;
                }
            };
            let summary = std::str::from_utf8(&commit.first_line).ok();
            match summary.and_then(message_record) {
                Some((seq, _)) if seq == base_seq => break (oid, commit),
                Some((seq, _)) if seq < base_seq => next = None,
                _ => {
                    after.push(oid);
                    next = commit.parents.first().copied();
                }
            }
        };
        // Diffed against its parent, the base commit adds just the checkpoint's last record;
        // the parent's frontier plus that record must be the checkpoint's, so the record is
        // the one the checkpoint committed to, not another put in its place.
        let parent_tree = match base.parents.first().map(|p| read_raw(*p)).transpose() {
            Ok(parent) => parent.map(|p| p.tree),
            Err(err) => {
                self.problem(Some(base_oid), Some(base_seq), format!("its parent: {err}"));
                return None;
            }
        };
        let note_keys = self.note_keys.clone();
        let mut reader = CommitReader::new(&odb, &note_keys);
        let files = reader.read_commit(base_oid, parent_tree, base.parents.is_empty(), true);
        let before = match parent_tree {
            None => Ok(CompactRange::new()),
            Some(tree) => reader.frontier_at(tree).and_then(|bytes| {
                serde_json::from_slice::<CompactRange>(&bytes).map_err(|e| e.to_string())
            }),
        };
        drop(reader);
        let checked = check::check(&files, self.allowed);
        let frontier = files
            .frontier
            .as_ref()
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CompactRange>(bytes).ok());
        let record = checked.records.first().and_then(Option::as_ref);
        let parsed = record
            .and_then(|r| r.record.as_ref())
            .and_then(|r| r.as_ref().ok());
        let extended = match (&before, record) {
            (Ok(before), Some(record)) if before.size() == base_seq => {
                let mut extended = before.clone();
                extended.append(record.leaf).ok().map(|()| extended)
            }
            _ => None,
        };
        let inconsistent = match (&checked.signature, &frontier, parsed) {
            (Err(err), _, _) => Some(err.clone()),
            _ if !files.problems.is_empty() => Some(files.problems[0].1.clone()),
            _ if files.added_records != 1 => {
                Some(format!("it adds {} records, not one", files.added_records))
            }
            (_, None, _) => Some("its checkpoint/frontier.json is missing or malformed".into()),
            (_, Some(f), _) if f.size() != size || f.root() != checkpoint.root => Some(format!(
                "its frontier (size {}, root {}) is not the checkpoint's (size {size}, root {}): \
                 history before record {size} was rewritten",
                f.size(),
                short_hash(&hex(&f.root())),
                short_hash(&hex(&checkpoint.root))
            )),
            (_, _, None) => Some(format!("record {base_seq} there does not verify")),
            (_, _, Some(r)) if r.seq != base_seq => Some(format!(
                "the record there has seq {}, not {base_seq}",
                r.seq
            )),
            (_, Some(f), _) if extended.as_ref() != Some(f) => Some(format!(
                "record {base_seq} there is not the last record of the checkpoint's tree: it \
                 was replaced"
            )),
            _ => None,
        };
        if let Some(why) = inconsistent {
            self.problem(
                Some(base_oid),
                Some(base_seq),
                format!(
                    "the branch is not consistent with the --since checkpoint at size {size}: \
                     {why}; the whole log was verified instead"
                ),
            );
            return None;
        }
        let (record, parsed) = (record?, parsed?);
        let message = format!("{MESSAGE_PREFIX}{base_seq} sha256:{}", record.sha256);
        if files.first_line != message.as_bytes() {
            self.problem(
                Some(base_oid),
                Some(base_seq),
                "the commit of the --since checkpoint's last record does not name its bytes; the \
                 whole log was verified instead",
            );
            return None;
        }
        // What the walk would know having read everything up to here.
        self.range = frontier?;
        self.offset = size;
        self.last = Some((base_seq, record.sha256.clone()));
        self.max_seq = Some(base_seq);
        self.parent_tree = Some(files.tree);
        self.log_id = None;
        let mut ignored = Vec::new();
        self.check_log_id(parsed, &mut ignored);
        self.check_time(parsed, files.time, &record.signature, &mut ignored);
        for what in ignored {
            self.problem(Some(base_oid), Some(base_seq), what);
        }
        self.origins.push(checkpoint.origin.clone());
        // With nothing after it, the checkpoint to keep is the one given, which verified.
        self.tip = Some((base_oid, Some(signed)));
        self.since = Some(size);
        self.since_root = Some(checkpoint.root);
        self.matched += 1;
        after.reverse();
        Some(after)
    }
}
