//! The `resource_drift` part of `terraform show -json <plan>`.

use serde::Deserialize;
use serde_json::Value;

/// One entry of `resource_drift[]`, values still raw: sensitive ones included. Only the
/// drift analysis may look inside `before`/`after`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceDriftEntry {
    pub address: String,
    #[serde(default)]
    pub module_address: Option<String>,
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub resource_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub index: Option<Value>,
    #[serde(default)]
    pub provider_name: String,
    pub change: RawChange,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawChange {
    pub actions: Vec<String>,
    #[serde(default)]
    pub before: Value,
    #[serde(default)]
    pub after: Value,
    #[serde(default)]
    pub before_sensitive: Value,
    #[serde(default)]
    pub after_sensitive: Value,
    #[serde(default)]
    pub after_unknown: Value,
}

#[derive(Deserialize)]
struct ShowDocument {
    #[serde(default)]
    resource_drift: Vec<ResourceDriftEntry>,
}

/// Where a show document stopped making sense. Deliberately carries no text from the
/// document itself: serde's messages quote offending values, which may be secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{category} error at line {line}, column {column}")]
pub struct MalformedShow {
    pub category: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Reads the drift entries of a plan's JSON representation. Other members are skipped
/// without being built, which keeps this fast on plans of thousands of resources.
pub fn parse_resource_drift(json: &[u8]) -> Result<Vec<ResourceDriftEntry>, MalformedShow> {
    serde_json::from_slice::<ShowDocument>(json)
        .map(|doc| doc.resource_drift)
        .map_err(|err| MalformedShow {
            category: match err.classify() {
                serde_json::error::Category::Io => "read",
                serde_json::error::Category::Syntax => "syntax",
                serde_json::error::Category::Data => "structure",
                serde_json::error::Category::Eof => "unexpected end of document",
            },
            line: err.line(),
            column: err.column(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_errors_never_quote_the_document() {
        let doc = br#"{"resource_drift":[{"address":"a.b","change":{"actions":"s3cr3t"}}]}"#;
        let err = parse_resource_drift(doc)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("structure error"), "{err}");
        assert!(!err.contains("s3cr3t"));
    }

    #[test]
    fn a_plan_without_drift_has_no_entries() {
        let parsed = parse_resource_drift(br#"{"format_version":"1.2","planned_values":{}}"#);
        assert!(parsed.map(|e| e.is_empty()).unwrap_or(false));
    }
}
