//! The HTTP edges botocore never sends (bad actions, missing parameters, huge bodies), and the
//! binary's life cycle (port file, stdin, signals).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_cloudformation::{FakeCloudFormation, MAX_BODY_BYTES};

/// POSTs a form body; answers the status code and body.
fn post(url: &str, body: &[u8]) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer and close before reading a refused body.
    let _ = stream.write_all(body);
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn error_code(body: &str) -> &str {
    let start = body.find("<Code>").expect("an error code") + "<Code>".len();
    &body[start..start + body[start..].find("</Code>").expect("</Code>")]
}

#[test]
fn malformed_requests_get_query_protocol_errors() {
    let fake = FakeCloudFormation::start().expect("start");
    let (status, body) = post(fake.url(), b"Action=CreateStack&Version=2010-05-15");
    assert_eq!((status, error_code(&body)), (400, "InvalidAction"));
    let (status, body) = post(fake.url(), b"Action=DescribeStacks");
    assert_eq!((status, error_code(&body)), (400, "MissingParameter"));
    let (status, body) = post(fake.url(), b"Action=DetectStackDrift&Version=2010-05-15");
    assert_eq!((status, error_code(&body)), (400, "ValidationError"));
    assert!(
        body.contains("at &apos;stackName&apos; failed to satisfy constraint"),
        "{body}"
    );
    let (status, body) = post(fake.url(), b"Action=DescribeStacks&Version=2010-05-15");
    assert_eq!(status, 200);
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains("<DescribeStacksResult><Stacks></Stacks></DescribeStacksResult>"),
        "{body}"
    );

    let huge = vec![b'x'; MAX_BODY_BYTES + 1];
    let (status, _) = post(fake.url(), &huge);
    assert_eq!(status, 413);
    let log = fake.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].action.as_deref(), Some("CreateStack"));
    assert_eq!(log[4].error_code.as_deref(), Some("RequestEntityTooLarge"));
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the fake did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_serves_a_scenario_until_stdin_closes_or_sigterm() {
    let dir = std::env::temp_dir().join(format!("fake-cloudformation-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("scenario.json");
    std::fs::write(
        &scenario,
        r#"{"stacks": [{"name": "app", "status": "UPDATE_COMPLETE"}]}"#,
    )
    .expect("scenario");

    let port_file = dir.join("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-cloudformation"))
        .arg("--scenario")
        .arg(&scenario)
        .arg("--port-file")
        .arg(&port_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let url = wait_for(&port_file);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body) = post(
        &url,
        b"Action=DescribeStacks&Version=2010-05-15&StackName=app",
    );
    assert_eq!(status, 200);
    assert!(
        body.contains("<StackStatus>UPDATE_COMPLETE</StackStatus>"),
        "{body}"
    );
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());

    let port_file = dir.join("port2");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-cloudformation"))
        .arg("--port-file")
        .arg(&port_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for(&port_file);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "a /dev/null stdin must not stop it"
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    assert!(wait_exit(&mut child).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_documented_scenario_example_loads() {
    let example = include_str!("../scenario-example.json");
    let scenario: fake_cloudformation::Scenario = serde_json::from_str(example).expect("parses");
    assert_eq!(
        scenario.faults.throttle.get("DescribeStackResourceDrifts"),
        Some(&2)
    );
    let fake = FakeCloudFormation::start_with(scenario).expect("start");
    let (status, body) = post(
        fake.url(),
        b"Action=DescribeStacks&Version=2010-05-15&StackName=app",
    );
    assert_eq!(status, 200);
    assert!(
        body.contains(
            "<ParameterKey>DbPassword</ParameterKey><ParameterValue>****</ParameterValue>"
        ),
        "{body}"
    );
    let (status, body) = post(
        fake.url(),
        b"Action=GetTemplate&Version=2010-05-15&StackName=app",
    );
    assert_eq!((status, error_code(&body)), (403, "AccessDenied"));
}
