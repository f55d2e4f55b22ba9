//! Expected against actual properties, as CloudFormation's PropertyDifferences report them.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DifferenceType {
    /// In the actual properties, not in the template.
    Add,
    /// In the template, gone from the actual properties.
    Remove,
    NotEqual,
}

impl DifferenceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "ADD",
            Self::Remove => "REMOVE",
            Self::NotEqual => "NOT_EQUAL",
        }
    }
}

/// One PropertyDifference. The values are CloudFormation's strings: a JSON string as itself,
/// anything else as compact JSON; a side that has no value reads `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDifference {
    pub path: String,
    pub expected: String,
    pub actual: String,
    pub kind: DifferenceType,
}

/// The differences between a resource's template properties and its real ones. Only properties
/// the template sets are compared (CloudFormation ignores the rest), so extra top-level keys in
/// `actual` are not differences; inside a compared property every key and array element counts.
/// Arrays are compared element by element.
pub fn property_differences(expected: &Value, actual: &Value) -> Vec<PropertyDifference> {
    let mut out = Vec::new();
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, expected_value) in expected {
                compare_member(
                    &mut out,
                    &format!("/{key}"),
                    Some(expected_value),
                    actual.get(key),
                );
            }
        }
        _ => compare(&mut out, "", expected, actual),
    }
    out
}

fn compare(out: &mut Vec<PropertyDifference>, path: &str, expected: &Value, actual: &Value) {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            compare_objects(out, path, expected, actual)
        }
        (Value::Array(expected), Value::Array(actual)) => {
            for index in 0..expected.len().max(actual.len()) {
                let path = format!("{path}/{index}");
                compare_member(out, &path, expected.get(index), actual.get(index));
            }
        }
        _ if expected != actual => out.push(PropertyDifference {
            path: path.to_owned(),
            expected: render(Some(expected)),
            actual: render(Some(actual)),
            kind: DifferenceType::NotEqual,
        }),
        _ => {}
    }
}

fn compare_objects(
    out: &mut Vec<PropertyDifference>,
    path: &str,
    expected: &Map<String, Value>,
    actual: &Map<String, Value>,
) {
    for (key, expected_value) in expected {
        compare_member(
            out,
            &format!("{path}/{key}"),
            Some(expected_value),
            actual.get(key),
        );
    }
    for (key, actual_value) in actual {
        if !expected.contains_key(key) {
            compare_member(out, &format!("{path}/{key}"), None, Some(actual_value));
        }
    }
}

fn compare_member(
    out: &mut Vec<PropertyDifference>,
    path: &str,
    expected: Option<&Value>,
    actual: Option<&Value>,
) {
    let kind = match (expected, actual) {
        (Some(expected), Some(actual)) => return compare(out, path, expected, actual),
        (Some(_), None) => DifferenceType::Remove,
        (None, Some(_)) => DifferenceType::Add,
        (None, None) => return,
    };
    out.push(PropertyDifference {
        path: path.to_owned(),
        expected: render(expected),
        actual: render(actual),
        kind,
    });
}

/// A property value as CloudFormation's drift strings have it.
pub fn render(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary(expected: Value, actual: Value) -> Vec<(String, String, String, &'static str)> {
        property_differences(&expected, &actual)
            .into_iter()
            .map(|d| (d.path, d.expected, d.actual, d.kind.as_str()))
            .collect()
    }

    fn row(
        path: &str,
        e: &str,
        a: &str,
        kind: &'static str,
    ) -> (String, String, String, &'static str) {
        (path.to_owned(), e.to_owned(), a.to_owned(), kind)
    }

    #[test]
    fn equal_properties_have_no_differences() {
        let props = json!({"A": 1, "B": {"C": [1, "x"]}});
        assert!(property_differences(&props, &props).is_empty());
    }

    #[test]
    fn scalars_render_strings_as_themselves_and_others_as_json() {
        assert_eq!(
            summary(
                json!({"Memory": 128, "Name": "a"}),
                json!({"Memory": 256, "Name": "b"})
            ),
            [
                row("/Memory", "128", "256", "NOT_EQUAL"),
                row("/Name", "a", "b", "NOT_EQUAL")
            ]
        );
    }

    #[test]
    fn nested_paths_and_array_elements() {
        let expected = json!({"Tags": [{"Key": "env", "Value": "prod"}]});
        let actual = json!({"Tags": [{"Key": "env", "Value": "dev"}, {"Key": "x", "Value": "y"}]});
        assert_eq!(
            summary(expected, actual),
            [
                row("/Tags/0/Value", "prod", "dev", "NOT_EQUAL"),
                row("/Tags/1", "null", r#"{"Key":"x","Value":"y"}"#, "ADD"),
            ]
        );
    }

    #[test]
    fn removed_properties_and_nested_additions() {
        let expected = json!({"Versioning": {"Status": "Enabled"}, "Gone": [1]});
        let actual = json!({"Versioning": {"Status": "Enabled", "Mfa": true}, "Extra": 1});
        assert_eq!(
            summary(expected, actual),
            [
                row("/Gone", "[1]", "null", "REMOVE"),
                row("/Versioning/Mfa", "null", "true", "ADD")
            ]
        );
    }

    #[test]
    fn type_changes_are_not_equal() {
        assert_eq!(
            summary(json!({"P": {"a": 1}}), json!({"P": "text"})),
            [row("/P", r#"{"a":1}"#, "text", "NOT_EQUAL")]
        );
    }
}
