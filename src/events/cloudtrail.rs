//! AWS CloudTrail, in the shapes people have it:
//!
//! - log files as a trail delivers them to S3: `{"Records": [record, ...]}`, gzipped;
//! - `aws cloudtrail lookup-events` output: `{"Events": [event, ...], "NextToken": ...}`,
//!   each event carrying the full record as a JSON string in `CloudTrailEvent`, `ReadOnly` as
//!   a string and `EventTime` as ISO 8601 (`+00:00`) or epoch seconds;
//! - records or lookup events on their own: a JSON array of them (`jq .Records`), or one
//!   per line (CloudWatch Logs exports).
//!
//! A lookup event is read through its embedded record when that parses; its top-level fields
//! fill what the record lacks, and its `Resources` names are identifiers too.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{
    non_empty, Actor, Adapter, Draft, EventFormat, Fields, RecordError, StringLeaves, Time,
};

pub(super) const ADAPTER: Adapter = Adapter {
    format: EventFormat::CloudTrail,
    expected: "a CloudTrail log file `{\"Records\": [...]}`, \
               `aws cloudtrail lookup-events` output `{\"Events\": [...]}`",
    wrapped: &[("Records", read_record), ("Events", read_lookup_event)],
    bare: &[
        (is_record, read_record),
        (is_lookup_event, read_lookup_event),
    ],
};

fn is_record(fields: &Fields<'_>) -> bool {
    fields.has("eventVersion") || (fields.has("eventID") && fields.has("eventTime"))
}

fn is_lookup_event(fields: &Fields<'_>) -> bool {
    fields.has("CloudTrailEvent") || (fields.has("EventId") && fields.has("EventTime"))
}

/// A CloudTrail record: the fields driftlog reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    event_time: Option<Time>,
    event_source: Option<String>,
    event_name: Option<String>,
    aws_region: Option<String>,
    /// The account the call was made in (the caller's may be another).
    recipient_account_id: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: Option<String>,
    user_agent: Option<String>,
    user_identity: Option<UserIdentity>,
    #[serde(default, deserialize_with = "flag")]
    read_only: Option<bool>,
    error_code: Option<String>,
    error_message: Option<String>,
    resources: Option<Vec<Resource>>,
    #[serde(default)]
    request_parameters: StringLeaves,
    #[serde(default)]
    response_elements: StringLeaves,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: Option<String>,
    principal_id: Option<String>,
    arn: Option<String>,
    account_id: Option<String>,
    user_name: Option<String>,
    invoked_by: Option<String>,
    session_context: Option<SessionContext>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    session_issuer: Option<SessionIssuer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    user_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(rename = "ARN")]
    arn: Option<String>,
}

/// An event of `aws cloudtrail lookup-events`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEvent {
    event_id: Option<String>,
    event_name: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    read_only: Option<bool>,
    event_time: Option<Time>,
    event_source: Option<String>,
    username: Option<String>,
    resources: Option<Vec<LookupResource>>,
    cloud_trail_event: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupResource {
    resource_name: Option<String>,
}

/// The names of the id and time fields, for messages.
struct Names {
    id: &'static str,
    time: &'static str,
}

fn read_record(raw: &RawValue) -> Result<Option<Draft>, RecordError> {
    let record: Record = serde_json::from_str(raw.get())?;
    let names = Names {
        id: "eventID",
        time: "eventTime",
    };
    draft(record, &names).map(Some)
}

fn read_lookup_event(raw: &RawValue) -> Result<Option<Draft>, RecordError> {
    let event: LookupEvent = serde_json::from_str(raw.get())?;
    let mut record = event
        .cloud_trail_event
        .as_deref()
        .and_then(|text| serde_json::from_str::<Record>(text).ok())
        .unwrap_or_default();
    record.event_id = non_empty(record.event_id).or(event.event_id);
    record.event_time = record.event_time.or(event.event_time);
    record.event_source = non_empty(record.event_source).or(event.event_source);
    record.event_name = non_empty(record.event_name).or(event.event_name);
    record.read_only = record.read_only.or(event.read_only);
    let had_identity = record.user_identity.is_some();
    let names = Names {
        id: "EventId",
        time: "EventTime",
    };
    let mut draft = draft(record, &names)?;
    if let (false, Some(username)) = (had_identity, non_empty(event.username)) {
        draft.actor = Actor {
            kind: "unknown".to_owned(),
            name: username,
            detail: None,
        };
    }
    for name in event
        .resources
        .into_iter()
        .flatten()
        .filter_map(|r| r.resource_name)
    {
        push_identifier(&mut draft.identifiers, name);
    }
    Ok(Some(draft))
}

fn draft(record: Record, names: &Names) -> Result<Draft, RecordError> {
    let id = non_empty(record.event_id)
        .ok_or_else(|| RecordError::Invalid(format!("no event id (`{}`)", names.id)))?;
    let time = record
        .event_time
        .ok_or_else(|| RecordError::Invalid(format!("no event time (`{}`)", names.time)))?;
    let mut identifiers = Vec::new();
    let arns = record.resources.into_iter().flatten().filter_map(|r| r.arn);
    let leaves = (record.request_parameters.0.into_iter()).chain(record.response_elements.0);
    for identifier in arns.chain(leaves) {
        push_identifier(&mut identifiers, identifier);
    }
    let error = match (
        non_empty(record.error_code),
        non_empty(record.error_message),
    ) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (code, message) => code.or(message),
    };
    let account = non_empty(record.recipient_account_id).or_else(|| {
        (record.user_identity.as_ref()).and_then(|identity| non_empty(identity.account_id.clone()))
    });
    Ok(Draft {
        id,
        time,
        provider: "aws",
        account,
        service: record.event_source.unwrap_or_default(),
        action: record.event_name.unwrap_or_default(),
        actor: actor(record.user_identity),
        source_ip: non_empty(record.source_ip_address),
        user_agent: non_empty(record.user_agent),
        region: non_empty(record.aws_region),
        read_only: record.read_only.unwrap_or(false),
        error,
        identifiers,
    })
}

/// Adds `identifier` and, for an ARN, its resource's id.
fn push_identifier(identifiers: &mut Vec<String>, identifier: String) {
    if let Some(id) = arn_resource_id(&identifier) {
        identifiers.push(id.to_owned());
    }
    identifiers.push(identifier);
}

/// The id in an ARN's resource part (`arn:partition:service:region:account:resource`): what
/// follows its last `/` (`sg-0abc` of `…:security-group/sg-0abc`, the role name of
/// `…:role/path/name`), else its last `:` segment (`my-fn` of `…:function:my-fn`, the
/// bucket of `arn:aws:s3:::bucket`).
fn arn_resource_id(arn: &str) -> Option<&str> {
    let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    let id = match resource.rsplit_once('/') {
        Some((_, id)) => id,
        None => resource.rsplit(':').next().unwrap_or(resource),
    };
    (!id.is_empty()).then_some(id)
}

/// Who made the call, from `userIdentity`.
fn actor(identity: Option<UserIdentity>) -> Actor {
    let actor = |kind: &str, name: Option<String>, detail: Option<String>| Actor {
        kind: kind.to_owned(),
        name: name.unwrap_or_default(),
        detail,
    };
    let Some(identity) = identity else {
        return actor("unknown", None, None);
    };
    let arn = non_empty(identity.arn);
    match identity.kind.as_deref() {
        Some("AssumedRole") => {
            // arn:aws:sts::123456789012:assumed-role/RoleName/session-name
            let mut segments = arn.as_deref().unwrap_or_default().rsplit('/');
            let session = segments.next().filter(|s| !s.is_empty()).map(str::to_owned);
            let role_from_arn = segments.next().map(str::to_owned);
            let role = identity
                .session_context
                .and_then(|context| context.session_issuer)
                .and_then(|issuer| non_empty(issuer.user_name))
                .or(role_from_arn);
            let name = role.map(|role| format!("role/{role}")).or(arn.clone());
            actor("assumed_role", name, session)
        }
        Some("IAMUser") => {
            let from_arn = arn
                .as_deref()
                .and_then(|arn| arn.rsplit('/').next())
                .map(str::to_owned);
            let name = non_empty(identity.user_name).or(from_arn);
            actor("user", name, None)
        }
        Some("Root") => actor(
            "root",
            Some("root".to_owned()),
            non_empty(identity.account_id),
        ),
        Some("AWSService") => actor("service", non_empty(identity.invoked_by), None),
        kind => actor(
            kind.filter(|kind| !kind.is_empty()).unwrap_or("unknown"),
            arn.or(non_empty(identity.principal_id))
                .or(non_empty(identity.invoked_by)),
            None,
        ),
    }
}

/// `true`/`false`, as a boolean (log files) or a string (`lookup-events`' `ReadOnly`).
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    struct FlagVisitor;
    impl<'de> Visitor<'de> for FlagVisitor {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Option<bool>, E> {
            Ok(Some(value))
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Option<bool>, E> {
            match value.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Option<bool>, D::Error> {
            inner.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(FlagVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::{at, fixture, ids, load, CLOUDTRAIL, SG};
    use crate::events::{AuditEvent, EventLog};

    const MODIFY: &str = "0b7a8c52-4f1e-4d8a-9c3b-2e6f1a9d7c45";
    const TAGS: &str = "c6a4e2f0-3d8b-4a1c-9e7f-5b2d8c6a4e93";
    const DESCRIBE: &str = "5e2d7b19-8c3a-4f6e-b1d0-9a4c3e2f1b87";
    const OTHER_GROUP: &str = "7c3e1a95-2b4d-4f8e-a6c0-5d9b8e7f2a31";
    const DAY_BEFORE: &str = "e41f6a28-9d3c-4b7e-8f15-a2c6d0b9e374";
    const DENIED: &str = "3f8a2c6e-1b9d-4e7f-a5c3-8d2e6b4f9a17";
    const SERVICE: &str = "9d1b7f3e-5a2c-4e8d-b0f6-3c9a5e7d1b28";
    const SSO_ROLE: &str = "AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6a7b";

    /// The security group's identifiers as terraform's state has them.
    const GROUP: [&str; 3] = [
        SG,
        "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc123def4567890",
        "web-sg",
    ];

    fn in_window(log: &EventLog) -> Vec<&AuditEvent> {
        log.matching(
            &GROUP,
            Some(at("2026-11-20T12:00:00Z")),
            at("2026-11-20T15:00:00Z"),
        )
    }

    fn event<'a>(log: &'a EventLog, id: &str) -> &'a AuditEvent {
        let found = log.events().iter().find(|event| event.id == id);
        found.unwrap_or_else(|| panic!("event {id}"))
    }

    /// The events, with the file they came from left out.
    fn without_files(log: &EventLog) -> Vec<AuditEvent> {
        let mut events = log.events().to_vec();
        for event in &mut events {
            event.file.clear();
        }
        events
    }

    #[test]
    fn a_log_file_gives_the_changes_in_the_window() {
        let log = load(&[CLOUDTRAIL]);
        assert_eq!(log.len(), 7);
        let found = in_window(&log);
        // Not: the read-only describe, the other group, the day before, the denied call.
        assert_eq!(ids(&found), [TAGS, MODIFY]);

        let modify = found[1];
        let expected = AuditEvent {
            id: MODIFY.to_owned(),
            time: "2026-11-20T14:02:11Z".to_owned(),
            at: at("2026-11-20T14:02:11Z"),
            format: EventFormat::CloudTrail,
            file: fixture(CLOUDTRAIL).display().to_string(),
            provider: "aws".to_owned(),
            service: "ec2.amazonaws.com".to_owned(),
            action: "ModifySecurityGroupRules".to_owned(),
            actor: Actor {
                kind: "assumed_role".to_owned(),
                name: format!("role/{SSO_ROLE}"),
                detail: Some("alice@example.com".to_owned()),
            },
            source_ip: Some("203.0.113.42".to_owned()),
            user_agent: Some(
                "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/macos#24.1.0 md/arch#arm64 \
                 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#standard \
                 md/installer#source md/prompt#off md/command#ec2.modify-security-group-rules"
                    .to_owned(),
            ),
            region: Some("eu-west-1".to_owned()),
            account: Some("123456789012".to_owned()),
            read_only: false,
            error: None,
            identifiers: [
                "0.0.0.0/0",
                "6c1e9f4a-3b2d-4e8f-9a7c-1d2e3f4a5b6c",
                SG,
                "sgr-0f1e2d3c4b5a69788",
                "ssh for debugging",
                "tcp",
                "http://ec2.amazonaws.com/doc/2016-11-15/",
            ]
            .map(str::to_owned)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        };
        assert_eq!(modify, &expected);

        let tags = found[0];
        assert_eq!(tags.action, "CreateTags");
        let bob = Actor {
            kind: "user".to_owned(),
            name: "bob".to_owned(),
            detail: None,
        };
        assert_eq!(tags.actor, bob);
        assert_eq!(tags.time, "2026-11-20T13:41:07Z");
    }

    #[test]
    fn reads_failures_other_resources_and_older_changes_are_not_matches() {
        let log = load(&[CLOUDTRAIL]);
        let describe = event(&log, DESCRIBE);
        assert!(describe.read_only && describe.identifiers.contains(&SG.to_owned()));

        let denied = event(&log, DENIED);
        assert!(!denied.read_only && denied.identifiers.contains(&SG.to_owned()));
        let error = denied.error.as_deref().expect("a failed call");
        assert!(
            error.starts_with(
                "Client.UnauthorizedOperation: You are not authorized to perform this operation."
            ),
            "{error}"
        );

        let other = event(&log, OTHER_GROUP);
        assert!(!other.identifiers.contains(&SG.to_owned()));
        assert!(other
            .identifiers
            .contains(&"sg-0def456abc7890123".to_owned()));
        let ci = Actor {
            kind: "assumed_role".to_owned(),
            name: "role/terraform-ci".to_owned(),
            detail: Some("GitHubActions".to_owned()),
        };
        assert_eq!(other.actor, ci);
        assert_eq!(event(&log, DAY_BEFORE).time, "2026-11-19T09:15:42Z");
    }

    #[test]
    fn a_service_event_names_the_service_and_the_resources_arns() {
        let log = load(&[CLOUDTRAIL]);
        let assume = event(&log, SERVICE);
        let service = Actor {
            kind: "service".to_owned(),
            name: "autoscaling.amazonaws.com".to_owned(),
            detail: None,
        };
        assert_eq!(assume.actor, service);
        assert_eq!(
            (assume.service.as_str(), assume.action.as_str()),
            ("sts.amazonaws.com", "AssumeRole")
        );
        let role = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/\
                    AWSServiceRoleForAutoScaling";
        for identifier in [role, "AWSServiceRoleForAutoScaling", "AutoScaling"] {
            assert!(
                assume.identifiers.contains(&identifier.to_owned()),
                "{identifier}"
            );
        }
        // AssumeRole only reads.
        assert!(assume.read_only);
        assert!(log
            .matching(&[role], None, at("2026-11-21T00:00:00Z"))
            .is_empty());
    }

    #[test]
    fn lookup_events_output_gives_the_same_events() {
        let file = load(&[CLOUDTRAIL]);
        let lookup = load(&["cloudtrail/lookup-events.json"]);
        assert_eq!(without_files(&lookup), without_files(&file));
        assert_eq!(ids(&in_window(&lookup)), [TAGS, MODIFY]);
        assert!(lookup.events()[0].file.ends_with("lookup-events.json"));
    }

    #[test]
    fn a_gzipped_log_file_reads_the_same() {
        let plain = load(&[CLOUDTRAIL]);
        let gzipped = load(&[&format!("{CLOUDTRAIL}.gz")]);
        assert_eq!(without_files(&gzipped), without_files(&plain));
        assert!(gzipped.events()[0].file.ends_with(".json.gz"));
    }

    #[test]
    fn a_lookup_event_without_its_record_reads_the_top_level_fields() {
        let text = r#"{
            "Events": [
                {
                    "EventId": "a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e13",
                    "EventName": "ModifySecurityGroupRules",
                    "ReadOnly": "false",
                    "AccessKeyId": "ASIA3XFRBF23JV6NQ2KD",
                    "EventTime": "2026-11-20T16:02:11+02:00",
                    "EventSource": "ec2.amazonaws.com",
                    "Username": "alice@example.com",
                    "Resources": [
                        {"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": "sg-0abc123def4567890"}
                    ]
                },
                {
                    "EventId": "b4d6f8a0-2c3e-4a7b-9d1f-3e5a7c9e1f24",
                    "EventName": "DescribeSecurityGroups",
                    "ReadOnly": "true",
                    "EventTime": 1795183411.25,
                    "EventSource": "ec2.amazonaws.com",
                    "CloudTrailEvent": "not JSON"
                }
            ],
            "NextToken": "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ=="
        }"#;
        let log = EventLog::from_slice("lookup.json", text.as_bytes()).expect("lookup output");
        let [modify, describe] = log.events() else {
            panic!("two events: {:?}", log.events());
        };
        assert_eq!(modify.time, "2026-11-20T14:02:11Z");
        assert_eq!(modify.action, "ModifySecurityGroupRules");
        let alice = Actor {
            kind: "unknown".to_owned(),
            name: "alice@example.com".to_owned(),
            detail: None,
        };
        assert_eq!(modify.actor, alice);
        assert_eq!(modify.identifiers, [SG]);
        assert!(!modify.read_only);
        assert_eq!(modify.region, None);
        assert_eq!(describe.time, "2026-11-20T14:03:31.250Z");
        assert!(describe.read_only);
        assert_eq!(
            ids(&in_window(&log)),
            ["a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e13"]
        );
    }

    /// A record modifying `sg` in `account` and `region`.
    fn modify_in(id: &str, account: &str, region: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.10","eventID":"{id}","eventTime":"2026-11-20T14:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"ModifySecurityGroupRules","awsRegion":"{region}","recipientAccountId":"{account}","requestParameters":{{"groupId":"{SG}"}}}}"#
        )
    }

    #[test]
    fn a_bare_name_matches_only_events_of_the_resources_account_and_region() {
        let text = [
            modify_in("same-place", "123456789012", "eu-west-1"),
            modify_in("other-account", "999999999999", "eu-west-1"),
            modify_in("other-region", "123456789012", "us-east-1"),
        ]
        .join("\n");
        let log = EventLog::from_slice("records.json", text.as_bytes()).expect("records");
        let window = |identifiers: &[&str]| {
            let found = log.matching(identifiers, None, at("2026-11-20T15:00:00Z"));
            ids(&found)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        // The ARN places the group: its bare id matches only there.
        assert_eq!(window(&GROUP), ["same-place"]);
        // Known only by its bare id, it could be any of them.
        assert_eq!(
            window(&[SG]),
            ["other-account", "other-region", "same-place"]
        );
        // An event naming the full ARN carries the place itself.
        let arn = GROUP[1];
        let named = modify_in("by-arn", "999999999999", "us-east-1").replace(SG, arn);
        let log = EventLog::from_slice("arn.json", named.as_bytes()).expect("record");
        let found = log.matching(&[arn], None, at("2026-11-20T15:00:00Z"));
        assert_eq!(ids(&found), ["by-arn"]);
        assert_eq!(log.events()[0].account.as_deref(), Some("999999999999"));
    }

    #[test]
    fn records_on_their_own_read_as_in_a_log_file() {
        let record = r#"{"eventVersion":"1.10","userIdentity":{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2026-11-20T14:30:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.9","userAgent":"[S3Console/0.4]","requestParameters":{"bucketName":"acme-logs","Host":"acme-logs.s3.eu-west-1.amazonaws.com","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::acme-logs/*"}]},"policy":""},"responseElements":null,"eventID":"d1e3f5a7-9b0c-4d2e-8f4a-6b8c0d2e4f61","readOnly":false,"resources":[{"accountId":"123456789012","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::acme-logs"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}"#;
        // One per line (CloudWatch Logs), and as a JSON array.
        for text in [format!("{record}\n{record}\n"), format!("[{record}]")] {
            let log = EventLog::from_slice("records.json", text.as_bytes()).expect("records");
            assert_eq!(log.len(), 1, "the same event once");
            let put = &log.events()[0];
            let root = Actor {
                kind: "root".to_owned(),
                name: "root".to_owned(),
                detail: Some("123456789012".to_owned()),
            };
            assert_eq!(put.actor, root);
            for identifier in [
                "acme-logs",
                "arn:aws:s3:::acme-logs",
                "arn:aws:s3:::acme-logs/*",
            ] {
                assert!(
                    put.identifiers.contains(&identifier.to_owned()),
                    "{identifier}"
                );
            }
            let found = log.matching(&["acme-logs"], None, at("2026-11-20T14:30:00Z"));
            assert_eq!(ids(&found), ["d1e3f5a7-9b0c-4d2e-8f4a-6b8c0d2e4f61"]);
        }
    }

    #[test]
    fn actors_of_other_identity_types() {
        let actor_of = |identity: &str| {
            let identity: UserIdentity = serde_json::from_str(identity).expect("identity");
            let Actor { kind, name, detail } = actor(Some(identity));
            (kind, name, detail)
        };
        let federated = r#"{"type": "FederatedUser", "principalId": "123456789012:ci",
            "arn": "arn:aws:sts::123456789012:federated-user/ci", "accountId": "123456789012"}"#;
        assert_eq!(
            actor_of(federated),
            (
                "FederatedUser".to_owned(),
                "arn:aws:sts::123456789012:federated-user/ci".to_owned(),
                None
            )
        );
        let center =
            r#"{"type": "IdentityCenterUser", "principalId": "d-93670bc1d2.4a8b9c1d-ef23"}"#;
        assert_eq!(actor_of(center).1, "d-93670bc1d2.4a8b9c1d-ef23");
        // A role session without its issuer: the role from the ARN.
        let bare = r#"{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/deploy/run-42"}"#;
        assert_eq!(
            actor_of(bare),
            (
                "assumed_role".to_owned(),
                "role/deploy".to_owned(),
                Some("run-42".to_owned())
            )
        );
        assert_eq!(actor(None).kind, "unknown");
    }

    #[test]
    fn arn_resource_ids() {
        let cases = [
            (
                "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc",
                Some("sg-0abc"),
            ),
            (
                "arn:aws:iam::123456789012:role/path/to/deploy",
                Some("deploy"),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:resize",
                Some("resize"),
            ),
            ("arn:aws:s3:::acme-logs", Some("acme-logs")),
            ("arn:aws:sns:eu-west-1:123456789012:alerts", Some("alerts")),
            ("arn:aws:s3:::acme-logs/", None),
            ("arn:aws:s3", None),
            ("sg-0abc", None),
        ];
        for (arn, id) in cases {
            assert_eq!(arn_resource_id(arn), id, "{arn}");
        }
    }

    #[test]
    fn read_only_must_be_true_or_false() {
        let text = r#"{"Events": [{"EventId": "e1", "EventTime": "2026-11-20T14:02:11+00:00", "ReadOnly": "maybe"}]}"#;
        let message = EventLog::from_slice("lookup.json", text.as_bytes())
            .expect_err("not a flag")
            .to_string();
        assert_eq!(
            message,
            "lookup.json: Events[0] at line 1, column 13: invalid value: string \"maybe\", \
             expected true or false at line 1, column 91"
        );
    }
}
