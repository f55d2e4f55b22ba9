//! Terraform's machine-readable UI stream (`-json`): one JSON object per line.

use serde_json::Value;

use crate::drift::{Diagnostic, OutputChange, Severity, Tool, ToolName};

/// The messages driftlog acts on; everything else is [`StreamEvent::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Version(Tool),
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
    /// `update`, `delete`, or `move` (a `moved` block: a refactor, no real object changed).
    pub action: String,
    /// The address in the last applied state, when a `moved` block changed it.
    pub previous_address: Option<String>,
}

impl DriftNotice {
    /// Whether the real object changed, rather than only its address or management in code
    /// (`move`, `noop`, `remove` as the stream names `forget`). An action terraform adds later
    /// counts as a change until driftlog knows better: unknown drift is never hidden.
    pub fn is_object_change(&self) -> bool {
        !matches!(
            self.action.as_str(),
            "move" | "noop" | "no-op" | "remove" | "forget"
        )
    }
}

/// Why a line could not be read as a stream message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("is not JSON")]
    NotJson,
    #[error("is JSON but not an object, as terraform's messages are")]
    NotAnObject,
    #[error("nests deeper than driftlog reads (127 levels)")]
    TooDeep,
}

/// Parses one line of the stream. Unknown message types are not an error: terraform adds
/// new ones over time.
pub fn parse_line(line: &str) -> Result<StreamEvent, LineError> {
    let message: Value = serde_json::from_str(line).map_err(|err| {
        if crate::json::is_too_deep(&err) {
            LineError::TooDeep
        } else {
            LineError::NotJson
        }
    })?;
    if !message.is_object() {
        return Err(LineError::NotAnObject);
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let hook_address = || text(&message["hook"]["resource"]["addr"]);
    Ok(match message["type"].as_str().unwrap_or_default() {
        "version" => StreamEvent::Version(tool(&message)),
        "refresh_start" => StreamEvent::RefreshStart {
            address: hook_address(),
        },
        "refresh_complete" => StreamEvent::RefreshComplete {
            address: hook_address(),
        },
        "resource_drift" => StreamEvent::ResourceDrift(DriftNotice {
            address: text(&message["change"]["resource"]["addr"]),
            action: text(&message["change"]["action"]),
            previous_address: message["change"]["previous_resource"]["addr"]
                .as_str()
                .map(str::to_owned),
        }),
        "outputs" => StreamEvent::Outputs(output_changes(&message["outputs"])),
        "change_summary" => StreamEvent::ChangeSummary,
        "diagnostic" => StreamEvent::Diagnostic(diagnostic(&message["diagnostic"])),
        _ => StreamEvent::Other,
    })
}

/// Terraform names itself under `terraform`; OpenTofu under `tofu` (its
/// `internal/command/views/json_view.go`), with the product in `@message`.
pub(crate) fn tool(message: &Value) -> Tool {
    let version = |key: &str| message[key].as_str().map(str::to_owned);
    match (version("tofu"), version("terraform")) {
        (Some(version), _) => Tool {
            name: ToolName::Opentofu,
            version,
        },
        (None, Some(version)) => Tool {
            name: ToolName::Terraform,
            version,
        },
        (None, None) => {
            let text = message["@message"].as_str().unwrap_or_default();
            let name = if text.starts_with("OpenTofu") {
                ToolName::Opentofu
            } else {
                ToolName::Terraform
            };
            let version = text.rsplit(' ').next().unwrap_or_default().to_owned();
            Tool { name, version }
        }
    }
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
    let severity = if diagnostic["severity"] == "warning" {
        Severity::Warning
    } else {
        Severity::Error
    };
    let summary = diagnostic["summary"].as_str().unwrap_or_default();
    let detail = diagnostic["detail"].as_str().unwrap_or_default();
    let address = diagnostic["address"].as_str().map(str::to_owned);
    let Some(resource) = &address else {
        // About the configuration: terraform's own words, with sensitive values redacted.
        return Diagnostic {
            severity,
            summary: summary.to_owned(),
            detail: detail.to_owned(),
            address,
            location,
            withheld: None,
        };
    };
    // About a resource: its provider's words, which terraform cannot redact (a path or a
    // message naming a sensitive value). Reports, records and comments only describe them.
    let text = if detail.is_empty() {
        summary.to_owned()
    } else {
        format!("{summary}\n{detail}")
    };
    Diagnostic {
        severity,
        summary: format!(
            "terraform's {} about {resource} is withheld, as a provider's words can quote the \
             resource's values ({} bytes, SHA-256 {}; shown on driftlog's standard error)",
            match severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            text.len(),
            super::sha256_hex(text.as_bytes())
        ),
        detail: String::new(),
        address,
        location,
        withheld: Some(text),
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
            Ok(StreamEvent::Version(Tool {
                name: ToolName::Terraform,
                version: "1.15.5".into()
            }))
        );
        let drift = r#"{"change":{"resource":{"addr":"a.b[\"k\"]","module":""},"action":"delete"},"type":"resource_drift"}"#;
        assert_eq!(
            parse_line(drift),
            Ok(StreamEvent::ResourceDrift(DriftNotice {
                address: "a.b[\"k\"]".into(),
                action: "delete".into(),
                previous_address: None,
            }))
        );
        let moved = r#"{"change":{"resource":{"addr":"a.new"},"previous_resource":{"addr":"a.old"},"action":"move"},"type":"resource_drift"}"#;
        let Ok(StreamEvent::ResourceDrift(notice)) = parse_line(moved) else {
            panic!("not a drift notice")
        };
        assert_eq!(notice.previous_address.as_deref(), Some("a.old"));
        assert!(!notice.is_object_change());
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
    fn opentofu_names_itself_under_tofu() {
        // The shape of OpenTofu's version message, written from its source
        // (internal/command/views/json_view.go), not recorded: no OpenTofu binary runs here.
        let tofu = r#"{"@level":"info","@message":"OpenTofu 1.11.2","@module":"tofu.ui","tofu":"1.11.2","type":"version","ui":"1.2"}"#;
        assert_eq!(
            parse_line(tofu),
            Ok(StreamEvent::Version(Tool {
                name: ToolName::Opentofu,
                version: "1.11.2".into()
            }))
        );
        let bare = r#"{"@message":"OpenTofu 1.12.0","type":"version"}"#;
        assert_eq!(
            parse_line(bare),
            Ok(StreamEvent::Version(Tool {
                name: ToolName::Opentofu,
                version: "1.12.0".into()
            }))
        );
    }

    #[test]
    fn json_nested_beyond_the_limit_is_named_so_not_a_syntax_error() {
        use crate::json::MAX_JSON_NESTING;
        let nested = |depth: usize| {
            format!(
                "{{\"type\":\"x\",\"v\":{}{}}}",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        // The limit is serde_json's own: the deepest line it reads is read.
        assert_eq!(
            parse_line(&nested(MAX_JSON_NESTING)),
            Ok(StreamEvent::Other)
        );
        assert_eq!(
            parse_line(&nested(MAX_JSON_NESTING + 1)),
            Err(LineError::TooDeep)
        );
        assert!(LineError::TooDeep
            .to_string()
            .contains(&format!("{MAX_JSON_NESTING} levels")));
        // Brackets inside strings are not nesting.
        let in_string = format!("{{\"type\":\"x\",\"v\":\"{}\"}}", "[".repeat(500));
        assert_eq!(parse_line(&in_string), Ok(StreamEvent::Other));
        assert_eq!(parse_line("{\"a\":[1,}"), Err(LineError::NotJson));
    }

    #[test]
    fn rejects_lines_that_are_not_json_objects() {
        assert_eq!(parse_line("Error: something"), Err(LineError::NotJson));
        assert_eq!(parse_line("42"), Err(LineError::NotAnObject));
        assert_eq!(
            parse_line(r#"{"type":"future_thing"}"#),
            Ok(StreamEvent::Other)
        );
    }
}
