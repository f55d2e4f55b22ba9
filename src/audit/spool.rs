//! The spool: records made but not yet pushed, in `<git common dir>/driftlog/spool/<branch>/`
//! so every worktree of a clone shares them. [`super::sync`] writes a run's record here before
//! any push and removes it once it landed; the next run pushes what is left, oldest first.
//!
//! Whoever can write the git directory can write the spool: a provider or `local-exec` running
//! during `terraform plan`, another tool in the job. So nothing in it is trusted just for being
//! there, and driftlog never signs bytes it reads back from it without checking them:
//!
//! - An entry (`<20 digits>.json`, in order of arrival) is the record's exact canonical bytes
//!   ([`store::encode`]) and an SSHSIG over them, made with the run's signing key when the
//!   record was created, in the namespace [`SPOOL_NAMESPACE`] (so it can never pass as a branch
//!   record's `driftlog` signature or a commit's `git` one):
//!   `{"format":"driftlog-spool v1","record":"<canonical JSON>","signature":"-----BEGIN SSH SIGNATURE-----..."}`.
//!   `ssh-keygen -Y verify -n driftlog-spool` checks the `record` string as it stands.
//! - The index (`index.json`, same shape: `{"format":"driftlog-spool-index v1","index":
//!   "{\"entries\":[{\"name\":...,\"sha256\":...}]}","signature":...}`, signed the same way)
//!   lists every entry the spool holds with the SHA-256 of its file. It is rewritten
//!   atomically, under the spool's lock, whenever an entry is added or removed, and removed
//!   when the spool is empty.
//! - [`Spool::load`] accepts only entries whose signature verifies under this run's key and
//!   that the verified index lists with the same hash. Anything else (an edited entry, a file
//!   driftlog did not write, one signed by another key, a copy of an entry already pushed, an
//!   unsigned entry from an older driftlog) is renamed to `<name>.refused`, never deleted and
//!   never pushed, and reported; so is an entry the index lists but that is gone.
//! - A run keeps its own record in memory and pushes that, so nothing written to the spool
//!   while it runs is ever signed by it.
//!
//! What the index cannot show: a spool deleted as a whole (index included), or put back as a
//! whole to an earlier state signed by the same key.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use git2::Repository;
use serde::{Deserialize, Serialize};

use super::record::Record;
use super::sshsig::{self, AllowedSigners, SigningKey, VerifyError, SPOOL_NAMESPACE};
use super::store::{self, sha256_hex};

/// The spool's place inside the git common directory; one subdirectory per branch.
pub const SPOOL_DIR: &str = "driftlog/spool";
/// The `format` of a spool entry.
pub const ENTRY_FORMAT: &str = "driftlog-spool v1";
/// The `format` of the spool's index.
pub const INDEX_FORMAT: &str = "driftlog-spool-index v1";
/// The index's file name; it never looks like an entry's.
pub const INDEX_FILE: &str = "index.json";
/// What a refused file's name gets.
pub const REFUSED_SUFFIX: &str = ".refused";
const INFLIGHT_FILE: &str = "inflight.json";
const LOCK_FILE: &str = ".lock";

/// A spooled record this run may push: verified, or its own.
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) record: Record,
}

/// The last push's commit and which spooled record each of its commits carries.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InFlight {
    pub(super) commit: String,
    pub(super) entries: Vec<InFlightEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InFlightEntry {
    pub(super) file: String,
    pub(super) commit: String,
}

/// An entry file.
#[derive(Serialize, Deserialize)]
struct EntryFile {
    format: String,
    /// The record's canonical JSON, exactly as signed.
    record: String,
    signature: String,
}

/// The index file.
#[derive(Serialize, Deserialize)]
struct IndexFile {
    format: String,
    /// [`IndexBody`] as canonical JSON, exactly as signed.
    index: String,
    signature: String,
}

#[derive(Serialize, Deserialize)]
struct IndexBody {
    entries: Vec<IndexEntry>,
}

#[derive(Serialize, Deserialize)]
struct IndexEntry {
    name: String,
    sha256: String,
}

/// Records not yet pushed, signed by the key of the run that made them.
pub(super) struct Spool<'k> {
    pub(super) dir: PathBuf,
    key: &'k SigningKey,
    /// This run's key, allowed in [`SPOOL_NAMESPACE`] only.
    allowed: AllowedSigners,
    /// What the index lists: entry name to the SHA-256 of its file. The spool's own view,
    /// never re-read from disk once loaded.
    index: RefCell<BTreeMap<String, String>>,
}

impl<'k> Spool<'k> {
    pub(super) fn new(repo: &Repository, branch: &str, key: &'k SigningKey) -> Spool<'k> {
        let line = format!(
            "driftlog namespaces=\"{SPOOL_NAMESPACE}\" {}",
            key.public_key_openssh("")
        );
        Spool {
            dir: repo.commondir().join(SPOOL_DIR).join(branch),
            key,
            // Cannot fail for a line built like this; if it did, nothing would verify.
            allowed: AllowedSigners::parse(&line).unwrap_or_default(),
            index: RefCell::new(BTreeMap::new()),
        }
    }

    /// An exclusive lock held until the file is dropped; the kernel releases it if the
    /// process dies, so a crash never leaves the spool locked.
    pub(super) fn lock(&self) -> io::Result<File> {
        use std::os::fd::AsRawFd;
        fs::create_dir_all(&self.dir)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK_FILE))?;
        loop {
            // SAFETY: flock on a file descriptor this function owns for the call's duration.
            let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if result == 0 {
                return Ok(file);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    fn numbers(&self) -> io::Result<Vec<(u64, String)>> {
        let mut numbers = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_suffix(".json")
                .filter(|stem| stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|stem| stem.parse::<u64>().ok())
            {
                numbers.push((n, name));
            }
        }
        numbers.sort();
        Ok(numbers)
    }

    /// The records waiting to be pushed: those the index lists.
    pub(super) fn count(&self) -> usize {
        self.index.borrow().len()
    }

    /// Reads the spool (under the lock, before this run adds its record): the entries that
    /// verify, oldest first, and a warning for everything refused or missing. Refused files
    /// are renamed to `<name>.refused`; the index is rewritten to list what was accepted.
    pub(super) fn load(&self) -> io::Result<(Vec<Entry>, Vec<String>)> {
        let mut warnings = Vec::new();
        let index_path = self.dir.join(INDEX_FILE);
        let listed: Result<BTreeMap<String, String>, String> = match read_bounded(&index_path) {
            Ok(bytes) => self.verify_index(&bytes),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) if err.kind() == io::ErrorKind::InvalidData => Err(err.to_string()),
            Err(err) => return Err(err),
        };
        if let Err(reason) = &listed {
            let aside = self.set_aside(INDEX_FILE)?;
            warnings.push(format!(
                "the audit spool's index {} was set aside as {aside} and vouches for no \
                 spooled record (every entry is refused): it {reason}",
                index_path.display()
            ));
        }
        let mut entries = Vec::new();
        let mut accepted = BTreeMap::new();
        let mut present = Vec::new();
        for (_, name) in self.numbers()? {
            let bytes = match read_bounded(&self.dir.join(&name)) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                    let aside = self.set_aside(&name)?;
                    warnings.push(format!(
                        "the spool entry {} was refused and set aside as {aside}: it {err}",
                        self.dir.join(&name).display()
                    ));
                    continue;
                }
                Err(err) => return Err(err),
            };
            present.push(name.clone());
            let sha256 = sha256_hex(&bytes);
            let verdict = self.verify_entry(&bytes).and_then(|record| match &listed {
                Err(_) => Err("the spool's index does not verify".to_owned()),
                Ok(listed) => match listed.get(&name) {
                    Some(hash) if *hash == sha256 => Ok(record),
                    Some(_) => Err("it is not the file driftlog listed in the spool's index \
                                    under this name (replaced)"
                        .to_owned()),
                    None => Err(
                        "the spool's index does not list it: another program put it \
                                 there (a copy of an entry already pushed, say), or driftlog \
                                 stopped before listing it"
                            .to_owned(),
                    ),
                },
            });
            match verdict {
                Ok(record) => {
                    accepted.insert(name.clone(), sha256);
                    entries.push(Entry { name, record });
                }
                Err(reason) => {
                    let aside = self.set_aside(&name)?;
                    warnings.push(format!(
                        "the spooled audit record {} was refused and set aside as {aside}, \
                         not signed or pushed: {reason}",
                        self.dir.join(&name).display()
                    ));
                }
            }
        }
        if let Ok(listed) = &listed {
            for name in listed.keys().filter(|name| !present.contains(name)) {
                warnings.push(format!(
                    "spooled audit record {} was deleted outside driftlog: that record is lost",
                    self.dir.join(name).display()
                ));
            }
        }
        let unchanged = listed.as_ref().is_ok_and(|listed| *listed == accepted);
        *self.index.borrow_mut() = accepted;
        if !unchanged {
            self.write_index()?;
        }
        Ok((entries, warnings))
    }

    /// Why a signature was refused, in words: "was edited ...", "is signed by another key ...".
    fn why_not(&self, err: &VerifyError) -> String {
        match err {
            VerifyError::BadSignature => {
                "was edited after driftlog signed it (its signature no longer matches)".to_owned()
            }
            VerifyError::UnknownKey { fingerprint } => format!(
                "is signed by another key ({fingerprint}), not this run's ({}); if you rotated \
                 the signing key, push it with the old key (rename the spool's .refused files \
                 back and run driftlog with that key) or remove it",
                self.key.fingerprint()
            ),
            other => format!("was not written by driftlog ({other})"),
        }
    }

    fn verify_index(&self, bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
        let file: IndexFile = serde_json::from_slice(bytes)
            .ok()
            .filter(|file: &IndexFile| file.format == INDEX_FORMAT)
            .ok_or_else(|| "is not a driftlog spool index".to_owned())?;
        sshsig::verify(
            &file.signature,
            SPOOL_NAMESPACE,
            file.index.as_bytes(),
            &self.allowed,
            None,
        )
        .map_err(|err| self.why_not(&err))?;
        let body: IndexBody =
            serde_json::from_str(&file.index).map_err(|err| format!("cannot be read ({err})"))?;
        Ok(body
            .entries
            .into_iter()
            .map(|entry| (entry.name, entry.sha256))
            .collect())
    }

    /// The record in an entry file, if its signature verifies under this run's key.
    fn verify_entry(&self, bytes: &[u8]) -> Result<Record, String> {
        let file = match serde_json::from_slice::<EntryFile>(bytes) {
            Ok(file) if file.format == ENTRY_FORMAT => file,
            _ if serde_json::from_slice::<Record>(bytes).is_ok() => {
                return Err(
                    "it is an unsigned record, as driftlog wrote them before spool \
                            entries were signed, or as anyone can write one: nothing shows who \
                            wrote it or that it is unchanged; check it and remove it"
                        .to_owned(),
                )
            }
            _ => return Err("it is not a driftlog spool entry".to_owned()),
        };
        sshsig::verify(
            &file.signature,
            SPOOL_NAMESPACE,
            file.record.as_bytes(),
            &self.allowed,
            None,
        )
        .map_err(|err| format!("it {}", self.why_not(&err)))?;
        let record: Record = serde_json::from_str(&file.record)
            .map_err(|err| format!("its record cannot be read ({err})"))?;
        // Only what was signed goes on the branch (with a new seq and prev).
        match store::encode(&record) {
            Ok(again) if again == file.record.as_bytes() => Ok(record),
            _ => Err("its record does not read back to the bytes signed".to_owned()),
        }
    }

    /// `name` renamed to `<name>.refused` (or `.refused.1`, ...: never over another file).
    fn set_aside(&self, name: &str) -> io::Result<String> {
        let mut aside = format!("{name}{REFUSED_SUFFIX}");
        let mut n = 0;
        while fs::symlink_metadata(self.dir.join(&aside)).is_ok() {
            n += 1;
            aside = format!("{name}{REFUSED_SUFFIX}.{n}");
        }
        fs::rename(self.dir.join(name), self.dir.join(&aside))?;
        self.sync_dir()?;
        Ok(aside)
    }

    fn sign(&self, bytes: &[u8]) -> io::Result<String> {
        self.key
            .sign(SPOOL_NAMESPACE, bytes)
            .map_err(io::Error::other)
    }

    /// Writes `record` durably, signed (temp file, fsync, rename without replacing, fsync of
    /// the directory), then lists it in the index; returns its file name: the time in
    /// nanoseconds, or one more than the newest entry, so names sort in order of arrival and
    /// are not reused once removed.
    pub(super) fn add(&self, record: &Record) -> io::Result<String> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let next = self
            .numbers()?
            .last()
            .map_or(now, |(n, _)| now.max(n.saturating_add(1)));
        let canonical = store::encode(record).map_err(io::Error::other)?;
        let file = EntryFile {
            format: ENTRY_FORMAT.to_owned(),
            signature: self.sign(&canonical)?,
            record: String::from_utf8(canonical).map_err(io::Error::other)?,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
        let name = format!("{next:020}.json");
        let temp = self.write_temp(&bytes)?;
        temp.persist_noclobber(self.dir.join(&name))
            .map_err(|e| e.error)?;
        self.sync_dir()?;
        self.index
            .borrow_mut()
            .insert(name.clone(), sha256_hex(&bytes));
        self.write_index()?;
        Ok(name)
    }

    /// The index as it stands in memory, signed, atomically in place of the old one; no
    /// index at all when the spool is empty.
    fn write_index(&self) -> io::Result<()> {
        let body = IndexBody {
            entries: self
                .index
                .borrow()
                .iter()
                .map(|(name, sha256)| IndexEntry {
                    name: name.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
        };
        if body.entries.is_empty() {
            return match fs::remove_file(self.dir.join(INDEX_FILE)) {
                Ok(()) => self.sync_dir(),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(err),
            };
        }
        let canonical = super::canonical::to_canonical_vec(
            &serde_json::to_value(&body).map_err(io::Error::other)?,
        )
        .map_err(io::Error::other)?;
        let file = IndexFile {
            format: INDEX_FORMAT.to_owned(),
            signature: self.sign(&canonical)?,
            index: String::from_utf8(canonical).map_err(io::Error::other)?,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
        let temp = self.write_temp(&bytes)?;
        temp.persist(self.dir.join(INDEX_FILE))
            .map_err(|e| e.error)?;
        self.sync_dir()
    }

    fn write_temp(&self, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        Ok(temp)
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    /// Takes a pushed entry out of the index, then removes its file. A file that is not the
    /// one driftlog wrote (changed while this run pushed the record it keeps in memory) is
    /// set aside instead, and the warning says so.
    pub(super) fn remove(&self, name: &str) -> io::Result<Option<String>> {
        let path = self.dir.join(name);
        let expected = self.index.borrow_mut().remove(name);
        self.write_index()?;
        let bytes = match read_bounded(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) if err.kind() == io::ErrorKind::InvalidData => Vec::new(),
            Err(err) => return Err(err),
        };
        if expected.is_some_and(|hash| hash == sha256_hex(&bytes)) {
            fs::remove_file(&path)?;
            self.sync_dir()?;
            return Ok(None);
        }
        let aside = self.set_aside(name)?;
        Ok(Some(format!(
            "the spool file {} was changed outside driftlog while this run pushed the record \
             it had written there; what was pushed is driftlog's record, and the changed file \
             was set aside as {aside}",
            path.display()
        )))
    }

    /// Pushes not known to have landed or failed; none when the file is unreadable (then
    /// only the content check of local commits guards against writing a record twice).
    /// Unsigned: a note only retires a record the remote is seen to hold, content checked.
    pub(super) fn read_inflight(&self) -> Vec<InFlight> {
        read_bounded(&self.dir.join(INFLIGHT_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub(super) fn write_inflight(&self, flights: &[InFlight]) -> io::Result<()> {
        if flights.is_empty() {
            return self.clear_inflight();
        }
        let bytes = serde_json::to_vec(flights).map_err(io::Error::other)?;
        let temp = self.write_temp(&bytes)?;
        temp.persist(self.dir.join(INFLIGHT_FILE))
            .map_err(|e| e.error)?;
        self.sync_dir()
    }

    pub(super) fn clear_inflight(&self) -> io::Result<()> {
        match fs::remove_file(self.dir.join(INFLIGHT_FILE)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The largest spool file read: an entry holds a record (at most what verify reads, 16 MiB)
/// as a JSON string, and its signature.
pub(crate) const MAX_SPOOL_FILE_BYTES: u64 = 64 << 20;

/// A spool file's bytes, if it is a regular file (not a symlink, a FIFO or a device another
/// process put there) of at most [`MAX_SPOOL_FILE_BYTES`]; anything else is `InvalidData`.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    if !fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(invalid("is not a regular file".to_owned()));
    }
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let length = file.metadata()?.len();
    if length > MAX_SPOOL_FILE_BYTES {
        return Err(invalid(format!(
            "is {length} bytes, over the limit of {MAX_SPOOL_FILE_BYTES}"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.take(MAX_SPOOL_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sshsig::{allowed_signers_line, DRIFTLOG_NAMESPACE, GIT_NAMESPACE};

    fn record(path: &str) -> Record {
        crate::audit::record::sample_record(path)
    }

    fn repo() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("init");
        (dir, repo)
    }

    #[test]
    fn an_entry_is_the_canonical_record_signed_in_its_own_namespace() {
        let (_dir, repo) = repo();
        let key = SigningKey::generate().expect("key");
        let spool = Spool::new(&repo, "driftlog/audit", &key);
        let _lock = spool.lock().expect("lock");
        let written = record("infra/prod");
        let name = spool.add(&written).expect("add");
        let file: EntryFile =
            serde_json::from_slice(&fs::read(spool.path(&name)).expect("read")).expect("entry");
        assert_eq!(file.format, ENTRY_FORMAT);
        assert_eq!(
            file.record.as_bytes(),
            store::encode(&written).expect("encode")
        );
        // Never valid where driftlog's other signatures are.
        let allowed =
            AllowedSigners::parse(&allowed_signers_line("ci", &key)).expect("allowed signers");
        for namespace in [DRIFTLOG_NAMESPACE, GIT_NAMESPACE] {
            let err = sshsig::verify(
                &file.signature,
                namespace,
                file.record.as_bytes(),
                &allowed,
                None,
            )
            .expect_err("another namespace");
            assert!(matches!(err, VerifyError::WrongNamespace { .. }), "{err}");
        }
        let err = sshsig::verify(
            &file.signature,
            SPOOL_NAMESPACE,
            file.record.as_bytes(),
            &allowed,
            None,
        )
        .expect_err("the usual allowed signers line does not permit the spool's namespace");
        assert!(
            matches!(err, VerifyError::NamespaceNotPermitted { .. }),
            "{err}"
        );

        // Read back by the next run with the same key: listed, verified, unchanged.
        let next = Spool::new(&repo, "driftlog/audit", &key);
        let (entries, warnings) = next.load().expect("load");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, name);
        assert_eq!(entries[0].record, written);
        assert_eq!(next.count(), 1);

        // Removing the last entry removes the index too.
        assert_eq!(next.remove(&name).expect("remove"), None);
        assert!(!spool.path(INDEX_FILE).exists());
        assert!(!spool.path(&name).exists());
    }

    #[test]
    fn an_entry_moved_under_another_name_is_refused() {
        let (_dir, repo) = repo();
        let key = SigningKey::generate().expect("key");
        let spool = Spool::new(&repo, "driftlog/audit", &key);
        let _lock = spool.lock().expect("lock");
        let first = spool.add(&record("a")).expect("add");
        let second = spool.add(&record("b")).expect("add");
        // Swapping two validly signed files: each is listed, but with the other's hash.
        let tmp = spool.path("swap");
        fs::rename(spool.path(&first), &tmp).expect("rename");
        fs::rename(spool.path(&second), spool.path(&first)).expect("rename");
        fs::rename(&tmp, spool.path(&second)).expect("rename");
        let next = Spool::new(&repo, "driftlog/audit", &key);
        let (entries, warnings) = next.load().expect("load");
        assert!(entries.is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings.iter().all(|w| w.contains("(replaced)")),
            "{warnings:?}"
        );
        assert_eq!(next.count(), 0);
        assert!(!spool.path(INDEX_FILE).exists(), "nothing left to list");
    }

    #[test]
    fn a_symlink_in_the_spool_is_refused_not_read() {
        let (_dir, repo) = repo();
        let key = SigningKey::generate().expect("key");
        let spool = Spool::new(&repo, "driftlog/audit", &key);
        let _lock = spool.lock().expect("lock");
        spool.add(&record("a")).expect("add");
        // Read without a bound, this would never end.
        std::os::unix::fs::symlink("/dev/zero", spool.path("00000000000000000001.json"))
            .expect("symlink");
        let (entries, warnings) = spool.load().expect("load");
        assert_eq!(entries.len(), 1, "the genuine entry is kept");
        assert!(
            warnings.iter().any(|w| w.contains("is not a regular file")),
            "{warnings:?}"
        );
    }
}
