//! When a failed GitHub request is worth repeating, and after how long.
//!
//! Pure: it reads a response's status, headers and message and the current time, so every
//! rule is testable without a server. The schedule between plain retries comes from backon;
//! GitHub's own hints (`Retry-After`, the rate-limit reset time) override it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};
use http::{HeaderMap, StatusCode};

/// How persistent the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First pause of the exponential schedule.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest driftlog waits for a rate limit to reset; beyond it the request fails
    /// with the reset time rather than holding a CI job for an hour.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            max_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The plain schedule: exponential with jitter, `max_attempts - 1` pauses.
    pub(crate) fn schedule(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build()
    }
}

/// What to do about one failed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again after the schedule's next pause.
    Backoff,
    /// Try again after exactly this long: GitHub said so.
    After(Duration),
    /// A rate limit that resets later than the caller will wait: give up, saying when.
    RateLimitedUntil(SystemTime),
    /// Repeating cannot help (permissions, validation, not found).
    Fail,
}

/// Classifies a non-success response. `message` is GitHub's `message` field, when any.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    message: &str,
    now: SystemTime,
    policy: &RetryPolicy,
) -> Verdict {
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (header(headers, "retry-after").is_some()
                || header(headers, "x-ratelimit-remaining") == Some("0")
                || message.to_ascii_lowercase().contains("rate limit")));
    if limited {
        return match hinted_wait(headers, now) {
            Some(wait) if wait <= policy.max_wait => Verdict::After(wait),
            Some(wait) => Verdict::RateLimitedUntil(now + wait),
            None => Verdict::Backoff,
        };
    }
    if status.is_server_error() {
        return match hinted_wait(headers, now) {
            Some(wait) if wait <= policy.max_wait => Verdict::After(wait),
            _ => Verdict::Backoff,
        };
    }
    Verdict::Fail
}

/// GitHub's hint: `Retry-After` (seconds or an HTTP date) first, then the primary rate
/// limit's reset time when it is exhausted.
fn hinted_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(wait) =
        header(headers, "retry-after").and_then(|v| crate::retry_after::parse(v, now))
    {
        return Some(wait);
    }
    if header(headers, "x-ratelimit-remaining") == Some("0") {
        let reset = header(headers, "x-ratelimit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        let reset = UNIX_EPOCH + Duration::from_secs(reset);
        // The reset second itself may still be limited.
        return Some(reset.duration_since(now).unwrap_or_default() + Duration::from_secs(1));
    }
    None
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn verdict(status: u16, pairs: &[(&'static str, &str)], message: &str) -> Verdict {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        classify(
            StatusCode::from_u16(status).expect("status"),
            &headers(pairs),
            message,
            now,
            &RetryPolicy::default(),
        )
    }

    #[test]
    fn server_errors_back_off() {
        assert_eq!(verdict(500, &[], ""), Verdict::Backoff);
        assert_eq!(verdict(502, &[], ""), Verdict::Backoff);
        assert_eq!(
            verdict(503, &[("retry-after", "3")], ""),
            Verdict::After(Duration::from_secs(3))
        );
    }

    #[test]
    fn rate_limits_wait_as_told() {
        assert_eq!(
            verdict(429, &[("retry-after", "2")], ""),
            Verdict::After(Duration::from_secs(2))
        );
        assert_eq!(
            verdict(
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1000010")
                ],
                "API rate limit exceeded"
            ),
            Verdict::After(Duration::from_secs(11))
        );
        assert_eq!(
            verdict(403, &[], "You have exceeded a secondary rate limit"),
            Verdict::Backoff
        );
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_000_004));
        assert_eq!(
            verdict(429, &[("retry-after", &date)], ""),
            Verdict::After(Duration::from_secs(4))
        );
    }

    #[test]
    fn a_far_reset_is_not_waited_for() {
        assert_eq!(
            verdict(
                429,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1003600")
                ],
                ""
            ),
            Verdict::RateLimitedUntil(UNIX_EPOCH + Duration::from_secs(1_003_601))
        );
    }

    #[test]
    fn permission_and_validation_errors_are_final() {
        assert_eq!(
            verdict(403, &[], "Resource not accessible by integration"),
            Verdict::Fail
        );
        assert_eq!(verdict(404, &[], "Not Found"), Verdict::Fail);
        assert_eq!(verdict(422, &[], "Validation Failed"), Verdict::Fail);
        assert_eq!(verdict(401, &[], "Bad credentials"), Verdict::Fail);
    }

    #[test]
    fn the_schedule_is_bounded() {
        let policy = RetryPolicy::default();
        let pauses: Vec<Duration> = policy.schedule().collect();
        assert_eq!(pauses.len(), 4);
        assert!(pauses.iter().all(|p| *p <= policy.max_delay * 2));
    }
}
