//! Matching cloud audit events (see [`crate::events`]) to drift windows.

use super::parse_time;
use crate::drift::explanation::{EventRef, Explanation};
use crate::events::EventLog;

/// Adds the cloud audit events inside each window that name the resource.
pub fn attach_events(explanations: &mut [Explanation], events: &EventLog) {
    for explanation in explanations.iter_mut() {
        let Some(until) = parse_time(&explanation.first_seen.time) else {
            continue;
        };
        let after = explanation
            .last_clean
            .as_ref()
            .and_then(|r| parse_time(&r.time));
        let identifiers: Vec<&str> = explanation.identifiers.iter().map(String::as_str).collect();
        let place: Vec<&str> = explanation.place.iter().map(String::as_str).collect();
        explanation.events = Some(
            events
                .matching_in(&identifiers, &place, after, until)
                .into_iter()
                .map(|event| EventRef {
                    id: event.id.clone(),
                    time: event.time.clone(),
                    action: event.action.clone(),
                    service: event.service.clone(),
                    actor: match &event.actor.detail {
                        Some(detail) => format!("{} ({detail})", event.actor.name),
                        None => event.actor.name.clone(),
                    },
                    source_ip: event.source_ip.clone(),
                    user_agent: event.user_agent.clone(),
                    file: event.file.clone(),
                })
                .collect(),
        );
    }
}
