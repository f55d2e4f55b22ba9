use serde_json::{json, Value};

use crate::fake_github::tests::{get, patch, post, Resp, REPO, TOKEN};
use crate::fake_github::{FakeGithub, PullSeed, BOT_LOGIN};

fn numbers(resp: Resp) -> Vec<u64> {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|p| p["number"].as_u64().expect("a number"))
        .collect()
}

/// The first of GitHub's validation errors, after checking the answer is one.
fn validation_error(resp: &Resp) -> Value {
    assert_eq!(resp.status, 422, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["message"], "Validation Failed", "{body}");
    body["errors"][0].clone()
}

fn open_pull(fake: &FakeGithub, head: &str, base: &str) -> Resp {
    post(
        fake,
        "/repos/acme/infra/pulls",
        json!({"title": format!("{head} into {base}"), "head": head, "base": base, "body": "why"}),
    )
}

#[test]
fn pull_requests_are_issues_too_sharing_numbers_and_comments() {
    let fake = FakeGithub::start(TOKEN);
    fake.seed_pull_request(REPO, 1);
    let issue = fake.seed_issue(REPO, "Drift", "details", &["drift"], true);
    assert_eq!(issue, 2);

    let created = post(
        &fake,
        "/repos/acme/infra/pulls",
        json!({"title": "Adopt prod", "head": "driftlog/adopt/prod", "base": "main",
               "body": "the change", "draft": false, "maintainer_can_modify": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let pull = created.json();
    assert_eq!(pull["number"], 3, "the next number of the shared sequence");
    let web = fake.api_url();
    assert_eq!(pull["html_url"], format!("{web}/acme/infra/pull/3"));
    assert_eq!(pull["url"], format!("{web}/repos/acme/infra/pulls/3"));
    assert_eq!(
        created.header("location"),
        Some(format!("{web}/repos/acme/infra/pulls/3").as_str())
    );
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["title"], "Adopt prod");
    assert_eq!(pull["body"], "the change");
    assert_eq!(pull["head"]["ref"], "driftlog/adopt/prod");
    assert_eq!(pull["head"]["label"], "acme:driftlog/adopt/prod");
    assert_eq!(pull["head"]["sha"].as_str().map(str::len), Some(40));
    assert_eq!(pull["base"]["ref"], "main");
    assert_eq!(pull["base"]["repo"]["full_name"], REPO);
    assert_eq!(pull["user"]["login"], BOT_LOGIN);
    assert_eq!(pull["merged"], false);
    assert_eq!(pull["draft"], false);

    // The issue side of the same pull request.
    let as_issue = get(&fake, "/repos/acme/infra/issues/3").json();
    assert_eq!(as_issue["title"], "Adopt prod");
    assert_eq!(
        as_issue["pull_request"]["url"],
        format!("{web}/repos/acme/infra/pulls/3")
    );
    assert!(get(&fake, "/repos/acme/infra/issues/2").json()["pull_request"].is_null());
    let listed = get(&fake, "/repos/acme/infra/issues").json();
    let with_pull_key: Vec<bool> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i.get("pull_request").is_some())
        .collect();
    assert_eq!(with_pull_key, [true, false, true], "#3, #2, #1: {listed}");

    let comment = post(
        &fake,
        "/repos/acme/infra/issues/3/comments",
        json!({"body": "a note"}),
    );
    assert_eq!(comment.status, 201, "{}", comment.body);
    assert_eq!(
        get(&fake, "/repos/acme/infra/pulls/3").json()["comments"],
        1
    );

    // A pull request named only by number has a made-up head into the default branch.
    let implicit = get(&fake, "/repos/acme/infra/pulls/1").json();
    assert_eq!(implicit["head"]["ref"], "pull-1");
    assert_eq!(implicit["base"]["ref"], "main");
    assert_eq!(
        get(&fake, "/repos/acme/infra/pulls/2").status,
        404,
        "an issue"
    );
    assert_eq!(get(&fake, "/repos/acme/infra/pulls/9").status, 404);

    let pulls = fake.pulls(REPO);
    let numbers: Vec<u64> = pulls.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 3]);
    let adopt = &pulls[1];
    assert_eq!(
        (
            adopt.head.as_str(),
            adopt.head_label.as_str(),
            adopt.base.as_str()
        ),
        ("driftlog/adopt/prod", "acme:driftlog/adopt/prod", "main")
    );
    assert_eq!(
        (adopt.author.as_str(), adopt.state.as_str()),
        (BOT_LOGIN, "open")
    );
    assert_eq!(adopt.comments.len(), 1);
    assert_eq!(adopt.comments[0].body, "a note");
    assert_eq!(adopt.updates, 0);
    assert_eq!(
        fake.issues(REPO).len(),
        1,
        "issues() leaves pull requests out"
    );
}

#[test]
fn updates_close_and_reopen_pull_requests() {
    let fake = FakeGithub::start(TOKEN);
    assert_eq!(open_pull(&fake, "fix", "main").status, 201);

    let edited = patch(
        &fake,
        "/repos/acme/infra/pulls/1",
        json!({"title": "Better", "body": "more"}),
    );
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.json()["title"], "Better");
    assert_eq!(edited.json()["body"], "more");

    let closed = patch(
        &fake,
        "/repos/acme/infra/pulls/1",
        json!({"state": "closed"}),
    );
    assert_eq!(closed.json()["state"], "closed");
    assert!(closed.json()["closed_at"].is_string());
    assert_eq!(
        numbers(get(&fake, "/repos/acme/infra/pulls")),
        Vec::<u64>::new()
    );
    assert_eq!(
        numbers(get(&fake, "/repos/acme/infra/pulls?state=closed")),
        [1]
    );

    // Closed, it no longer blocks another from the same head into the same base...
    assert_eq!(open_pull(&fake, "fix", "main").status, 201);
    // ...which keeps the first from being reopened.
    let reopened = patch(&fake, "/repos/acme/infra/pulls/1", json!({"state": "open"}));
    assert_eq!(
        validation_error(&reopened)["message"],
        "A pull request already exists for acme:fix."
    );
    let moved = patch(
        &fake,
        "/repos/acme/infra/pulls/2",
        json!({"base": "release"}),
    );
    assert_eq!(moved.json()["base"]["ref"], "release");
    let reopened = patch(&fake, "/repos/acme/infra/pulls/1", json!({"state": "open"}));
    assert_eq!(reopened.status, 200, "{}", reopened.body);
    assert_eq!(numbers(get(&fake, "/repos/acme/infra/pulls")), [2, 1]);

    let bad = patch(
        &fake,
        "/repos/acme/infra/pulls/1",
        json!({"state": "merged"}),
    );
    assert_eq!(bad.status, 422);
    let untitled = patch(&fake, "/repos/acme/infra/pulls/1", json!({"title": ""}));
    assert_eq!(validation_error(&untitled)["field"], "title");
    assert_eq!(
        patch(&fake, "/repos/acme/infra/pulls/7", json!({})).status,
        404
    );

    let pulls = fake.pulls(REPO);
    assert_eq!(
        pulls[0].updates, 3,
        "one per accepted PATCH: edit, close, reopen"
    );
    assert_eq!(pulls[0].title, "Better");
}

#[test]
fn refuses_duplicates_empty_ranges_and_missing_branches() {
    let fake = FakeGithub::start(TOKEN);
    assert_eq!(open_pull(&fake, "feature", "main").status, 201);
    for head in ["feature", "acme:feature", "ACME:feature"] {
        let again = open_pull(&fake, head, "main");
        let error = validation_error(&again);
        assert_eq!(error["resource"], "PullRequest");
        assert_eq!(error["code"], "custom");
        assert_eq!(
            error["message"],
            "A pull request already exists for acme:feature."
        );
    }
    assert_eq!(
        open_pull(&fake, "feature", "release").status,
        201,
        "another base"
    );
    let same = validation_error(&open_pull(&fake, "main", "main"));
    assert_eq!(same["message"], "No commits between main and main");

    fake.set_branches(REPO, &["feature", "other"]);
    let missing_head = validation_error(&open_pull(&fake, "nowhere", "main"));
    assert_eq!(
        (
            missing_head["field"].as_str(),
            missing_head["code"].as_str()
        ),
        (Some("head"), Some("invalid"))
    );
    let missing_base = validation_error(&open_pull(&fake, "other", "release"));
    assert_eq!(missing_base["field"], "base");
    // The default branch always exists.
    assert_eq!(open_pull(&fake, "other", "main").status, 201);

    let untitled = post(
        &fake,
        "/repos/acme/infra/pulls",
        json!({"head": "other", "base": "feature"}),
    );
    assert_eq!(untitled.status, 422);
    let long = post(
        &fake,
        "/repos/acme/infra/pulls",
        json!({"title": "t", "head": "other", "base": "feature",
               "body": "x".repeat(crate::fake_github::BODY_LIMIT + 1)}),
    );
    assert_eq!(validation_error(&long)["field"], "body");
    assert_eq!(fake.pulls(REPO).len(), 3, "nothing refused was kept");
}

#[test]
fn lists_filter_by_head_and_base_and_paginate() {
    let fake = FakeGithub::start(TOKEN);
    for n in 1..=5 {
        fake.seed_pull(REPO, PullSeed::new(&format!("topic-{n}"), "main"));
    }
    let theirs = fake.seed_pull(REPO, PullSeed::new("shared", "main").by("mallory"));
    let ours_closed = fake.seed_pull(REPO, PullSeed::new("shared", "main").closed());
    let dev = fake.seed_pull(REPO, PullSeed::new("shared", "dev"));

    let list = |query: &str| numbers(get(&fake, &format!("/repos/acme/infra/pulls{query}")));
    assert_eq!(list("?head=acme:shared"), [dev, theirs]);
    assert_eq!(
        list("?head=acme%3Ashared&base=main&state=all"),
        [ours_closed, theirs]
    );
    assert_eq!(list("?head=ACME:shared&base=dev"), [dev]);
    assert_eq!(list("?head=someone:shared"), Vec::<u64>::new());
    assert_eq!(
        list("?head=shared").len(),
        7,
        "a head without an owner is ignored"
    );
    assert_eq!(list("?base=dev"), [dev]);
    assert_eq!(list("?state=closed"), [ours_closed]);
    assert_eq!(list("?sort=created&direction=asc")[..2], [1, 2]);
    assert_eq!(
        get(&fake, "/repos/acme/infra/pulls?state=merged").status,
        422
    );

    let first = get(&fake, "/repos/acme/infra/pulls?state=all&per_page=3");
    let links = first.links();
    assert_eq!(numbers(first), [8, 7, 6]);
    let last = links.get("last").expect("a last link");
    assert!(last.ends_with("state=all&per_page=3&page=3"), "{last}");
    let next = links.get("next").expect("a next link");
    let next_path = next.trim_start_matches(&fake.api_url()).to_string();
    assert_eq!(numbers(get(&fake, &next_path)), [5, 4, 3]);
    assert_eq!(list("?state=all&per_page=3&page=3"), [2, 1]);

    let enterprise = get(&fake, "/api/v3/repos/acme/infra/pulls?per_page=2");
    let next = enterprise
        .links()
        .get("next")
        .cloned()
        .expect("a next link");
    assert!(next.starts_with(&fake.enterprise_api_url()), "{next}");
}

#[test]
fn the_repository_names_its_default_branch() {
    let fake = FakeGithub::start(TOKEN);
    let repo = get(&fake, "/repos/acme/infra");
    assert_eq!(repo.status, 200, "{}", repo.body);
    let repo = repo.json();
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["full_name"], REPO);
    assert_eq!(repo["name"], "infra");
    assert_eq!(repo["owner"]["login"], "acme");
    assert_eq!(repo["html_url"], format!("{}/acme/infra", fake.api_url()));

    fake.set_default_branch(REPO, "trunk");
    assert_eq!(
        get(&fake, "/repos/acme/infra").json()["default_branch"],
        "trunk"
    );
    assert_eq!(
        get(&fake, "/api/v3/repos/acme/infra").json()["url"],
        format!("{}/repos/acme/infra", fake.enterprise_api_url())
    );
    fake.seed_pull_request(REPO, 4);
    assert_eq!(
        get(&fake, "/repos/acme/infra/pulls/4").json()["base"]["ref"],
        "trunk"
    );
    assert_eq!(get(&fake, "/repos/acme/infra/").status, 404);
}

#[test]
fn a_merged_pull_request_is_closed_and_stays_closed() {
    let fake = FakeGithub::start(TOKEN);
    let number = fake.seed_pull(REPO, PullSeed::new("fix", "main").title("Fix").body("b"));
    fake.merge_pull(REPO, number);
    let pull = get(&fake, "/repos/acme/infra/pulls/1").json();
    assert_eq!(
        (pull["state"].as_str(), pull["merged"].as_bool()),
        (Some("closed"), Some(true))
    );
    assert!(pull["merged_at"].is_string());
    assert!(
        get(&fake, "/repos/acme/infra/issues/1").json()["pull_request"]["merged_at"].is_string()
    );
    let reopened = patch(&fake, "/repos/acme/infra/pulls/1", json!({"state": "open"}));
    assert_eq!(validation_error(&reopened)["field"], "state");
    let pulls = fake.pulls(REPO);
    assert!(pulls[0].merged && pulls[0].state == "closed");
    assert_eq!(
        (pulls[0].title.as_str(), pulls[0].body.as_str()),
        ("Fix", "b")
    );
}

#[test]
fn writes_to_pull_requests_can_be_denied() {
    let fake = FakeGithub::start(TOKEN);
    fake.deny_writes();
    assert_eq!(open_pull(&fake, "fix", "main").status, 403);
    assert_eq!(get(&fake, "/repos/acme/infra/pulls").status, 200);
    assert!(fake.pulls(REPO).is_empty());
}

/// octocrab's models read what the fake serves: the repository, and a pull request created,
/// listed, fetched and closed through octocrab itself.
#[test]
fn octocrab_understands_pull_requests_and_the_repository() {
    let fake = FakeGithub::start(TOKEN);
    fake.set_default_branch(REPO, "trunk");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let octo = octocrab::Octocrab::builder()
            .base_uri(fake.api_url().as_str())
            .expect("a base URI")
            .personal_token(TOKEN.to_string())
            .build()
            .expect("an octocrab client");
        let repo = octo
            .repos("acme", "infra")
            .get()
            .await
            .expect("get the repository");
        assert_eq!(repo.default_branch.as_deref(), Some("trunk"));
        assert_eq!(repo.full_name.as_deref(), Some(REPO));

        let pulls = octo.pulls("acme", "infra");
        let created = pulls
            .create("Adopt", "driftlog/adopt/x", "trunk")
            .body("why")
            .draft(true)
            .send()
            .await
            .expect("create a pull request");
        assert_eq!(created.head.ref_field, "driftlog/adopt/x");
        assert_eq!(created.base.ref_field, "trunk");
        assert_eq!(created.draft, Some(true));
        let user = created.user.as_ref().map(|u| u.login.as_str());
        assert_eq!(user, Some(BOT_LOGIN));

        let listed = pulls
            .list()
            .state(octocrab::params::State::Open)
            .head("acme:driftlog/adopt/x")
            .base("trunk")
            .send()
            .await
            .expect("list pull requests");
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].number, created.number);

        let closed = pulls
            .update(created.number)
            .state(octocrab::params::pulls::State::Closed)
            .body("gone")
            .send()
            .await
            .expect("close the pull request");
        assert_eq!(closed.state, Some(octocrab::models::IssueState::Closed));
        let fetched = pulls
            .get(created.number)
            .await
            .expect("get the pull request");
        assert_eq!(fetched.body.as_deref(), Some("gone"));
        assert_eq!(fetched.merged, Some(false));

        let issue = octo
            .issues("acme", "infra")
            .get(created.number)
            .await
            .expect("the pull request as an issue");
        assert!(issue.pull_request.is_some());
    });
    assert_eq!(fake.pulls(REPO)[0].state, "closed");
}
