//! Turns terraform's raw drift entries into the redacted drift model.
//!
//! This is the one place that sees raw `before`/`after` values next to their sensitivity
//! masks. A value under a `true` mask on either side is replaced by [`AttrValue::Sensitive`]
//! before it is stored anywhere, so no report, file or log line can carry it.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::path::{self, Segment};
use super::{AttrValue, AttributeChange};

mod mask;
#[cfg(test)]
mod redaction_tests;

/// The five parallel trees terraform gives for one change.
pub struct Sides<'a> {
    pub before: &'a Value,
    pub after: &'a Value,
    pub before_sensitive: &'a Value,
    pub after_sensitive: &'a Value,
    pub after_unknown: &'a Value,
}

/// Lists every leaf attribute that differs, in document order (keys sorted, indices ascending).
pub fn attribute_changes(sides: &Sides<'_>) -> Vec<AttributeChange> {
    let mut differ = Differ {
        segments: Vec::new(),
        changes: Vec::new(),
        secrets: long_secrets(withheld(sides)),
    };
    differ.walk(Node {
        before: present(sides.before),
        after: present(sides.after),
        before_sensitive: Some(sides.before_sensitive),
        after_sensitive: Some(sides.after_sensitive),
        after_unknown: Some(sides.after_unknown),
    });
    differ.changes
}

/// Every value a mask withholds on either side, as text.
fn withheld(sides: &Sides<'_>) -> HashSet<String> {
    let mut found = Vec::new();
    mask::withheld(
        Some(sides.before_sensitive),
        present(sides.before),
        &mut found,
    );
    mask::withheld(
        Some(sides.after_sensitive),
        present(sides.after),
        &mut found,
    );
    found.into_iter().collect()
}

/// The top-level attributes that name a resource in its provider's own records (cloud audit
/// logs): AWS `id`/`arn`, the common `name`, Google's `self_link`.
pub const IDENTIFIER_ATTRIBUTES: [&str; 4] = ["arn", "id", "name", "self_link"];

/// A masked value at least this long (in characters) is withheld wherever else it appears in
/// the resource: inside an unmasked value, a map key or an identifier (an ARN made from a
/// sensitive name). A shorter one only hides an identifier that is exactly it, so a
/// sensitive `"v1"` or `443` does not withhold every other `"v1"` or `443`.
pub const SECRET_SUBSTRING_MIN_CHARS: usize = 8;

/// The resource's identifiers: each of [`IDENTIFIER_ATTRIBUTES`] that is a non-empty string,
/// from the state before the drift, else after it; never one a mask covers on either side
/// (or cannot be read for), nor one that is or holds a value masked anywhere in the
/// resource (a provider's `id` copied from a sensitive `name`). Terraform gives drift entries
/// no identity: classification adds it ([`add_identity`]).
pub fn identifiers(sides: &Sides<'_>) -> BTreeMap<String, String> {
    let secrets = withheld(sides);
    let mut found = BTreeMap::new();
    for key in IDENTIFIER_ATTRIBUTES {
        let segment = Segment::Key(key);
        let candidates = [
            (sides.before, sides.before_sensitive),
            (sides.after, sides.after_sensitive),
        ];
        let masked = candidates.iter().any(|(values, mask)| {
            let value = present(values)
                .and_then(|v| child(v, &segment))
                .and_then(present);
            mask::hides(mask::child_mask(Some(mask), &segment), value)
        });
        if masked {
            continue;
        }
        let value = candidates
            .iter()
            .find_map(|(values, _)| match values.get(key) {
                Some(Value::String(text)) if !text.is_empty() => Some(text),
                _ => None,
            });
        if let Some(value) = value.filter(|text| !names_secret(text, &secrets)) {
            found.insert(key.to_owned(), value.clone());
        }
    }
    found
}

/// Adds each non-empty string of a resource identity (Terraform 1.12+) as `identity.<key>`,
/// and drops every identifier (added or already there) that is or holds a value masked in
/// any of `sides` (the resource's drift entry, its planned change). Identity schemas have no
/// sensitive attributes, but their values can be copied from sensitive ones.
pub fn add_identity(identity: &Value, sides: &[Sides<'_>], into: &mut BTreeMap<String, String>) {
    if let Some(identity) = identity.as_object() {
        for (key, value) in identity {
            if let Some(text) = value.as_str().filter(|text| !text.is_empty()) {
                into.insert(format!("identity.{key}"), text.to_owned());
            }
        }
    }
    let secrets: HashSet<String> = sides.iter().flat_map(withheld).collect();
    into.retain(|_, text| !names_secret(text, &secrets));
}

/// Whether `value` holds one of `long_secrets` (all of [`SECRET_SUBSTRING_MIN_CHARS`] or
/// more) in a string, a number or a key.
fn holds_secret(value: &Value, long_secrets: &[String]) -> bool {
    match value {
        Value::String(text) => within(text, long_secrets),
        Value::Number(number) => within(&number.to_string(), long_secrets),
        Value::Array(items) => items.iter().any(|item| holds_secret(item, long_secrets)),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| within(key, long_secrets) || holds_secret(item, long_secrets)),
        Value::Null | Value::Bool(_) => false,
    }
}

fn within(text: &str, long_secrets: &[String]) -> bool {
    long_secrets
        .iter()
        .any(|secret| text.contains(secret.as_str()))
}

/// The masked values long enough to be withheld wherever they appear.
fn long_secrets(secrets: HashSet<String>) -> Vec<String> {
    secrets
        .into_iter()
        .filter(|secret| secret.chars().count() >= SECRET_SUBSTRING_MIN_CHARS)
        .collect()
}

/// Whether `text` is a withheld value, or holds one long enough to be a secret of its own.
fn names_secret(text: &str, secrets: &HashSet<String>) -> bool {
    secrets.contains(text)
        || secrets.iter().any(|secret| {
            secret.chars().count() >= SECRET_SUBSTRING_MIN_CHARS && text.contains(secret.as_str())
        })
}

/// What a normal plan's change of a resource would do to one of its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Management {
    /// Apply would give it another value than it has now: the configuration's.
    SetBack,
    /// Apply would keep the real value.
    LeftAlone,
    /// The value is known only after apply: the provider recomputes it.
    Recomputed,
}

/// The `before`/`after`/`after_unknown` trees of a planned change (`resource_changes[]`):
/// `before` is the refreshed, real object, `after` what apply would make of it.
pub struct Planned<'a> {
    pub before: &'a Value,
    pub after: &'a Value,
    pub after_unknown: &'a Value,
}

/// What apply would do to the attribute at `path`. Raw values are only compared here,
/// never kept.
pub fn management(planned: &Planned<'_>, path: &[Segment<'_>]) -> Management {
    let mut unknown = Some(planned.after_unknown);
    for segment in path {
        if is_set(unknown) {
            break;
        }
        unknown = unknown.and_then(|mask| child(mask, segment));
    }
    if is_set(unknown) {
        return Management::Recomputed;
    }
    if lookup(planned.before, path) == lookup(planned.after, path) {
        Management::LeftAlone
    } else {
        Management::SetBack
    }
}

/// The value at `path`, with null the same as missing (terraform does not tell them apart).
fn lookup<'v>(root: &'v Value, path: &[Segment<'_>]) -> Option<&'v Value> {
    path.iter()
        .try_fold(root, |value, segment| child(value, segment))
        .and_then(present)
}

/// Terraform does not distinguish a null attribute from a missing one.
fn present(value: &Value) -> Option<&Value> {
    (!value.is_null()).then_some(value)
}

#[derive(Clone, Copy)]
struct Node<'a> {
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    before_sensitive: Option<&'a Value>,
    after_sensitive: Option<&'a Value>,
    after_unknown: Option<&'a Value>,
}

impl<'a> Node<'a> {
    fn child(&self, segment: &Segment<'_>) -> Node<'a> {
        Node {
            before: self
                .before
                .and_then(|v| child(v, segment))
                .and_then(present),
            after: self.after.and_then(|v| child(v, segment)).and_then(present),
            before_sensitive: mask::child_mask(self.before_sensitive, segment),
            after_sensitive: mask::child_mask(self.after_sensitive, segment),
            after_unknown: unknown_child(self.after_unknown, segment),
        }
    }

    /// Whether either side's mask withholds this node whole (marked, or malformed here).
    fn withheld(&self) -> bool {
        mask::verdict(self.before_sensitive, self.before) == mask::Verdict::Secret
            || mask::verdict(self.after_sensitive, self.after) == mask::Verdict::Secret
    }

    /// Whether showing either side whole would show something a mask withholds.
    fn hides(&self) -> bool {
        mask::hides(self.before_sensitive, self.before)
            || mask::hides(self.after_sensitive, self.after)
    }
}

fn child<'a>(value: &'a Value, segment: &Segment<'_>) -> Option<&'a Value> {
    match (value, segment) {
        (Value::Object(map), Segment::Key(key)) => map.get(*key),
        (Value::Array(items), Segment::Index(index)) => items.get(*index),
        _ => None,
    }
}

/// A `true` unknown mask covers everything beneath it; anything else descends structurally.
fn unknown_child<'a>(mask: Option<&'a Value>, segment: &Segment<'_>) -> Option<&'a Value> {
    match mask {
        Some(Value::Bool(true)) => mask,
        Some(mask) => child(mask, segment),
        None => None,
    }
}

fn is_set(mask: Option<&Value>) -> bool {
    matches!(mask, Some(Value::Bool(true)))
}

struct Differ<'a> {
    segments: Vec<Segment<'a>>,
    changes: Vec<AttributeChange>,
    /// The masked values withheld wherever else they appear ([`long_secrets`]).
    secrets: Vec<String>,
}

impl<'a> Differ<'a> {
    fn walk(&mut self, node: Node<'a>) {
        if node.before == node.after && !is_set(node.after_unknown) {
            return;
        }
        let below_root = !self.segments.is_empty();
        if node.withheld() || (below_root && key_withheld(&node, &self.secrets)) {
            return self.push_withheld(&node);
        }
        if is_set(node.after_unknown) {
            let before = if node.hides() || self.reveals(node.before) {
                redacted(node.before)
            } else {
                known(node.before)
            };
            self.push(before, AttrValue::Unknown);
            return;
        }
        let changes_before = self.changes.len();
        match (node.before, node.after) {
            (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None)
            | (Some(Value::Array(_)) | None, Some(Value::Array(_)) | None) => {
                for segment in child_segments(node.before, node.after) {
                    self.segments.push(segment.clone());
                    self.walk(node.child(&segment));
                    self.segments.pop();
                }
            }
            _ => {}
        }
        // Scalars, type changes and containers whose difference has no leaf (`{}` vs null):
        // shown whole, so withheld whole if a mask marks anything anywhere in either side.
        if self.changes.len() == changes_before {
            if node.hides() || self.reveals(node.before) || self.reveals(node.after) {
                return self.push_withheld(&node);
            }
            self.push(known(node.before), known(node.after));
        }
    }

    /// Whether a value shown whole would show a withheld value outside its mask (a
    /// provider's `id` copied from a sensitive `name`).
    fn reveals(&self, value: Option<&Value>) -> bool {
        !self.secrets.is_empty() && value.is_some_and(|value| holds_secret(value, &self.secrets))
    }

    /// Both sides are withheld: a value that is secret on one side is a secret.
    fn push_withheld(&mut self, node: &Node<'_>) {
        let after = if is_set(node.after_unknown) {
            AttrValue::Unknown
        } else {
            redacted(node.after)
        };
        self.push(redacted(node.before), after);
    }

    fn push(&mut self, before: AttrValue, after: AttrValue) {
        self.changes.push(AttributeChange {
            path: path::render(&self.segments),
            before,
            after,
            class: super::DriftClass::Managed,
            ignored: None,
        });
    }
}

/// Whether a key of this node (a map's, below the root's attribute names) is a value a mask
/// withholds: it would name that value in a path. Terraform withholds a map with a
/// sensitive key whole; so does this.
fn key_withheld(node: &Node<'_>, long_secrets: &[String]) -> bool {
    [node.before, node.after]
        .into_iter()
        .any(|value| match value {
            Some(Value::Object(map)) => map.keys().any(|key| within(key, long_secrets)),
            _ => false,
        })
}

fn redacted(value: Option<&Value>) -> AttrValue {
    match value {
        Some(_) => AttrValue::Sensitive,
        None => AttrValue::Absent,
    }
}

fn known(value: Option<&Value>) -> AttrValue {
    value.map_or(AttrValue::Absent, |v| AttrValue::Known(v.clone()))
}

/// The union of both sides' keys (sorted) or indices (ascending).
fn child_segments<'a>(before: Option<&'a Value>, after: Option<&'a Value>) -> Vec<Segment<'a>> {
    let mut keys: Vec<&'a str> = Vec::new();
    let mut len = 0;
    for value in [before, after].into_iter().flatten() {
        match value {
            Value::Object(map) => keys.extend(map.keys().map(String::as_str)),
            Value::Array(items) => len = len.max(items.len()),
            _ => {}
        }
    }
    if keys.is_empty() {
        (0..len).map(Segment::Index).collect()
    } else {
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter().map(Segment::Key).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(
        before: Value,
        after: Value,
        bs: Value,
        a_s: Value,
    ) -> Vec<(String, AttrValue, AttrValue)> {
        attribute_changes(&Sides {
            before: &before,
            after: &after,
            before_sensitive: &bs,
            after_sensitive: &a_s,
            after_unknown: &json!({}),
        })
        .into_iter()
        .map(|c| (c.path, c.before, c.after))
        .collect()
    }

    fn k(v: Value) -> AttrValue {
        AttrValue::Known(v)
    }

    #[test]
    fn unchanged_attributes_are_not_listed() {
        let v = json!({"name": "a", "tags": {"env": "prod"}, "rule": [{"port": 1}]});
        assert!(changes(v.clone(), v, json!({}), json!({})).is_empty());
    }

    #[test]
    fn nested_lists_and_maps_yield_leaf_paths() {
        let before = json!({"tags": {"env": "prod", "team": "a"}, "rule": [{"port": 22, "cidr_blocks": ["10.0.0.0/8", "10.0.0.0/16"]}]});
        let after = json!({"tags": {"env": "dev", "team": "a", "new key": "x"}, "rule": [{"port": 22, "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"]}]});
        assert_eq!(
            changes(before, after, json!({}), json!({})),
            vec![
                (
                    "rule[0].cidr_blocks[1]".into(),
                    k(json!("10.0.0.0/16")),
                    k(json!("0.0.0.0/0"))
                ),
                ("tags.env".into(), k(json!("prod")), k(json!("dev"))),
                (
                    r#"tags["new key"]"#.into(),
                    AttrValue::Absent,
                    k(json!("x"))
                ),
            ]
        );
    }

    #[test]
    fn list_growth_and_shrink_show_absent_elements() {
        let got = changes(
            json!({"l": [1, 2, 3]}),
            json!({"l": [1]}),
            json!({}),
            json!({}),
        );
        assert_eq!(
            got,
            vec![
                ("l[1]".into(), k(json!(2)), AttrValue::Absent),
                ("l[2]".into(), k(json!(3)), AttrValue::Absent),
            ]
        );
    }

    #[test]
    fn deleted_resource_lists_its_former_attributes_and_skips_nulls() {
        let got = changes(
            json!({"id": "x", "description": null, "tags": {}}),
            json!(null),
            json!({}),
            json!(false),
        );
        assert_eq!(
            got,
            vec![
                ("id".into(), k(json!("x")), AttrValue::Absent),
                ("tags".into(), k(json!({})), AttrValue::Absent)
            ]
        );
    }

    #[test]
    fn sensitive_values_are_redacted_on_both_sides() {
        let got = changes(
            json!({"secret": "old-secret", "name": "n"}),
            json!({"secret": "new-secret", "name": "n"}),
            json!({"secret": true}),
            json!({"secret": true}),
        );
        assert_eq!(
            got,
            vec![("secret".into(), AttrValue::Sensitive, AttrValue::Sensitive)]
        );
        let text = format!("{got:?}");
        assert!(!text.contains("old-secret") && !text.contains("new-secret"));
    }

    #[test]
    fn a_sensitive_container_is_reported_whole_without_its_keys() {
        let got = changes(
            json!({"creds": {"user": "u", "password": "p1"}}),
            json!({"creds": {"user": "u", "password": "p2"}}),
            json!({"creds": true}),
            json!({"creds": true}),
        );
        assert_eq!(
            got,
            vec![("creds".into(), AttrValue::Sensitive, AttrValue::Sensitive)]
        );
    }

    #[test]
    fn unchanged_sensitive_value_is_not_listed() {
        let v = json!({"secret": "same"});
        assert!(changes(
            v.clone(),
            v,
            json!({"secret": true}),
            json!({"secret": true})
        )
        .is_empty());
    }

    #[test]
    fn unknown_after_values_are_marked_unknown() {
        let got = attribute_changes(&Sides {
            before: &json!({"arn": "a"}),
            after: &json!({}),
            before_sensitive: &json!({}),
            after_sensitive: &json!({}),
            after_unknown: &json!({"arn": true}),
        });
        assert_eq!(got[0].after, AttrValue::Unknown);
        assert_eq!(got[0].before, k(json!("a")));
    }

    #[test]
    fn type_change_and_empty_container_differences_are_reported() {
        let got = changes(
            json!({"a": {}, "b": "1"}),
            json!({"a": null, "b": 1}),
            json!({}),
            json!({}),
        );
        assert_eq!(
            got,
            vec![
                ("a".into(), k(json!({})), AttrValue::Absent),
                ("b".into(), k(json!("1")), k(json!(1)))
            ]
        );
    }
}

#[cfg(test)]
mod management_tests {
    use super::*;
    use serde_json::json;

    fn verdict(before: Value, after: Value, unknown: Value, path: &[Segment<'_>]) -> Management {
        management(
            &Planned {
                before: &before,
                after: &after,
                after_unknown: &unknown,
            },
            path,
        )
    }

    #[test]
    fn apply_setting_a_value_back_leaving_it_or_recomputing_it() {
        use Segment::{Index, Key};
        let real = json!({"tags": {"env": "staging"}, "status": "stopped", "rule": [{"port": 22}], "d": "x"});
        let planned = json!({"tags": {"env": "prod"}, "status": "stopped", "rule": [{"port": 22}], "d": null});
        let unknown = json!({"revision": true, "rule": [{}], "tags": {}});
        let at =
            |path: &[Segment<'_>]| verdict(real.clone(), planned.clone(), unknown.clone(), path);
        assert_eq!(at(&[Key("tags"), Key("env")]), Management::SetBack);
        assert_eq!(at(&[Key("status")]), Management::LeftAlone);
        assert_eq!(
            at(&[Key("rule"), Index(0), Key("port")]),
            Management::LeftAlone
        );
        assert_eq!(at(&[Key("revision")]), Management::Recomputed);
        assert_eq!(
            at(&[Key("d")]),
            Management::SetBack,
            "the configuration unsets it"
        );
        let whole = verdict(
            real.clone(),
            planned,
            json!({"tags": true}),
            &[Key("tags"), Key("env")],
        );
        assert_eq!(
            whole,
            Management::Recomputed,
            "an unknown container covers its leaves"
        );
    }

    #[test]
    fn identity_strings_become_identifiers() {
        let mut found = std::collections::BTreeMap::from([("id".to_owned(), "b-1".to_owned())]);
        add_identity(
            &json!({"bucket": "logs", "region": "eu-west-1", "count": 3, "empty": ""}),
            &[],
            &mut found,
        );
        let keys: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "identity.bucket", "identity.region"]);
    }
}
