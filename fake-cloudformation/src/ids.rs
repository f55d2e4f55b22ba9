//! Identifiers and timestamps in AWS's formats.
//!
//! Ids are derived from a hash of a seed rather than from randomness, so a stack's StackId is the
//! same in every run and tests can spell out what they expect.

use std::time::SystemTime;

/// FNV-1a: stable across Rust versions (std's hasher is not promised to be).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// splitmix64: spreads a hash over all bits, for the second half of an id.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A version-4-shaped UUID (`8-4-4-4-12` lowercase hex) derived from `seed`.
pub(crate) fn uuid_like(seed: &str) -> String {
    let high = mix(fnv1a(seed.as_bytes()));
    let low = mix(high ^ 0x5555_5555_5555_5555);
    let high = (high & !0xf000) | 0x4000; // version nibble
    let low = (low & !(0xc << 60)) | (0x8 << 60); // variant bits
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// The random suffix CloudFormation appends to generated physical ids (13 upper-case letters
/// and digits), derived from `seed`.
pub(crate) fn physical_suffix(seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut x = mix(fnv1a(seed.as_bytes()));
    (0..13)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize];
            x = mix(x);
            char::from(c)
        })
        .collect()
}

/// ISO 8601 with milliseconds in UTC, as CloudFormation's XML has it: `2019-10-02T05:54:44.064Z`.
pub(crate) fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// Opaque page tokens: `scope` (a detection or stack id) and an offset, hex-encoded so that
/// clients treat them as opaque.
pub(crate) fn page_token(scope: &str, offset: usize) -> String {
    format!("{scope}|{offset}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The offset in a token from [`page_token`], if the token is one for `scope`.
pub(crate) fn page_offset(token: &str, scope: &str) -> Option<usize> {
    if token.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let (token_scope, offset) = text.rsplit_once('|')?;
    (token_scope == scope).then_some(())?;
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_like_has_the_uuid_shape_and_is_stable() {
        let id = uuid_like("stack");
        assert_eq!(id, uuid_like("stack"));
        assert_ne!(id, uuid_like("stack2"));
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn page_tokens_round_trip_and_reject_others() {
        let token = page_token("abc", 100);
        assert_eq!(page_offset(&token, "abc"), Some(100));
        assert_eq!(page_offset(&token, "abd"), None);
        assert_eq!(page_offset("zz", "abc"), None);
        assert_eq!(page_offset("bogus", "abc"), None);
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_570_000_000_123);
        assert_eq!(timestamp(at), "2019-10-02T07:06:40.123Z");
    }
}
