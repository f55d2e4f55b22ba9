//! Canonical JSON (RFC 8785, JCS) for audit records, which are hashed and signed over their
//! exact bytes.
//!
//! The serialization is `serde_json_canonicalizer`'s: object members sorted by the UTF-16 code
//! units of their names, no insignificant whitespace, only the mandatory string escapes
//! (`\u00xx` in lowercase hex for the other control characters), and numbers written by the
//! ECMAScript number-to-string algorithm (`1e+21`, `1e-7`, `0.000001`, shortest round-trip
//! digits; RFC 8785 Appendix B). A `serde_json::Value` cannot hold NaN or infinities.
//!
//! JCS treats every number as an IEEE 754 double, so an integer beyond ±(2^53 − 1) would be
//! silently rounded. This module refuses such integers instead of changing a recorded value:
//! store them as strings (RFC 8785 §3.2.2.3 and Appendix D recommend the same), for example
//! with [`stringify_unsafe_integers`]. Integers within the range are written as-is.

use serde::Serialize;
use serde_json::Value;

/// Largest integer that every JSON number (an IEEE 754 double) holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form here. Messages never quote the value: records hold
/// terraform attribute values.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    #[error(
        "an integer is outside ±(2^53 − 1), which JSON numbers cannot hold exactly; \
         record it as a string"
    )]
    UnsafeInteger,
    #[error("the value has no canonical JSON form: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// The canonical bytes of a JSON value.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    check_integers(value)?;
    Ok(serde_json_canonicalizer::to_vec(value)?)
}

/// The canonical bytes of any serializable value, e.g. a record: the canonical form of its
/// `serde_json::Value`, so exactly what [`is_canonical`] reproduces.
///
/// Errors for maps whose keys are not strings and integers beyond ±(2^53 − 1). Like all of
/// serde_json, this writes a NaN or infinite `f32`/`f64` field as `null`; values held as
/// `serde_json::Value` cannot contain them.
pub fn to_canonical_vec_of<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    to_canonical_vec(&serde_json::to_value(value)?)
}

/// Whether `bytes` are exactly the canonical form of the JSON value they hold: no whitespace,
/// sorted and unique member names, canonical escapes and numbers, valid UTF-8. A verifier
/// uses this to refuse records that were not written canonically.
///
/// (Values nested deeper than serde_json's recursion limit of 128 never count as canonical.)
pub fn is_canonical(bytes: &[u8]) -> bool {
    // Duplicate member names parse (the last one wins), then differ from the re-serialized
    // form, so they are caught by the comparison.
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => to_canonical_vec(&value).is_ok_and(|canonical| canonical == bytes),
        Err(_) => false,
    }
}

/// Replaces every integer beyond ±(2^53 − 1) with a string of its decimal digits, so that
/// the value can be canonicalized without losing precision.
pub fn stringify_unsafe_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !is_safe(n) && (n.is_i64() || n.is_u64()) => {
            *value = Value::String(n.to_string());
        }
        Value::Array(items) => items.iter_mut().for_each(stringify_unsafe_integers),
        Value::Object(members) => members.values_mut().for_each(stringify_unsafe_integers),
        _ => {}
    }
}

fn is_safe(n: &serde_json::Number) -> bool {
    if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        // A float: already a double, written exactly by the ECMAScript algorithm.
        true
    }
}

fn check_integers(value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Number(n) if !is_safe(n) => Err(CanonicalError::UnsafeInteger),
        Value::Array(items) => items.iter().try_for_each(check_integers),
        Value::Object(members) => members.values().try_for_each(check_integers),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        String::from_utf8(to_canonical_vec(value).expect("canonical")).expect("UTF-8")
    }

    fn canonical_text(json: &str) -> String {
        canonical(&serde_json::from_str(json).expect("JSON"))
    }

    // RFC 8785 §3.2.2 (input) and §3.2.3 (output), with the UTF-8 bytes of §3.2.4.
    #[test]
    fn rfc8785_sample() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canonical_text(input), want);
        let bytes = "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d";
        let hex: String = want.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, bytes);
        assert!(is_canonical(want.as_bytes()));
        assert!(!is_canonical(input.as_bytes()));
    }

    // RFC 8785 §3.2.3: property names sorted by UTF-16 code units, so U+1F600 (a surrogate
    // pair, 0xD83D...) sorts before U+FB33, unlike by code point.
    #[test]
    fn rfc8785_property_sorting() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\
                    \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canonical_text(input), want);
        assert!(is_canonical(want.as_bytes()));
    }

    // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    #[test]
    fn rfc8785_number_samples() {
        let samples: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, want) in samples {
            let x = f64::from_bits(bits);
            let got = to_canonical_vec_of(&x).expect("finite");
            assert_eq!(String::from_utf8(got).expect("UTF-8"), want, "{bits:016x}");
            // Read back from text, the number keeps its bits (bar the sign of zero).
            let parsed: f64 = want.parse().expect("number");
            assert!(parsed == x, "{want}");
        }
        // NaN and the infinities have no JSON form: a Value cannot hold them, and serde_json
        // turns them into null on the way in.
        for bits in [
            0x7fffffffffffffff_u64,
            0x7ff0000000000000,
            0xfff0000000000000,
        ] {
            let x = f64::from_bits(bits);
            assert!(serde_json::Number::from_f64(x).is_none());
            assert_eq!(to_canonical_vec_of(&x).expect("null"), b"null");
        }
    }

    // The cyberphone/json-canonicalization test data that accompanies RFC 8785 (input and
    // expected output of structures.json and unicode.json).
    #[test]
    fn reference_test_data() {
        let structures = r#"{
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ {"e": "yes","E": "no" } ],
  "A": { }
}"#;
        assert_eq!(
            canonical_text(structures),
            r#"{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}}"#
        );
        // No Unicode normalization.
        assert_eq!(
            canonical_text(r#"{"Unnormalized Unicode":"A\u030a"}"#),
            "{\"Unnormalized Unicode\":\"A\u{30a}\"}"
        );
    }

    #[test]
    fn strings_use_only_the_mandatory_escapes() {
        let value = json!("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f} \"\\/<>&\u{2028}\u{fffd}");
        assert_eq!(
            canonical(&value),
            "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\u{7f} \\\"\\\\/<>&\u{2028}\u{fffd}\""
        );
    }

    #[test]
    fn integers_are_written_as_is_within_the_safe_range() {
        let value = json!([
            0,
            -1,
            42,
            9007199254740991_u64,
            -9007199254740991_i64,
            1.0,
            -0.0,
            100.5
        ]);
        assert_eq!(
            canonical(&value),
            "[0,-1,42,9007199254740991,-9007199254740991,1,0,100.5]"
        );
        for unsafe_int in [
            json!(9007199254740992_u64),
            json!(-9007199254740992_i64),
            json!(u64::MAX),
        ] {
            assert!(matches!(
                to_canonical_vec(&json!({"a": [unsafe_int.clone()]})),
                Err(CanonicalError::UnsafeInteger)
            ));
            assert!(matches!(
                to_canonical_vec_of(&json!({"a": unsafe_int})),
                Err(CanonicalError::UnsafeInteger)
            ));
        }
        // Large floats are doubles already and are written exactly.
        assert_eq!(canonical(&json!(1e22)), "1e+22");

        let mut value = json!({"id": 18446744073709551615_u64, "n": [-9007199254740993_i64, 7]});
        stringify_unsafe_integers(&mut value);
        assert_eq!(
            canonical(&value),
            r#"{"id":"18446744073709551615","n":["-9007199254740993",7]}"#
        );
    }

    #[test]
    fn serializable_values_match_their_json_value() {
        #[derive(Serialize)]
        struct Record<'a> {
            seq: u64,
            prev: &'a str,
            values: Vec<f64>,
            tags: std::collections::HashMap<&'a str, &'a str>,
        }
        let record = Record {
            seq: 3,
            prev: "ab",
            values: vec![0.1, 1e21, 1e-7],
            tags: [("z", "1"), ("a", "2"), ("é", "3"), ("B", "4")]
                .into_iter()
                .collect(),
        };
        let bytes = to_canonical_vec_of(&record).expect("canonical");
        assert_eq!(
            String::from_utf8(bytes.clone()).expect("UTF-8"),
            r#"{"prev":"ab","seq":3,"tags":{"B":"4","a":"2","z":"1","é":"3"},"values":[0.1,1e+21,1e-7]}"#
        );
        let value = serde_json::to_value(&record).expect("value");
        assert_eq!(to_canonical_vec(&value).expect("canonical"), bytes);
        assert!(is_canonical(&bytes));

        // Maps with non-string keys have no JSON form.
        let map: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(to_canonical_vec_of(&map).is_err());
    }

    #[test]
    fn is_canonical_rejects_every_other_spelling() {
        let canonical_form = r#"{"a":[1,2.5,"x"],"b":{"c":null}}"#;
        assert!(is_canonical(canonical_form.as_bytes()));
        let others = [
            r#"{"b":{"c":null},"a":[1,2.5,"x"]}"#,
            r#"{"a":[1,2.5,"x"], "b":{"c":null}}"#,
            "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}\n",
            r#"{"a":[1.0,2.5,"x"],"b":{"c":null}}"#,
            r#"{"a":[1,2.50,"x"],"b":{"c":null}}"#,
            r#"{"a":[1,25e-1,"x"],"b":{"c":null}}"#,
            r#"{"a":[1,2.5,"\u0078"],"b":{"c":null}}"#,
            r#"{"a":[1,2.5,"x"],"b":{"c":null},"a":[1,2.5,"x"]}"#,
            r#"{"a":[1,2.5,"x"],"b":{"c":null}"#,
            "",
        ];
        for other in others {
            assert!(!is_canonical(other.as_bytes()), "{other}");
        }
        assert!(is_canonical(b"-0.0000033333333333333333"));
        assert!(!is_canonical(b"-0"));
        assert!(!is_canonical(b"1E+21"));
        assert!(!is_canonical(b"1e21"));
        assert!(!is_canonical(b"9007199254740993"));
        assert!(!is_canonical(b"\"\\u00e9\""));
        assert!(is_canonical("\"\u{e9}\"".as_bytes()));
        assert!(!is_canonical(b"\"\\/\""));
        assert!(!is_canonical(b"\"\\u001F\""));
        assert!(is_canonical(b"\"\\u001f\""));
        assert!(!is_canonical(b"\"\\ud800\""));
        assert!(!is_canonical(b"\"\xff\""));
    }
}
