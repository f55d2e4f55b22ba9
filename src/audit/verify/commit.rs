//! A raw commit object split as git splits it: header fields, the SSH signature (`gpgsig`)
//! and the bytes it signs (the object without that field), the message. Read from the bytes
//! the object database holds, so the fields used are exactly those the signature covers, and
//! without libgit2's object cache (which costs more than the parse on a long walk).

use git2::{ErrorCode, ObjectType, Odb, Oid};

use super::read::MAX_COMMIT_BYTES;

/// Why a commit object could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// Not in the repository (a shallow clone's boundary, or a broken one).
    Missing,
    Unreadable(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => f.write_str("it is missing from the repository"),
            ReadError::Unreadable(why) => f.write_str(why),
        }
    }
}

/// Reads and parses the commit `oid`, its size and kind taken from the object's header
/// first, so an oversized object is never loaded.
pub(super) fn read(odb: &Odb<'_>, oid: Oid) -> Result<RawCommit, ReadError> {
    let failed = |err: git2::Error| match err.code() {
        ErrorCode::NotFound => ReadError::Missing,
        _ => ReadError::Unreadable(err.to_string()),
    };
    let (size, kind) = odb.read_header(oid).map_err(failed)?;
    if kind != ObjectType::Commit {
        return Err(ReadError::Unreadable(format!(
            "{oid} is a {kind}, not a commit"
        )));
    }
    if size > MAX_COMMIT_BYTES {
        return Err(ReadError::Unreadable(format!(
            "it is {size} bytes, over the limit of {MAX_COMMIT_BYTES}: not read"
        )));
    }
    let object = odb.read(oid).map_err(failed)?;
    parse(object.data()).map_err(ReadError::Unreadable)
}

/// What the walk needs of one commit.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RawCommit {
    pub(super) tree: Oid,
    pub(super) parents: Vec<Oid>,
    /// The committer time, Unix seconds.
    pub(super) time: i64,
    /// The message's first line.
    pub(super) first_line: Vec<u8>,
    /// The armored signature and the bytes it signs; `None` when the commit is unsigned.
    pub(super) signature: Option<(String, Vec<u8>)>,
}

/// Parses a raw commit object. Header fields are `name value` lines up to the first empty
/// line; a line starting with a space continues the field before it. The signed bytes are
/// the object with the `gpgsig` field (all its lines) left out, as `git verify-commit` has it.
pub(super) fn parse(raw: &[u8]) -> Result<RawCommit, String> {
    let header_end = find(raw, b"\n\n").ok_or("the commit has no message separator")?;
    let (header, message) = (&raw[..=header_end], &raw[header_end + 2..]);
    let mut tree = None;
    let mut parents = Vec::new();
    let mut time = None;
    let mut signature: Option<(Vec<u8>, std::ops::Range<usize>)> = None;
    let mut start = 0;
    // git reads parents only right after the tree: one elsewhere is not a parent to git.
    let mut past_parents = false;
    while start < header.len() {
        let end = field_end(header, start);
        let field = &header[start..end];
        let (name, value) = split_once(field, b' ').ok_or("a commit header line has no value")?;
        match name {
            b"tree" if tree.is_some() => return Err("the commit names two trees".into()),
            b"tree" if start != 0 => return Err("the commit's tree is not its first header".into()),
            b"tree" => tree = Some(oid(value)?),
            b"parent" if past_parents => {
                return Err("the commit names a parent after its other headers".into())
            }
            b"parent" => parents.push(oid(value)?),
            // git leaves every gpgsig* field out of what a signature covers.
            _ if name.starts_with(b"gpgsig") && name != b"gpgsig" => {
                return Err(format!(
                    "the commit carries a {} field",
                    String::from_utf8_lossy(name)
                ))
            }
            b"committer" if time.is_some() => return Err("the commit has two committers".into()),
            b"committer" => time = Some(committer_time(value)?),
            b"gpgsig" if signature.is_some() => {
                return Err("the commit carries two signatures".into())
            }
            b"gpgsig" => {
                // Continuation lines lose their leading space.
                let text = value
                    .strip_suffix(b"\n")
                    .unwrap_or(value)
                    .split(|b| *b == b'\n')
                    .map(|line| line.strip_prefix(b" ").unwrap_or(line))
                    .collect::<Vec<_>>()
                    .join(&b'\n');
                signature = Some((text, start..end));
            }
            _ => {}
        }
        past_parents |= name != b"tree" && name != b"parent";
        start = end;
    }
    let signature = match signature {
        None => None,
        Some((text, range)) => {
            let armored = String::from_utf8(text).map_err(|_| "the signature is not text")?;
            let mut signed = Vec::with_capacity(raw.len() - range.len());
            signed.extend_from_slice(&raw[..range.start]);
            signed.extend_from_slice(&raw[range.end..]);
            Some((armored, signed))
        }
    };
    Ok(RawCommit {
        tree: tree.ok_or("the commit names no tree")?,
        parents,
        time: time.ok_or("the commit names no committer")?,
        first_line: message
            .split(|b| *b == b'\n')
            .next()
            .unwrap_or_default()
            .to_vec(),
        signature,
    })
}

/// The end of the header field starting at `start`: past its line and its continuations.
fn field_end(header: &[u8], start: usize) -> usize {
    let mut end = start;
    loop {
        end = match find(&header[end..], b"\n") {
            Some(newline) => end + newline + 1,
            None => return header.len(),
        };
        if header.get(end) != Some(&b' ') {
            return end;
        }
    }
}

/// `Name <email> 1790000000 +0000` -> 1790000000, as git reads it: on the field's first
/// line, after the first `>`, digits only.
fn committer_time(value: &[u8]) -> Result<i64, String> {
    let line = value.split(|b| *b == b'\n').next().unwrap_or_default();
    let after_email = line
        .iter()
        .position(|b| *b == b'>')
        .map(|i| &line[i + 1..])
        .ok_or("the committer has no email")?;
    std::str::from_utf8(after_email)
        .ok()
        .and_then(|rest| rest.split(' ').find(|part| !part.is_empty()))
        .filter(|seconds| seconds.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|seconds| seconds.parse().ok())
        .ok_or_else(|| "the committer has no time".to_owned())
}

fn oid(value: &[u8]) -> Result<Oid, String> {
    let hex = value.strip_suffix(b"\n").unwrap_or(value);
    std::str::from_utf8(hex)
        .ok()
        .filter(|hex| hex.len() == 40)
        .and_then(|hex| Oid::from_str(hex).ok())
        .ok_or_else(|| "the commit names a malformed object id".to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|b| *b == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sshsig::SigningKey;

    /// The split agrees with libgit2's own, on a commit signed as the store signs.
    #[test]
    fn a_signed_commit_splits_as_libgit2_splits_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = git2::Repository::init(dir.path()).expect("init");
        let key = SigningKey::generate().expect("key");
        let tree = repo
            .find_tree(
                repo.treebuilder(None)
                    .expect("builder")
                    .write()
                    .expect("tree"),
            )
            .expect("tree");
        let who = git2::Signature::new("ci", "ci@example.com", &git2::Time::new(1_790_000_123, 60))
            .expect("signature");
        let parent = repo
            .commit(None, &who, &who, "first\n", &tree, &[])
            .expect("commit");
        let parent = repo.find_commit(parent).expect("parent");
        let buffer = repo
            .commit_create_buffer(
                &who,
                &who,
                "driftlog: record 1\n\nbody\n",
                &tree,
                &[&parent],
            )
            .expect("buffer");
        let content = buffer.as_str().expect("utf-8");
        let armored = key.sign_git_commit(content).expect("sign");
        let oid = repo
            .commit_signed(content, &armored, Some("gpgsig"))
            .expect("commit");

        let raw = repo
            .odb()
            .expect("odb")
            .read(oid)
            .expect("read")
            .data()
            .to_vec();
        let parsed = parse(&raw).expect("parse");
        let (signature, signed) = repo
            .extract_signature(&oid, Some("gpgsig"))
            .expect("signed");
        assert_eq!(
            parsed.signature,
            Some((
                signature.as_str().expect("text").to_owned(),
                signed.to_vec()
            ))
        );
        assert_eq!(parsed.tree, tree.id());
        assert_eq!(parsed.parents, [parent.id()]);
        assert_eq!(parsed.time, 1_790_000_123);
        assert_eq!(parsed.first_line, b"driftlog: record 1");

        let odb = repo.odb().expect("odb");
        let unsigned = parse(odb.read(parent.id()).expect("read").data()).expect("parse");
        assert_eq!(unsigned.signature, None);
        assert!(unsigned.parents.is_empty());
    }

    #[test]
    fn commits_git_would_not_write_are_refused() {
        let tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let who = "committer c <c@x> 1 +0000\n";
        assert!(parse(format!("{tree}{tree}{who}\nm").as_bytes()).is_err());
        assert!(parse(format!("{who}{tree}\nm").as_bytes()).is_err());
        assert!(parse(format!("{tree}{who}{who}\nm").as_bytes()).is_err());
        assert!(parse(format!("{tree}{who}").as_bytes()).is_err());
        let parent = "parent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        assert!(parse(format!("{tree}{who}{parent}\nm").as_bytes()).is_err());
        assert!(parse(format!("{tree}{parent}{who}\nm").as_bytes()).is_ok());
        let sha256 = "gpgsig-sha256 x\n";
        assert!(parse(format!("{tree}{who}{sha256}\nm").as_bytes()).is_err());
        assert!(parse(format!("{tree}committer c <c@x> +1 +0000\n\nm").as_bytes()).is_err());
        assert_eq!(
            parse(format!("{tree}committer c <c@x> 7 +0000 >9\n\nm").as_bytes()).map(|c| c.time),
            Ok(7)
        );
        assert!(parse(format!("{tree}\nm").as_bytes()).is_err());
        let sig = "gpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\n";
        assert!(parse(format!("{tree}{who}{sig}{sig}\nm").as_bytes()).is_err());
        let parsed = parse(format!("{tree}{who}{sig}\nmessage\nmore").as_bytes()).expect("ok");
        assert_eq!(
            parsed.signature.as_ref().map(|(text, _)| text.as_str()),
            Some("-----BEGIN SSH SIGNATURE-----\nabc\n-----END SSH SIGNATURE-----")
        );
        assert_eq!(
            parsed.signature.map(|(_, signed)| signed),
            Some(format!("{tree}{who}\nmessage\nmore").into_bytes())
        );
    }
}
