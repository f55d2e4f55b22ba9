//! [`SigningKey`]: an Ed25519 key pair, generated or read from an unencrypted OpenSSH private
//! key, written back in that format and as a public key line, and what it signs: SSHSIG
//! signatures in a namespace, git commits (the `git` namespace, armor as `git commit -S`
//! writes it) and plain Ed25519 for signed notes.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::public::{Ed25519PublicKey, KeyData};
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, Signature, SshSig};

use super::{
    ed25519_blob, fingerprint_of_blob, looks_like_key_type, to_array, ED25519_KEY_TYPE,
    GIT_NAMESPACE,
};

/// Problems loading, generating or encoding a [`SigningKey`]. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "not an OpenSSH private key: found {found}; driftlog reads private keys in the OpenSSH \
         format (`-----BEGIN OPENSSH PRIVATE KEY-----`), as written by `ssh-keygen -t ed25519`"
    )]
    NotOpenSsh { found: String },
    #[error(
        "the OpenSSH private key {fingerprint} is encrypted with a passphrase; provide an \
         unencrypted key (remove the passphrase from a copy with `ssh-keygen -p -N '' -f KEY`)"
    )]
    Encrypted { fingerprint: String },
    #[error(
        "the private key is {algorithm}, but driftlog signs only with ssh-ed25519 keys \
         (create one with `ssh-keygen -t ed25519`)"
    )]
    NotEd25519 { algorithm: String },
    #[error("invalid OpenSSH private key: {reason}")]
    Malformed { reason: String },
    #[error("the system random number generator failed")]
    Random,
    #[error("could not encode the key in the OpenSSH format: {reason}")]
    Encode { reason: String },
}

/// Problems producing a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signature namespace must not be empty")]
    EmptyNamespace,
    #[error("could not encode the SSH signature: {reason}")]
    Encode { reason: String },
}

/// An Ed25519 key pair that signs driftlog's records and git commits.
pub struct SigningKey {
    /// The 32-byte seed, kept because `ring` cannot export it and the OpenSSH private key
    /// format stores it; `ssh-key`'s type wipes it on drop.
    seed: Ed25519PrivateKey,
    pair: Ed25519KeyPair,
    public: [u8; 32],
}

impl fmt::Debug for SigningKey {
    /// Only the public fingerprint: the key must never end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; Ed25519PrivateKey::BYTE_SIZE];
        let filled = SystemRandom::new().fill(&mut seed);
        let key = filled
            .map_err(|_| KeyError::Random)
            .and_then(|()| Self::from_seed(Ed25519PrivateKey::from_bytes(&seed)));
        // Best effort: the stack copy is not needed any more.
        seed.fill(0);
        key
    }

    fn from_seed(seed: Ed25519PrivateKey) -> Result<Self, KeyError> {
        // "Unchecked" only means ring does not compare against a stored public key: every
        // 32-byte seed is a valid Ed25519 private key.
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).map_err(|e| {
            KeyError::Malformed {
                reason: e.to_string(),
            }
        })?;
        let public = to_array(pair.public_key().as_ref());
        Ok(Self { seed, pair, public })
    }

    /// Parses an unencrypted OpenSSH Ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn from_openssh(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        match pem_label(text) {
            Some("OPENSSH PRIVATE KEY") => {}
            Some(label) => {
                return Err(KeyError::NotOpenSsh {
                    found: format!("a PEM block labelled {label:?}"),
                })
            }
            None if looks_like_public_key(text) => {
                return Err(KeyError::NotOpenSsh {
                    found: "an OpenSSH public key (pass the private key file, without .pub)"
                        .to_string(),
                })
            }
            None => {
                return Err(KeyError::NotOpenSsh {
                    found: "no `-----BEGIN ...-----` line".to_string(),
                })
            }
        }
        let parsed = PrivateKey::from_openssh(text).map_err(|e| KeyError::Malformed {
            reason: e.to_string(),
        })?;
        // The algorithm first: decrypting an RSA key would not help.
        if parsed.algorithm() != Algorithm::Ed25519 {
            return Err(KeyError::NotEd25519 {
                algorithm: parsed.algorithm().to_string(),
            });
        }
        if parsed.is_encrypted() {
            return Err(KeyError::Encrypted {
                fingerprint: parsed.fingerprint(HashAlg::Sha256).to_string(),
            });
        }
        let KeypairData::Ed25519(keypair) = parsed.key_data() else {
            return Err(KeyError::Malformed {
                reason: "the key data is not an Ed25519 key pair".to_string(),
            });
        };
        // ssh-key (without its `ed25519` feature) does not check that the stored public key
        // belongs to the seed; ring does, and a mismatch means a corrupt or forged file.
        let pair = Ed25519KeyPair::from_seed_and_public_key(
            keypair.private.as_ref(),
            keypair.public.as_ref(),
        )
        .map_err(|_| KeyError::Malformed {
            reason: "the public key does not belong to the private key".to_string(),
        })?;
        let public = to_array(pair.public_key().as_ref());
        Ok(Self {
            seed: keypair.private.clone(),
            pair,
            public,
        })
    }

    /// The private key in the unencrypted OpenSSH format, as `ssh-keygen -N ''` writes it.
    ///
    /// The text is the secret key: write it to a file only readable by its owner and drop it.
    pub fn to_openssh(&self, comment: &str) -> Result<String, KeyError> {
        let keypair = Ed25519Keypair {
            public: Ed25519PublicKey(self.public),
            private: self.seed.clone(),
        };
        let encode_error = |e: ssh_key::Error| KeyError::Encode {
            reason: e.to_string(),
        };
        let key = PrivateKey::new(KeypairData::Ed25519(keypair), comment).map_err(encode_error)?;
        let text = key.to_openssh(LineEnding::LF).map_err(encode_error)?;
        Ok(String::clone(&text))
    }

    /// The public key line (`ssh-ed25519 AAAA... comment`), as in a `.pub` file.
    pub fn public_key_openssh(&self, comment: &str) -> String {
        let mut line = format!(
            "{ED25519_KEY_TYPE} {}",
            STANDARD.encode(ed25519_blob(&self.public))
        );
        if !comment.is_empty() {
            line.push(' ');
            line.push_str(comment);
        }
        line
    }

    /// The fingerprint `ssh-keygen -l` prints: `SHA256:` and the unpadded base64 SHA-256 of
    /// the public key blob.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&ed25519_blob(&self.public))
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.public
    }

    /// A plain Ed25519 signature over `msg` (no SSHSIG framing), e.g. for signed notes.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        to_array(self.pair.sign(msg).as_ref())
    }

    /// An SSHSIG signature over `message` in `namespace`, armored like `ssh-keygen -Y sign`
    /// (SHA-512 message hash, 70-column base64, trailing newline).
    pub fn sign(&self, namespace: &str, message: &[u8]) -> Result<String, SignError> {
        if namespace.is_empty() {
            return Err(SignError::EmptyNamespace);
        }
        let encode_error = |e: ssh_key::Error| SignError::Encode {
            reason: e.to_string(),
        };
        // What is signed is not the message but "SSHSIG" + namespace + reserved + hash
        // algorithm + H(message): a signature for one namespace can never pass in another.
        let signed_data =
            SshSig::signed_data(namespace, HashAlg::Sha512, message).map_err(encode_error)?;
        let raw = self.pair.sign(&signed_data);
        let signature =
            Signature::new(Algorithm::Ed25519, raw.as_ref().to_vec()).map_err(encode_error)?;
        let key = KeyData::Ed25519(Ed25519PublicKey(self.public));
        SshSig::new(key, namespace, HashAlg::Sha512, signature)
            .and_then(|sig| sig.to_pem(LineEnding::LF))
            .map_err(encode_error)
    }

    /// The `gpgsig` value for a git commit: an SSHSIG in the `git` namespace over the commit
    /// object exactly as it will be stored, minus the `gpgsig` header (git2's
    /// `commit_create_buffer`), for `Repository::commit_signed(content, sig, Some("gpgsig"))`.
    ///
    /// Unlike [`Self::sign`], the armor has no trailing newline: libgit2 would keep it as a
    /// stray ` ` continuation line, while without it the commit object is byte-identical to
    /// what `git commit -S` writes with the same key.
    pub fn sign_git_commit(&self, commit_content: &str) -> Result<String, SignError> {
        let mut armored = self.sign(GIT_NAMESPACE, commit_content.as_bytes())?;
        armored.truncate(armored.trim_end().len());
        Ok(armored)
    }
}

/// The label of the first `-----BEGIN LABEL-----` line, if any.
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    rest.find("-----").map(|end| &rest[..end])
}

fn looks_like_public_key(text: &str) -> bool {
    looks_like_key_type(text) && !text.contains('\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::sshsig::{allowed_signers_line, verify};
    use ring::signature::{UnparsedPublicKey, ED25519};

    use crate::audit::sshsig::test_support::{allowed, key};

    #[test]
    fn openssh_private_key_round_trips() {
        let original = key();
        let text = original.to_openssh("driftlog@test").expect("encode");
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(text.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
        let parsed = SigningKey::from_openssh(&text).expect("parse");
        assert_eq!(parsed.public_key_bytes(), original.public_key_bytes());
        assert_eq!(parsed.sign_raw(b"m"), original.sign_raw(b"m"));
        // ssh-key reads the same comment and public key back.
        let reparsed = PrivateKey::from_openssh(&text).expect("ssh-key parses it");
        assert_eq!(reparsed.comment(), "driftlog@test");
        assert_eq!(
            reparsed.public_key().to_openssh().expect("public line"),
            original.public_key_openssh("driftlog@test")
        );
    }

    #[test]
    fn fingerprint_and_public_line_agree_with_ssh_key() {
        let key = key();
        let fingerprint = key.fingerprint();
        assert!(fingerprint.starts_with("SHA256:"));
        assert_eq!(fingerprint.len(), "SHA256:".len() + 43, "{fingerprint}");
        let line = key.public_key_openssh("");
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
            "{line}"
        );
        assert!(!line.ends_with(' '));
        let public = ssh_key::PublicKey::from_openssh(&line).expect("parse public line");
        assert_eq!(public.fingerprint(HashAlg::Sha256).to_string(), fingerprint);
        assert_eq!(
            format!("{key:?}"),
            format!("SigningKey {{ fingerprint: {fingerprint:?}, .. }}")
        );
    }

    #[test]
    fn debug_and_errors_never_show_key_material() {
        let key = key();
        let text = key.to_openssh("").expect("encode");
        let body: String = text.lines().nth(1).expect("base64 line").to_string();
        assert!(!format!("{key:?}").contains(&body[..20]));

        let corrupt = text.replacen(&body[30..40], "AAAAAAAAAA", 1);
        let error = SigningKey::from_openssh(&corrupt).expect_err("corrupt key");
        let message = format!("{error} {error:?}");
        assert!(!message.contains(&body[..20]), "{message}");
    }

    #[test]
    fn from_openssh_explains_what_is_wrong() {
        let not_pem = SigningKey::from_openssh("hello").expect_err("not a key");
        assert!(matches!(not_pem, KeyError::NotOpenSsh { .. }), "{not_pem}");

        let public = SigningKey::from_openssh(&key().public_key_openssh("x")).expect_err("pub");
        assert!(public.to_string().contains("public key"), "{public}");

        let pkcs8 =
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";
        let error = SigningKey::from_openssh(pkcs8).expect_err("pkcs8");
        assert!(error.to_string().contains("\"PRIVATE KEY\""), "{error}");
    }

    #[test]
    fn from_openssh_rejects_a_public_key_that_does_not_match_the_seed() {
        let (a, b) = (key(), key());
        let mixed = Ed25519Keypair {
            public: Ed25519PublicKey(b.public),
            private: a.seed.clone(),
        };
        let text = PrivateKey::new(KeypairData::Ed25519(mixed), "")
            .and_then(|k| k.to_openssh(LineEnding::LF))
            .expect("ssh-key encodes without checking");
        let error = SigningKey::from_openssh(&text).expect_err("mismatched pair");
        assert!(error.to_string().contains("does not belong"), "{error}");
    }

    #[test]
    fn sshsig_round_trips_and_has_the_ssh_keygen_shape() {
        let key = key();
        let armored = key.sign("driftlog", b"record").expect("sign");
        assert!(armored.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        assert!(armored.ends_with("\n-----END SSH SIGNATURE-----\n"));
        assert!(armored.lines().all(|l| l.len() <= 70));
        let parsed = SshSig::from_pem(&armored).expect("parse");
        assert_eq!(parsed.hash_alg(), HashAlg::Sha512);
        assert_eq!(parsed.namespace(), "driftlog");

        let signers = allowed(&allowed_signers_line("ci@example", &key));
        let verified = verify(
            &armored,
            "driftlog",
            b"record",
            &signers,
            Some("ci@example"),
        )
        .expect("verifies");
        assert_eq!(verified.fingerprint, key.fingerprint());
        assert_eq!(verified.principal, "ci@example");
        let any = verify(&armored, "driftlog", b"record", &signers, None).expect("verifies");
        assert_eq!(any.principal, "ci@example");

        assert!(matches!(key.sign("", b"x"), Err(SignError::EmptyNamespace)));
    }

    #[test]
    fn git_commit_signatures_have_no_trailing_newline_and_verify() {
        let key = key();
        let commit = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmessage\n";
        let armored = key.sign_git_commit(commit).expect("sign");
        assert!(
            armored.ends_with("-----END SSH SIGNATURE-----"),
            "{armored}"
        );
        let signers = allowed(&allowed_signers_line("ci", &key));
        verify(
            &armored,
            GIT_NAMESPACE,
            commit.as_bytes(),
            &signers,
            Some("ci"),
        )
        .expect("ok");
    }

    #[test]
    fn sign_raw_is_plain_ed25519() {
        let key = key();
        let signature = key.sign_raw(b"note");
        UnparsedPublicKey::new(&ED25519, key.public_key_bytes())
            .verify(b"note", &signature)
            .expect("ring verifies");
    }
}
