//! CloudFormation's drift results in driftlog's model: the logical id is the address, each
//! property difference an attribute change (expected before, actual after), values typed
//! from the resource's property documents, and anything the template feeds from a secret
//! sensitive on both sides. All CloudFormation drift is managed: it compares only what the
//! template sets.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::drift::path::{self, Segment};
use crate::drift::{
    Action, AttrValue, AttributeChange, DriftClass, DriftedResource, NotChecked, PLACE_ONLY,
};

use super::output::{ResourceDrift, ResourceSummary};
use super::template::{parse_property_path, PathSegment, Template};

/// What the engine writes as the resources' provider.
pub const PROVIDER: &str = "cloudformation";

/// Longest `DriftStatusReason` kept (AWS's words, shown as they are).
const MAX_REASON_CHARS: usize = 500;

/// How one drift result reads.
pub enum Drift {
    InSync,
    Drifted(Box<DriftedResource>),
    NotChecked(NotChecked),
}

/// One `StackResourceDrift` in the model. `template` is `None` when it could not be read:
/// then every value is withheld, since nothing says which are secret.
pub fn drift(result: &ResourceDrift, template: Option<&Template>, stack_id: &str) -> Drift {
    let action = match result.stack_resource_drift_status.as_str() {
        "IN_SYNC" => return Drift::InSync,
        "MODIFIED" => Action::Update,
        "DELETED" => Action::Delete,
        status => {
            return Drift::NotChecked(not_checked(
                &result.logical_resource_id,
                &result.resource_type,
                status,
                result.drift_status_reason.as_deref(),
            ))
        }
    };
    let id = &result.logical_resource_id;
    let expected = properties(result.expected_properties.as_deref());
    let actual = properties(result.actual_properties.as_deref());
    let mut changes: Vec<AttributeChange> = Vec::new();
    if action == Action::Update {
        for difference in &result.property_differences {
            let segments = parse_property_path(&difference.property_path);
            let sensitive = template.is_none_or(|t| t.is_sensitive(id, &segments));
            let (before, after) = if sensitive {
                (AttrValue::Sensitive, AttrValue::Sensitive)
            } else {
                let kind = difference.difference_type.as_str();
                (
                    side(
                        expected.as_ref(),
                        &segments,
                        difference.expected_value.as_deref(),
                        kind == "ADD",
                    ),
                    side(
                        actual.as_ref(),
                        &segments,
                        difference.actual_value.as_deref(),
                        kind == "REMOVE",
                    ),
                )
            };
            changes.push(AttributeChange {
                path: render(&segments),
                before,
                after,
                class: DriftClass::Managed,
                ignored: None,
            });
        }
        changes = merge_same_paths(changes);
    }
    let mut identifiers = BTreeMap::new();
    if let Some(physical) = result
        .physical_resource_id
        .as_ref()
        .filter(|p| !p.is_empty())
    {
        let key = if physical.starts_with("arn:") {
            "arn"
        } else {
            "id"
        };
        identifiers.insert(key.to_owned(), physical.clone());
    }
    for pair in &result.physical_resource_id_context {
        identifiers.insert(format!("context.{}", pair.key), pair.value.clone());
    }
    // The stack's ARN places bare ids in its account and region for CloudTrail. It is not
    // matched: every operation on the stack names it, driftlog's own detections among them.
    if !stack_id.is_empty() {
        identifiers.insert(format!("{PLACE_ONLY}stack_id"), stack_id.to_owned());
    }
    let module_address = result
        .module_info
        .as_ref()
        .and_then(|m| m.logical_id_hierarchy.clone())
        .filter(|h| !h.is_empty());
    Drift::Drifted(Box::new(DriftedResource {
        address: id.clone(),
        module_address,
        mode: "managed".to_owned(),
        resource_type: result.resource_type.clone(),
        name: id.clone(),
        index: None,
        provider: PROVIDER.to_owned(),
        action,
        previous_address: None,
        class: DriftClass::Managed,
        changes,
        identifiers,
        ignored: None,
    }))
}

/// A resource `ListStackResources` shows that the drift results do not cover.
pub fn unlisted(summary: &ResourceSummary) -> NotChecked {
    let status = summary
        .drift_information
        .as_ref()
        .map_or("NOT_CHECKED", |d| d.stack_resource_drift_status.as_str());
    not_checked(
        &summary.logical_resource_id,
        &summary.resource_type,
        status,
        None,
    )
}

fn not_checked(id: &str, resource_type: &str, status: &str, reason: Option<&str>) -> NotChecked {
    NotChecked {
        address: id.to_owned(),
        resource_type: resource_type.to_owned(),
        status: one_line(status, 40),
        reason: reason
            .map(|r| one_line(r, MAX_REASON_CHARS))
            .filter(|r| !r.is_empty()),
    }
}

/// CloudFormation's words as one line, bounded: control characters become spaces.
pub(super) fn one_line(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// One side of a difference. The property document types the value, but only where it holds
/// the value the difference names: CloudFormation compares some lists (tags, rules) as sets,
/// so after a reorder `/Tags/1` of one document need not be the element the difference is
/// about. Then the difference's own text is the value.
fn side(
    doc: Option<&Value>,
    segments: &[PathSegment],
    text: Option<&str>,
    absent: bool,
) -> AttrValue {
    if absent {
        return AttrValue::Absent;
    }
    let found = doc.and_then(|doc| at(doc, segments));
    match (found, text) {
        (Some(value), Some(text)) if agrees(value, text) => AttrValue::Known(value.clone()),
        (Some(value), None) => AttrValue::Known(value.clone()),
        (found, Some(text)) => typed_like(text, found),
        (None, None) => AttrValue::Absent,
    }
}

/// Whether `text`, as a difference writes values (a string as itself, anything else as
/// JSON), is `value`.
fn agrees(value: &Value, text: &str) -> bool {
    match value {
        Value::String(string) => string == text,
        _ => serde_json::from_str::<Value>(text).is_ok_and(|parsed| &parsed == value),
    }
}

/// Changes with one path (the same `PropertyPath` twice, or paths that render alike:
/// `/Tags/0` and `/Tags/00`) made one, never silently dropped. CloudFormation reports a set
/// member replaced as a REMOVE and an ADD at one path: together, before and after. Where
/// they say different things of one side, each stays a change of its own; a sensitive one
/// makes them all one sensitive change, so that no value of it shows beside another.
fn merge_same_paths(mut changes: Vec<AttributeChange>) -> Vec<AttributeChange> {
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let mut merged: Vec<AttributeChange> = Vec::with_capacity(changes.len());
    let mut rest = changes.as_slice();
    while let Some(first) = rest.first() {
        let same = rest.iter().take_while(|c| c.path == first.path).count();
        let (group, after) = rest.split_at(same);
        rest = after;
        merged.extend(merge_group(group));
    }
    merged
}

fn merge_group(group: &[AttributeChange]) -> Vec<AttributeChange> {
    let [first, ..] = group else {
        return Vec::new();
    };
    if group.len() == 1 {
        return group.to_vec();
    }
    let change = |before: AttrValue, after: AttrValue| AttributeChange {
        path: first.path.clone(),
        before,
        after,
        class: DriftClass::Managed,
        ignored: None,
    };
    if group.iter().any(AttributeChange::is_sensitive) {
        return vec![change(AttrValue::Sensitive, AttrValue::Sensitive)];
    }
    let distinct = |side: fn(&AttributeChange) -> &AttrValue| {
        let mut values: Vec<&AttrValue> = Vec::new();
        for value in group.iter().map(side).filter(|v| **v != AttrValue::Absent) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        values
    };
    let (befores, afters) = (distinct(|c| &c.before), distinct(|c| &c.after));
    if befores.len() <= 1 && afters.len() <= 1 {
        let one =
            |values: &[&AttrValue]| values.first().map_or(AttrValue::Absent, |v| (*v).clone());
        return vec![change(one(&befores), one(&afters))];
    }
    let mut kept: Vec<AttributeChange> = Vec::new();
    for candidate in group {
        if !kept.contains(candidate) {
            kept.push(candidate.clone());
        }
    }
    kept
}

fn properties(text: Option<&str>) -> Option<Value> {
    serde_json::from_str(text?).ok()
}

fn at<'a>(doc: &'a Value, segments: &[PathSegment]) -> Option<&'a Value> {
    segments
        .iter()
        .try_fold(doc, |value, segment| match segment {
            PathSegment::Key(key) => value.as_object()?.get(key),
            PathSegment::Index(index) => value.as_array()?.get(*index),
        })
}

/// A difference's text typed like `hint` (the document's value at its path, which was not
/// this one): a number, boolean or null where the document has one there and the text is
/// one too; else as [`typed`].
fn typed_like(text: &str, hint: Option<&Value>) -> AttrValue {
    let same_kind = |a: &Value, b: &Value| {
        matches!(
            (a, b),
            (Value::Number(_), Value::Number(_))
                | (Value::Bool(_), Value::Bool(_))
                | (Value::Null, Value::Null)
        )
    };
    if let Some(hint) = hint {
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            if same_kind(hint, &parsed) {
                return AttrValue::Known(parsed);
            }
        }
    }
    typed(text)
}

/// A difference's value as text: a JSON document where it is one (`{…}`, `[…]`), else the
/// text itself.
fn typed(text: &str) -> AttrValue {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return AttrValue::Known(value);
        }
    }
    AttrValue::Known(Value::String(text.to_owned()))
}

/// `/Tags/0/Value` as reports write paths: `Tags[0].Value`.
pub fn render(segments: &[PathSegment]) -> String {
    let segments: Vec<Segment<'_>> = segments
        .iter()
        .map(|segment| match segment {
            PathSegment::Key(key) => Segment::Key(key),
            PathSegment::Index(index) => Segment::Index(*index),
        })
        .collect();
    path::render(&segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cloudformation::output::{KeyValue, PropertyDifference};
    use serde_json::json;

    fn modified(differences: Vec<(&str, &str, &str, &str)>) -> ResourceDrift {
        ResourceDrift {
            logical_resource_id: "WebSg".into(),
            physical_resource_id: Some("sg-0abc".into()),
            physical_resource_id_context: vec![KeyValue {
                key: "VpcId".into(),
                value: "vpc-1".into(),
            }],
            resource_type: "AWS::EC2::SecurityGroup".into(),
            expected_properties: Some(
                json!({"GroupDescription": "web", "Tags": [{"Key": "env", "Value": "prod"}],
                       "Port": 80})
                .to_string(),
            ),
            actual_properties: Some(
                json!({"GroupDescription": "web", "Tags": [{"Key": "env", "Value": "dev"},
                       {"Key": "x", "Value": "y"}], "Port": 8080})
                .to_string(),
            ),
            property_differences: differences
                .into_iter()
                .map(|(path, expected, actual, kind)| PropertyDifference {
                    property_path: path.into(),
                    expected_value: Some(expected.into()),
                    actual_value: Some(actual.into()),
                    difference_type: kind.into(),
                })
                .collect(),
            stack_resource_drift_status: "MODIFIED".into(),
            module_info: None,
            drift_status_reason: None,
        }
    }

    fn drifted(drift: Drift) -> DriftedResource {
        match drift {
            Drift::Drifted(resource) => *resource,
            _ => panic!("not drifted"),
        }
    }

    #[test]
    fn differences_become_changes_typed_from_the_property_documents() {
        let result = modified(vec![
            ("/Tags/0/Value", "prod", "dev", "NOT_EQUAL"),
            ("/Port", "80", "8080", "NOT_EQUAL"),
            ("/Tags/1", "null", "{\"Key\":\"x\",\"Value\":\"y\"}", "ADD"),
        ]);
        let template = Template::from_cli(&json!({"Resources": {"WebSg": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "web", "Port": 80,
                           "Tags": [{"Key": "env", "Value": "prod"}]}
        }}}))
        .expect("a template");
        let resource = drifted(drift(&result, Some(&template), "arn:s"));
        assert_eq!(resource.address, "WebSg");
        assert_eq!(resource.action, Action::Update);
        let paths: Vec<&str> = resource.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["Port", "Tags[0].Value", "Tags[1]"]);
        assert_eq!(resource.changes[0].before, AttrValue::Known(json!(80)));
        assert_eq!(resource.changes[0].after, AttrValue::Known(json!(8080)));
        assert_eq!(resource.changes[2].before, AttrValue::Absent);
        assert_eq!(
            resource.changes[2].after,
            AttrValue::Known(json!({"Key": "x", "Value": "y"}))
        );
        assert_eq!(resource.identifiers["id"], "sg-0abc");
        assert_eq!(resource.identifiers["context.VpcId"], "vpc-1");
        assert_eq!(resource.identifiers["place.stack_id"], "arn:s");
    }

    #[test]
    fn without_a_template_every_value_is_withheld() {
        let result = modified(vec![("/Port", "80", "8080", "NOT_EQUAL")]);
        let resource = drifted(drift(&result, None, ""));
        assert!(resource.changes.iter().all(AttributeChange::is_sensitive));
        let text = serde_json::to_string(&resource).expect("serializes");
        assert!(!text.contains("8080"), "{text}");
    }

    #[test]
    fn a_resource_the_template_does_not_declare_is_withheld() {
        // The template changed between get-template and detection.
        let result = modified(vec![("/Port", "80", "8080", "NOT_EQUAL")]);
        let template = Template::from_cli(&json!({"Resources": {"Other": {}}})).expect("read");
        let resource = drifted(drift(&result, Some(&template), ""));
        assert_eq!(resource.changes.len(), 1);
        assert!(resource.changes.iter().all(AttributeChange::is_sensitive));
        let text = serde_json::to_string(&resource).expect("serializes");
        assert!(!text.contains("8080"), "{text}");
    }

    #[test]
    fn deleted_and_unknown_resources() {
        let mut result = modified(vec![]);
        result.stack_resource_drift_status = "DELETED".into();
        result.actual_properties = None;
        assert_eq!(drifted(drift(&result, None, "")).action, Action::Delete);
        result.stack_resource_drift_status = "UNKNOWN".into();
        result.drift_status_reason = Some("Rate exceeded\u{7}".into());
        match drift(&result, None, "") {
            Drift::NotChecked(n) => {
                assert_eq!(n.status, "UNKNOWN");
                assert_eq!(n.reason.as_deref(), Some("Rate exceeded"));
            }
            _ => panic!("an unknown resource is not checked"),
        }
    }

    fn with_documents(result: ResourceDrift, expected: Value, actual: Value) -> ResourceDrift {
        ResourceDrift {
            expected_properties: Some(expected.to_string()),
            actual_properties: Some(actual.to_string()),
            ..result
        }
    }

    /// A template declaring the resource, with nothing secret (a resource it does not
    /// declare is withheld whole).
    fn no_secrets() -> Template {
        let template = json!({"Resources": {"WebSg": {"Type": "AWS::EC2::SecurityGroup"}}});
        Template::from_cli(&template).expect("a template")
    }

    #[test]
    fn a_reordered_list_takes_the_values_the_difference_names() {
        // Tags compared as a set: `/Tags/1` is the actual document's element 1, the
        // expected document's element 0.
        let result = with_documents(
            modified(vec![
                ("/Tags/1/Value", "prod", "dev", "NOT_EQUAL"),
                ("/Rules/1/Port", "80", "8080", "NOT_EQUAL"),
            ]),
            json!({"Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}],
                   "Rules": [{"Port": 80}, {"Port": 443}]}),
            json!({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}],
                   "Rules": [{"Port": 443}, {"Port": 8080}]}),
        );
        let resource = drifted(drift(&result, Some(&no_secrets()), ""));
        let rules = &resource.changes[0];
        assert_eq!(rules.path, "Rules[1].Port");
        // Typed like the document's value there, a number, though not read from it.
        assert_eq!(rules.before, AttrValue::Known(json!(80)));
        assert_eq!(rules.after, AttrValue::Known(json!(8080)));
        let tags = &resource.changes[1];
        assert_eq!(tags.path, "Tags[1].Value");
        assert_eq!(tags.before, AttrValue::Known(json!("prod")));
        assert_eq!(tags.after, AttrValue::Known(json!("dev")));
    }

    #[test]
    fn differences_at_one_path_are_merged_or_kept_never_dropped() {
        let ingress_a = json!({"CidrIp": "10.0.0.0/8", "FromPort": 22});
        let ingress_b = json!({"CidrIp": "0.0.0.0/0", "FromPort": 22});
        // A set member replaced: REMOVE and ADD at one path are one change.
        let replaced = with_documents(
            modified(vec![
                ("/Ingress/0", &ingress_a.to_string(), "null", "REMOVE"),
                ("/Ingress/0", "null", &ingress_b.to_string(), "ADD"),
            ]),
            json!({"Ingress": [ingress_a.clone()]}),
            json!({"Ingress": [ingress_b.clone()]}),
        );
        let resource = drifted(drift(&replaced, Some(&no_secrets()), ""));
        assert_eq!(resource.changes.len(), 1, "{:?}", resource.changes);
        assert_eq!(resource.changes[0].path, "Ingress[0]");
        assert_eq!(resource.changes[0].before, AttrValue::Known(ingress_a));
        assert_eq!(resource.changes[0].after, AttrValue::Known(ingress_b));

        // `/Port` and `/Port/` are one attribute: saying two things of it, both stay.
        let result = modified(vec![
            ("/Port", "80", "8080", "NOT_EQUAL"),
            ("/Port/", "80", "9090", "NOT_EQUAL"),
        ]);
        let resource = drifted(drift(&result, Some(&no_secrets()), ""));
        let afters: Vec<&AttrValue> = resource.changes.iter().map(|c| &c.after).collect();
        assert_eq!(
            afters,
            [
                &AttrValue::Known(json!(8080)),
                &AttrValue::Known(json!(9090))
            ]
        );
        // The same thing twice is said once.
        let twice = modified(vec![
            ("/Port", "80", "8080", "NOT_EQUAL"),
            ("/Port", "80", "8080", "NOT_EQUAL"),
        ]);
        assert_eq!(
            drifted(drift(&twice, Some(&no_secrets()), ""))
                .changes
                .len(),
            1
        );
        // Withheld ones are one withheld change.
        let resource = drifted(drift(&result, None, ""));
        assert_eq!(resource.changes.len(), 1);
        assert!(resource.changes[0].is_sensitive());
    }
}
