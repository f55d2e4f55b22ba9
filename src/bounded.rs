//! Reading a file the user names, at most so many bytes: a path to `/dev/zero`, a FIFO or a
//! runaway file gets an error naming the limit instead of filling memory.

use std::io::{self, Read};

use std::path::Path;

/// A saved report (`report merge`, `report post`): thousands of stacks fit in far less.
pub const MAX_SAVED_REPORT_BYTES: u64 = 256 << 20;
/// A signing key file: an Ed25519 key in OpenSSH format is a few hundred bytes.
pub const MAX_KEY_FILE_BYTES: u64 = 64 << 10;
/// An allowed signers file: a line per key.
pub const MAX_ALLOWED_SIGNERS_BYTES: u64 = 16 << 20;

/// The bytes of `path`, or `None` when it holds more than `limit` (never more is read).
pub fn read(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The text of `path`, if it is no longer than `limit` bytes (`name` is the limit's constant,
/// for the error).
pub fn read_to_string(path: &Path, limit: u64, name: &str) -> io::Result<String> {
    let too_large = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes ({name})"),
        )
    };
    let bytes = read(path, limit)?.ok_or_else(too_large)?;
    String::from_utf8(bytes).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, "12345").expect("write");
        assert_eq!(read_to_string(&path, 5, "LIMIT").expect("fits"), "12345");
        let err = read_to_string(&path, 4, "LIMIT").expect_err("too large");
        assert_eq!(err.to_string(), "larger than 4 bytes (LIMIT)");
        // An endless source stops at the limit.
        let err = read_to_string(Path::new("/dev/zero"), 1024, "LIMIT").expect_err("endless");
        assert!(err.to_string().contains("1024"), "{err}");
    }
}
