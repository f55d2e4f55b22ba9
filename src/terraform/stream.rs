//! Terraform's machine-readable UI stream (`-json`): one JSON object per line.

use serde_json::Value;

use crate::drift::{Diagnostic, OutputChange, Severity};

/// The messages driftlog acts on; everything else is [`StreamEvent::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Version { terraform: String },
    RefreshStart { address: String },
    RefreshComplete { address: String },
    ResourceDrift(DriftNotice),
    Outputs(Vec<OutputChange>),
    ChangeSummary,
    Diagnostic(Diagnostic),
    Other,
}

/// A `resource_drift` line: which resource drifted and how, but no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftNotice {
    pub address: String,
    pub action: String,
}

/// Why a line could not be read as a stream message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJson;

/// Parses one line of the stream. Unknown message types are not an error: terraform adds
/// new ones over time.
pub fn parse_line(line: &str) -> Result<StreamEvent, NotJson> {
    let message: Value = serde_json::from_str(line).map_err(|_| NotJson)?;
    if !message.is_object() {
        return Err(NotJson);
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let hook_address = || text(&message["hook"]["resource"]["addr"]);
    Ok(match message["type"].as_str().unwrap_or_default() {
        "version" => StreamEvent::Version {
            terraform: text(&message["terraform"]),
        },
        "refresh_start" => StreamEvent::RefreshStart {
            address: hook_address(),
        },
        "refresh_complete" => StreamEvent::RefreshComplete {
            address: hook_address(),
        },
        "resource_drift" => StreamEvent::ResourceDrift(DriftNotice {
            address: text(&message["change"]["resource"]["addr"]),
            action: text(&message["change"]["action"]),
        }),
        "outputs" => StreamEvent::Outputs(output_changes(&message["outputs"])),
        "change_summary" => StreamEvent::ChangeSummary,
        "diagnostic" => StreamEvent::Diagnostic(diagnostic(&message["diagnostic"])),
        _ => StreamEvent::Other,
    })
}

fn output_changes(outputs: &Value) -> Vec<OutputChange> {
    let Some(outputs) = outputs.as_object() else {
        return Vec::new();
    };
    outputs
        .iter()
        .filter_map(|(name, output)| {
            let action = output["action"].as_str().unwrap_or("noop");
            (action != "noop").then(|| OutputChange {
                name: name.clone(),
                action: action.to_owned(),
                sensitive: output["sensitive"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

fn diagnostic(diagnostic: &Value) -> Diagnostic {
    let range = &diagnostic["range"];
    let location = range["filename"]
        .as_str()
        .map(|file| match range["start"]["line"].as_u64() {
            Some(line) => format!("{file}:{line}"),
            None => file.to_owned(),
        });
    Diagnostic {
        severity: if diagnostic["severity"] == "warning" {
            Severity::Warning
        } else {
            Severity::Error
        },
        summary: diagnostic["summary"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        detail: diagnostic["detail"].as_str().unwrap_or_default().to_owned(),
        address: diagnostic["address"].as_str().map(str::to_owned),
        location,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_messages_driftlog_uses() {
        let version = r#"{"@level":"info","@message":"Terraform 1.15.5","terraform":"1.15.5","type":"version","ui":"1.2"}"#;
        assert_eq!(
            parse_line(version),
            Ok(StreamEvent::Version {
                terraform: "1.15.5".into()
            })
        );
        let drift = r#"{"change":{"resource":{"addr":"a.b[\"k\"]","module":""},"action":"delete"},"type":"resource_drift"}"#;
        assert_eq!(
            parse_line(drift),
            Ok(StreamEvent::ResourceDrift(DriftNotice {
                address: "a.b[\"k\"]".into(),
                action: "delete".into()
            }))
        );
        let diag = r#"{"@level":"error","diagnostic":{"severity":"error","summary":"Bad","detail":"Worse","address":"x.y","range":{"filename":"main.tf","start":{"line":3}}},"type":"diagnostic"}"#;
        let StreamEvent::Diagnostic(d) = parse_line(diag).unwrap_or(StreamEvent::Other) else {
            panic!("not a diagnostic")
        };
        assert_eq!(d.location.as_deref(), Some("main.tf:3"));
        assert_eq!(d.address.as_deref(), Some("x.y"));
        let outputs = r#"{"outputs":{"a":{"sensitive":false,"action":"update"},"b":{"sensitive":true,"action":"noop"}},"type":"outputs"}"#;
        assert_eq!(
            parse_line(outputs),
            Ok(StreamEvent::Outputs(vec![OutputChange {
                name: "a".into(),
                action: "update".into(),
                sensitive: false
            }]))
        );
    }

    #[test]
    fn rejects_lines_that_are_not_json_objects() {
        assert_eq!(parse_line("Error: something"), Err(NotJson));
        assert_eq!(parse_line("42"), Err(NotJson));
        assert_eq!(
            parse_line(r#"{"type":"future_thing"}"#),
            Ok(StreamEvent::Other)
        );
    }
}
