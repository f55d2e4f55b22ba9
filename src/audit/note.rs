//! Signed notes (c2sp.org/signed-note) and transparency-log checkpoints
//! (c2sp.org/tlog-checkpoint), with Ed25519 signatures.
//!
//! A signed note is a text ending in a newline, a blank line, then one line per signature:
//!
//! ```text
//! <text>
//!
//! — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>
//! ```
//!
//! The notes written here open with Go's `golang.org/x/mod/sumdb/note.Open` and any other
//! implementation of the spec, and the verifier keys use the same `<name>+<hex key ID>+<base64>`
//! form as `note.NewVerifier`.
//!
//! # One-line checkpoints
//!
//! For logs and pull-request comments a signed checkpoint also has a one-line form, which
//! [`checkpoint_from_line`] turns back into the identical signed note:
//!
//! ```text
//! driftlog-checkpoint v1 <origin> <tree size> <root hash> <key name> <signature> [<key name> <signature>]...
//! ```
//!
//! The fields are the checkpoint's three lines and each signature line's two fields, verbatim:
//! the root hash and signatures stay standard base64, as in the note. No field contains
//! whitespace, so the line survives re-wrapping (any run of whitespace separates fields), and
//! the base64 alphabet needs no quoting in a shell and never starts with `-`. In Markdown, put
//! the line in a code span so a renderer cannot touch `_` or `*` in a key name. Checkpoints
//! with extension lines, or whose origin contains whitespace, have no one-line form.

use crate::audit::merkle::Hash;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ring::digest;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// Signature type byte of Ed25519 in key IDs and verifier keys (c2sp.org/signed-note).
const ALG_ED25519: u8 = 0x01;
/// Em dash and space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Go's note.Open limit; the spec asks verifiers to accept at least 16.
pub(crate) const MAX_SIGNATURES: usize = 100;
const LINE_TAG: &str = "driftlog-checkpoint";
const LINE_VERSION: &str = "v1";

/// An error from a [`NoteSigner`], whatever signs (a key in memory, an agent, a KMS).
pub type SignerError = Box<dyn std::error::Error + Send + Sync>;

/// Why a note, key, checkpoint or checkpoint line was refused.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidKeyName(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("verifier key {0:?}: the key ID does not match the name and public key")]
    VerifierKeyIdMismatch(String),
    #[error("unsupported signature algorithm {0:#04x} (only Ed25519, 0x01, is supported)")]
    UnsupportedAlgorithm(u8),
    #[error("the signature by {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("two verifiers have the same key name and ID, {name}+{key_id:08x}")]
    AmbiguousVerifier { name: String, key_id: u32 },
    #[error("the note has no valid signature by a known key")]
    NoKnownSignature,
    #[error("a note needs at least one signer")]
    NoSigners,
    #[error("signer {name} failed")]
    Signer {
        name: String,
        #[source]
        source: SignerError,
    },
    #[error("signer {name} made a signature that its own public key does not verify")]
    SignerKeyMismatch { name: String },
    #[error("invalid Ed25519 private key seed")]
    InvalidSeed,
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("malformed checkpoint line: {0}")]
    MalformedLine(&'static str),
    #[error("this checkpoint has no one-line form: {0}")]
    NotRepresentableAsLine(&'static str),
}

/// Signs note texts with one Ed25519 key. Implement it for whatever holds the key; the note
/// code only needs the name, the public key (for the key ID, and to check each signature it is
/// given) and raw signatures.
pub trait NoteSigner {
    /// The key name written in the signature line.
    fn name(&self) -> &str;
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// A plain Ed25519 signature (RFC 8032) of `msg`.
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError>;
}

/// A [`NoteSigner`] over an Ed25519 key held in memory.
#[derive(Debug)]
pub struct Ed25519NoteSigner {
    name: String,
    key_pair: Ed25519KeyPair,
}

impl Ed25519NoteSigner {
    /// A signer named `name` with the key whose 32-byte RFC 8032 private seed is `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key_pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::InvalidSeed)?;
        Ok(Self {
            name: name.to_owned(),
            key_pair,
        })
    }

    /// The verifier for this signer's key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: key_id(&self.name, &self.public_key()),
            public_key: self.public_key(),
        }
    }
}

impl NoteSigner for Ed25519NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.key_pair.public_key().as_ref());
        key
    }

    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        let mut sig = [0u8; 64];
        sig.copy_from_slice(self.key_pair.sign(msg).as_ref());
        Ok(sig)
    }
}

/// The recommended key ID of an Ed25519 key: the first four bytes, big-endian, of
/// SHA-256(key name || 0x0A || 0x01 || public key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public_key);
    let sum = ctx.finish();
    let mut id = [0u8; 4];
    id.copy_from_slice(&sum.as_ref()[..4]);
    u32::from_be_bytes(id)
}

/// Whether `name` may name a key: non-empty, no Unicode white space, no `+`. (Control
/// characters are refused too: a note cannot contain them.)
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// A trusted Ed25519 public key with its name, for [`open_note`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

impl NoteVerifier {
    /// The verifier for `public_key` under `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &public_key),
            public_key,
        })
    }

    /// Parses a verifier key, `<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>`,
    /// checking that the key ID belongs to the name and key.
    pub fn from_key_string(vkey: &str) -> Result<Self, NoteError> {
        let (name, rest) = vkey.split_once('+').ok_or(NoteError::MalformedVerifierKey(
            "expected <name>+<key ID>+<key>",
        ))?;
        // The base64 part may itself contain '+', so split only once more.
        let (id_hex, key64) = rest.split_once('+').ok_or(NoteError::MalformedVerifierKey(
            "expected <name>+<key ID>+<key>",
        ))?;
        check_key_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::MalformedVerifierKey(
                "the key ID is not 8 hex digits",
            ));
        }
        let id = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedVerifierKey("the key ID is not 8 hex digits"))?;
        let key = BASE64
            .decode(key64)
            .map_err(|_| NoteError::MalformedVerifierKey("the key is not base64"))?;
        let (&alg, public_key) = key
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("the key is empty"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm(alg));
        }
        let public_key: [u8; 32] = public_key
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("an Ed25519 key is 32 bytes"))?;
        let verifier = Self::new(name, public_key)?;
        if verifier.key_id != id {
            return Err(NoteError::VerifierKeyIdMismatch(vkey.to_owned()));
        }
        Ok(verifier)
    }

    /// The verifier key string that [`NoteVerifier::from_key_string`] and Go's
    /// `note.NewVerifier` read.
    pub fn to_key_string(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(ALG_ED25519);
        key.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(key))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Whether `sig` is this key's Ed25519 signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(msg, sig)
            .is_ok()
    }
}

/// The text of a note with at least one valid signature by a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// Names of the trusted keys whose signatures verified, in note order.
    pub signed_by: Vec<String>,
}

/// Signs `text` with each signer, in order.
///
/// The text must end with a newline and contain no control characters but newlines, so that
/// every verifier reads back exactly this text. Each signature is checked against its signer's
/// public key before it is written, so a misconfigured signer fails here rather than in
/// verification later.
pub fn sign_note(text: &str, signers: &[&dyn NoteSigner]) -> Result<String, NoteError> {
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline"));
    }
    check_no_controls(text)?;
    let mut out = String::with_capacity(text.len() + 1 + signers.len() * 110);
    out.push_str(text);
    out.push('\n');
    for signer in signers {
        let name = signer.name();
        check_key_name(name)?;
        let sig = signer
            .sign(text.as_bytes())
            .map_err(|source| NoteError::Signer {
                name: name.to_owned(),
                source,
            })?;
        let verifier = NoteVerifier::new(name, signer.public_key())?;
        if !verifier.verify(text.as_bytes(), &sig) {
            return Err(NoteError::SignerKeyMismatch {
                name: name.to_owned(),
            });
        }
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&verifier.key_id.to_be_bytes());
        blob.extend_from_slice(&sig);
        out.push_str(SIG_PREFIX);
        out.push_str(name);
        out.push(' ');
        out.push_str(&BASE64.encode(blob));
        out.push('\n');
    }
    Ok(out)
}

/// Opens a signed note with the trusted `verifiers`.
///
/// As the spec requires, signatures by unknown keys (name and key ID not both matching a
/// verifier) are ignored, a signature by a known key that does not verify rejects the whole
/// note, and a note without any verified signature is rejected. Repeated signatures by one key
/// count once. Malformed notes are errors.
pub fn open_note(signed: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let (text, signatures) = split_note(signed)?;
    let mut signed_by: Vec<String> = Vec::new();
    let mut seen: Vec<(&str, u32)> = Vec::new();
    for sig in &signatures {
        let mut known = verifiers
            .iter()
            .filter(|v| v.name == sig.name && v.key_id == sig.key_id);
        let Some(verifier) = known.next() else {
            continue;
        };
        if known.next().is_some() {
            return Err(NoteError::AmbiguousVerifier {
                name: sig.name.to_owned(),
                key_id: sig.key_id,
            });
        }
        if seen.contains(&(sig.name, sig.key_id)) {
            continue;
        }
        seen.push((sig.name, sig.key_id));
        if !verifier.verify(text.as_bytes(), &sig.signature) {
            return Err(NoteError::InvalidSignature {
                name: sig.name.to_owned(),
                key_id: sig.key_id,
            });
        }
        signed_by.push(sig.name.to_owned());
    }
    if signed_by.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(VerifiedNote {
        text: text.to_owned(),
        signed_by,
    })
}

/// One parsed signature line.
struct NoteSignature<'a> {
    name: &'a str,
    key_id: u32,
    /// The signature without the key ID.
    signature: Vec<u8>,
    /// The line's base64 field, verbatim.
    base64: &'a str,
}

fn check_no_controls(text: &str) -> Result<(), NoteError> {
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed(
            "control characters other than newline are not allowed",
        ));
    }
    Ok(())
}

// Splits a note into its text and signature lines, checking the syntax but no signature.
fn split_note(signed: &str) -> Result<(&str, Vec<NoteSignature<'_>>), NoteError> {
    check_no_controls(signed)?;
    // The text may contain blank lines; the signatures start after the last one.
    let split = signed
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &signed[..=split];
    let block = &signed[split + 2..];
    if block.is_empty() {
        return Err(NoteError::Malformed("no signatures"));
    }
    if !block.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the last signature line does not end with a newline",
        ));
    }
    let mut signatures = Vec::new();
    for line in block[..block.len() - 1].split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "a signature line does not start with an em dash and a space",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("a signature line has no signature"))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed(
                "a signature line has an invalid key name",
            ));
        }
        let blob = BASE64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed("a signature is too short"));
        }
        let (id, signature) = blob.split_at(4);
        let mut id_bytes = [0u8; 4];
        id_bytes.copy_from_slice(id);
        signatures.push(NoteSignature {
            name,
            key_id: u32::from_be_bytes(id_bytes),
            signature: signature.to_vec(),
            base64: b64,
        });
    }
    Ok((text, signatures))
}

/// A transparency-log checkpoint: the tree head of a log at one size (c2sp.org/tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; driftlog's key name should be the same.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash of the first `size` leaves.
    pub root: Hash,
    /// Opaque lines after the root, each non-empty. The spec discourages them.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, decimal size and base64 root, one per line, then any extension
    /// lines; newline-terminated.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body strictly: at least three non-empty lines, a decimal size
    /// without leading zeros (except `0`), a base64 root of exactly 32 bytes, and nothing that
    /// could not be written back byte for byte.
    pub fn parse(body: &str) -> Result<Self, NoteError> {
        let lines = body
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedCheckpoint("it must end with a newline"))?;
        if body.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::MalformedCheckpoint(
                "it contains control characters",
            ));
        }
        let mut lines = lines.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("it has no tree size line"))?;
        let root = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("it has no root hash line"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if origin.is_empty() {
            return Err(NoteError::MalformedCheckpoint("the origin is empty"));
        }
        let size = parse_size(size)?;
        let root = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or(NoteError::MalformedCheckpoint(
                "the root hash is not the base64 of 32 bytes",
            ))?;
        if extensions.iter().any(String::is_empty) {
            return Err(NoteError::MalformedCheckpoint("an extension line is empty"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

fn parse_size(text: &str) -> Result<u64, NoteError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(NoteError::MalformedCheckpoint(
            "the tree size is not a decimal number without leading zeros",
        ));
    }
    text.parse()
        .map_err(|_| NoteError::MalformedCheckpoint("the tree size is too large"))
}

/// A checkpoint with at least one valid signature by a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Names of the trusted keys whose signatures verified.
    pub signed_by: Vec<String>,
}

/// Signs a checkpoint, refusing one whose body would not parse back to the same checkpoint
/// (an origin with a newline, say).
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    signers: &[&dyn NoteSigner],
) -> Result<String, NoteError> {
    let body = checkpoint.to_body();
    if Checkpoint::parse(&body)? != *checkpoint {
        return Err(NoteError::MalformedCheckpoint(
            "a line contains a newline or an extension line is empty",
        ));
    }
    sign_note(&body, signers)
}

/// Opens a signed checkpoint with the trusted `verifiers` (see [`open_note`]) and parses it.
pub fn open_checkpoint(
    signed: &str,
    verifiers: &[NoteVerifier],
) -> Result<VerifiedCheckpoint, NoteError> {
    let note = open_note(signed, verifiers)?;
    Ok(VerifiedCheckpoint {
        checkpoint: Checkpoint::parse(&note.text)?,
        signed_by: note.signed_by,
    })
}

/// A checkpoint whose note carries a signature line of one of `verifiers`' keys, parsed
/// without checking that signature: for a note inside a commit whose own signature was
/// checked, and whose size and root are compared with a recomputed tree, where the cost of
/// one more Ed25519 verification per record buys nothing.
pub fn checkpoint_naming_known_key(
    signed: &str,
    verifiers: &[NoteVerifier],
) -> Result<Checkpoint, NoteError> {
    let (text, signatures) = split_note(signed)?;
    let known = signatures.iter().any(|sig| {
        verifiers
            .iter()
            .any(|v| v.name == sig.name && v.key_id == sig.key_id)
    });
    if !known {
        return Err(NoteError::NoKnownSignature);
    }
    Checkpoint::parse(text)
}

/// The one-line form of a signed checkpoint (see the module docs). Checks the note's syntax,
/// not its signatures.
pub fn checkpoint_to_line(signed: &str) -> Result<String, NoteError> {
    let (text, signatures) = split_note(signed)?;
    let checkpoint = Checkpoint::parse(text)?;
    if !checkpoint.extensions.is_empty() {
        return Err(NoteError::NotRepresentableAsLine("it has extension lines"));
    }
    if checkpoint.origin.chars().any(char::is_whitespace) {
        return Err(NoteError::NotRepresentableAsLine(
            "its origin contains whitespace",
        ));
    }
    let mut line = format!(
        "{LINE_TAG} {LINE_VERSION} {} {} {}",
        checkpoint.origin,
        checkpoint.size,
        BASE64.encode(checkpoint.root)
    );
    for sig in &signatures {
        line.push(' ');
        line.push_str(sig.name);
        line.push(' ');
        line.push_str(sig.base64);
    }
    // The parsers are strict, so this holds; checking it keeps the promise explicit.
    if checkpoint_from_line(&line)? != signed {
        return Err(NoteError::NotRepresentableAsLine(
            "it would not read back identically",
        ));
    }
    Ok(line)
}

/// The signed checkpoint note written as `line` by [`checkpoint_to_line`], byte for byte.
/// Checks the syntax only: open the result with [`open_checkpoint`] to verify it.
pub fn checkpoint_from_line(line: &str) -> Result<String, NoteError> {
    let mut fields = line.split_whitespace();
    if fields.next() != Some(LINE_TAG) {
        return Err(NoteError::MalformedLine(
            "it does not start with driftlog-checkpoint",
        ));
    }
    if fields.next() != Some(LINE_VERSION) {
        return Err(NoteError::MalformedLine(
            "unsupported version (expected v1)",
        ));
    }
    let (Some(origin), Some(size), Some(root)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(NoteError::MalformedLine(
            "expected an origin, a tree size and a root hash",
        ));
    };
    let body = format!("{origin}\n{size}\n{root}\n");
    let checkpoint = Checkpoint::parse(&body)?;
    // Parsing accepts only the canonical spelling, so the body is the one that was signed.
    if checkpoint.to_body() != body {
        return Err(NoteError::MalformedLine(
            "the checkpoint is not in canonical form",
        ));
    }
    let mut signed = body;
    signed.push('\n');
    let mut count = 0;
    loop {
        match (fields.next(), fields.next()) {
            (None, _) => break,
            (Some(name), Some(sig)) => {
                signed.push_str(SIG_PREFIX);
                signed.push_str(name);
                signed.push(' ');
                signed.push_str(sig);
                signed.push('\n');
                count += 1;
            }
            (Some(_), None) => {
                return Err(NoteError::MalformedLine("a key name has no signature"));
            }
        }
    }
    if count == 0 {
        return Err(NoteError::MalformedLine("it has no signature"));
    }
    split_note(&signed)?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle;

    // The example key pair, text and signatures of golang.org/x/mod/sumdb/note (the package
    // documentation's example and note_test.go's TestOpen): Ed25519 is deterministic, so the
    // same key must give the same signature line, byte for byte.
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> Ed25519NoteSigner {
        // PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).expect("key data");
        let raw = BASE64.decode(b64).expect("base64");
        assert_eq!(raw[0], ALG_ED25519);
        let seed: [u8; 32] = raw[1..].try_into().expect("32-byte seed");
        Ed25519NoteSigner::from_seed("PeterNeumann", &seed).expect("signer")
    }

    fn test_signer(name: &str, byte: u8) -> Ed25519NoteSigner {
        Ed25519NoteSigner::from_seed(name, &[byte; 32]).expect("signer")
    }

    #[test]
    fn key_ids_and_verifier_keys_match_go() {
        let peter = NoteVerifier::from_key_string(PETER_VKEY).expect("peter");
        assert_eq!(peter.name(), "PeterNeumann");
        assert_eq!(peter.key_id(), 0xc74f20a3);
        assert_eq!(key_id("PeterNeumann", peter.public_key()), 0xc74f20a3);
        assert_eq!(peter.to_key_string(), PETER_VKEY);
        let enoch = NoteVerifier::from_key_string(ENOCH_VKEY).expect("enoch");
        assert_eq!(enoch.key_id(), 0xaf0cfe78);
        assert_eq!(enoch.to_key_string(), ENOCH_VKEY);

        // The signer derived from Go's private key has the same public key.
        assert_eq!(self::peter().verifier(), peter);
        assert_eq!(
            NoteVerifier::new("PeterNeumann", *peter.public_key()).expect("new"),
            peter
        );
    }

    #[test]
    fn verifier_keys_are_parsed_strictly() {
        let bad = [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20ag+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW==",
            "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ];
        for vkey in bad {
            assert!(NoteVerifier::from_key_string(vkey).is_err(), "{vkey:?}");
        }
        // Another algorithm byte is reported as such (the key ID is recomputed to match).
        let mut key = vec![0x02];
        key.extend_from_slice(&[9; 32]);
        let vkey = format!("x+00000000+{}", BASE64.encode(&key));
        assert!(matches!(
            NoteVerifier::from_key_string(&vkey),
            Err(NoteError::UnsupportedAlgorithm(0x02))
        ));
        assert!(NoteVerifier::new("a+b", [0; 32]).is_err());
        assert!(NoteVerifier::new("a\u{a0}b", [0; 32]).is_err());
        assert!(NoteVerifier::new("", [0; 32]).is_err());
        // Upper-case hex is accepted, as by Go.
        let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert!(NoteVerifier::from_key_string(&upper).is_ok());
    }

    #[test]
    fn signing_reproduces_gos_note() {
        let signer = peter();
        let signed = sign_note(GO_TEXT, &[&signer]).expect("sign");
        assert_eq!(signed, format!("{GO_TEXT}\n{PETER_SIG}"));
    }

    #[test]
    fn opens_gos_notes() {
        let peter = NoteVerifier::from_key_string(PETER_VKEY).expect("peter");
        let enoch = NoteVerifier::from_key_string(ENOCH_VKEY).expect("enoch");
        let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");

        let opened = open_note(&both, std::slice::from_ref(&peter)).expect("open");
        assert_eq!(opened.text, GO_TEXT);
        assert_eq!(opened.signed_by, ["PeterNeumann"]);

        let opened = open_note(&both, &[peter.clone(), enoch.clone()]).expect("open");
        assert_eq!(opened.signed_by, ["PeterNeumann", "EnochRoot"]);

        // Repeated signatures count once.
        let twice = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}");
        let opened = open_note(&twice, std::slice::from_ref(&peter)).expect("open");
        assert_eq!(opened.signed_by, ["PeterNeumann"]);

        // Two verifiers for one name and key ID cannot be told apart.
        assert!(matches!(
            open_note(&both, &[enoch.clone(), enoch]),
            Err(NoteError::AmbiguousVerifier { .. })
        ));
    }

    #[test]
    fn round_trip_with_blank_lines_in_the_text() {
        let signer = test_signer("example.com/log", 1);
        for text in ["one line\n", "\n", "a\n\nb\n", "ends blank\n\n", "é — ü\n"] {
            let signed = sign_note(text, &[&signer]).expect("sign");
            let opened = open_note(&signed, &[signer.verifier()]).expect("open");
            assert_eq!(opened.text, text);
            assert_eq!(opened.signed_by, ["example.com/log"]);
        }
    }

    #[test]
    fn tampered_notes_are_rejected() {
        let signer = test_signer("example.com/log", 1);
        let verifier = signer.verifier();
        let signed = sign_note("hello\nworld\n", &[&signer]).expect("sign");

        let tampered = signed.replace("world", "World");
        assert!(matches!(
            open_note(&tampered, std::slice::from_ref(&verifier)),
            Err(NoteError::InvalidSignature { .. })
        ));
        // A known key's bad signature rejects the note even beside a good one.
        let other = test_signer("example.com/other", 2);
        let other_signed = sign_note("hello\nWorld\n", &[&other]).expect("sign");
        let our_line = signed.split("\n\n").nth(1).expect("signature line");
        let mixed = format!("{other_signed}{our_line}");
        assert!(open_note(&mixed, std::slice::from_ref(&other.verifier())).is_ok());
        assert!(matches!(
            open_note(&mixed, &[verifier, other.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn unknown_keys_are_ignored_and_a_known_one_is_required() {
        let ours = test_signer("driftlog.example/log", 1);
        let theirs = test_signer("witness.example", 2);
        // Same name as ours, different key: shares the name but not the key ID.
        let impostor = test_signer("driftlog.example/log", 3);
        let text = "log\n1\n";

        let signed = sign_note(text, &[&theirs, &ours, &impostor]).expect("sign");
        let opened = open_note(&signed, &[ours.verifier()]).expect("open");
        assert_eq!(opened.signed_by, ["driftlog.example/log"]);

        let without_ours = sign_note(text, &[&theirs, &impostor]).expect("sign");
        assert!(matches!(
            open_note(&without_ours, &[ours.verifier()]),
            Err(NoteError::NoKnownSignature)
        ));
        assert!(matches!(
            open_note(&signed, &[]),
            Err(NoteError::NoKnownSignature)
        ));
    }

    #[test]
    fn malformed_notes_are_errors() {
        let signer = test_signer("example.com/log", 1);
        let v = [signer.verifier()];
        let signed = sign_note("text\n", &[&signer]).expect("sign");
        let sig_line = signed.strip_prefix("text\n\n").expect("sig line");
        let cases = [
            "text\n".to_owned(),
            "text\n\n".to_owned(),
            format!("text\n{sig_line}"),
            format!("text\n\n{}", sig_line.trim_end()),
            format!("text\r\n\n{sig_line}"),
            format!("text\t\n\n{sig_line}"),
            format!("text\n\n{}", sig_line.replacen('\u{2014}', "-", 1)),
            format!("text\n\n{}", sig_line.replacen(' ', "", 1)),
            format!("text\n\n{sig_line}\n"),
            format!("text\n\n{sig_line}junk\n"),
            "text\n\n\u{2014} example.com/log\n".to_owned(),
            "text\n\n\u{2014} example.com/log \n".to_owned(),
            "text\n\n\u{2014} example.com/log AAAA\n".to_owned(),
            "text\n\n\u{2014} example.com/log !!!!\n".to_owned(),
            "text\n\n\u{2014} bad+name AAAAAAA=\n".to_owned(),
            format!("text\n\n{}", sig_line.repeat(MAX_SIGNATURES + 1)),
        ];
        for case in &cases {
            assert!(
                matches!(open_note(case, &v), Err(NoteError::Malformed(_))),
                "{case:?}"
            );
        }
        // Up to the limit is fine.
        let many = format!("text\n\n{}", sig_line.repeat(MAX_SIGNATURES));
        assert!(open_note(&many, &v).is_ok());
    }

    #[test]
    fn signing_refuses_bad_input() {
        let signer = test_signer("example.com/log", 1);
        assert!(matches!(
            sign_note("text", &[&signer]),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(
            sign_note("a\tb\n", &[&signer]),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(
            sign_note("text\n", &[]),
            Err(NoteError::NoSigners)
        ));
        assert!(Ed25519NoteSigner::from_seed("bad name", &[1; 32]).is_err());

        struct WrongKey(Ed25519NoteSigner);
        impl NoteSigner for WrongKey {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn public_key(&self) -> [u8; 32] {
                test_signer("x", 9).public_key()
            }
            fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
                self.0.sign(msg)
            }
        }
        let wrong = WrongKey(test_signer("example.com/log", 1));
        assert!(matches!(
            sign_note("text\n", &[&wrong]),
            Err(NoteError::SignerKeyMismatch { .. })
        ));

        struct Failing;
        impl NoteSigner for Failing {
            fn name(&self) -> &str {
                "agent"
            }
            fn public_key(&self) -> [u8; 32] {
                [0; 32]
            }
            fn sign(&self, _: &[u8]) -> Result<[u8; 64], SignerError> {
                Err("agent unavailable".into())
            }
        }
        assert!(matches!(
            sign_note("text\n", &[&Failing]),
            Err(NoteError::Signer { .. })
        ));
    }

    fn sample_checkpoint() -> Checkpoint {
        let leaves: Vec<merkle::Hash> = (0..5u8).map(|i| merkle::leaf_hash(&[i])).collect();
        Checkpoint::new("driftlog.example/acme/infra", 5, merkle::root(&leaves))
    }

    #[test]
    fn checkpoint_body_round_trips() {
        let checkpoint = sample_checkpoint();
        let body = checkpoint.to_body();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "driftlog.example/acme/infra");
        assert_eq!(lines[1], "5");
        assert_eq!(lines[2], BASE64.encode(checkpoint.root));
        assert_eq!(Checkpoint::parse(&body).expect("parse"), checkpoint);

        let mut extended = checkpoint.clone();
        extended.extensions = vec!["ext one".to_owned()];
        assert_eq!(
            Checkpoint::parse(&extended.to_body()).expect("parse"),
            extended
        );

        // The C2SP tlog-checkpoint example body.
        let example =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let parsed = Checkpoint::parse(example).expect("parse");
        assert_eq!(parsed.size, 20852163);
        assert_eq!(parsed.to_body(), example);

        let empty = Checkpoint::new("o", 0, merkle::empty_root());
        assert_eq!(Checkpoint::parse(&empty.to_body()).expect("parse"), empty);
    }

    #[test]
    fn checkpoint_parsing_is_strict() {
        let root = BASE64.encode([7u8; 32]);
        let bad = [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n00\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\n".to_owned(),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{}\n", BASE64.encode([7u8; 33])),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
            format!("o\u{1}\n1\n{root}\n"),
        ];
        for body in &bad {
            assert!(Checkpoint::parse(body).is_err(), "{body:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n"))
                .expect("max")
                .size,
            u64::MAX
        );
    }

    #[test]
    fn signed_checkpoints_open_and_tampering_is_caught() {
        let signer = test_signer("driftlog.example/acme/infra", 4);
        let verifiers = [signer.verifier()];
        let checkpoint = sample_checkpoint();
        let signed = sign_checkpoint(&checkpoint, &[&signer]).expect("sign");
        let opened = open_checkpoint(&signed, &verifiers).expect("open");
        assert_eq!(opened.checkpoint, checkpoint);
        assert_eq!(opened.signed_by, ["driftlog.example/acme/infra"]);

        let mut bigger = checkpoint.clone();
        bigger.size += 1;
        let mut other_root = checkpoint.clone();
        other_root.root[0] ^= 1;
        for forged in [bigger, other_root] {
            let tampered = signed.replacen(&checkpoint.to_body(), &forged.to_body(), 1);
            assert_ne!(tampered, signed);
            assert!(matches!(
                open_checkpoint(&tampered, &verifiers),
                Err(NoteError::InvalidSignature { .. })
            ));
        }

        let broken = Checkpoint::new("two\nlines", 1, [0; 32]);
        assert!(sign_checkpoint(&broken, &[&signer]).is_err());
    }

    #[test]
    fn one_line_form_round_trips() {
        let signer = test_signer("driftlog.example/acme/infra", 4);
        let witness = test_signer("witness.example/w1", 5);
        let checkpoint = sample_checkpoint();
        for signers in [vec![&signer as &dyn NoteSigner], vec![&signer, &witness]] {
            let signed = sign_checkpoint(&checkpoint, &signers).expect("sign");
            let line = checkpoint_to_line(&signed).expect("to line");
            assert!(!line.contains('\n'));
            assert_eq!(line.split(' ').count(), 5 + 2 * signers.len());
            assert_eq!(checkpoint_from_line(&line).expect("from line"), signed);

            // Re-wrapped or padded by copy and paste.
            let wrapped = format!("  {}\n", line.replace(' ', "\n  "));
            assert_eq!(checkpoint_from_line(&wrapped).expect("from line"), signed);

            let opened = open_checkpoint(
                &checkpoint_from_line(&line).expect("note"),
                &[signer.verifier()],
            )
            .expect("open");
            assert_eq!(opened.checkpoint, checkpoint);
        }

        let signed = sign_checkpoint(&checkpoint, &[&signer]).expect("sign");
        let line = checkpoint_to_line(&signed).expect("to line");
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            fields[..4],
            [
                "driftlog-checkpoint",
                "v1",
                "driftlog.example/acme/infra",
                "5"
            ]
        );
        assert_eq!(fields[4], BASE64.encode(checkpoint.root));
        assert_eq!(fields[5], "driftlog.example/acme/infra");

        // A forged size in the line fails verification, not parsing.
        let forged = line.replacen(" 5 ", " 6 ", 1);
        let note = checkpoint_from_line(&forged).expect("syntax is fine");
        assert!(matches!(
            open_checkpoint(&note, &[signer.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn one_line_form_rejects_what_it_cannot_carry() {
        let signer = test_signer("s", 4);
        let root = BASE64.encode([1u8; 32]);
        let sig = {
            let signed =
                sign_checkpoint(&Checkpoint::new("o", 1, [1; 32]), &[&signer]).expect("sign");
            checkpoint_to_line(&signed)
                .expect("line")
                .rsplit(' ')
                .next()
                .expect("sig")
                .to_owned()
        };
        let bad = [
            String::new(),
            format!("driftlog-checkpoint v2 o 1 {root} s {sig}"),
            format!("checkpoint v1 o 1 {root} s {sig}"),
            format!("driftlog-checkpoint v1 o 1 {root}"),
            format!("driftlog-checkpoint v1 o 1 {root} s"),
            format!("driftlog-checkpoint v1 o 01 {root} s {sig}"),
            format!(
                "driftlog-checkpoint v1 o 1 {} s {sig}",
                root.trim_end_matches('=')
            ),
            format!("driftlog-checkpoint v1 o 1 {root} s+x {sig}"),
            format!("driftlog-checkpoint v1 o 1 {root} s {sig}!"),
            "driftlog-checkpoint v1 o 1".to_owned(),
        ];
        for line in &bad {
            assert!(checkpoint_from_line(line).is_err(), "{line:?}");
        }

        let mut extended = Checkpoint::new("o", 1, [1; 32]);
        extended.extensions.push("ext".to_owned());
        let signed = sign_checkpoint(&extended, &[&signer]).expect("sign");
        assert!(matches!(
            checkpoint_to_line(&signed),
            Err(NoteError::NotRepresentableAsLine(_))
        ));
        let spaced =
            sign_checkpoint(&Checkpoint::new("my log", 1, [1; 32]), &[&signer]).expect("sign");
        assert!(matches!(
            checkpoint_to_line(&spaced),
            Err(NoteError::NotRepresentableAsLine(_))
        ));
        assert!(checkpoint_to_line("not a note").is_err());
    }
}
