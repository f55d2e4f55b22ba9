//! Verifying an SSHSIG signature as `ssh-keygen -Y verify` does: the armor, an Ed25519 key,
//! the namespace, the signature over the message, then the allowed signers at a time
//! ([`super::AllowedSigners`]); and [`rearmor`], which tells driftlog's own armor apart.

use std::time::SystemTime;

use ring::signature::{UnparsedPublicKey, ED25519};
use ssh_key::{Algorithm, LineEnding, SshSig};

use super::{ed25519_blob, fingerprint_of_blob, unix_seconds, AllowedSigners};

/// Why [`verify`] rejected a signature.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a valid SSH signature (`-----BEGIN SSH SIGNATURE-----` armor): {reason}")]
    Armor { reason: String },
    #[error("the signature was made with a {algorithm} key; driftlog verifies only ssh-ed25519")]
    UnsupportedAlgorithm { algorithm: String },
    #[error("the signature is for namespace {found:?}, expected {expected:?}")]
    WrongNamespace { expected: String, found: String },
    #[error(
        "the signature does not match the message: the data changed after it was signed, \
         or the signature is corrupt"
    )]
    BadSignature,
    #[error("the signing key {fingerprint} is not in the allowed signers")]
    UnknownKey { fingerprint: String },
    #[error(
        "the signing key {fingerprint} is not allowed to sign as {principal:?} \
         (allowed signers {})", describe_lines(.lines)
    )]
    PrincipalNotAllowed {
        fingerprint: String,
        principal: String,
        lines: Vec<usize>,
    },
    #[error(
        "the signing key {fingerprint} may not sign in namespace {namespace:?} \
         (allowed signers {})", describe_lines(.lines)
    )]
    NamespaceNotPermitted {
        fingerprint: String,
        namespace: String,
        lines: Vec<usize>,
    },
    #[error("the signing key {fingerprint} is not valid at the verification time: {reason}")]
    OutsideValidity { fingerprint: String, reason: String },
}

fn describe_lines(lines: &[usize]) -> String {
    let numbers: Vec<String> = lines.iter().map(ToString::to_string).collect();
    match numbers.len() {
        1 => format!("line {}", numbers.join("")),
        _ => format!("lines {}", numbers.join(", ")),
    }
}

/// `armored` as driftlog writes an SSHSIG (the armor `sign` produces), if it is one: the same
/// signature always reads back to these bytes, so a copy re-wrapped or re-spaced is told apart.
pub fn rearmor(armored: &str) -> Option<String> {
    SshSig::from_pem(armored.trim())
        .ok()?
        .to_pem(LineEnding::LF)
        .ok()
}

/// A signature [`verify`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signing key's `SHA256:` fingerprint.
    pub fingerprint: String,
    /// The principal that was asked for, or, when none was, the principals field of the
    /// first allowed signers line that accepts the key (as written, patterns included).
    pub principal: String,
    /// The Ed25519 public key, to check its validity at another time
    /// ([`AllowedSigners::authorize_at`]).
    pub key: [u8; 32],
}

/// Verifies an armored SSHSIG signature over `message` the way
/// `ssh-keygen -Y verify -f allowed -I principal -n namespace` does, at the current time.
///
/// With `principal` `None` any principal of the key is accepted (like
/// `ssh-keygen -Y find-principals` followed by `verify`). Checks, in order: the armor, that the
/// key is Ed25519, the namespace, the signature itself (sha256 and sha512 message hashes are
/// both accepted, as by ssh-keygen), then the allowed signers.
pub fn verify(
    armored: &str,
    namespace: &str,
    message: &[u8],
    allowed: &AllowedSigners,
    principal: Option<&str>,
) -> Result<VerifiedSignature, VerifyError> {
    verify_at(
        armored,
        namespace,
        message,
        allowed,
        principal,
        SystemTime::now(),
    )
}

/// [`verify`] with the time that `valid-after`/`valid-before` are checked against
/// (ssh-keygen's `-Overify-time`; git passes the commit time).
pub fn verify_at(
    armored: &str,
    namespace: &str,
    message: &[u8],
    allowed: &AllowedSigners,
    principal: Option<&str>,
    time: SystemTime,
) -> Result<VerifiedSignature, VerifyError> {
    let sig = SshSig::from_pem(armored.trim()).map_err(|e| VerifyError::Armor {
        reason: e.to_string(),
    })?;
    let Some(public) = sig.public_key().ed25519() else {
        return Err(VerifyError::UnsupportedAlgorithm {
            algorithm: sig.public_key().algorithm().to_string(),
        });
    };
    if sig.algorithm() != Algorithm::Ed25519 {
        return Err(VerifyError::UnsupportedAlgorithm {
            algorithm: sig.algorithm().to_string(),
        });
    }
    if sig.namespace() != namespace {
        return Err(VerifyError::WrongNamespace {
            expected: namespace.to_string(),
            found: sig.namespace().to_string(),
        });
    }
    // Rebuilt from our inputs, with an empty reserved field as OpenSSH does, so nothing but the
    // public key and the hash algorithm is taken from the signature blob itself.
    let signed_data = SshSig::signed_data(namespace, sig.hash_alg(), message)
        .map_err(|_| VerifyError::BadSignature)?;
    UnparsedPublicKey::new(&ED25519, public.as_ref())
        .verify(&signed_data, sig.signature_bytes())
        .map_err(|_| VerifyError::BadSignature)?;

    let fingerprint = fingerprint_of_blob(&ed25519_blob(public.as_ref()));
    allowed
        .authorize(&public.0, namespace, principal, unix_seconds(time))
        .map(|principal| VerifiedSignature {
            fingerprint: fingerprint.clone(),
            principal,
            key: public.0,
        })
        .map_err(|refusal| refusal.into_error(fingerprint, namespace, principal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sshsig::allowed_signers_line;
    use ssh_key::{HashAlg, Signature};
    use std::time::UNIX_EPOCH;

    use crate::audit::sshsig::test_support::{allowed, key};

    #[test]
    fn verify_rejects_a_tampered_message() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        let signers = allowed(&allowed_signers_line("ci", &key));
        let error = verify(&armored, "driftlog", b"recorD", &signers, Some("ci")).expect_err("x");
        assert!(matches!(error, VerifyError::BadSignature), "{error}");
    }

    #[test]
    fn verify_rejects_a_tampered_signature() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        // Flip a bit inside the 64 signature bytes at the end of the blob.
        let mut blob = SshSig::from_pem(&armored).expect("parse");
        let mut raw = blob.signature_bytes().to_vec();
        raw[10] ^= 1;
        blob = SshSig::new(
            blob.public_key().clone(),
            "driftlog",
            HashAlg::Sha512,
            Signature::new(Algorithm::Ed25519, raw).expect("signature"),
        )
        .expect("sshsig");
        let tampered = blob.to_pem(LineEnding::LF).expect("pem");
        let signers = allowed(&allowed_signers_line("ci", &key));
        let error = verify(&tampered, "driftlog", b"record", &signers, None).expect_err("x");
        assert!(matches!(error, VerifyError::BadSignature), "{error}");
    }

    #[test]
    fn verify_rejects_the_wrong_namespace() {
        let key = key();
        let armored = key.sign("git", b"record").expect("sign");
        let signers = allowed(&format!("ci {}", key.public_key_openssh("")));
        let error = verify(&armored, "driftlog", b"record", &signers, Some("ci")).expect_err("x");
        assert!(
            matches!(&error, VerifyError::WrongNamespace { expected, found } if expected == "driftlog" && found == "git"),
            "{error}"
        );
    }

    #[test]
    fn verify_rejects_a_key_that_is_not_allowed() {
        let (signer, other) = (key(), key());
        let armored = signer.sign("driftlog", b"record").expect("sign");
        let signers = allowed(&allowed_signers_line("ci", &other));
        let error = verify(&armored, "driftlog", b"record", &signers, Some("ci")).expect_err("x");
        assert!(
            matches!(&error, VerifyError::UnknownKey { fingerprint } if *fingerprint == signer.fingerprint()),
            "{error}"
        );
        assert!(error.to_string().contains(&signer.fingerprint()));
    }

    #[test]
    fn verify_rejects_another_principal() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        let signers = allowed(&format!(
            "# ci only\n\n*@ci,!bad@ci {}\n",
            key.public_key_openssh("")
        ));
        verify(&armored, "driftlog", b"record", &signers, Some("good@ci")).expect("pattern");
        for principal in ["bad@ci", "good@elsewhere"] {
            let error = verify(&armored, "driftlog", b"record", &signers, Some(principal))
                .expect_err(principal);
            assert!(
                matches!(&error, VerifyError::PrincipalNotAllowed { lines, .. } if *lines == [3]),
                "{error}"
            );
        }
    }

    #[test]
    fn verify_rejects_a_namespace_the_allowed_signers_do_not_permit() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        let signers = allowed(&format!(
            "ci namespaces=\"git,file\" {}",
            key.public_key_openssh("")
        ));
        let error = verify(&armored, "driftlog", b"record", &signers, Some("ci")).expect_err("x");
        assert!(
            matches!(&error, VerifyError::NamespaceNotPermitted { namespace, lines, .. } if namespace == "driftlog" && *lines == [1]),
            "{error}"
        );
        // A later line for the same key may still allow it, as in ssh-keygen.
        let signers = allowed(&format!(
            "ci namespaces=\"git\" {0}\nci namespaces=\"drift*\" {0}",
            key.public_key_openssh("")
        ));
        verify(&armored, "driftlog", b"record", &signers, Some("ci")).expect("second line");
    }

    #[test]
    fn verify_checks_validity_times() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        let public = key.public_key_openssh("");
        let signers = allowed(&format!(
            "ci valid-after=\"20200101Z\",valid-before=\"202101011200Z\" {public}"
        ));
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        let check = |t| verify_at(&armored, "driftlog", b"record", &signers, Some("ci"), at(t));
        check(1_577_836_800).expect("exactly valid-after"); // 2020-01-01T00:00:00Z
        check(1_609_502_400).expect("exactly valid-before"); // 2021-01-01T12:00:00Z
        for t in [1_577_836_799, 1_609_502_401] {
            let error = check(t).expect_err("outside");
            assert!(
                matches!(error, VerifyError::OutsideValidity { .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn verify_rejects_cert_authority_and_other_key_types() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        let signers = allowed(&format!(
            "ci cert-authority {}\nci ecdsa-sha2-nistp256 {} x",
            key.public_key_openssh(""),
            "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHn4F7Sa1QRGyyfzHcmhdhOyg9YJv7SN9k+eO7hKuE5hGWKq0vnbVWkA1gUy4mRM32AP9ot9HrNxjy5T2M6Ak5Q="
        ));
        assert_eq!(signers.entries().len(), 2);
        assert!(signers.entries()[0].is_cert_authority());
        assert_eq!(signers.entries()[1].key_type(), "ecdsa-sha2-nistp256");
        assert_eq!(signers.entries()[1].ed25519_key(), None);
        let error = verify(&armored, "driftlog", b"record", &signers, None).expect_err("x");
        assert!(matches!(error, VerifyError::UnknownKey { .. }), "{error}");
    }

    #[test]
    fn verify_rejects_bad_armor() {
        let error = verify("hello", "driftlog", b"", &AllowedSigners::default(), None)
            .expect_err("not armor");
        assert!(matches!(error, VerifyError::Armor { .. }), "{error}");
    }
}
