//! Sending a notification: one HTTPS POST of the receiver's payload, retried a few times.
//! A receiver is a remote like any other: its answer is read bounded, its words are cut and
//! scrubbed, and no error names the URL or the secret (ureq's own messages are never passed
//! on, as they may quote the request).

use std::io::Read;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};

use super::{Kind, Notification};

/// Attempts per message, the first included.
pub const NOTIFY_ATTEMPTS: u32 = 4;
/// The most one attempt takes: connecting, sending and reading the answer.
pub const NOTIFY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured; a longer one falls back to the plain schedule.
pub const MAX_NOTIFY_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The most of a receiver's answer read.
pub const MAX_NOTIFY_RESPONSE_BYTES: u64 = 64 << 10;
/// The most of a failure's description quoted in an error, the receiver's answer included.
pub const MAX_NOTIFY_ERROR_CHARS: usize = 200;

/// A secret value (a webhook URL, an HMAC key): shown as `***` by `Debug`, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One configured receiver, its URL and secret read from the variables that name them.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    /// How messages name it: `slack (SLACK_DRIFT_WEBHOOK)`, the variable, never the URL.
    pub label: String,
    pub url: Secret,
    /// The HMAC-SHA256 key signing the body (`X-Driftlog-Signature`).
    pub secret: Option<Secret>,
}

/// What a delivery took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub attempts: u32,
    pub status: u16,
}

/// Why a target cannot be used or a message did not arrive; never holds the URL or secret.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{variable} is not set or empty: it must hold the {kind} URL")]
    MissingUrl {
        kind: &'static str,
        variable: String,
    },
    #[error(
        "{variable} does not hold an https URL without credentials (plain http is taken \
         only for a loopback address): set it to the receiver's URL"
    )]
    BadUrl { variable: String },
    #[error(
        "{secret_env} is not set or empty: it must hold the HMAC secret the messages are \
         signed with (no message is sent unsigned), or remove secret_env"
    )]
    MissingSecret { secret_env: String },
    #[error("{label}: {why} ({})", crate::report::plural(*.attempts as usize, "attempt"))]
    NotDelivered {
        label: String,
        why: String,
        attempts: u32,
    },
    #[error("{label}: stopped before the message was sent")]
    Stopped { label: String },
}

impl Target {
    /// The target of `kind` whose URL is in `url_env` and HMAC secret in `secret_env`, both
    /// read through `lookup`.
    pub fn from_env(
        kind: Kind,
        url_env: &str,
        secret_env: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, NotifyError> {
        let url = lookup(url_env)
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| NotifyError::MissingUrl {
                kind: kind.as_str(),
                variable: url_env.to_owned(),
            })?;
        if !acceptable_url(&url) {
            return Err(NotifyError::BadUrl {
                variable: url_env.to_owned(),
            });
        }
        let secret = match secret_env {
            None => None,
            Some(name) => match lookup(name) {
                Some(value) if !value.trim().is_empty() => Some(Secret::new(value)),
                // A receiver that checks signatures would drop every unsigned message.
                _ => {
                    return Err(NotifyError::MissingSecret {
                        secret_env: name.to_owned(),
                    })
                }
            },
        };
        Ok(Target {
            kind,
            label: format!("{} ({url_env})", kind.as_str()),
            url: Secret::new(url),
            secret,
        })
    }
}

/// HTTPS anywhere; plain HTTP only to this machine, where nothing on the way can read it.
fn acceptable_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    // Credentials in the URL would travel as a Basic header and could be echoed back.
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return false;
    }
    match uri.scheme_str() {
        Some("https") => true,
        Some("http") => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// How persistent a delivery is; tests shorten it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub attempt_timeout: Duration,
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: NOTIFY_ATTEMPTS,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            attempt_timeout: NOTIFY_ATTEMPT_TIMEOUT,
            max_retry_after: MAX_NOTIFY_RETRY_AFTER,
        }
    }
}

/// Posts `notification` to `target`, as its kind's payload.
pub fn send(target: &Target, notification: &Notification) -> Result<Delivered, NotifyError> {
    send_with(target, notification, &Policy::default())
}

/// [`send`] under `policy`.
pub fn send_with(
    target: &Target,
    notification: &Notification,
    policy: &Policy,
) -> Result<Delivered, NotifyError> {
    let body = target.kind.payload(notification);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(policy.attempt_timeout))
        // A redirect is an answer, not a place to send the message (and its signature) to.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .user_agent(concat!("driftlog/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let post = Post {
        agent,
        timeout: policy.attempt_timeout,
        url: target.url.clone(),
        event: notification.transition.as_str(),
        key: notification.key.clone(),
        signature: target
            .secret
            .as_ref()
            .map(|secret| signature(secret, &body)),
        body: body.into(),
    };
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.attempts.saturating_sub(1) as usize)
        .with_jitter()
        .build();
    let mut attempts = 0;
    loop {
        if crate::interrupt::requested() {
            return Err(NotifyError::Stopped {
                label: target.label.clone(),
            });
        }
        attempts += 1;
        let answer = attempt_unless_stopped(&post).ok_or_else(|| NotifyError::Stopped {
            label: target.label.clone(),
        })?;
        let (why, hint) = match answer {
            Answer::Delivered(status) => return Ok(Delivered { attempts, status }),
            Answer::Retry { why, hint } => (why, hint),
            Answer::Refused(why) => return Err(not_delivered(target, why, attempts)),
        };
        let Some(plain) = delays.next() else {
            return Err(not_delivered(target, why, attempts));
        };
        let wait = hint
            .filter(|hint| *hint <= policy.max_retry_after)
            .unwrap_or(plain);
        if !crate::interrupt::sleep(wait) {
            return Err(NotifyError::Stopped {
                label: target.label.clone(),
            });
        }
    }
}

fn not_delivered(target: &Target, why: String, attempts: u32) -> NotifyError {
    let mut secrets = url_secrets(target.url.expose());
    secrets.extend(target.secret.as_ref().map(|s| s.expose().to_owned()));
    NotifyError::NotDelivered {
        label: target.label.clone(),
        // Scrubbed before it is cut, so no cut leaves part of a secret unrecognised.
        why: crate::report::shorten(
            &crate::secrets::scrub(&why, &secrets),
            MAX_NOTIFY_ERROR_CHARS,
        ),
        attempts,
    }
}

/// The URL and the parts of it a receiver might echo: a webhook URL's secret is its path
/// (Slack's token) or its query (Teams' `sig`), and an answer may quote either alone.
fn url_secrets(url: &str) -> Vec<String> {
    let mut secrets = vec![url.to_owned()];
    if let Some(rest) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
    {
        let path_and_query = rest.1;
        secrets.push(format!("/{path_and_query}"));
        secrets.extend(
            path_and_query
                .split(['/', '?', '&', '=', '#'])
                // Any part long enough to be a token may be one (a random token need not
                // hold a digit); masking `services` too costs a word in an error.
                .filter(|part| part.len() >= 8)
                .map(str::to_owned),
        );
    }
    secrets
}

enum Answer {
    Delivered(u16),
    Retry { why: String, hint: Option<Duration> },
    Refused(String),
}

/// One POST, everything it needs owned, so it can run on a thread of its own.
#[derive(Clone)]
struct Post {
    agent: ureq::Agent,
    timeout: Duration,
    url: Secret,
    event: &'static str,
    key: String,
    signature: Option<String>,
    body: std::sync::Arc<[u8]>,
}

/// The attempt's answer, or `None` when a stop came first. ureq blocks until its timeout;
/// the attempt runs on a thread so a stop is acted on at once, not up to 10 s later (the
/// thread ends at its timeout, or with the process).
fn attempt_unless_stopped(post: &Post) -> Option<Answer> {
    let (sender, answer) = std::sync::mpsc::channel();
    let post = post.clone();
    std::thread::Builder::new()
        .name("driftlog-notify".into())
        .spawn(move || sender.send(attempt(&post)))
        .ok()?;
    loop {
        match answer.recv_timeout(Duration::from_millis(50)) {
            Ok(answer) => return Some(answer),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !crate::interrupt::requested() => {}
            Err(_) => return None,
        }
    }
}

fn attempt(post: &Post) -> Answer {
    let mut request = post
        .agent
        .post(post.url.expose())
        .header("Content-Type", "application/json")
        .header("X-Driftlog-Event", post.event)
        .header("X-Driftlog-Key", &post.key);
    if let Some(signature) = &post.signature {
        request = request.header("X-Driftlog-Signature", signature);
    }
    let body: &[u8] = &post.body;
    let mut response = match request.send(body) {
        Ok(response) => response,
        Err(err) => return transport_failure(&err, post.timeout),
    };
    let status = response.status();
    let hint = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::retry_after::parse(v, SystemTime::now()));
    let mut answer = Vec::new();
    // The answer only explains a failure: what cannot be read of it is left unsaid.
    let _ = response
        .body_mut()
        .as_reader()
        .take(MAX_NOTIFY_RESPONSE_BYTES)
        .read_to_end(&mut answer);
    if status.is_success() {
        return Answer::Delivered(status.as_u16());
    }
    let why = match quoted(&answer) {
        text if text.is_empty() => format!("HTTP {}", status.as_u16()),
        text => format!("HTTP {}: {text}", status.as_u16()),
    };
    if status.is_redirection() {
        return Answer::Refused(format!("{why} (redirects are not followed)"));
    }
    let retried = status.is_server_error()
        || status == http::StatusCode::REQUEST_TIMEOUT
        || status == http::StatusCode::TOO_MANY_REQUESTS;
    match retried {
        true => Answer::Retry { why, hint },
        false => Answer::Refused(why),
    }
}

/// What went wrong on the way, in driftlog's words: ureq's may quote the URL.
fn transport_failure(err: &ureq::Error, timeout: Duration) -> Answer {
    use ureq::Error;
    let why = match err {
        Error::Timeout(_) => format!("no answer within {} s", timeout.as_secs_f32()),
        Error::HostNotFound => "the receiver's host name did not resolve".to_owned(),
        Error::ConnectionFailed => "the connection to the receiver failed".to_owned(),
        Error::Io(io) => format!("the connection failed ({:?})", io.kind()),
        Error::Tls(_) | Error::Rustls(_) => "the TLS handshake with the receiver failed".to_owned(),
        Error::Protocol(_) => "the receiver's answer was not valid HTTP".to_owned(),
        Error::BadUri(_) | Error::Http(_) => {
            return Answer::Refused("the URL or a header could not be used".to_owned())
        }
        _ => "the request failed".to_owned(),
    };
    Answer::Retry { why, hint: None }
}

/// A receiver's answer on one line, without control characters.
fn quoted(answer: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(answer)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `sha256=<hex>`: the HMAC-SHA256 of the exact body bytes under the secret, as GitHub signs
/// its own webhooks, so receivers can check it with what they already have.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = ring::hmac::sign(&key, body);
    format!("sha256={}", crate::digest::hex(tag.as_ref()))
}

#[cfg(test)]
mod tests;
