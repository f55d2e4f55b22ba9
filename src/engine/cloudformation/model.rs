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
                let side = |doc: &Option<Value>, text: &Option<String>, absent: bool| {
                    if absent {
                        return AttrValue::Absent;
                    }
                    match doc.as_ref().and_then(|doc| at(doc, &segments)) {
                        Some(value) => AttrValue::Known(value.clone()),
                        None => text.as_deref().map_or(AttrValue::Absent, typed),
                    }
                };
                let kind = difference.difference_type.as_str();
                (
                    side(&expected, &difference.expected_value, kind == "ADD"),
                    side(&actual, &difference.actual_value, kind == "REMOVE"),
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
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        changes.dedup_by(|a, b| a.path == b.path);
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
}
