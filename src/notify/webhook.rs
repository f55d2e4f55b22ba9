//! The webhook payload: the [`Notification`] as serde writes it, plus the schema's name and
//! the title every receiver shows. Documented by `docs/notification.schema.json`.

use serde_json::{json, Value};

use super::Notification;

/// Names the body's shape; bump on any change that could break a receiver.
pub const SCHEMA: &str = "driftlog.notification/v1";

/// The request body for a webhook.
pub fn payload(notification: &Notification) -> Value {
    // Plain data serializes to an object without fail.
    let mut body = serde_json::to_value(notification).unwrap_or_else(|_| json!({}));
    if let Some(object) = body.as_object_mut() {
        object.insert("schema".into(), SCHEMA.into());
        object.insert("title".into(), notification.title().into());
    }
    body
}

/// The JSON Schema of the webhook body, as committed in `docs/notification.schema.json`.
pub fn json_schema() -> Value {
    let mut schema = schemars::schema_for!(Notification).to_value();
    schema["$id"] = json!("urn:driftlog:notification:v1");
    schema["properties"]["schema"] = json!({
        "description": "The body's shape and version.",
        "const": SCHEMA,
    });
    schema["properties"]["title"] = json!({
        "description": "The headline every receiver shows: \"Drift detected in infra/prod\".",
        "type": "string",
    });
    if let Some(required) = schema["required"].as_array_mut() {
        required.extend([json!("schema"), json!("title")]);
    }
    schema
}
