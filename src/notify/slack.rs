//! The slack payload. STUB: being written.

use super::Notification;

/// The request body for slack.
pub fn payload(notification: &Notification) -> serde_json::Value {
    serde_json::json!({ "text": notification.title() })
}
