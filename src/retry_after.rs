//! `Retry-After` (RFC 9110 §10.2.3): a number of seconds or an HTTP date. One reading for
//! every remote driftlog retries against (GitHub, notification receivers).

use std::time::{Duration, SystemTime};

/// How long `value` asks the client to wait from `now`; `None` when it is neither form.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn seconds_and_dates_are_read_and_anything_else_is_not() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse(&later, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("-3", now), None);
    }
}
