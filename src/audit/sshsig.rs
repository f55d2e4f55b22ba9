//! Ed25519 signing keys and OpenSSH signatures (SSHSIG), compatible with `ssh-keygen -Y` and git.
//!
//! driftlog signs its audit log with a plain OpenSSH Ed25519 key so that anyone can check it
//! with tools they already have: `ssh-keygen -Y verify` for records and
//! `git verify-commit` (with `gpg.format=ssh`) for the log branch's commits.
//!
//! - [`SigningKey`] holds the key pair. The cryptography is `ring`'s; `ssh-key` only encodes
//!   and decodes the OpenSSH formats (private key PEM, public key blob, the SSHSIG structure).
//! - [`SigningKey::sign`] produces the armored `-----BEGIN SSH SIGNATURE-----` text that
//!   `ssh-keygen -Y sign` produces (Ed25519 is deterministic, so for the same key, namespace and
//!   message the text is byte-for-byte identical); [`SigningKey::sign_git_commit`] is the same
//!   over a commit object in the `git` namespace.
//! - [`verify`] checks such a signature against an [`AllowedSigners`] file, with the semantics
//!   of `ssh-keygen -Y verify` (principal patterns, `namespaces=`, `valid-after`/`valid-before`).
//!
//! The parts: `keys` ([`SigningKey`]: generating, the OpenSSH formats, signing, git commit
//! signatures), `signature` ([`verify`] and [`rearmor`]), `allowed` ([`AllowedSigners`]:
//! parsing a file, which line lets a key sign, [`allowed_signers_line`]) and `principal`
//! (which principals a line can hold as themselves). This file holds the namespaces and the
//! OpenSSH encodings they share.
//!
//! Secrets: errors and `Debug` output name keys only by their public fingerprint. The seed is
//! kept in `ssh-key`'s `Ed25519PrivateKey`, which wipes itself on drop; `ring`'s key pair does
//! not promise that.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

mod allowed;
mod keys;
mod principal;
mod signature;

pub use allowed::{allowed_signers_line, AllowedSigner, AllowedSigners, AllowedSignersError};
pub use keys::{KeyError, SignError, SigningKey};
pub use principal::{check_principal, InvalidPrincipal};
pub use signature::{rearmor, verify, verify_at, VerifiedSignature, VerifyError};

/// The namespace of driftlog's own signatures (`ssh-keygen -Y verify -n driftlog`).
pub const DRIFTLOG_NAMESPACE: &str = "driftlog";

/// The namespace git uses for SSH-signed commits and tags.
pub const GIT_NAMESPACE: &str = "git";

/// The namespace of the audit spool's signatures (records not pushed yet, and the spool's
/// index): never valid as a record's `driftlog` signature or a commit's `git` one, and no
/// allowed signers line from [`allowed_signers_line`] permits it.
pub const SPOOL_NAMESPACE: &str = "driftlog-spool";

/// The OpenSSH name of the only key type driftlog signs with.
const ED25519_KEY_TYPE: &str = "ssh-ed25519";

/// OpenSSH key types all start like this; options never do.
fn looks_like_key_type(field: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-", "webauthn-"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// The SSH wire encoding of an Ed25519 public key: string "ssh-ed25519", string key.
fn ed25519_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(4 + ED25519_KEY_TYPE.len() + 4 + 32);
    for part in [ED25519_KEY_TYPE.as_bytes(), public.as_slice()] {
        // Both lengths are constants far below u32::MAX.
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    blob
}

fn fingerprint_of_blob(blob: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, blob);
    format!("SHA256:{}", STANDARD_NO_PAD.encode(digest.as_ref()))
}

/// Copies a slice whose length is known into an array (zero-padded if shorter, never panics).
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

/// The helpers the key, signature and allowed-signers tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{AllowedSigners, SigningKey};

    pub(crate) fn key() -> SigningKey {
        SigningKey::generate().expect("generate a key")
    }

    pub(crate) fn allowed(line: &str) -> AllowedSigners {
        AllowedSigners::parse(line).expect("valid allowed signers")
    }
}
