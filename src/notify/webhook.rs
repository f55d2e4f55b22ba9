//! The webhook payload. STUB: being written.

use super::Notification;

/// The request body for a webhook.
pub fn payload(notification: &Notification) -> serde_json::Value {
    serde_json::to_value(notification).unwrap_or_default()
}
