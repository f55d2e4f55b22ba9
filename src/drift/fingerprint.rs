//! The drift that counts, as a set that can be compared and named by one hash: which
//! resources drifted how, which of their attributes, and a hash of each side's value (a
//! withheld value is only `sensitive`, never hashed: its hash would let anyone test guesses).
//!
//! Remediation re-checks that a fresh scan shows the drift a record holds; notifications tell
//! a change of drift from the same drift seen again. Neither needs the values themselves.

use crate::digest::sha256_hex;
use std::collections::BTreeSet;

use super::{Action, AttrValue, DriftedResource};

/// One counted change: a resource's action and, for an attribute, its path and both sides.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    address: String,
    action: String,
    /// `None` for a resource that drifted as a whole (deleted, or no attribute named).
    path: Option<String>,
    before: String,
    after: String,
}

/// The counted drift of some resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountedDrift {
    entries: BTreeSet<Entry>,
}

impl CountedDrift {
    /// What counts of `resources` (see [`DriftedResource::counts`]).
    pub fn of<'a>(resources: impl IntoIterator<Item = &'a DriftedResource>) -> CountedDrift {
        let mut entries = BTreeSet::new();
        for resource in resources.into_iter().filter(|r| r.counts()) {
            let action = action_name(resource.action);
            let whole = Entry {
                address: resource.address.clone(),
                action: action.clone(),
                path: None,
                before: String::new(),
                after: String::new(),
            };
            if resource.action == Action::Delete || resource.changes.is_empty() {
                entries.insert(whole);
                continue;
            }
            for change in resource.counted_changes() {
                entries.insert(Entry {
                    path: Some(change.path.clone()),
                    before: value_hash(&change.before),
                    after: value_hash(&change.after),
                    ..whole.clone()
                });
            }
        }
        CountedDrift { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The addresses that drifted, sorted.
    pub fn addresses(&self) -> BTreeSet<&str> {
        self.entries.iter().map(|e| e.address.as_str()).collect()
    }

    /// Only the drift of `addresses`.
    pub fn of_addresses(&self, addresses: &BTreeSet<&str>) -> CountedDrift {
        CountedDrift {
            entries: self
                .entries
                .iter()
                .filter(|e| addresses.contains(e.address.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// This drift plus `before`'s of the `unchecked` addresses: a resource the engine could
    /// not check this time keeps the drift it last had, neither resolved nor new.
    pub fn carrying(mut self, before: &CountedDrift, unchecked: &BTreeSet<&str>) -> CountedDrift {
        let checked = self
            .addresses()
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>();
        self.entries.extend(
            before
                .entries
                .iter()
                .filter(|e| unchecked.contains(e.address.as_str()) && !checked.contains(&e.address))
                .cloned(),
        );
        self
    }

    /// `sha256:<hex>` of the whole set: equal sets, equal fingerprints.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                entry.address,
                entry.action,
                entry.path.as_deref().unwrap_or(""),
                entry.before,
                entry.after
            ));
        }
        format!("sha256:{}", sha256_hex(text.as_bytes()))
    }

    /// How `now` differs from `self`, one line per resource: newly drifted, no longer
    /// drifted, or which of its attributes changed (values are never named).
    pub fn differences(&self, now: &CountedDrift) -> Vec<String> {
        let mut lines = Vec::new();
        let addresses: BTreeSet<&str> = self.addresses().union(&now.addresses()).copied().collect();
        for address in addresses {
            let of = |drift: &'_ CountedDrift| -> Vec<Entry> {
                let entries = drift.entries.iter();
                entries.filter(|e| e.address == address).cloned().collect()
            };
            let (was, is) = (of(self), of(now));
            if was == is {
                continue;
            }
            let line = match (was.is_empty(), is.is_empty()) {
                (true, _) => format!("{address}: drifted since"),
                (_, true) => format!("{address}: no longer drifted"),
                _ => {
                    let paths: BTreeSet<String> = was
                        .iter()
                        .filter(|e| !is.contains(e))
                        .chain(is.iter().filter(|e| !was.contains(e)))
                        .map(|e| e.path.clone().unwrap_or_else(|| format!("({})", e.action)))
                        .collect();
                    let paths: Vec<String> = paths.into_iter().collect();
                    format!("{address}: {} changed", paths.join(", "))
                }
            };
            lines.push(line);
        }
        lines
    }
}

fn action_name(action: Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{action:?}"))
}

fn value_hash(value: &AttrValue) -> String {
    match value {
        AttrValue::Known(json) => {
            let bytes = serde_json_canonicalizer::to_vec(json).unwrap_or_default();
            format!("sha256:{}", sha256_hex(&bytes))
        }
        AttrValue::Absent => "absent".to_owned(),
        AttrValue::Sensitive => "sensitive".to_owned(),
        AttrValue::Unknown => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::drift::{AttributeChange, Ignored};

    fn resource(address: &str, changes: &[(&str, AttrValue, AttrValue)]) -> DriftedResource {
        let changes = changes.iter().cloned();
        DriftedResource::test(address, Action::Update, changes)
    }

    fn known(value: serde_json::Value) -> AttrValue {
        AttrValue::Known(value)
    }

    #[test]
    fn the_same_drift_has_the_same_fingerprint_whatever_its_order() {
        let a = resource(
            "aws_x.a",
            &[("tags.env", known(json!("a")), known(json!("b")))],
        );
        let b = resource("aws_x.b", &[("port", known(json!(80)), known(json!(81)))]);
        let one = CountedDrift::of([&a, &b]);
        let other = CountedDrift::of([&b, &a]);
        assert_eq!(one.fingerprint(), other.fingerprint());
        assert!(one.differences(&other).is_empty());
        assert!(one.fingerprint().starts_with("sha256:"));
    }

    #[test]
    fn a_new_value_a_new_attribute_or_a_new_resource_is_a_difference() {
        let before = resource("aws_x.a", &[("port", known(json!(80)), known(json!(81)))]);
        let value = resource("aws_x.a", &[("port", known(json!(80)), known(json!(82)))]);
        let recorded = CountedDrift::of([&before]);
        let now = CountedDrift::of([&value]);
        assert_ne!(recorded.fingerprint(), now.fingerprint());
        assert_eq!(recorded.differences(&now), ["aws_x.a: port changed"]);

        let other = resource("aws_x.b", &[("port", known(json!(1)), known(json!(2)))]);
        let now = CountedDrift::of([&before, &other]);
        assert_eq!(recorded.differences(&now), ["aws_x.b: drifted since"]);
        assert_eq!(now.differences(&recorded), ["aws_x.b: no longer drifted"]);
    }

    #[test]
    fn what_does_not_count_is_not_part_of_it() {
        let counted = resource("aws_x.a", &[("port", known(json!(80)), known(json!(81)))]);
        let mut ignored = resource("aws_x.a", &[("port", known(json!(80)), known(json!(81)))]);
        ignored.changes.push(AttributeChange {
            class: Default::default(),
            path: "tags.LastScanned".into(),
            before: known(json!("mon")),
            after: known(json!("tue")),
            ignored: Some(Ignored {
                rule: ".driftlog.toml:3".into(),
                reason: "the scanner writes it".into(),
                expires: None,
            }),
        });
        assert_eq!(
            CountedDrift::of([&counted]).fingerprint(),
            CountedDrift::of([&ignored]).fingerprint()
        );
        let mut whole = counted.clone();
        whole.ignored = ignored.changes[1].ignored.clone();
        assert!(CountedDrift::of([&whole]).is_empty());
    }

    #[test]
    fn a_withheld_value_is_compared_as_withheld_and_never_hashed() {
        let secret = resource(
            "aws_x.a",
            &[("password", AttrValue::Sensitive, AttrValue::Sensitive)],
        );
        let drift = CountedDrift::of([&secret]);
        let entry = drift.entries.iter().next().expect("one entry");
        assert_eq!(
            (entry.before.as_str(), entry.after.as_str()),
            ("sensitive", "sensitive")
        );
        let known_now = resource(
            "aws_x.a",
            &[("password", AttrValue::Sensitive, known(json!("s3cr3t-now")))],
        );
        let lines = drift.differences(&CountedDrift::of([&known_now]));
        assert_eq!(lines, ["aws_x.a: password changed"]);
        assert!(!lines.concat().contains("s3cr3t"));
    }
}
