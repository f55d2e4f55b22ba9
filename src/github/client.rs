//! A small synchronous face on octocrab: JSON requests with bounded retries, and lists walked
//! page by page.
//!
//! octocrab does the HTTP, TLS, authentication, base URL (GitHub Enterprise's `/api/v3`
//! prefix included) and `Link` header parsing. Retries are driftlog's because GitHub's hints
//! (`Retry-After`, the rate-limit reset) live in headers that octocrab's typed errors drop.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use http::{Method, StatusCode, Uri};
use octocrab::{FromResponse, Octocrab, Page};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::retry::{classify, RetryPolicy, Verdict};
use super::GithubError;

/// How long one GitHub request may take, from connecting to its whole body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request may take in all, its retries and their pauses included.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(120);
/// The longest wait for a connection, within the request timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The environment variable that overrides [`DEFAULT_REQUEST_TIMEOUT`] (`45s`, or seconds).
pub const REQUEST_TIMEOUT_ENV: &str = "DRIFTLOG_GITHUB_TIMEOUT";
/// The environment variable that overrides [`DEFAULT_REQUEST_DEADLINE`].
pub const REQUEST_DEADLINE_ENV: &str = "DRIFTLOG_GITHUB_DEADLINE";
/// How often a wait on GitHub looks for a stop request.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How long GitHub requests may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One attempt: connecting, sending, the whole answer.
    pub request: Duration,
    /// One request with all its retries.
    pub deadline: Duration,
}

impl Timeouts {
    /// [`REQUEST_TIMEOUT_ENV`] and [`REQUEST_DEADLINE_ENV`], else the defaults; read once per
    /// process. The deadline is never shorter than one attempt.
    pub fn from_env() -> Timeouts {
        static TIMEOUTS: OnceLock<Timeouts> = OnceLock::new();
        *TIMEOUTS.get_or_init(|| {
            let read = |name: &str, default: Duration| {
                std::env::var(name)
                    .ok()
                    .and_then(|text| crate::audit::sync::parse_duration(&text))
                    .unwrap_or(default)
            };
            let request = read(REQUEST_TIMEOUT_ENV, DEFAULT_REQUEST_TIMEOUT);
            Timeouts {
                request,
                deadline: read(REQUEST_DEADLINE_ENV, DEFAULT_REQUEST_DEADLINE).max(request),
            }
        })
    }
}

/// A GitHub REST API client for one API root and token.
pub struct Client {
    octocrab: Octocrab,
    runtime: tokio::runtime::Runtime,
    policy: RetryPolicy,
    timeouts: Timeouts,
    api_url: String,
    /// Masked in every error this client returns.
    secrets: Vec<String>,
}

/// Why a wait on GitHub ended without its answer.
enum Cut {
    TimedOut,
    Stopped,
}

type Response = http::Response<http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>>;

impl Client {
    /// A client for `api_url` (`https://api.github.com`, or a GitHub Enterprise Server's
    /// `https://HOST/api/v3`) authenticated by `token`. No error it returns, then or later,
    /// holds the token.
    pub fn new(api_url: &str, token: &str, policy: RetryPolicy) -> Result<Client, GithubError> {
        let secrets = vec![token.to_owned()];
        let mut client =
            Self::connect(api_url, token, policy).map_err(|err| err.scrubbed(&secrets))?;
        client.secrets = secrets;
        Ok(client)
    }

    /// `text` with the token masked, for anything built from what GitHub answered.
    pub(crate) fn scrub(&self, text: &str) -> String {
        crate::secrets::scrub(text, &self.secrets)
    }

    fn connect(api_url: &str, token: &str, policy: RetryPolicy) -> Result<Client, GithubError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| GithubError::Setup(err.to_string()))?;
        let base: Uri =
            api_url
                .trim_end_matches('/')
                .parse()
                .map_err(|err: http::uri::InvalidUri| GithubError::BadApiUrl {
                    url: api_url.to_owned(),
                    message: err.to_string(),
                })?;
        if base.scheme().is_none() || base.authority().is_none() {
            return Err(GithubError::BadApiUrl {
                url: api_url.to_owned(),
                message: "it needs a scheme and a host, like https://api.github.com".into(),
            });
        }
        let timeouts = Timeouts::from_env();
        // octocrab's connector and timeouts want a runtime to exist while they are built.
        let octocrab = runtime.block_on(async {
            Octocrab::builder()
                .base_uri(base)
                .and_then(|builder| {
                    builder
                        .personal_token(token.to_owned())
                        .add_header(
                            http::header::HeaderName::from_static("x-github-api-version"),
                            "2022-11-28".to_owned(),
                        )
                        .set_connect_timeout(Some(CONNECT_TIMEOUT.min(timeouts.request)))
                        .set_read_timeout(Some(timeouts.request))
                        .set_write_timeout(Some(timeouts.request))
                        .build()
                })
                .map_err(|err| GithubError::Setup(error_chain(&err)))
        })?;
        Ok(Client {
            octocrab,
            runtime,
            policy,
            timeouts,
            api_url: api_url.trim_end_matches('/').to_owned(),
            secrets: Vec::new(),
        })
    }

    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        what: &str,
        route: &str,
    ) -> Result<T, GithubError> {
        self.request(what, Method::GET, route, None)
            .map_err(|err| err.scrubbed(&self.secrets))
    }

    pub(crate) fn post<T: DeserializeOwned>(
        &self,
        what: &str,
        route: &str,
        body: &Value,
    ) -> Result<T, GithubError> {
        self.request(what, Method::POST, route, Some(body))
            .map_err(|err| err.scrubbed(&self.secrets))
    }

    pub(crate) fn patch<T: DeserializeOwned>(
        &self,
        what: &str,
        route: &str,
        body: &Value,
    ) -> Result<T, GithubError> {
        self.request(what, Method::PATCH, route, Some(body))
            .map_err(|err| err.scrubbed(&self.secrets))
    }

    /// Walks a paginated list page by page (100 per page) until `visit` returns `Some`;
    /// later pages are not fetched.
    pub(crate) fn find_in_pages<T: DeserializeOwned, R>(
        &self,
        what: &str,
        route: &str,
        visit: impl FnMut(T) -> Option<R>,
    ) -> Result<Option<R>, GithubError> {
        self.walk_pages(what, route, visit)
            .map_err(|err| err.scrubbed(&self.secrets))
    }

    fn walk_pages<T: DeserializeOwned, R>(
        &self,
        what: &str,
        route: &str,
        mut visit: impl FnMut(T) -> Option<R>,
    ) -> Result<Option<R>, GithubError> {
        let separator = if route.contains('?') { '&' } else { '?' };
        let mut next = Some(self.uri(what, &format!("{route}{separator}per_page=100"))?);
        while let Some(uri) = next.take() {
            let response = self.send(what, Method::GET, uri, None)?;
            let page: Page<T> = self
                .body(what, Page::from_response(response))?
                .map_err(|err| GithubError::Decode {
                    what: what.to_owned(),
                    message: error_chain(&err),
                })?;
            next = page.next.clone();
            for item in page.items {
                if let Some(found) = visit(item) {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    fn request<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        route: &str,
        body: Option<&Value>,
    ) -> Result<T, GithubError> {
        let uri = self.uri(what, route)?;
        let response = self.send(what, method, uri, body)?;
        self.body(what, T::from_response(response))?
            .map_err(|err| GithubError::Decode {
                what: what.to_owned(),
                message: error_chain(&err),
            })
    }

    fn uri(&self, what: &str, route: &str) -> Result<Uri, GithubError> {
        route
            .parse()
            .map_err(|err: http::uri::InvalidUri| GithubError::Decode {
                what: what.to_owned(),
                message: format!("bad request path {route:?}: {err}"),
            })
    }

    /// Sends until success, a final failure, or the retry budget is spent.
    fn send(
        &self,
        what: &str,
        method: Method,
        uri: Uri,
        body: Option<&Value>,
    ) -> Result<Response, GithubError> {
        let mut pauses = self.policy.schedule();
        let mut attempts = 0;
        let started = Instant::now();
        let left = || self.timeouts.deadline.saturating_sub(started.elapsed());
        loop {
            attempts += 1;
            let sent = async {
                match method {
                    Method::POST => self.octocrab._post(uri.clone(), body).await,
                    Method::PATCH => self.octocrab._patch(uri.clone(), body).await,
                    _ => self.octocrab._get(uri.clone()).await,
                }
            };
            let limit = self.timeouts.request.min(left());
            let outcome = match self.wait(sent, limit) {
                Ok(outcome) => outcome.map_err(|err| error_chain(&err)),
                Err(Cut::Stopped) => return Err(self.stopped(what)),
                Err(Cut::TimedOut) => Err(format!(
                    "no answer within {} (set {REQUEST_TIMEOUT_ENV} to wait longer)",
                    humantime::format_duration(limit)
                )),
            };
            let failure = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let text = self
                        .body(what, self.octocrab.body_to_string(response))?
                        .unwrap_or_default();
                    let message = github_message(&text, status);
                    match classify(status, &headers, &message, SystemTime::now(), &self.policy) {
                        Verdict::Fail => {
                            return Err(GithubError::from_status(what, status, message))
                        }
                        Verdict::RateLimitedUntil(until) => {
                            return Err(GithubError::RateLimited {
                                what: what.to_owned(),
                                until: humantime::format_rfc3339_seconds(until).to_string(),
                            })
                        }
                        Verdict::After(wait) => Attempt::Wait(wait, status, message),
                        Verdict::Backoff => Attempt::Backoff(status, message),
                    }
                }
                Err(message) => Attempt::Unreachable(message),
            };
            let pause = match &failure {
                // A stated wait still spends one of the bounded attempts.
                Attempt::Wait(wait, ..) => pauses.next().map(|_| *wait),
                _ => pauses.next(),
            }
            // No retry that the request's deadline would cut short.
            .filter(|pause| *pause < left());
            let Some(pause) = pause else {
                return Err(match failure {
                    Attempt::Unreachable(message) => GithubError::Unreachable {
                        what: what.to_owned(),
                        api_url: self.api_url.clone(),
                        message,
                        attempts,
                    },
                    Attempt::Wait(_, status, message) | Attempt::Backoff(status, message) => {
                        GithubError::GaveUp {
                            what: what.to_owned(),
                            status: status.as_u16(),
                            message,
                            attempts,
                        }
                    }
                });
            };
            // The sleep is made inside the runtime (an async block), which its timer needs.
            let slept = self.wait(async { tokio::time::sleep(pause).await }, pause + STOP_POLL);
            if let Err(Cut::Stopped) = slept {
                return Err(self.stopped(what));
            }
        }
    }

    /// Reads an answer's body within the request timeout.
    fn body<T>(&self, what: &str, read: impl Future<Output = T>) -> Result<T, GithubError> {
        self.wait(read, self.timeouts.request)
            .map_err(|cut| match cut {
                Cut::Stopped => self.stopped(what),
                Cut::TimedOut => GithubError::Unreachable {
                    what: what.to_owned(),
                    api_url: self.api_url.clone(),
                    message: format!(
                        "the answer did not arrive within {} (set {REQUEST_TIMEOUT_ENV} to wait \
                         longer)",
                        humantime::format_duration(self.timeouts.request)
                    ),
                    attempts: 1,
                },
            })
    }

    fn stopped(&self, what: &str) -> GithubError {
        GithubError::Interrupted {
            what: what.to_owned(),
        }
    }

    /// Runs `work` until it ends, `limit` passes, or a stop is requested (a signal), whichever
    /// comes first; what is cut short is dropped, closing its connection.
    fn wait<T>(&self, work: impl Future<Output = T>, limit: Duration) -> Result<T, Cut> {
        if crate::interrupt::requested() {
            return Err(Cut::Stopped);
        }
        self.runtime.block_on(async {
            let mut work = pin!(tokio::time::timeout(limit, work));
            let mut stop = pin!(async {
                while !crate::interrupt::requested() {
                    tokio::time::sleep(STOP_POLL).await;
                }
            });
            std::future::poll_fn(|cx| {
                if let Poll::Ready(done) = work.as_mut().poll(cx) {
                    return Poll::Ready(done.map_err(|_| Cut::TimedOut));
                }
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Cut::Stopped));
                }
                Poll::Pending
            })
            .await
        })
    }
}

enum Attempt {
    Wait(Duration, StatusCode, String),
    Backoff(StatusCode, String),
    Unreachable(String),
}

/// GitHub's `message` field, or the status's reason when the body has none.
fn github_message(body: &str, status: StatusCode) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
}

/// An error and its sources on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let text = crate::run::error_chain(err);
    // octocrab appends a backtrace to some messages; it helps no user.
    match text.find("\n\nFound at") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
