//! Google Cloud audit logs: `LogEntry` objects whose `protoPayload` is an `AuditLog`, as
//! `gcloud logging read --format=json` prints them (a JSON array) or log exports write them
//! (one entry per line). Entries of other kinds (request logs, text or JSON payloads) hold no
//! API call and are skipped.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    non_empty, Actor, Adapter, Draft, EventFormat, Fields, RecordError, StringLeaves, Time,
};

pub(super) const ADAPTER: Adapter = Adapter {
    format: EventFormat::GcpAuditLog,
    expected: "Google Cloud audit log entries \
               (`gcloud logging read --format=json`: a JSON array, or one entry per line)",
    wrapped: &[],
    bare: &[(is_log_entry, read_entry)],
};

fn is_log_entry(fields: &Fields<'_>) -> bool {
    fields.has("logName") && (fields.has("insertId") || fields.has("protoPayload"))
}

/// The `@type` of an `AuditLog` payload.
const AUDIT_LOG_TYPE: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// A `LogEntry`: the fields driftlog reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    insert_id: Option<String>,
    timestamp: Option<Time>,
    log_name: Option<String>,
    resource: Option<MonitoredResource>,
    /// Parsed once its `@type` says it is an audit log.
    #[serde(borrow)]
    proto_payload: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct MonitoredResource {
    labels: Option<Labels>,
}

#[derive(Debug, Deserialize)]
struct Labels {
    project_id: Option<String>,
    location: Option<String>,
    region: Option<String>,
    zone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TypeTag {
    #[serde(rename = "@type")]
    type_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditLog {
    service_name: Option<String>,
    method_name: Option<String>,
    resource_name: Option<String>,
    resource_location: Option<ResourceLocation>,
    status: Option<Status>,
    authentication_info: Option<AuthenticationInfo>,
    authorization_info: Option<Vec<AuthorizationInfo>>,
    request_metadata: Option<RequestMetadata>,
    #[serde(default)]
    request: StringLeaves,
    #[serde(default)]
    response: StringLeaves,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLocation {
    current_locations: Option<Vec<String>>,
}

/// `google.rpc.Status`.
#[derive(Debug, Deserialize)]
struct Status {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationInfo {
    principal_email: Option<String>,
    principal_subject: Option<String>,
    service_account_delegation_info: Option<Vec<Delegation>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delegation {
    first_party_principal: Option<Principal>,
    principal_subject: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Principal {
    principal_email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationInfo {
    /// `ADMIN_READ`, `ADMIN_WRITE`, `DATA_READ`, `DATA_WRITE`.
    permission_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestMetadata {
    caller_ip: Option<String>,
    caller_supplied_user_agent: Option<String>,
}

fn read_entry(raw: &RawValue) -> Result<Option<Draft>, RecordError> {
    let entry: Entry<'_> = serde_json::from_str(raw.get())?;
    let Some(payload) = entry.proto_payload else {
        return Ok(None);
    };
    let tag: TypeTag = serde_json::from_str(payload.get())?;
    if tag.type_url.as_deref() != Some(AUDIT_LOG_TYPE) {
        return Ok(None);
    }
    let audit: AuditLog = serde_json::from_str(payload.get())?;
    let id = non_empty(entry.insert_id)
        .ok_or_else(|| RecordError::Invalid("no event id (`insertId`)".to_owned()))?;
    let time = entry
        .timestamp
        .ok_or_else(|| RecordError::Invalid("no event time (`timestamp`)".to_owned()))?;

    // The permission types checked say best whether the call wrote; without them, the log:
    // data access logs hold reads (and data writes, which carry a permission type).
    let permission_types: Vec<String> = (audit.authorization_info.into_iter().flatten())
        .filter_map(|info| non_empty(info.permission_type))
        .collect();
    let read_only = if permission_types.is_empty() {
        entry
            .log_name
            .as_deref()
            .is_some_and(|log| log.ends_with("%2Fdata_access") || log.ends_with("/data_access"))
    } else {
        permission_types.iter().all(|kind| kind.ends_with("_READ"))
    };

    let error = audit
        .status
        .filter(|status| status.code.is_some_and(|code| code != 0))
        .map(|status| {
            let code = status.code.unwrap_or_default();
            let name = match code_name(code) {
                Some(name) => name.to_owned(),
                None => format!("code {code}"),
            };
            match non_empty(status.message) {
                Some(message) => format!("{name}: {message}"),
                None => name,
            }
        });

    let mut labels = entry.resource.and_then(|resource| resource.labels);
    let account = (labels.as_mut())
        .and_then(|l| non_empty(l.project_id.take()))
        .or_else(|| {
            let log = entry.log_name.as_deref()?;
            super::scope::google_project(log).map(str::to_owned)
        });
    let region = (audit.resource_location)
        .and_then(|location| location.current_locations)
        .and_then(|locations| locations.into_iter().find(|l| !l.is_empty()))
        .or_else(|| labels.and_then(|l| non_empty(l.location.or(l.region).or(l.zone))));

    let service = audit.service_name.unwrap_or_default();
    let actor = actor(audit.authentication_info, &service);
    let metadata = audit.request_metadata;
    let (source_ip, user_agent) = match metadata {
        Some(metadata) => (
            non_empty(metadata.caller_ip),
            non_empty(metadata.caller_supplied_user_agent),
        ),
        None => (None, None),
    };

    let mut identifiers = audit.request.0;
    identifiers.extend(audit.response.0);
    if let Some(name) = non_empty(audit.resource_name) {
        if let Some((_, last)) = name.rsplit_once('/') {
            identifiers.push(last.to_owned());
        }
        identifiers.push(name);
    }

    Ok(Some(Draft {
        id,
        time,
        provider: "gcp",
        account,
        service,
        action: audit.method_name.unwrap_or_default(),
        actor,
        source_ip,
        user_agent,
        region,
        read_only,
        error,
        identifiers,
    }))
}

/// The caller: a user or service account by email, else another principal (workload
/// identity), else Google itself (system events name no caller).
fn actor(info: Option<AuthenticationInfo>, service: &str) -> Actor {
    let Some(info) = info else {
        return Actor {
            kind: "service".to_owned(),
            name: service.to_owned(),
            detail: None,
        };
    };
    // The first principal of a delegation chain: who impersonated the caller.
    let detail =
        (info.service_account_delegation_info.into_iter().flatten()).find_map(|delegation| {
            (delegation.first_party_principal)
                .and_then(|principal| non_empty(principal.principal_email))
                .or(non_empty(delegation.principal_subject))
        });
    let (kind, name) = match (
        non_empty(info.principal_email),
        non_empty(info.principal_subject),
    ) {
        (Some(email), _) if email.ends_with("gserviceaccount.com") => ("service_account", email),
        (Some(email), _) => ("user", email),
        (None, Some(subject)) => ("principal", subject),
        (None, None) => ("service", service.to_owned()),
    };
    Actor {
        kind: kind.to_owned(),
        name,
        detail,
    }
}

/// The name of a `google.rpc.Code`.
fn code_name(code: i64) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|code| NAMES.get(code).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::{at, ids, load};
    use crate::events::{AuditEvent, EventLog};

    const ARRAY: &str = "gcp/gcloud-logging-read.json";
    const EXPORT: &str = "gcp/cloudaudit-activity-export.json";
    const PATCH: &str = "-x1m7kye2b4gk";
    const GET: &str = "1q8ve3d2c7k1";
    const DENIED: &str = "-9fk2lbe1n5wq";
    const INSERT: &str = "-4qzj8ne2l0xa";
    const DAY_BEFORE: &str = "-m2c8wbe3h7rt";

    const ID: &str = "projects/acme-prod/global/firewalls/allow-ssh";
    const NAME: &str = "allow-ssh";
    const SELF_LINK: &str =
        "https://www.googleapis.com/compute/v1/projects/acme-prod/global/firewalls/allow-ssh";

    fn in_window<'a>(log: &'a EventLog, identifiers: &[&str]) -> Vec<&'a AuditEvent> {
        log.matching(
            identifiers,
            Some(at("2026-11-20T12:00:00Z")),
            at("2026-11-20T15:00:00Z"),
        )
    }

    fn event<'a>(log: &'a EventLog, id: &str) -> &'a AuditEvent {
        let found = log.events().iter().find(|event| event.id == id);
        found.unwrap_or_else(|| panic!("event {id}"))
    }

    #[test]
    fn a_patched_firewall_is_found_by_its_self_link_or_name() {
        let log = load(&[ARRAY]);
        // Six entries, one a syslog line.
        assert_eq!(log.len(), 5);
        for identifiers in [
            [SELF_LINK].as_slice(),
            &[NAME],
            &[ID],
            &[ID, NAME, SELF_LINK],
        ] {
            // Not: the read (get), the denied patch, the other resource, the day before.
            assert_eq!(
                ids(&in_window(&log, identifiers)),
                [PATCH],
                "{identifiers:?}"
            );
        }
        let patch = event(&log, PATCH);
        assert_eq!(patch.time, "2026-11-20T14:05:02.417392Z");
        assert_eq!(patch.format, EventFormat::GcpAuditLog);
        assert_eq!(patch.provider, "gcp");
        assert_eq!(patch.service, "compute.googleapis.com");
        assert_eq!(patch.action, "v1.compute.firewalls.patch");
        let alice = Actor {
            kind: "user".to_owned(),
            name: "alice@acme.example".to_owned(),
            detail: None,
        };
        assert_eq!(patch.actor, alice);
        assert_eq!(patch.source_ip.as_deref(), Some("198.51.100.7"));
        let agent = patch.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with(
            "google-cloud-sdk gcloud/501.0.0 command/gcloud.compute.firewall-rules.update"
        ));
        assert_eq!(patch.region, None);
        assert!(!patch.read_only);
        assert_eq!(patch.error, None);
        for identifier in [ID, NAME, SELF_LINK, "0.0.0.0/0"] {
            assert!(
                patch.identifiers.contains(&identifier.to_owned()),
                "{identifier}"
            );
        }
        assert!(!patch
            .identifiers
            .iter()
            .any(|identifier| identifier.starts_with("type.googleapis.com")));
    }

    #[test]
    fn reads_failures_and_other_resources_are_told_apart() {
        let log = load(&[ARRAY]);
        let get = event(&log, GET);
        assert!(get.read_only && get.error.is_none());
        assert_eq!(get.actor.kind, "service_account");
        let denied = event(&log, DENIED);
        assert!(!denied.read_only);
        assert_eq!(
            denied.error.as_deref(),
            Some(
                "PERMISSION_DENIED: Required 'compute.firewalls.update' permission for \
                 'projects/acme-prod/global/firewalls/allow-ssh'"
            )
        );
        let insert = event(&log, INSERT);
        let terraform = Actor {
            kind: "service_account".to_owned(),
            name: "terraform@acme-prod.iam.gserviceaccount.com".to_owned(),
            detail: Some(
                "principal://iam.googleapis.com/projects/418273645091/locations/global/\
                 workloadIdentityPools/github/subject/repo:acme/infra:ref:refs/heads/main"
                    .to_owned(),
            ),
        };
        assert_eq!(insert.actor, terraform);
        assert_eq!(insert.region.as_deref(), Some("europe-west1-b"));
        assert_eq!(
            ids(&in_window(&log, &["web-1"])),
            [INSERT],
            "found by the name in its request"
        );
        let all = log.matching(&[NAME], None, at("2026-11-21T00:00:00Z"));
        assert_eq!(ids(&all), [DAY_BEFORE, PATCH]);
    }

    #[test]
    fn an_export_one_entry_per_line_reads_the_same() {
        let array = load(&[ARRAY]);
        let export = load(&[EXPORT]);
        assert_eq!(export.len(), 4);
        for exported in export.events() {
            let listed = event(&array, &exported.id);
            let mut same = exported.clone();
            same.file = listed.file.clone();
            assert_eq!(&same, listed);
        }
        assert_eq!(ids(&in_window(&export, &[SELF_LINK])), [PATCH]);
    }

    #[test]
    fn a_bare_name_matches_only_events_of_the_resources_project() {
        let entry = |id: &str, project: &str| {
            format!(
                r#"{{"protoPayload": {{"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                  "serviceName": "compute.googleapis.com", "methodName": "v1.compute.firewalls.patch",
                  "resourceName": "projects/{project}/global/firewalls/allow-ssh"}},
                  "insertId": "{id}", "timestamp": "2026-11-20T14:00:00Z",
                  "logName": "projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"}}"#
            )
        };
        let text = [entry("here", "acme-prod"), entry("elsewhere", "acme-dev")].join("\n");
        let log = EventLog::from_slice("export.json", text.as_bytes()).expect("entries");
        assert_eq!(log.events()[0].account.as_deref(), Some("acme-dev"));
        // The self link places the firewall in acme-prod: its bare name matches only there.
        assert_eq!(ids(&in_window(&log, &[SELF_LINK, NAME])), ["here"]);
        assert_eq!(ids(&in_window(&log, &[NAME])), ["elsewhere", "here"]);
    }

    #[test]
    fn without_permission_types_the_log_says_what_is_read_only() {
        let entry = |log: &str, auth: &str| {
            format!(
                r#"{{"protoPayload": {{"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                  {auth} "serviceName": "storage.googleapis.com", "methodName": "storage.buckets.get",
                  "resourceName": "projects/_/buckets/acme-state"}},
                  "insertId": "{log}-1", "timestamp": "2026-11-20T14:00:00Z",
                  "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2F{log}"}}"#
            )
        };
        let text = [
            entry("data_access", ""),
            entry("activity", ""),
            entry("system_event", ""),
        ]
        .join("\n");
        let log = EventLog::from_slice("export.json", text.as_bytes()).expect("entries");
        let read_only: Vec<(&str, bool)> = log
            .events()
            .iter()
            .map(|e| (e.id.as_str(), e.read_only))
            .collect();
        assert_eq!(
            read_only,
            [
                ("activity-1", false),
                ("data_access-1", true),
                ("system_event-1", false)
            ]
        );
        // No authentication info: Google itself (a system event).
        assert_eq!(log.events()[2].actor.kind, "service");
        assert_eq!(log.events()[2].actor.name, "storage.googleapis.com");
        assert!(log.events()[0]
            .identifiers
            .contains(&"acme-state".to_owned()));
    }

    #[test]
    fn an_entry_without_its_id_is_placed() {
        let text = "{\"logName\": \"projects/p/logs/syslog\", \"insertId\": \"a\", \"textPayload\": \"hi\"}\n\
                    {\"logName\": \"projects/p/logs/cloudaudit.googleapis.com%2Factivity\", \
                    \"timestamp\": \"2026-11-20T14:00:00Z\", \"protoPayload\": \
                    {\"@type\": \"type.googleapis.com/google.cloud.audit.AuditLog\"}}\n";
        let message = EventLog::from_slice("export.json", text.as_bytes())
            .expect_err("no insertId")
            .to_string();
        assert_eq!(
            message,
            "export.json: the record at line 2, column 1: no event id (`insertId`)"
        );
    }

    #[test]
    fn status_codes_have_names() {
        assert_eq!(code_name(7), Some("PERMISSION_DENIED"));
        assert_eq!(code_name(16), Some("UNAUTHENTICATED"));
        assert_eq!(code_name(17), None);
        assert_eq!(code_name(-1), None);
    }
}
