//! Reading terraform's sensitivity masks, failing closed.
//!
//! Terraform's masks (`before_sensitive`, `after_sensitive`) mirror the value they cover:
//! `true` over a sensitive value, an object over an object or map (keys that are not
//! sensitive left out), an array over a list, set or tuple with one entry per element, `false`
//! over a value with nothing sensitive in it. Anything else (a mask that does not fit its
//! value's shape, `null` over a value, a number or string) is not terraform's: the value it
//! covers is withheld whole, never guessed at.

use serde_json::Value;

use super::{child, Segment};

/// What a mask says about the value it covers, at that node only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Nothing at or below this node is sensitive.
    Clear,
    /// The value is withheld whole: marked sensitive, or the mask is malformed here.
    Secret,
    /// A well-formed container mask: each child has its own.
    Descend,
}

/// The verdict of `mask` (`None` when absent) over `value` (`None` when absent or null).
pub(super) fn verdict(mask: Option<&Value>, value: Option<&Value>) -> Verdict {
    match (mask, value) {
        (None | Some(Value::Bool(false)), _) => Verdict::Clear,
        (Some(Value::Bool(true)), _) => Verdict::Secret,
        // Terraform leaves a side's mask out when that side has no value.
        (Some(Value::Null), None) => Verdict::Clear,
        (Some(Value::Object(_)), None | Some(Value::Object(_))) => Verdict::Descend,
        (Some(Value::Array(_)), None) => Verdict::Descend,
        (Some(Value::Array(masks)), Some(Value::Array(items))) if masks.len() == items.len() => {
            Verdict::Descend
        }
        _ => Verdict::Secret,
    }
}

/// Whether showing `value` whole would show anything `mask` withholds: a `true` or a
/// malformed mask anywhere at or below it, even over an element the value does not have.
pub(super) fn hides(mask: Option<&Value>, value: Option<&Value>) -> bool {
    match verdict(mask, value) {
        Verdict::Clear => false,
        Verdict::Secret => true,
        Verdict::Descend => match mask {
            Some(Value::Object(masks)) => masks.iter().any(|(key, mask)| {
                hides(
                    Some(mask),
                    value.and_then(|v| v.get(key)).filter(|v| !v.is_null()),
                )
            }),
            Some(Value::Array(masks)) => masks.iter().enumerate().any(|(index, mask)| {
                hides(
                    Some(mask),
                    value.and_then(|v| v.get(index)).filter(|v| !v.is_null()),
                )
            }),
            _ => true,
        },
    }
}

/// The mask of one child: a `true` mask covers everything beneath it, a malformed one too
/// (the caller withholds the whole node before it descends), `false` nothing.
pub(super) fn child_mask<'a>(mask: Option<&'a Value>, segment: &Segment<'_>) -> Option<&'a Value> {
    match mask {
        Some(Value::Bool(true)) => mask,
        Some(Value::Object(_) | Value::Array(_)) => mask.and_then(|m| child(m, segment)),
        Some(Value::Bool(false)) | None => None,
        Some(_) => mask,
    }
}

/// Every string and number a mask withholds on one side, as text (numbers as JSON prints
/// them): what an identifier or a value shown elsewhere must not be. Booleans are left out:
/// a sensitive flag would otherwise withhold every flag.
pub(super) fn withheld(mask: Option<&Value>, value: Option<&Value>, into: &mut Vec<String>) {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return;
    };
    match verdict(mask, Some(value)) {
        Verdict::Clear => {}
        Verdict::Secret => scalars(value, into),
        Verdict::Descend => match value {
            Value::Object(map) => {
                for (key, item) in map {
                    withheld(child_mask(mask, &Segment::Key(key)), Some(item), into);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    withheld(child_mask(mask, &Segment::Index(index)), Some(item), into);
                }
            }
            _ => scalars(value, into),
        },
    }
}

fn scalars(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Null | Value::Bool(_) => {}
        Value::String(text) => into.push(text.clone()),
        Value::Number(_) => into.push(value.to_string()),
        Value::Array(items) => items.iter().for_each(|item| scalars(item, into)),
        Value::Object(map) => map.values().for_each(|item| scalars(item, into)),
    }
}
