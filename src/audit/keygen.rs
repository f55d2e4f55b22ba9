//! A new signing key for the audit log (`driftlog keygen`): an Ed25519 key written as an
//! OpenSSH private key file, readable only by its owner from the moment it exists, and its
//! public key beside it; an existing file is never overwritten.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::sshsig::{allowed_signers_line, KeyError, SigningKey};

/// The key to make.
pub struct KeygenSettings {
    /// The private key's file; the public key goes to the same path with `.pub` added.
    pub output: PathBuf,
    /// Who signs, as the allowed-signers line names them (checked by the caller).
    pub principal: String,
    /// Stored with the key.
    pub comment: String,
}

/// The key written (its public parts).
#[derive(Debug)]
pub struct NewKey {
    pub public_path: PathBuf,
    pub fingerprint: String,
    /// The line that lets the key sign, for `.driftlog/allowed_signers`.
    pub allowed_signers_line: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error(
        "{} already exists; driftlog never overwrites a key (choose another --output)",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("generating a key")]
    Generate(#[source] KeyError),
    #[error("encoding the key")]
    Encode(#[source] KeyError),
    #[error("creating {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Generates a key and writes its two files, checking first that neither exists.
impl NewKey {
    /// What to do with the key written to `private_path`, for standard error.
    pub fn instructions(&self, private_path: &std::path::Path) -> String {
        format!(
            "Wrote the private key to {} and the public key to {} ({}).\n\
             Add this line to .driftlog/allowed_signers on your main branch, and in CI pass the \
             private key's contents as the secret DRIFTLOG_SIGNING_KEY:",
            private_path.display(),
            self.public_path.display(),
            self.fingerprint
        )
    }
}

pub fn keygen(settings: &KeygenSettings) -> Result<NewKey, KeygenError> {
    let public_path = PathBuf::from(format!("{}.pub", settings.output.display()));
    for path in [&settings.output, &public_path] {
        if path.exists() {
            return Err(KeygenError::Exists(path.clone()));
        }
    }
    let key = SigningKey::generate().map_err(KeygenError::Generate)?;
    let private = key
        .to_openssh(&settings.comment)
        .map_err(KeygenError::Encode)?;
    write_new(&settings.output, private.as_bytes(), 0o600)?;
    let public = format!("{}\n", key.public_key_openssh(&settings.comment));
    write_new(&public_path, public.as_bytes(), 0o644)?;
    Ok(NewKey {
        public_path,
        fingerprint: key.fingerprint(),
        allowed_signers_line: allowed_signers_line(&settings.principal, &key),
    })
}

/// Creates `path` with `mode` from the start, so a private key is never readable by others,
/// not even for a moment.
fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<(), KeygenError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| KeygenError::Create {
            path: path.to_owned(),
            source,
        })?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|source| KeygenError::Write {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_key_is_only_its_owner_s_and_nothing_is_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = KeygenSettings {
            output: dir.path().join("key"),
            principal: "ci".into(),
            comment: "test".into(),
        };
        let key = keygen(&settings).expect("a new key");
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("written")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&settings.output), 0o600);
        assert_eq!(mode(&key.public_path), 0o644);
        let text = std::fs::read_to_string(&settings.output).expect("the private key");
        assert!(SigningKey::from_openssh(&text).is_ok());
        assert!(key.allowed_signers_line.starts_with("ci "));
        let again = keygen(&settings).expect_err("an existing key");
        assert!(matches!(again, KeygenError::Exists(path) if path == settings.output));
        let kept = std::fs::read_to_string(&settings.output).expect("the key kept");
        assert_eq!(kept, text);
    }
}
