use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::*;

const URL_SECRET: &str = "T0SECRETPATH/B0SECRET/xyzzy";
const HMAC_SECRET: &str = "hmac-secret-for-tests";

fn fast() -> Policy {
    Policy {
        attempts: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        attempt_timeout: Duration::from_secs(5),
        max_retry_after: Duration::from_millis(50),
    }
}

struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// A receiver on loopback answering with `script`, then 200; it keeps what it got.
struct Server {
    url: String,
    stop: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Request>>>,
    worker: Option<JoinHandle<()>>,
}

impl Server {
    fn start(script: Vec<Answer>) -> Server {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let port = server.server_addr().to_ip().expect("ip").port();
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let worker = {
            let (stop, got) = (stop.clone(), got.clone());
            std::thread::spawn(move || {
                let mut script = script.into_iter();
                while !stop.load(Ordering::SeqCst) {
                    let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(20))
                    else {
                        continue;
                    };
                    let mut body = Vec::new();
                    let _ = request.as_reader().read_to_end(&mut body);
                    got.lock().expect("the list").push(Request {
                        path: request.url().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| (h.field.to_string(), h.value.to_string()))
                            .collect(),
                        body,
                    });
                    let (status, headers, answer) =
                        script.next().unwrap_or((200, Vec::new(), b"ok".to_vec()));
                    let mut response =
                        tiny_http::Response::from_data(answer).with_status_code(status);
                    for (name, value) in headers {
                        response.add_header(
                            tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                                .expect("header"),
                        );
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Server {
            url: format!("http://127.0.0.1:{port}/services/{URL_SECRET}"),
            stop,
            got,
            worker: Some(worker),
        }
    }

    /// What it received; the client has returned, so nothing is still on its way.
    fn received(mut self) -> Vec<Request> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            worker.join().expect("server thread");
        }
        std::mem::take(&mut *self.got.lock().expect("the list"))
    }
}

fn target(kind: Kind, url: &str, secret: Option<&str>) -> Target {
    Target::from_env(
        kind,
        "HOOK_URL",
        secret.map(|_| "HOOK_SECRET"),
        |name| match name {
            "HOOK_URL" => Some(url.to_owned()),
            _ => secret.map(str::to_owned),
        },
    )
    .expect("a usable target")
}

fn message() -> Notification {
    Notification::sample("2026-12-04T00:00:00Z")
}

fn assert_secret_free(text: &str) {
    assert!(!text.contains(URL_SECRET), "the URL leaked: {text}");
    assert!(!text.contains("xyzzy"), "the URL leaked: {text}");
    assert!(!text.contains(HMAC_SECRET), "the secret leaked: {text}");
}

#[test]
fn a_message_arrives_once_with_its_headers_and_a_signature_that_verifies() {
    let server = Server::start(Vec::new());
    let target = target(Kind::Webhook, &server.url, Some(HMAC_SECRET));
    let notification = message();
    let delivered = send_with(&target, &notification, &fast()).expect("delivered");
    assert_eq!(
        delivered,
        Delivered {
            attempts: 1,
            status: 200
        }
    );
    let got = server.received();
    assert_eq!(got.len(), 1);
    let request = &got[0];
    assert_eq!(request.path, format!("/services/{URL_SECRET}"));
    assert_eq!(request.body, Kind::Webhook.payload(&notification));
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    assert_eq!(request.header("X-Driftlog-Event"), Some("drifted"));
    assert_eq!(
        request.header("X-Driftlog-Key"),
        Some(notification.key.as_str())
    );
    assert!(request
        .header("User-Agent")
        .is_some_and(|ua| ua.starts_with("driftlog/")));
    let signature = request.header("X-Driftlog-Signature").expect("signed");
    let hex = signature.strip_prefix("sha256=").expect("sha256=");
    let tag: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex"))
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes());
    ring::hmac::verify(&key, &request.body, &tag).expect("the signature verifies");
}

#[test]
fn without_a_secret_nothing_is_signed() {
    let server = Server::start(Vec::new());
    send_with(&target(Kind::Slack, &server.url, None), &message(), &fast()).expect("sent");
    assert_eq!(server.received()[0].header("X-Driftlog-Signature"), None);
}

#[test]
fn server_errors_and_rate_limits_are_retried_and_retry_after_is_honoured() {
    let server = Server::start(vec![
        (500, Vec::new(), b"oops".to_vec()),
        (429, vec![("Retry-After", "0".to_owned())], Vec::new()),
    ]);
    let target = target(Kind::Webhook, &server.url, None);
    let delivered = send_with(&target, &message(), &fast()).expect("delivered");
    assert_eq!(
        delivered,
        Delivered {
            attempts: 3,
            status: 200
        }
    );
    let got = server.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.windows(2).all(|w| w[0].body == w[1].body),
        "the same body each time"
    );
}

#[test]
fn a_receiver_that_keeps_failing_gets_the_policys_attempts_and_no_more() {
    let script = (0..10).map(|_| (503, Vec::new(), Vec::new())).collect();
    let server = Server::start(script);
    let target = target(Kind::Teams, &server.url, None);
    let err = send_with(&target, &message(), &fast()).expect_err("never delivered");
    assert_eq!(server.received().len(), 3);
    let text = err.to_string();
    assert!(text.starts_with("teams (HOOK_URL): HTTP 503"), "{text}");
    assert!(text.ends_with("(3 attempts)"), "{text}");
}

#[test]
fn a_refusal_is_not_retried_and_its_words_are_cut_and_scrubbed() {
    let echo = format!(
        "bad\r\nrequest to http://127.0.0.1/services/{URL_SECRET} signed {HMAC_SECRET}\x1b[31m {}",
        "x".repeat(10_000)
    );
    let server = Server::start(vec![(400, Vec::new(), echo.into_bytes())]);
    let target = target(Kind::Webhook, &server.url, Some(HMAC_SECRET));
    let err = send_with(&target, &message(), &fast()).expect_err("refused");
    assert_eq!(server.received().len(), 1, "a 400 is not retried");
    let text = err.to_string();
    assert!(text.contains("HTTP 400: bad request to"), "{text}");
    assert!(text.ends_with("(1 attempt)"), "{text}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.chars().count() < MAX_NOTIFY_ERROR_CHARS + 80, "{text}");
    assert_secret_free(&text);
}

#[test]
fn a_token_echoed_alone_is_masked_even_without_digits() {
    let server = Server::start(vec![(
        403,
        Vec::new(),
        b"invalid_token xyzzyplughabcdef".to_vec(),
    )]);
    let url = server.url.replace(URL_SECRET, "T0/B0/xyzzyplughabcdef");
    let err = send_with(&target(Kind::Slack, &url, None), &message(), &fast())
        .expect_err("refused")
        .to_string();
    server.received();
    assert!(err.contains("HTTP 403: invalid_token ***"), "{err}");
}

#[test]
fn a_redirect_is_not_followed() {
    let elsewhere = Server::start(Vec::new());
    let server = Server::start(vec![(
        307,
        vec![("Location", elsewhere.url.clone())],
        Vec::new(),
    )]);
    let target = target(Kind::Webhook, &server.url, Some(HMAC_SECRET));
    let err = send_with(&target, &message(), &fast()).expect_err("not followed");
    assert!(err.to_string().contains("HTTP 307"), "{err}");
    assert!(
        err.to_string().contains("redirects are not followed"),
        "{err}"
    );
    assert_eq!(server.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "nothing went where it pointed"
    );
}

#[test]
fn a_huge_answer_is_read_only_so_far() {
    let server = Server::start(vec![(500, Vec::new(), vec![b'y'; 8 << 20])]);
    let policy = Policy {
        attempts: 1,
        ..fast()
    };
    let target = target(Kind::Webhook, &server.url, None);
    let err = send_with(&target, &message(), &policy).expect_err("failed");
    assert!(err.to_string().contains("HTTP 500: yyy"), "{err}");
    server.received();
}

#[test]
fn no_answer_in_time_and_no_listener_are_failures_that_name_no_url() {
    // Accepts connections and never answers them.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!(
        "http://{}/services/{URL_SECRET}",
        silent.local_addr().expect("addr")
    );
    let held = std::thread::spawn(move || {
        let (stream, _) = silent.accept().expect("accept");
        stream
    });
    let policy = Policy {
        attempts: 1,
        attempt_timeout: Duration::from_millis(300),
        ..fast()
    };
    let err = send_with(
        &target(Kind::Webhook, &silent_url, None),
        &message(),
        &policy,
    )
    .expect_err("timed out");
    assert!(err.to_string().contains("no answer within 0.3 s"), "{err}");
    assert_secret_free(&err.to_string());
    drop(held.join());

    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_url = format!(
        "http://{}/services/{URL_SECRET}",
        closed.local_addr().expect("addr")
    );
    drop(closed);
    let err = send_with(&target(Kind::Slack, &closed_url, None), &message(), &fast())
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("connection"), "{text}");
    assert!(text.ends_with("(3 attempts)"), "{text}");
    assert_secret_free(&text);
    assert_secret_free(&format!("{err:?}"));
}

#[test]
fn only_https_or_loopback_http_is_taken_and_the_url_is_never_repeated() {
    let lookup = |url: &'static str| move |_: &str| Some(url.to_owned());
    for url in [
        "https://hooks.slack.com/services/T0SECRETPATH/B0SECRET/xyzzy",
        "http://127.0.0.1:8080/T0SECRETPATH/xyzzy",
        "http://127.9.9.9/T0SECRETPATH/xyzzy",
        "http://localhost/T0SECRETPATH/xyzzy",
        "http://[::1]:9/T0SECRETPATH/xyzzy",
    ] {
        assert!(
            Target::from_env(Kind::Slack, "HOOK_URL", None, lookup(url)).is_ok(),
            "{url}"
        );
    }
    for url in [
        "http://hooks.slack.com/services/T0SECRETPATH/B0SECRET/xyzzy",
        "http://127.0.0.1.evil.example/T0SECRETPATH/xyzzy",
        "ftp://127.0.0.1/T0SECRETPATH/xyzzy",
        "file:///etc/T0SECRETPATH/xyzzy",
        "hooks.slack.com/T0SECRETPATH/xyzzy",
        "https:///T0SECRETPATH/xyzzy",
        "https://user:T0SECRETPATH@hooks.example.com/xyzzy",
    ] {
        let err = Target::from_env(Kind::Slack, "HOOK_URL", None, lookup(url))
            .expect_err(url)
            .to_string();
        assert!(
            err.starts_with("HOOK_URL does not hold an https URL"),
            "{err}"
        );
        assert_secret_free(&err);
        assert!(!err.contains("user"), "{err}");
    }
    let err = Target::from_env(Kind::Webhook, "HOOK_URL", Some("HOOK_SECRET"), |name| {
        (name == "HOOK_URL")
            .then(|| "https://example.com/x".to_owned())
            .or(Some(String::new()))
    })
    .expect_err("an empty secret");
    assert!(
        err.to_string().contains("HOOK_SECRET is not set or empty"),
        "{err}"
    );
    // Configured but unset: refused too, never sent unsigned.
    let err = Target::from_env(Kind::Webhook, "HOOK_URL", Some("HOOK_SECRET"), |name| {
        (name == "HOOK_URL").then(|| "https://example.com/x".to_owned())
    })
    .expect_err("an unset secret");
    assert!(
        err.to_string().contains("no message is sent unsigned"),
        "{err}"
    );
}

#[test]
fn a_target_shows_no_secret_when_debugged() {
    let target = target(
        Kind::Webhook,
        &format!("https://example.com/{URL_SECRET}"),
        Some(HMAC_SECRET),
    );
    assert_secret_free(&format!("{target:?}"));
}
