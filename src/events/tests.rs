//! The events module's tests, and the fixtures and helpers its adapters' tests share.

use super::read::{read_capped, read_file_within};
use super::*;
use chrono::SecondsFormat;

/// A file under `tests/fixtures/events/`.
pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

pub(super) fn load(names: &[&str]) -> EventLog {
    let paths: Vec<PathBuf> = names.iter().map(|name| fixture(name)).collect();
    EventLog::load(&paths).expect("fixtures load")
}

pub(super) fn at(text: &str) -> SystemTime {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .into()
}

pub(super) fn ids<'a>(events: &[&'a AuditEvent]) -> Vec<&'a str> {
    events.iter().map(|event| event.id.as_str()).collect()
}

pub(super) const CLOUDTRAIL: &str =
    "cloudtrail/123456789012_CloudTrail_eu-west-1_20261120T1420Z_Kx2hGm0bWQ7nKZ8a.json";
pub(super) const SG: &str = "sg-0abc123def4567890";
const MODIFY: &str = "0b7a8c52-4f1e-4d8a-9c3b-2e6f1a9d7c45";
const TAGS: &str = "c6a4e2f0-3d8b-4a1c-9e7f-5b2d8c6a4e93";

fn error(file: &str, text: &str) -> String {
    EventLog::from_slice(file, text.as_bytes())
        .expect_err("not a valid audit log")
        .to_string()
}

#[test]
fn times_take_offsets_fractions_and_epoch_seconds() {
    let parse = |time: Time| {
        time.parse()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    };
    let text = |text: &str| parse(Time::Text(text.to_owned()));
    assert_eq!(
        text("2026-11-20T14:02:11Z"),
        Ok("2026-11-20T14:02:11Z".to_owned())
    );
    assert_eq!(
        text("2026-11-20T14:02:11+00:00"),
        Ok("2026-11-20T14:02:11Z".to_owned())
    );
    assert_eq!(
        text("2026-11-20T16:02:11+02:00"),
        Ok("2026-11-20T14:02:11Z".to_owned())
    );
    assert_eq!(
        text("2026-11-20T06:05:02.305-08:00"),
        Ok("2026-11-20T14:05:02.305Z".to_owned())
    );
    assert_eq!(
        text("2026-11-20T14:05:02.417392Z"),
        Ok("2026-11-20T14:05:02.417392Z".to_owned())
    );
    let epoch = |seconds: f64| parse(Time::EpochSeconds(seconds));
    assert_eq!(
        epoch(1_795_183_331.0),
        Ok("2026-11-20T14:02:11Z".to_owned())
    );
    assert_eq!(
        epoch(1_795_183_331.5),
        Ok("2026-11-20T14:02:11.500Z".to_owned())
    );
    assert!(epoch(f64::NAN).is_err());
    assert!(epoch(1e300).is_err());
    let bad = text("2026-13-40T14:02:11Z").expect_err("no such day");
    assert!(
        bad.starts_with("bad time \"2026-13-40T14:02:11Z\""),
        "{bad}"
    );
    assert!(text("yesterday").is_err());
    assert!(text("2026-11-20 14:02:11").is_err(), "needs an offset");
}

#[test]
fn matching_takes_the_window_open_before_and_closed_after() {
    let log = load(&[CLOUDTRAIL]);
    let identifiers = [SG];
    let tags_time = at("2026-11-20T13:41:07Z");
    let modify_time = at("2026-11-20T14:02:11Z");
    let window = |after, until| ids(&log.matching(&identifiers, after, until));
    assert_eq!(window(Some(tags_time), modify_time), [MODIFY]);
    assert_eq!(
        window(Some(at("2026-11-20T13:41:06Z")), modify_time),
        [TAGS, MODIFY]
    );
    assert_eq!(
        window(Some(tags_time), at("2026-11-20T14:02:10Z")),
        Vec::<&str>::new()
    );
    // Unbounded before: the change of the day before too, oldest first.
    assert_eq!(
        window(None, modify_time),
        ["e41f6a28-9d3c-4b7e-8f15-a2c6d0b9e374", TAGS, MODIFY]
    );
}

#[test]
fn matching_lists_an_event_once_and_ignores_short_identifiers() {
    let log = load(&[CLOUDTRAIL]);
    let until = at("2026-11-20T15:00:00Z");
    let arn = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc123def4567890";
    let both = log.matching(&[SG, arn, SG], Some(at("2026-11-20T12:00:00Z")), until);
    assert_eq!(ids(&both), [TAGS, MODIFY]);
    // "22" is no identifier (and a number in the record); "" and "sg" are too short.
    assert!(log.matching(&["", "sg", "22"], None, until).is_empty());
    assert!(
        log.matching(&["sg-0abc"], None, until).is_empty(),
        "exact strings only"
    );
    assert!(log.matching(&[], None, until).is_empty());
}

#[test]
fn a_place_scopes_bare_ids_and_is_never_matched_itself() {
    let log = load(&[CLOUDTRAIL]);
    let until = at("2026-11-20T15:00:00Z");
    let after = Some(at("2026-11-20T12:00:00Z"));
    let stack = |account: &str| format!("arn:aws:cloudformation:eu-west-1:{account}:stack/app/1");
    let ours = stack("123456789012");
    assert_eq!(
        ids(&log.matching_in(&[SG], &[ours.as_str()], after, until)),
        [TAGS, MODIFY]
    );
    let theirs = stack("999999999999");
    assert!(
        log.matching_in(&[SG], &[theirs.as_str()], after, until)
            .is_empty(),
        "the same bare id in another account"
    );

    // Every operation on a stack names the stack: naming it is no change to a resource.
    let trail = serde_json::json!({"Records": [{
        "eventVersion": "1.08", "eventTime": "2026-11-20T14:30:00Z",
        "eventSource": "cloudformation.amazonaws.com", "eventName": "DetectStackDrift",
        "awsRegion": "eu-west-1", "recipientAccountId": "123456789012",
        "eventID": "5d1c9b0e-7a43-4f2b-9e6d-0c8a1b2f3e4d", "readOnly": false,
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/ci/run"},
        "requestParameters": {"stackName": ours},
    }]});
    let log = EventLog::from_slice("stack.json", trail.to_string().as_bytes()).expect("trail");
    assert!(log
        .matching_in(&[SG], &[ours.as_str()], None, until)
        .is_empty());
    assert_eq!(log.matching(&[ours.as_str()], None, until).len(), 1);
}

#[test]
fn several_files_merge_sorted_and_each_event_once() {
    let single = load(&[CLOUDTRAIL]);
    let twice = load(&[CLOUDTRAIL, &format!("{CLOUDTRAIL}.gz")]);
    assert_eq!(twice.len(), single.len());
    assert!(twice
        .events()
        .iter()
        .all(|event| event.file.ends_with(".json")));

    let merged = load(&[CLOUDTRAIL, "gcp/gcloud-logging-read.json"]);
    let gcp = load(&["gcp/gcloud-logging-read.json"]);
    assert_eq!(merged.len(), single.len() + gcp.len());
    let times: Vec<SystemTime> = merged.events().iter().map(|event| event.at).collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "sorted by time"
    );
    assert!(!merged.is_empty());
    assert!(EventLog::load(&[]).expect("nothing to read").is_empty());
}

#[test]
fn a_missing_file_is_named() {
    let path = fixture("cloudtrail/no-such-file.json.gz");
    let error = EventLog::load(std::slice::from_ref(&path)).expect_err("missing");
    assert!(matches!(error, EventsError::Read { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: cannot be read: ", path.display())),
        "{message}"
    );
}

#[test]
fn text_that_is_not_json_is_placed() {
    let message = error(
        "trail.json",
        "{\"Records\": [\n  {\"eventID\": \"a\",,}\n]}",
    );
    assert_eq!(
        message,
        "trail.json: not JSON: key must be a string at line 2, column 19"
    );
    let message = error("trail.json", "{\"Records\": [");
    assert!(
        message.starts_with("trail.json: not JSON: EOF while parsing"),
        "{message}"
    );
    let message = error("trail.json", "{\"Records\": []} x");
    assert!(
        message.starts_with("trail.json: not JSON: expected value at line 1, column 17"),
        "{message}"
    );
    assert_eq!(error("empty.json", " \n"), "empty.json: the file is empty");
    let message = EventLog::from_slice("latin1.json", b"{\"Records\": [\"\xe9\"]}")
        .expect_err("not UTF-8")
        .to_string();
    assert_eq!(
        message,
        "latin1.json: not UTF-8 text: invalid byte at offset 14"
    );
    let message = EventLog::from_slice("trail.json.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3])
        .expect_err("not gzip")
        .to_string();
    assert!(
        message.starts_with("trail.json.gz: not a valid gzip file: "),
        "{message}"
    );
}

#[test]
fn json_of_no_known_shape_says_what_is_understood() {
    for text in [
        "{\"awsAccountId\": \"123456789012\", \"digestStartTime\": \"2026-11-20T13:00:00Z\"}",
        "[{\"hello\": \"world\"}]",
        "[1, 2]",
        "42",
        "{\"records\": []}",
    ] {
        let error = EventLog::from_slice("digest.json", text.as_bytes()).expect_err(text);
        assert!(
            matches!(error, EventsError::UnknownFormat { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "digest.json: not an audit log this version understands; expected \
             a CloudTrail log file `{\"Records\": [...]}`, \
             `aws cloudtrail lookup-events` output `{\"Events\": [...]}`, \
             or Google Cloud audit log entries \
             (`gcloud logging read --format=json`: a JSON array, or one entry per line)"
        );
    }
    // Empty containers are valid, if empty, logs.
    assert!(EventLog::from_slice("empty.json", b"[]")
        .expect("empty array")
        .is_empty());
    let empty = EventLog::from_slice("empty.json", b"{\"Records\": []}").expect("no records");
    assert!(empty.is_empty());
}

#[test]
fn a_record_of_no_known_format_among_known_ones_is_placed() {
    let text = "[\n  {\"logName\": \"projects/p/logs/syslog\", \"insertId\": \"abc\"},\n  {\"hello\": 1}\n]";
    let message = error("mixed.json", text);
    assert!(
        message.starts_with(
            "mixed.json: [1] at line 3, column 3 is not a record of a known format; expected"
        ),
        "{message}"
    );
    let message = error("trail.json", "{\"Records\": {\"eventID\": \"a\"}}");
    assert_eq!(
        message,
        "trail.json: `Records` at line 1, column 13 is not an array"
    );
}

#[test]
fn an_event_without_its_id_or_time_is_placed() {
    let text = "{\"Records\": [\n  {\"eventID\": \"a\", \"eventTime\": \"2026-11-20T14:02:11Z\"},\n  {\"eventID\": \"b\"}\n]}";
    assert_eq!(
        error("trail.json", text),
        "trail.json: Records[1] at line 3, column 3: no event time (`eventTime`)"
    );
    let text = "{\"Records\": [{\"eventTime\": \"2026-11-20T14:02:11Z\", \"eventID\": \"\"}]}";
    assert_eq!(
        error("trail.json", text),
        "trail.json: Records[0] at line 1, column 14: no event id (`eventID`)"
    );
    let text = "{\"Records\": [{\"eventTime\": \"2026-11-20T25:02:11Z\", \"eventID\": \"a\"}]}";
    let message = error("trail.json", text);
    assert!(
        message.starts_with(
            "trail.json: Records[0] at line 1, column 14: bad time \"2026-11-20T25:02:11Z\": "
        ),
        "{message}"
    );
}

#[test]
fn a_record_of_the_wrong_types_is_placed_in_the_file() {
    let text =
        "{\"Records\": [\n  {\"eventTime\": \"2026-11-20T14:02:11Z\",\n   \"eventID\": 5}\n]}";
    assert_eq!(
        error("trail.json", text),
        "trail.json: Records[0] at line 2, column 3: invalid type: integer `5`, \
         expected a string at line 3, column 15"
    );
}

#[test]
fn string_leaves_skip_numbers_type_tags_and_non_identifiers() {
    let text = r#"{"a": ["sg-1", 22, true, null, {"@type": "type.googleapis.com/x", "b": "10.0.0.0/8"}],
                   "c": "ab", "\u0064": "escaped-key"}"#;
    let leaves: StringLeaves = serde_json::from_str(text).expect("any JSON");
    assert_eq!(leaves.0, ["sg-1", "10.0.0.0/8", "escaped-key"]);
    let long = format!("\"{}\"", "x".repeat(MAX_IDENTIFIER_LEN + 1));
    let leaves: StringLeaves = serde_json::from_str(&long).expect("a string");
    assert!(leaves.0.is_empty());
}

#[test]
fn events_serialize_with_snake_case_formats() {
    let log = load(&[CLOUDTRAIL, "gcp/gcloud-logging-read.json"]);
    let json = serde_json::to_value(log.events()).expect("serializes");
    let formats: Vec<&str> = (json.as_array().expect("array").iter())
        .filter_map(|event| event["format"].as_str())
        .collect();
    assert!(formats.contains(&"cloudtrail") && formats.contains(&"gcp_audit_log"));
    assert!(json[0].get("at").is_none());
    assert_eq!(
        EventFormat::GcpAuditLog.to_string(),
        "Google Cloud audit log"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn read_within(bytes: &[u8], limit: u64) -> Result<Vec<AuditEvent>, EventsError> {
    let mut events = Vec::new();
    read_file_within(Path::new("bomb.json.gz"), bytes, &mut events, limit).map(|()| events)
}

#[test]
fn gzip_expanding_past_the_limit_is_refused_naming_it() {
    // 64 KiB of JSON whitespace from a few hundred bytes of gzip.
    let mut text = vec![b' '; 64 * 1024];
    text.extend_from_slice(br#"{"Records": []}"#);
    let bomb = gzip(&text);
    assert!(bomb.len() < 1024);
    let err = read_within(&bomb, 16 * 1024).expect_err("too large");
    assert!(matches!(err, EventsError::TooLarge { limit: 16_384, .. }));
    assert_eq!(
        err.to_string(),
        "bomb.json.gz: it decompresses to more than 16384 bytes, the most driftlog reads of one \
         event file (MAX_EVENT_FILE_BYTES); split it or filter the events first"
    );
    assert!(
        read_within(&bomb, 128 * 1024).is_ok(),
        "under the limit it reads"
    );
    let plain = read_within(&text, 16 * 1024).expect_err("too large");
    assert!(plain.to_string().contains("it holds more than 16384 bytes"));
}

#[test]
fn a_file_past_the_limit_is_not_read_whole() {
    // Sparse: as large as the limit allows and a byte more, without using the disk.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.json");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(MAX_EVENT_FILE_BYTES + 1).expect("sparse file");
    let err = EventLog::load(&[path]).expect_err("too large");
    assert!(
        matches!(
            err,
            EventsError::TooLarge {
                what: "it holds",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn json_too_deep_for_serde_is_named_so() {
    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    let record = format!(
        r#"{{"Records": [{{"eventVersion": "1.10", "eventID": "e", "eventTime": "2026-11-20T14:00:00Z", "requestParameters": {}}}]}}"#,
        deep(200)
    );
    let message = error("trail.json", &record);
    assert!(
        message.contains("nests deeper than 127 levels"),
        "{message}"
    );
    assert!(!message.contains("recursion limit"), "{message}");
    // One record per line, its response nested too deep.
    let line = format!(
        r#"{{"eventVersion": "1.10", "eventID": "e", "eventTime": "2026-11-20T14:00:00Z", "responseElements": {{"a": {}}}}}"#,
        deep(300)
    );
    let message = error("trail.json", &format!("{line}\n{line}\n"));
    assert!(
        message.contains("nests deeper than 127 levels"),
        "{message}"
    );
    assert!(!message.contains("not JSON"), "{message}");
    // Deep but no records at all: not an audit log, which is what it is.
    let message = error("trail.json", &deep(300));
    assert!(message.contains("not an audit log"), "{message}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// Small, so the bound is exercised in every run (the real one is 256 MiB).
    const LIMIT: u64 = 64 * 1024;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9:/._-]{0,16}",
            "\\PC{0,12}",
            Just("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc".to_owned()),
            Just("arn:é:::".to_owned()),
            Just("projects/é/zones/ü/instances/✓".to_owned()),
            Just("sg-0abc".to_owned()),
        ]
    }

    fn time() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!("2026-11-20T14:00:00Z")),
            Just(json!("2026-11-20T14:00:00.123456+05:30")),
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(|n| json!(n)),
            text().prop_map(Value::from),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                prop::collection::btree_map(text(), inner, 0..5)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn cloudtrail_record() -> impl Strategy<Value = Value> {
        (
            (text(), time(), text(), text(), text(), text()),
            (json_value(), json_value(), prop::collection::vec(text(), 0..3)),
            (json_value(), any::<bool>()),
        )
            .prop_map(
                |(
                    (id, time, source, name, region, account),
                    (request, response, arns),
                    (identity, read_only),
                )| {
                    json!({
                        "eventVersion": "1.10", "eventID": id, "eventTime": time,
                        "eventSource": source, "eventName": name, "awsRegion": region,
                        "recipientAccountId": account, "requestParameters": request,
                        "responseElements": response, "userIdentity": identity,
                        "readOnly": read_only,
                        "resources": arns.into_iter().map(|arn| json!({"ARN": arn})).collect::<Vec<_>>(),
                    })
                },
            )
    }

    fn gcp_entry() -> impl Strategy<Value = Value> {
        (
            (text(), time(), text(), text(), text()),
            (json_value(), json_value(), any::<i64>()),
        )
            .prop_map(|((id, time, project, method, resource), (request, labels, code))| {
                json!({
                    "insertId": id, "timestamp": time,
                    "logName": format!("projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"),
                    "resource": {"type": "gce_instance", "labels": labels},
                    "protoPayload": {
                        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                        "methodName": method, "resourceName": resource,
                        "serviceName": "compute.googleapis.com", "request": request,
                        "status": {"code": code},
                    },
                })
            })
    }

    /// A document holding `records` in one of the shapes event files have.
    fn document(records: Vec<Value>, shape: u8) -> Vec<u8> {
        let text = match shape % 4 {
            0 => json!({ "Records": records }).to_string(),
            1 => Value::from(records).to_string(),
            2 => records.iter().map(|r| format!("{r}\n")).collect(),
            _ => json!({ "Events": records.iter().map(|r| json!({
                "EventId": r.get("eventID"), "EventTime": r.get("eventTime"),
                "CloudTrailEvent": r.to_string(),
            })).collect::<Vec<_>>() })
            .to_string(),
        };
        text.into_bytes()
    }

    /// Reads `bytes` bounded by [`LIMIT`]; what reads is tidy and can be matched.
    fn check(bytes: &[u8], queries: &[String]) -> Result<(), TestCaseError> {
        let mut events = Vec::new();
        let result = read_file_within(Path::new("fuzz.json"), bytes, &mut events, LIMIT);
        if bytes.len() as u64 > LIMIT {
            let too_large = matches!(result, Err(EventsError::TooLarge { .. }));
            prop_assert!(too_large, "{} bytes read", bytes.len());
        }
        let Ok(()) = result else {
            return Ok(());
        };
        for event in &events {
            prop_assert!(event.identifiers.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(event.identifiers.iter().all(|i| is_identifier(i)));
        }
        let log = EventLog::from_events(events);
        let mut asked: Vec<&str> = queries.iter().map(String::as_str).collect();
        asked.extend(
            log.events()
                .iter()
                .flat_map(|e| e.identifiers.iter().map(String::as_str)),
        );
        let until = at("2100-01-01T00:00:00Z");
        for found in log.matching(&asked, None, until) {
            prop_assert!(found
                .identifiers
                .iter()
                .any(|i| asked.contains(&i.as_str())));
        }
        Ok(())
    }

    fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
        super::gzip(bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_event_files(
            trail in prop::collection::vec(cloudtrail_record(), 0..4),
            entries in prop::collection::vec(gcp_entry(), 0..4),
            shape in any::<u8>(),
            compress in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            noise in prop::collection::vec(any::<u8>(), 0..64),
            queries in prop::collection::vec(text(), 0..4),
            expansion in 0usize..(2 * LIMIT as usize),
        ) {
            for records in [trail, entries] {
                let plain = document(records, shape);
                let bytes = if compress { gzip_bytes(&plain) } else { plain };
                check(&bytes, &queries)?;
                // Cut anywhere: a torn download or a truncated gzip stream.
                let cut = cut.index(bytes.len() + 1);
                check(&bytes[..cut], &queries)?;
            }
            check(&noise, &queries)?;
            check(&gzip_bytes(&noise), &queries)?;
            // Whitespace around a valid document expands past the bound or not.
            let mut padded = vec![b' '; expansion];
            padded.extend_from_slice(br#"{"Records": []}"#);
            let mut events = Vec::new();
            let result = read_file_within(Path::new("pad.gz"), &gzip_bytes(&padded), &mut events, LIMIT);
            prop_assert_eq!(
                matches!(result, Err(EventsError::TooLarge { .. })),
                padded.len() as u64 > LIMIT
            );
        }
    }

    #[test]
    fn fuzz_event_files_corpus_loads_or_is_refused_without_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/events");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("the events corpus")
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        paths.sort();
        assert!(!paths.is_empty());
        for path in paths {
            let name = path.display().to_string();
            let bytes = std::fs::read(&path).expect("a corpus file");
            let mut events = Vec::new();
            // Under the small bound, so a bomb of a few kilobytes trips it.
            let result = read_file_within(&path, &bytes, &mut events, LIMIT)
                .map(|()| EventLog::from_events(events));
            // `valid-*` seeds are event files (hostile inside); the rest are refused.
            let too_large = matches!(result, Err(EventsError::TooLarge { .. }));
            if name.contains("/valid-") {
                let log = result.unwrap_or_else(|err| panic!("{name}: {err}"));
                let until = at("2100-01-01T00:00:00Z");
                for event in log.events() {
                    let ids: Vec<&str> = event.identifiers.iter().map(String::as_str).collect();
                    let _ = log.matching(&ids, None, until);
                }
            } else {
                assert!(result.is_err(), "{name} is hostile and loads");
            }
            if name.ends_with("bomb.json.gz") {
                assert!(too_large, "{name}");
            }
        }
    }
}

#[test]
fn capped_reads_stop_past_the_limit_and_keep_everything_under_it() {
    let data: Vec<u8> = (0..200_000u32).map(|n| n as u8).collect();
    for hint in [None, Some(0), Some(200_000), Some(u64::MAX)] {
        let read = read_capped(&data[..], 200_000, hint).expect("in memory");
        assert_eq!(read.as_deref(), Some(&data[..]), "{hint:?}");
        assert!(
            read.is_some_and(|bytes| bytes.capacity() <= 200_000),
            "{hint:?}"
        );
        assert_eq!(
            read_capped(&data[..], 199_999, hint).expect("in memory"),
            None
        );
    }
    assert_eq!(
        read_capped(&b""[..], 0, None).expect("in memory"),
        Some(Vec::new())
    );
}
