use super::transport::{extra_headers, is_race, url_matches, url_password};
use super::*;
use crate::secrets::scrub;
use std::fs;

#[test]
fn timeouts_read_as_humantime_or_seconds_and_never_zero() {
    assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration(" 2m "), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
    for refused in ["0", "0s", "", "soon", "-5"] {
        assert_eq!(parse_duration(refused), None, "{refused:?}");
    }
}

#[test]
fn backoff_stays_under_the_doubling_ceiling_and_the_cap() {
    let policy = RetryPolicy {
        deadline: Duration::from_secs(60),
        base: Duration::from_millis(200),
        cap: Duration::from_secs(5),
    };
    let random = SystemRandom::new();
    for retry in 1..=12 {
        let ceiling = Duration::from_millis(200 * 2u64.pow(retry - 1)).min(policy.cap);
        for _ in 0..50 {
            assert!(policy.delay(retry, &random) <= ceiling);
        }
    }
    let delays: Vec<_> = (0..50).map(|_| policy.delay(3, &random)).collect();
    assert!(
        delays.iter().any(|d| *d != delays[0]),
        "the delay is jittered"
    );
}

#[test]
fn extra_headers_follow_gits_url_matching_and_reset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config");
    fs::write(
        &path,
        "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n\
         [http \"https://github.com/other/\"]\n\textraheader = X-Other: 1\n\
         [http \"https://example.com\"]\n\textraheader = X-Example: 1\n\
         [http]\n\textraheader = X-All: 1\n\textraheader = Host: evil\n",
    )
    .expect("write config");
    let config = git2::Config::open(&path).expect("config");
    let headers = extra_headers(&config, "https://github.com/acme/infra.git");
    assert_eq!(headers, ["AUTHORIZATION: basic c2VjcmV0", "X-All: 1"]);
    assert!(extra_headers(&config, "git@github.com:acme/infra.git").is_empty());
    assert!(extra_headers(&config, "ssh://git@github.com/acme/infra.git").is_empty());
    assert_eq!(
        extra_headers(&config, "https://github.com/other/repo"),
        ["AUTHORIZATION: basic c2VjcmV0", "X-Other: 1", "X-All: 1"]
    );
    assert!(!url_matches(
        "https://github.com/acme",
        "https://github.com/acmeco/x"
    ));
    assert!(url_matches(
        "https://github.com/acme",
        "https://u:p@github.com/acme/x"
    ));
}

#[test]
fn messages_lose_url_credentials_and_secrets() {
    let secrets = vec!["ghs_secret123".to_owned()];
    assert_eq!(
        scrub(
            "failed to push https://x-access-token:ghs_secret123@github.com/acme/infra: ghs_secret123",
            &secrets
        ),
        "failed to push https://github.com/acme/infra: ***"
    );
    assert_eq!(
        url_password("https://user:pw@host/x").as_deref(),
        Some("pw")
    );
}

#[test]
fn the_token_goes_only_to_its_server() {
    let auth = Auth::github_token("tok", "https://github.com");
    assert_eq!(auth.token_for("https://github.com/acme/infra"), Some("tok"));
    assert_eq!(auth.token_for("https://github.com.evil.net/acme"), None);
    assert_eq!(auth.token_for("http://github.com/acme"), None);
    assert!(!format!("{auth:?}").contains("tok\""));
}

#[test]
fn race_statuses_are_told_from_refusals() {
    assert!(is_race("failed to update ref"));
    assert!(is_race("cannot lock ref 'refs/heads/x'"));
    assert!(is_race("fetch first"));
    assert!(!is_race("pre-receive hook declined"));
    assert!(!is_race("protected branch hook declined"));
}
