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
//! Secrets: errors and `Debug` output name keys only by their public fingerprint. The seed is
//! kept in `ssh-key`'s `Ed25519PrivateKey`, which wipes itself on drop; `ring`'s key pair does
//! not promise that.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::public::{Ed25519PublicKey, KeyData};
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, Signature, SshSig};

mod principal;
pub use principal::{check_principal, InvalidPrincipal};

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

/// `armored` as driftlog writes an SSHSIG (the armor `sign` produces), if it is one: the same
/// signature always reads back to these bytes, so a copy re-wrapped or re-spaced is told apart.
pub fn rearmor(armored: &str) -> Option<String> {
    SshSig::from_pem(armored.trim())
        .ok()?
        .to_pem(LineEnding::LF)
        .ok()
}

/// The line to add to an allowed signers file so that `key` is trusted as `principal` for
/// driftlog records and git commits, e.g.
/// `driftlog@ci namespaces="git,driftlog" ssh-ed25519 AAAA...`.
///
/// A principal containing spaces is quoted (ssh-keygen accepts that). Check a principal from
/// outside with [`check_principal`] first: one that fails it does not name exactly itself
/// on one line.
pub fn allowed_signers_line(principal: &str, key: &SigningKey) -> String {
    let principal = if principal.contains([' ', '\t']) {
        format!("\"{principal}\"")
    } else {
        principal.to_string()
    };
    format!(
        "{principal} namespaces=\"{GIT_NAMESPACE},{DRIFTLOG_NAMESPACE}\" {}",
        key.public_key_openssh("")
    )
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

/// A parsed OpenSSH allowed signers file (`man ssh-keygen`, ALLOWED SIGNERS).
///
/// Supported: `#` comments and blank lines; principals as a comma-separated pattern list
/// (`*`, `?`, `!negation`, optionally in double quotes); the options `namespaces="..."`,
/// `valid-after="..."`, `valid-before="..."` (timestamps `YYYYMMDD[Z]` or
/// `YYYYMMDDHHMM[SS][Z]`, local time unless suffixed with `Z`) and `cert-authority`; any key
/// type. Only plain `ssh-ed25519` keys ever match a signature: lines with other key types and
/// `cert-authority` lines are kept but never match, because driftlog signs with plain Ed25519
/// keys, not certificates.
///
/// Unlike ssh-keygen, which reads the file lazily and only complains about lines it gets to,
/// every line is checked up front: a broken trust file is an error, not a partial match.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<AllowedSigner>,
}

/// One line of an allowed signers file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    line: usize,
    principals: String,
    namespaces: Option<String>,
    valid_after: Option<Timestamp>,
    valid_before: Option<Timestamp>,
    cert_authority: bool,
    key_type: String,
    key_blob: Vec<u8>,
    ed25519: Option<[u8; 32]>,
}

/// A `valid-after`/`valid-before` value: as written (for messages) and in Unix seconds.
#[derive(Debug, Clone)]
struct Timestamp {
    text: String,
    seconds: i64,
}

/// A malformed allowed signers line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed signers line {line}: {reason}")]
pub struct AllowedSignersError {
    pub line: usize,
    pub reason: String,
}

impl FromStr for AllowedSigners {
    type Err = AllowedSignersError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl AllowedSigners {
    /// Parses the whole file; the first bad line is an error naming its 1-based number.
    pub fn parse(text: &str) -> Result<Self, AllowedSignersError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim_matches([' ', '\t', '\r']);
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let entry = AllowedSigner::parse(line, content)
                .map_err(|reason| AllowedSignersError { line, reason })?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// The key lines, in file order.
    pub fn entries(&self) -> &[AllowedSigner] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a key whose signature already verified may sign in `namespace` at `time` (any
    /// principal): a record's own time, checked after the record is read. Returns the principal.
    pub fn authorize_at(
        &self,
        key: &[u8; 32],
        namespace: &str,
        time: SystemTime,
    ) -> Result<String, VerifyError> {
        self.authorize(key, namespace, None, unix_seconds(time))
            .map_err(|refusal| {
                refusal.into_error(fingerprint_of_blob(&ed25519_blob(key)), namespace, None)
            })
    }

    /// The principal to report if some line accepts the Ed25519 `key` for `principal` (or
    /// any principal) in `namespace` at `now`; otherwise the most specific reason not to.
    fn authorize(
        &self,
        key: &[u8; 32],
        namespace: &str,
        principal: Option<&str>,
        now: i64,
    ) -> Result<String, Refusal> {
        let with_key: Vec<&AllowedSigner> = self
            .entries
            .iter()
            .filter(|e| !e.cert_authority && e.ed25519.as_ref() == Some(key))
            .collect();
        if with_key.is_empty() {
            return Err(Refusal::UnknownKey);
        }
        let for_principal: Vec<&AllowedSigner> = with_key
            .iter()
            .copied()
            .filter(|e| principal.is_none_or(|p| e.matches_principal(p)))
            .collect();
        if for_principal.is_empty() {
            return Err(Refusal::Principal(
                with_key.iter().map(|e| e.line).collect(),
            ));
        }
        let in_namespace: Vec<&AllowedSigner> = for_principal
            .iter()
            .copied()
            .filter(|e| e.permits_namespace(namespace))
            .collect();
        if in_namespace.is_empty() {
            return Err(Refusal::Namespace(
                for_principal.iter().map(|e| e.line).collect(),
            ));
        }
        let mut reasons = Vec::new();
        for entry in in_namespace {
            match entry.validity_problem(now) {
                None => {
                    return Ok(principal.map_or_else(|| entry.principals.clone(), str::to_string))
                }
                Some(reason) => reasons.push(reason),
            }
        }
        Err(Refusal::Validity(reasons.join("; ")))
    }
}

/// Why [`AllowedSigners::authorize`] said no, before the fingerprint is attached.
enum Refusal {
    UnknownKey,
    Principal(Vec<usize>),
    Namespace(Vec<usize>),
    Validity(String),
}

impl Refusal {
    fn into_error(
        self,
        fingerprint: String,
        namespace: &str,
        principal: Option<&str>,
    ) -> VerifyError {
        match self {
            Refusal::UnknownKey => VerifyError::UnknownKey { fingerprint },
            Refusal::Principal(lines) => VerifyError::PrincipalNotAllowed {
                fingerprint,
                principal: principal.unwrap_or_default().to_string(),
                lines,
            },
            Refusal::Namespace(lines) => VerifyError::NamespaceNotPermitted {
                fingerprint,
                namespace: namespace.to_string(),
                lines,
            },
            Refusal::Validity(reason) => VerifyError::OutsideValidity {
                fingerprint,
                reason,
            },
        }
    }
}

impl AllowedSigner {
    /// The 1-based line number in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The principals pattern list, as written (without surrounding quotes).
    pub fn principals(&self) -> &str {
        &self.principals
    }

    /// The `namespaces=` pattern list, if the line restricts namespaces.
    pub fn namespaces(&self) -> Option<&str> {
        self.namespaces.as_deref()
    }

    pub fn is_cert_authority(&self) -> bool {
        self.cert_authority
    }

    /// The key type, e.g. `ssh-ed25519` or `ssh-rsa`.
    pub fn key_type(&self) -> &str {
        &self.key_type
    }

    /// The `SHA256:` fingerprint of the line's key, whatever its type.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&self.key_blob)
    }

    /// The raw public key, for `ssh-ed25519` lines.
    pub fn ed25519_key(&self) -> Option<[u8; 32]> {
        self.ed25519
    }

    /// Whether `principal` matches the principals pattern list (case-sensitive, as ssh-keygen).
    pub fn matches_principal(&self, principal: &str) -> bool {
        match_pattern_list(principal, &self.principals)
    }

    /// Whether the line lets its key sign in `namespace` (no `namespaces=` means any).
    pub fn permits_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_deref()
            .is_none_or(|list| match_pattern_list(namespace, list))
    }

    fn validity_problem(&self, now: i64) -> Option<String> {
        if let Some(after) = self.valid_after.as_ref().filter(|t| now < t.seconds) {
            return Some(format!(
                "line {} says valid-after=\"{}\"",
                self.line, after.text
            ));
        }
        if let Some(before) = self.valid_before.as_ref().filter(|t| now > t.seconds) {
            return Some(format!(
                "line {} says valid-before=\"{}\"",
                self.line, before.text
            ));
        }
        None
    }

    /// `principals [options] keytype base64 [comment]`, already trimmed, not a comment.
    fn parse(line: usize, content: &str) -> Result<Self, String> {
        let (principals, rest) = if let Some(quoted) = content.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or("unterminated quote in the principals")?;
            let after = &quoted[end + 1..];
            if !after.is_empty() && !after.starts_with([' ', '\t']) {
                return Err("missing space after the quoted principals".to_string());
            }
            (&quoted[..end], after)
        } else {
            split_field(content)
        };
        if principals.is_empty() {
            return Err("empty principals".to_string());
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Err("missing key".to_string());
        }

        // The options field is optional; a key type is recognisable by its prefix, so
        // anything else in second position is read (and checked) as options.
        let mut entry = Self {
            line,
            principals: principals.to_string(),
            namespaces: None,
            valid_after: None,
            valid_before: None,
            cert_authority: false,
            key_type: String::new(),
            key_blob: Vec::new(),
            ed25519: None,
        };
        let (first, _) = split_field(rest);
        let key_part = if looks_like_key_type(first) {
            rest
        } else {
            let (options, after_options) = split_options(rest)?;
            entry.parse_options(options)?;
            after_options.trim_start_matches([' ', '\t'])
        };

        let (key_type, after_type) = split_field(key_part);
        let (base64, _comment) = split_field(after_type.trim_start_matches([' ', '\t']));
        if key_type.is_empty() || base64.is_empty() {
            return Err("missing key".to_string());
        }
        let blob = STANDARD
            .decode(base64)
            .map_err(|_| format!("invalid {key_type} key: bad base64"))?;
        let mut reader = blob.as_slice();
        let embedded = read_string(&mut reader)
            .ok_or_else(|| format!("invalid {key_type} key: truncated key blob"))?;
        if embedded != key_type.as_bytes() {
            return Err(format!(
                "invalid key: the key type is {key_type} but the key data is {}",
                String::from_utf8_lossy(embedded)
            ));
        }
        if key_type == ED25519_KEY_TYPE {
            let key = read_string(&mut reader)
                .filter(|key| key.len() == 32 && reader.is_empty())
                .ok_or("invalid ssh-ed25519 key: not a 32-byte public key")?;
            entry.ed25519 = Some(to_array(key));
        }
        entry.key_type = key_type.to_string();
        entry.key_blob = blob;
        Ok(entry)
    }

    /// `opt[,opt...]`: keywords case-insensitive; values double-quoted, as ssh-keygen insists.
    fn parse_options(&mut self, options: &str) -> Result<(), String> {
        for option in split_unquoted_commas(options) {
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (option, None),
            };
            let name = name.to_ascii_lowercase();
            let quoted = || -> Result<String, String> {
                let value = value.ok_or_else(|| format!("option {name} needs a value"))?;
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|v| !v.contains('"'))
                    .map(str::to_string)
                    .ok_or_else(|| format!("the value of option {name} must be in double quotes"))
            };
            let duplicate = || format!("option {name} is given more than once");
            match name.as_str() {
                "cert-authority" => {
                    if value.is_some() {
                        return Err("option cert-authority takes no value".to_string());
                    }
                    if self.cert_authority {
                        return Err(duplicate());
                    }
                    self.cert_authority = true;
                }
                "namespaces" => {
                    if self.namespaces.is_some() {
                        return Err(duplicate());
                    }
                    self.namespaces = Some(quoted()?);
                }
                "valid-after" | "valid-before" => {
                    let text = quoted()?;
                    let seconds = parse_timestamp(&text).ok_or_else(|| {
                        format!("invalid {name} time {text:?} (expected YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z])")
                    })?;
                    let slot = if name == "valid-after" {
                        &mut self.valid_after
                    } else {
                        &mut self.valid_before
                    };
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(Timestamp { text, seconds });
                }
                "" => return Err("empty option".to_string()),
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        Ok(())
    }
}

/// Splits off the first space/tab-delimited field.
fn split_field(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(end) => (&text[..end], &text[end..]),
        None => (text, ""),
    }
}

/// Splits off the options field: up to the first space/tab outside double quotes.
fn split_options(text: &str) -> Result<(&str, &str), String> {
    let mut in_quotes = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ' ' | '\t' if !in_quotes => return Ok((&text[..index], &text[index..])),
            _ => {}
        }
    }
    if in_quotes {
        Err("unterminated quote in the options".to_string())
    } else {
        Err("missing key".to_string())
    }
}

/// Splits on commas outside double quotes (`namespaces="git,driftlog",cert-authority`).
fn split_unquoted_commas(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// OpenSSH key types all start like this; options never do.
fn looks_like_key_type(field: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-", "webauthn-"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
}

/// ssh's pattern-list: comma-separated `*`/`?` globs; a matching `!pattern` vetoes the match.
fn match_pattern_list(text: &str, list: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob_match(text, negated) => return false,
            Some(_) => {}
            None if glob_match(text, pattern) => matched = true,
            None => {}
        }
    }
    matched
}

/// `*` matches any run of characters, `?` exactly one; everything else literally.
fn glob_match(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    // Where the last `*` was and the text position it is currently assumed to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]` as Unix seconds; local time unless `Z`.
fn parse_timestamp(text: &str) -> Option<i64> {
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| digits.get(from..to)?.parse::<i64>().ok();
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (field(8, 10)?, field(10, 12)?, 0),
        14 => (field(8, 10)?, field(10, 12)?, field(12, 14)?),
        _ => return None,
    };
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    // The ranges strptime accepts; like mktime, a day past the month's end rolls over.
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if utc {
        Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
    } else {
        local_to_unix(year, month, day, hour, minute, second)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (March-based era arithmetic).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Local wall-clock time to Unix seconds, with the system's time zone rules (as ssh-keygen).
fn local_to_unix(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<i64> {
    let int = |v: i64| i32::try_from(v).ok();
    // SAFETY: `tm` is plain data; all-zero is a valid value (a null `tm_zone` included).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = int(year - 1900)?;
    tm.tm_mon = int(month - 1)?;
    tm.tm_mday = int(day)?;
    tm.tm_hour = int(hour)?;
    tm.tm_min = int(minute)?;
    tm.tm_sec = int(second)?;
    tm.tm_isdst = -1; // let the time zone rules decide whether DST applies
                      // SAFETY: `tm` is a valid, exclusively borrowed `struct tm`; mktime is thread-safe.
    let seconds = unsafe { libc::mktime(&mut tm) };
    // time_t is i64 here but i32 on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    (seconds != -1).then_some(i64::from(seconds))
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

/// Reads one SSH `string` (u32 big-endian length, then bytes) off the front of `input`.
fn read_string<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (length, rest) = input.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    let value = rest.get(..length)?;
    *input = &rest[length..];
    Some(value)
}

/// Copies a slice whose length is known into an array (zero-padded if shorter, never panics).
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
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

    fn key() -> SigningKey {
        SigningKey::generate().expect("generate a key")
    }

    fn allowed(line: &str) -> AllowedSigners {
        AllowedSigners::parse(line).expect("valid allowed signers")
    }

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

    #[test]
    fn allowed_signers_line_is_parseable() {
        let key = key();
        let line = allowed_signers_line("driftlog@ci", &key);
        assert_eq!(
            line,
            format!(
                "driftlog@ci namespaces=\"git,driftlog\" {}",
                key.public_key_openssh("")
            )
        );
        let signers = allowed(&line);
        let entry = &signers.entries()[0];
        assert_eq!(entry.principals(), "driftlog@ci");
        assert_eq!(entry.namespaces(), Some("git,driftlog"));
        assert_eq!(entry.ed25519_key(), Some(key.public_key_bytes()));
        assert_eq!(entry.fingerprint(), key.fingerprint());

        let spaced = allowed(&allowed_signers_line("CI bot", &key));
        assert_eq!(spaced.entries()[0].principals(), "CI bot");
    }

    #[test]
    fn allowed_signers_parse_edge_cases() {
        let key = key().public_key_openssh("");
        let text = format!(
            "# comment\n\
             \n\
             \t  # indented comment\n\
             a@b,c@d {key} trailing comment words\n\
             \"x y\"\tNAMESPACES=\"git,a b\",Cert-Authority {key}\n\
             e@f namespaces=\"git\",valid-before=\"20300101\" {key}\r\n"
        );
        let signers = allowed(&text);
        let entries = signers.entries();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].line(), 4);
        assert!(entries[0].matches_principal("c@d"));
        assert!(!entries[0].matches_principal("C@D"));
        assert_eq!(entries[0].namespaces(), None);
        assert!(entries[0].permits_namespace("anything"));
        assert_eq!(entries[1].principals(), "x y");
        assert_eq!(entries[1].namespaces(), Some("git,a b"));
        assert!(entries[1].is_cert_authority());
        assert!(entries[1].permits_namespace("a b"));
        assert!(!entries[1].permits_namespace("a"));
        assert_eq!(entries[2].line(), 6);
        assert!(entries[2].valid_before.is_some());
    }

    #[test]
    fn allowed_signers_bad_lines_name_their_number() {
        let key = key().public_key_openssh("");
        let cases = [
            ("a@b".to_string(), "missing key"),
            ("a@b ssh-ed25519".to_string(), "missing key"),
            (format!("a@b foo {key}"), "unknown option"),
            (format!("a@b namespaces=git {key}"), "double quotes"),
            (format!("a@b namespaces=\"git {key}"), "unterminated quote"),
            (
                format!("a@b namespaces=\"a\",namespaces=\"b\" {key}"),
                "more than once",
            ),
            (
                format!("a@b valid-after=\"2020010112\" {key}"),
                "invalid valid-after",
            ),
            (
                format!("a@b valid-before=\"20201301Z\" {key}"),
                "invalid valid-before",
            ),
            ("a@b ssh-ed25519 not!base64".to_string(), "bad base64"),
            (
                "a@b ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==".to_string(),
                "key type is ssh-rsa",
            ),
            (
                "a@b ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAA==".to_string(),
                "32-byte",
            ),
            (format!("\"a@b {key}"), "unterminated quote"),
        ];
        for (line, expected) in cases {
            let text = format!("# first\n{line}\n");
            let error = AllowedSigners::parse(&text).expect_err(&line);
            assert_eq!(error.line, 2, "{line}");
            assert!(
                error.to_string().starts_with("allowed signers line 2: "),
                "{error}"
            );
            assert!(error.reason.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn pattern_lists_follow_ssh() {
        assert!(match_pattern_list("git", "git,driftlog"));
        assert!(match_pattern_list("driftlog", "git,drift*"));
        assert!(match_pattern_list("a@b", "?@b"));
        assert!(!match_pattern_list("ab@b", "?@b"));
        assert!(match_pattern_list("x.y@b", "*.*@*"));
        assert!(!match_pattern_list("root@b", "*@b,!root@*"));
        assert!(!match_pattern_list("git", ""));
        assert!(glob_match("", "*"));
        assert!(glob_match("abcabd", "*abd"));
        assert!(!glob_match("abc", "a*d"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("19700101Z"), Some(0));
        assert_eq!(parse_timestamp("20000301Z"), Some(951_868_800));
        assert_eq!(parse_timestamp("202401021304Z"), Some(1_704_200_640));
        assert_eq!(parse_timestamp("20240102130405z"), Some(1_704_200_645));
        // Day overflow rolls over like mktime, as ssh-keygen accepts it.
        assert_eq!(parse_timestamp("20230229Z"), parse_timestamp("20230301Z"));
        for bad in [
            "2024",
            "2024010",
            "2024010212",
            "20241301",
            "20240100",
            "2024010225",
            "x0240101",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(parse_timestamp("20240101").is_some(), "local time");
    }
}
