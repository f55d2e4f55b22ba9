//! A small synchronous face on octocrab: JSON requests with bounded retries, and lists walked
//! page by page.
//!
//! octocrab does the HTTP, TLS, authentication, base URL (GitHub Enterprise's `/api/v3`
//! prefix included) and `Link` header parsing. Retries are driftlog's because GitHub's hints
//! (`Retry-After`, the rate-limit reset) live in headers that octocrab's typed errors drop.

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode, Uri};
use octocrab::{FromResponse, Octocrab, Page};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::retry::{classify, RetryPolicy, Verdict};
use super::GithubError;

/// A GitHub REST API client for one API root and token.
pub struct Client {
    octocrab: Octocrab,
    runtime: tokio::runtime::Runtime,
    policy: RetryPolicy,
    api_url: String,
    /// Masked in every error this client returns.
    secrets: Vec<String>,
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
                        .set_connect_timeout(Some(Duration::from_secs(15)))
                        .set_read_timeout(Some(Duration::from_secs(60)))
                        .build()
                })
                .map_err(|err| GithubError::Setup(error_chain(&err)))
        })?;
        Ok(Client {
            octocrab,
            runtime,
            policy,
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
                .runtime
                .block_on(Page::from_response(response))
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
        self.runtime
            .block_on(T::from_response(response))
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
        loop {
            attempts += 1;
            let outcome = self.runtime.block_on(async {
                match method {
                    Method::POST => self.octocrab._post(uri.clone(), body).await,
                    Method::PATCH => self.octocrab._patch(uri.clone(), body).await,
                    _ => self.octocrab._get(uri.clone()).await,
                }
            });
            let failure = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let text = self
                        .runtime
                        .block_on(self.octocrab.body_to_string(response))
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
                Err(err) => Attempt::Unreachable(error_chain(&err)),
            };
            let pause = match &failure {
                // A stated wait still spends one of the bounded attempts.
                Attempt::Wait(wait, ..) => pauses.next().map(|_| *wait),
                _ => pauses.next(),
            };
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
            std::thread::sleep(pause);
        }
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
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    // octocrab appends a backtrace to some messages; it helps no user.
    match text.find("\n\nFound at") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
