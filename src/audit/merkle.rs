//! RFC 6962 Merkle tree hashing: tree heads, an incremental compact range, and inclusion and
//! consistency proofs.
//!
//! The hashing follows RFC 6962 §2.1 (SHA-256, `0x00` leaf and `0x01` node prefixes, split at
//! the largest power of two smaller than the size), so checkpoints of the audit log can be
//! checked by any transparency-log tool. Proof verification follows the iterative algorithms of
//! RFC 9162 §2.1.3.2 and §2.1.4.2, which describe the same proofs more precisely.

use ring::digest;
use serde::{Deserialize, Serialize};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree head.
pub type Hash = [u8; 32];

/// Why a proof or a compact range could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old_size} is larger than the tree's {size} leaves")]
    OldSizeTooLarge { old_size: u64, size: u64 },
    #[error("a tree of {size} leaves has {expected} compact-range hashes, not {found}")]
    WrongPeakCount {
        size: u64,
        expected: usize,
        found: usize,
    },
    #[error("the tree is full")]
    TreeFull,
}

/// The hash of one log entry: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(data);
    finish(ctx)
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x01]);
    ctx.update(left);
    ctx.update(right);
    finish(ctx)
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    finish(digest::Context::new(&digest::SHA256))
}

fn finish(ctx: digest::Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The Merkle tree hash (MTH) of a list of leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        _ => subtree_root(leaves),
    }
}

// MTH of a non-empty range, by the recursive definition of RFC 6962 §2.1 (kept independent of
// the compact range so each checks the other in tests).
fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = split_point(leaves.len());
            node_hash(&subtree_root(&leaves[..k]), &subtree_root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n >= 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The right edge of a tree: the roots of its perfect subtrees, largest (leftmost) first, one
/// for each set bit of the size. Appending and computing the root take O(log n) hashes and the
/// state is at most 64 hashes, so the log never needs its leaves to extend its tree.
///
/// Serialized as `{"size": N, "hashes": ["<hex>", ...]}`; deserialization checks that the
/// number of hashes matches the size.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "CompactRangeRepr", into = "CompactRangeRepr")]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The range of a tree of the given leaves.
    pub fn from_leaves(leaves: &[Hash]) -> Result<Self, MerkleError> {
        let mut range = Self::new();
        for leaf in leaves {
            range.append(*leaf)?;
        }
        Ok(range)
    }

    /// Rebuilds a range from its size and peak hashes (largest subtree first).
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if peaks.len() != expected {
            return Err(MerkleError::WrongPeakCount {
                size,
                expected,
                found: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the perfect subtrees, largest first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Adds one leaf hash (see [`leaf_hash`]) to the right of the tree.
    pub fn append(&mut self, leaf: Hash) -> Result<(), MerkleError> {
        let new_size = self.size.checked_add(1).ok_or(MerkleError::TreeFull)?;
        // Each trailing one bit of the old size is a perfect subtree of the new leaf's height
        // that now has a sibling: merge them, like a binary carry.
        let mut carry = leaf;
        let mut bits = self.size;
        while bits & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Unreachable while peaks.len() == size.count_ones(), which every constructor
                // enforces; refuse rather than compute a wrong root.
                return Err(MerkleError::WrongPeakCount {
                    size: self.size,
                    expected: self.size.count_ones() as usize,
                    found: self.peaks.len(),
                });
            };
            carry = node_hash(&left, &carry);
            bits >>= 1;
        }
        self.peaks.push(carry);
        self.size = new_size;
        Ok(())
    }

    /// The tree head: equal to [`root`] over the same leaves.
    pub fn root(&self) -> Hash {
        // The smallest subtrees hang off the right spine, so fold from the right.
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactRangeRepr {
    size: u64,
    hashes: Vec<String>,
}

impl From<CompactRange> for CompactRangeRepr {
    fn from(range: CompactRange) -> Self {
        Self {
            size: range.size,
            hashes: range.peaks.iter().map(to_hex).collect(),
        }
    }
}

impl TryFrom<CompactRangeRepr> for CompactRange {
    type Error = String;

    fn try_from(repr: CompactRangeRepr) -> Result<Self, Self::Error> {
        let peaks = repr
            .hashes
            .iter()
            .map(|h| from_hex(h).ok_or_else(|| "a hash is not 64 lowercase hex digits".to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(repr.size, peaks).map_err(|e| e.to_string())
    }
}

fn to_hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in hash {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

// Lowercase only, so each hash has exactly one stored spelling.
fn from_hex(text: &str) -> Option<Hash> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 §2.1.1), nearest sibling
/// first.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, MerkleError> {
    let size = leaves.len() as u64;
    let idx = usize::try_from(index)
        .ok()
        .filter(|i| *i < leaves.len())
        .ok_or(MerkleError::IndexOutOfRange { index, size })?;
    let mut proof = Vec::new();
    path(idx, leaves, &mut proof);
    Ok(proof)
}

// PATH(m, D[n]) of RFC 6962 §2.1.1, appending deepest first.
fn path(m: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if m < k {
        path(m, &leaves[..k], proof);
        proof.push(subtree_root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], proof);
        proof.push(subtree_root(&leaves[..k]));
    }
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose head is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            // On the right edge of an incomplete tree, skip the levels where the node has no
            // sibling.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of all
/// `leaves` (RFC 6962 §2.1.2). Empty when `old_size` is 0 or the whole tree.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, MerkleError> {
    let size = leaves.len() as u64;
    let m = usize::try_from(old_size)
        .ok()
        .filter(|m| *m <= leaves.len())
        .ok_or(MerkleError::OldSizeTooLarge { old_size, size })?;
    let mut proof = Vec::new();
    if m > 0 {
        subproof(m, leaves, true, &mut proof);
    }
    Ok(proof)
}

// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2, appending deepest first.
fn subproof(m: usize, leaves: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            proof.push(subtree_root(leaves));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, proof);
        proof.push(subtree_root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(subtree_root(&leaves[..k]));
    }
}

/// Checks that the tree of `old_size` leaves with head `old_root` is a prefix of the tree of
/// `new_size` leaves with head `new_root`.
///
/// Equal sizes need an empty proof and equal roots; an old size of 0 needs an empty proof and
/// the empty tree's root as `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    // RFC 9162 §2.1.4.2. When the old tree is a perfect subtree its root is the first node of
    // the path, and the proof leaves it out.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return false,
        }
    };
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && fr == *old_root && sr == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hex: &str) -> Hash {
        from_hex(hex).expect("64 lowercase hex digits")
    }

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    // The reference leaves and tree heads used by the certificate-transparency and
    // transparency-dev/merkle test suites (proof/verify_test.go): the data of leaves 0..8 and
    // the roots of the trees of sizes 1..=8.
    const REFERENCE_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const REFERENCE_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn reference_leaves() -> Vec<Hash> {
        REFERENCE_LEAVES
            .iter()
            .map(|d| leaf_hash(&unhex(d)))
            .collect()
    }

    fn synthetic_leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("record {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let leaves = reference_leaves();
        assert_eq!(root(&[]), h(EMPTY_ROOT));
        assert_eq!(empty_root(), h(EMPTY_ROOT));
        for (n, want) in REFERENCE_ROOTS.iter().enumerate() {
            assert_eq!(root(&leaves[..=n]), h(want), "tree of {} leaves", n + 1);
        }
    }

    #[test]
    fn compact_range_matches_batch_root_for_every_size() {
        let leaves = synthetic_leaves(70);
        let mut range = CompactRange::new();
        assert_eq!(range.root(), root(&[]));
        for (i, leaf) in leaves.iter().enumerate() {
            range.append(*leaf).expect("append");
            assert_eq!(range.size(), i as u64 + 1);
            assert_eq!(range.peaks().len(), (i + 1).count_ones() as usize);
            assert_eq!(range.root(), root(&leaves[..=i]), "size {}", i + 1);
        }
        let reference = reference_leaves();
        let range = CompactRange::from_leaves(&reference).expect("range");
        assert_eq!(range.root(), h(REFERENCE_ROOTS[7]));
    }

    #[test]
    fn compact_range_round_trips_through_json() {
        let range = CompactRange::from_leaves(&synthetic_leaves(13)).expect("range");
        let json = serde_json::to_string(&range).expect("serialize");
        assert!(json.starts_with(r#"{"size":13,"hashes":[""#), "{json}");
        let back: CompactRange = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, range);

        // A state whose hash count does not match its size would give wrong roots.
        let bad = json.replace(r#""size":13"#, r#""size":15"#);
        assert!(serde_json::from_str::<CompactRange>(&bad).is_err());
        let upper = json
            .to_uppercase()
            .replace("SIZE", "size")
            .replace("HASHES", "hashes");
        assert!(serde_json::from_str::<CompactRange>(&upper).is_err());
        assert!(CompactRange::from_parts(3, vec![[0; 32]]).is_err());
    }

    #[test]
    fn append_refuses_to_overflow() {
        let mut full = CompactRange::from_parts(u64::MAX, vec![[7; 32]; 64]).expect("parts");
        assert_eq!(full.append([1; 32]), Err(MerkleError::TreeFull));
    }

    // transparency-dev/merkle proof/verify_test.go: (leaf index, tree size, audit path).
    #[test]
    fn inclusion_proofs_match_the_reference_vectors() {
        let vectors: [(u64, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let leaves = reference_leaves();
        for (index, size, want) in vectors {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            let got = inclusion_proof(&leaves[..size], index).expect("proof");
            assert_eq!(got, want, "leaf {index} of {size}");
            let head = h(REFERENCE_ROOTS[size - 1]);
            let leaf = leaves[index as usize];
            assert!(verify_inclusion(&leaf, index, size as u64, &got, &head));
        }
    }

    // transparency-dev/merkle proof/verify_test.go: (old size, new size, proof).
    #[test]
    fn consistency_proofs_match_the_reference_vectors() {
        let vectors: [(u64, usize, &[&str]); 4] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let leaves = reference_leaves();
        for (old_size, size, want) in vectors {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            let got = consistency_proof(&leaves[..size], old_size).expect("proof");
            assert_eq!(got, want, "{old_size} -> {size}");
            let old_root = h(REFERENCE_ROOTS[old_size as usize - 1]);
            let new_root = h(REFERENCE_ROOTS[size - 1]);
            assert!(verify_consistency(
                old_size,
                size as u64,
                &old_root,
                &new_root,
                &got
            ));
        }
    }

    fn flip(hash: &Hash) -> Hash {
        let mut out = *hash;
        out[0] ^= 0x10;
        out
    }

    // Sizes within 8 of `size` (but at least `min`), and twice `size`; never `size` itself.
    fn nearby_sizes(min: usize, size: usize) -> impl Iterator<Item = usize> {
        let low = size.saturating_sub(8).max(min);
        (low..=size + 8)
            .chain([size * 2])
            .filter(move |s| *s != size && *s >= min)
    }

    // A proof binds the leaf to one tree head; the size only shapes the path, so a different
    // size is rejected whenever it implies a different path, and no proof works against the
    // head of a tree it was not made for.
    #[test]
    fn every_inclusion_proof_verifies_and_no_altered_one_does() {
        let leaves = synthetic_leaves(80);
        let roots: Vec<Hash> = (0..=leaves.len()).map(|n| root(&leaves[..n])).collect();
        for size in 1..=40 {
            let tree = &leaves[..size];
            let head = roots[size];
            let n = size as u64;
            for index in 0..n {
                let leaf = tree[index as usize];
                let proof = inclusion_proof(tree, index).expect("proof");
                assert!(verify_inclusion(&leaf, index, n, &proof, &head));

                assert!(!verify_inclusion(&flip(&leaf), index, n, &proof, &head));
                assert!(!verify_inclusion(&leaf, index, n, &proof, &flip(&head)));
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i]);
                    assert!(!verify_inclusion(&leaf, index, n, &bad, &head));
                }
                if index > 0 {
                    assert!(!verify_inclusion(&leaf, index - 1, n, &proof, &head));
                }
                if index + 1 < n {
                    assert!(!verify_inclusion(&leaf, index + 1, n, &proof, &head));
                }
                assert!(!verify_inclusion(&leaf, n, n, &proof, &head));
                assert!(!verify_inclusion(&leaf, index, n * 2, &proof, &head));
                for other in nearby_sizes(index as usize + 1, size) {
                    let m = other as u64;
                    let honest = inclusion_proof(&leaves[..other], index).expect("proof");
                    if honest.len() != proof.len() {
                        assert!(!verify_inclusion(&leaf, index, m, &proof, &head));
                    }
                    if honest != proof {
                        assert!(!verify_inclusion(&leaf, index, m, &proof, &roots[other]));
                    }
                }
                let mut longer = proof.clone();
                longer.push(head);
                assert!(!verify_inclusion(&leaf, index, n, &longer, &head));
                if !proof.is_empty() {
                    let shorter = &proof[..proof.len() - 1];
                    assert!(!verify_inclusion(&leaf, index, n, shorter, &head));
                }
            }
            assert_eq!(
                inclusion_proof(tree, n),
                Err(MerkleError::IndexOutOfRange { index: n, size: n })
            );
        }
        assert!(!verify_inclusion(&leaves[0], 0, 0, &[], &empty_root()));
    }

    #[test]
    fn every_consistency_proof_verifies_and_no_altered_one_does() {
        let leaves = synthetic_leaves(80);
        let roots: Vec<Hash> = (0..=leaves.len()).map(|n| root(&leaves[..n])).collect();
        for size in 0..=40 {
            let tree = &leaves[..size];
            let n = size as u64;
            let new_root = roots[size];
            for old in 0..=size {
                let m = old as u64;
                let old_root = roots[old];
                let proof = consistency_proof(tree, m).expect("proof");
                assert!(
                    verify_consistency(m, n, &old_root, &new_root, &proof),
                    "{m} -> {n}"
                );
                if m == 0 || m == n {
                    assert!(proof.is_empty());
                    // Non-empty proofs are never accepted for the trivial cases.
                    assert!(!verify_consistency(m, n, &old_root, &new_root, &[new_root]));
                }

                assert!(!verify_consistency(
                    m,
                    n,
                    &flip(&old_root),
                    &new_root,
                    &proof
                ));
                if m > 0 {
                    assert!(!verify_consistency(
                        m,
                        n,
                        &old_root,
                        &flip(&new_root),
                        &proof
                    ));
                }
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i]);
                    assert!(!verify_consistency(m, n, &old_root, &new_root, &bad));
                }
                if m == 0 || m == n {
                    continue;
                }
                assert!(!verify_consistency(m, n, &new_root, &old_root, &proof));
                assert!(!verify_consistency(m, n, &old_root, &new_root, &[]));
                let shorter = &proof[..proof.len() - 1];
                assert!(!verify_consistency(m, n, &old_root, &new_root, shorter));
                let mut longer = proof.clone();
                longer.push(new_root);
                assert!(!verify_consistency(m, n, &old_root, &new_root, &longer));
                let mut prefixed = vec![old_root];
                prefixed.extend_from_slice(&proof);
                assert!(!verify_consistency(m, n, &old_root, &new_root, &prefixed));
                // Altered sizes: rejected whenever they imply a different proof shape, and
                // never accepted against the heads of the trees of those sizes.
                for other_old in nearby_sizes(1, old).filter(|k| *k < size) {
                    let k = other_old as u64;
                    let honest = consistency_proof(tree, k).expect("proof");
                    if honest.len() != proof.len() {
                        assert!(!verify_consistency(k, n, &old_root, &new_root, &proof));
                    }
                    if honest != proof {
                        let r = &roots[other_old];
                        assert!(!verify_consistency(k, n, r, &new_root, &proof));
                    }
                }
                for other in nearby_sizes(old + 1, size) {
                    let k = other as u64;
                    let honest = consistency_proof(&leaves[..other], m).expect("proof");
                    if honest.len() != proof.len() {
                        assert!(!verify_consistency(m, k, &old_root, &new_root, &proof));
                    }
                    if honest != proof {
                        let r = &roots[other];
                        assert!(!verify_consistency(m, k, &old_root, r, &proof));
                    }
                }
            }
            assert!(!verify_consistency(n + 1, n, &new_root, &new_root, &[]));
            assert_eq!(
                consistency_proof(tree, n + 1),
                Err(MerkleError::OldSizeTooLarge {
                    old_size: n + 1,
                    size: n
                })
            );
        }
    }

    #[test]
    fn appends_stay_cheap_for_a_large_log() {
        // 50,000 records: the range stays at popcount(size) hashes.
        let mut range = CompactRange::new();
        for i in 0u32..50_000 {
            range.append(leaf_hash(&i.to_be_bytes())).expect("append");
        }
        assert_eq!(range.peaks().len(), 50_000u32.count_ones() as usize);
        let leaves: Vec<Hash> = (0u32..50_000)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        assert_eq!(range.root(), root(&leaves));
    }
}
