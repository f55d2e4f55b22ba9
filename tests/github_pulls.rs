//! The pull requests driftlog proposes changes through, by the library's
//! `open_or_update_pull`, `close_pull` and `default_branch`, against the stateful fake: one
//! pull request per head and base, edited in place on re-runs; another account's never
//! touched; closed with a note.

use driftlog::github::{
    close_pull, default_branch, open_or_update_pull, GithubError, PullRequestDraft, Repo, Target,
    MAX_PULL_BODY_CHARS,
};

use crate::fake_github::{FakeGithub, Fault, PullRequest, PullSeed, BOT_LOGIN};
use crate::github::{REPO, TOKEN};

const HEAD: &str = "driftlog/adopt/infra-prod";

fn target(api_url: &str) -> Target {
    Target {
        api_url: api_url.to_owned(),
        repo: REPO.parse::<Repo>().expect("a repository name"),
        pull_request: None,
        sha: None,
        run: None,
    }
}

fn draft(body: &str) -> PullRequestDraft {
    PullRequestDraft {
        head: HEAD.to_owned(),
        base: "main".to_owned(),
        title: "driftlog: adopt drift in infra-prod".to_owned(),
        body: body.to_owned(),
    }
}

fn assert_not_ours(result: Result<impl std::fmt::Debug, GithubError>, number: u64, by: &str) {
    match result {
        Err(GithubError::NotOurs {
            number: n, login, ..
        }) => {
            assert_eq!((n, login.as_str()), (number, by));
        }
        other => panic!("expected NotOurs for #{number}, got {other:?}"),
    }
}

#[test]
fn opens_one_pull_request_then_updates_it_in_place() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let opened = open_or_update_pull(&target, TOKEN, &draft("first")).expect("opened");
    assert!(opened.created);
    assert_eq!(opened.number, 1);
    assert_eq!(opened.url, format!("{}/acme/infra/pull/1", fake.api_url()));
    let pulls: Vec<PullRequest> = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    assert_eq!(
        (pulls[0].head.as_str(), pulls[0].base.as_str()),
        (HEAD, "main")
    );
    assert_eq!(
        (pulls[0].body.as_str(), pulls[0].state.as_str()),
        ("first", "open")
    );
    assert_eq!(pulls[0].author, BOT_LOGIN);
    assert!(!pulls[0].draft);

    let mut changed = draft("second");
    changed.title = "driftlog: adopt drift in infra-prod (2 resources)".to_owned();
    let updated = open_or_update_pull(&target, TOKEN, &changed).expect("updated");
    assert!(!updated.created);
    assert_eq!((updated.number, updated.url), (opened.number, opened.url));
    let pulls = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1, "still one: {pulls:#?}");
    assert_eq!(pulls[0].body, "second");
    assert_eq!(pulls[0].title, changed.title);
    assert_eq!(pulls[0].updates, 1);
}

#[test]
fn another_accounts_pull_request_on_the_head_is_refused_and_left_alone() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let theirs = fake.seed_pull(
        REPO,
        PullSeed::new(HEAD, "main").by("mallory").body("theirs"),
    );

    assert_not_ours(
        open_or_update_pull(&target, TOKEN, &draft("ours")),
        theirs,
        "mallory",
    );
    assert_not_ours(
        close_pull(&target, TOKEN, HEAD, "no longer needed"),
        theirs,
        "mallory",
    );
    let pulls = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1, "none opened beside it: {pulls:#?}");
    let pull = &pulls[0];
    assert_eq!(
        (pull.state.as_str(), pull.body.as_str()),
        ("open", "theirs")
    );
    assert_eq!(pull.updates, 0);
    assert!(pull.comments.is_empty(), "{:#?}", pull.comments);
}

#[test]
fn a_personal_tokens_account_owns_what_it_opened_and_nothing_the_bot_did() {
    let fake = FakeGithub::start(TOKEN);
    fake.token_of_user("octo-admin");
    let target = target(&fake.api_url());
    let bots = fake.seed_pull(REPO, PullSeed::new(HEAD, "main"));
    assert_not_ours(
        open_or_update_pull(&target, TOKEN, &draft("x")),
        bots,
        BOT_LOGIN,
    );

    let other_head = PullRequestDraft {
        head: "driftlog/adopt/infra-dev".to_owned(),
        ..draft("dev")
    };
    let opened = open_or_update_pull(&target, TOKEN, &other_head).expect("opened");
    assert!(opened.created);
    let again = open_or_update_pull(&target, TOKEN, &other_head).expect("updated");
    assert_eq!((again.number, again.created), (opened.number, false));
    let authors: Vec<String> = fake.pulls(REPO).into_iter().map(|p| p.author).collect();
    assert_eq!(authors, [BOT_LOGIN, "octo-admin"]);
}

#[test]
fn close_pull_notes_why_then_closes_and_then_finds_nothing() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let opened = open_or_update_pull(&target, TOKEN, &draft("body")).expect("opened");
    let note = "The drift this adopted is gone; closing.";

    let closed = close_pull(&target, TOKEN, HEAD, note)
        .expect("closed")
        .expect("there was one");
    assert_eq!((closed.number, closed.created), (opened.number, false));
    assert_eq!(closed.url, opened.url);
    let pull = &fake.pulls(REPO)[0];
    assert_eq!(pull.state, "closed");
    let bodies: Vec<(&str, &str)> = pull
        .comments
        .iter()
        .map(|c| (c.body.as_str(), c.author.as_str()))
        .collect();
    assert_eq!(bodies, [(note, BOT_LOGIN)]);

    assert!(close_pull(&target, TOKEN, HEAD, note)
        .expect("no error")
        .is_none());
    assert_eq!(fake.pulls(REPO)[0].comments.len(), 1, "no second note");

    // Without a note, nothing is commented.
    let reopened = open_or_update_pull(&target, TOKEN, &draft("again")).expect("opened");
    close_pull(&target, TOKEN, HEAD, "").expect("closed");
    let pulls = fake.pulls(REPO);
    let last = pulls
        .iter()
        .find(|p| p.number == reopened.number)
        .expect("it");
    assert_eq!(last.state, "closed");
    assert!(last.comments.is_empty(), "{:#?}", last.comments);
}

#[test]
fn a_closed_or_merged_pull_request_of_its_own_is_not_revived() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let closed = fake.seed_pull(REPO, PullSeed::new(HEAD, "main").body("old").closed());
    let merged = fake.seed_pull(REPO, PullSeed::new(HEAD, "main").body("older"));
    fake.merge_pull(REPO, merged);

    let opened = open_or_update_pull(&target, TOKEN, &draft("new")).expect("opened");
    assert!(opened.created, "a new one, not an old one reopened");
    assert_eq!(opened.number, 3);
    let pulls = fake.pulls(REPO);
    let states: Vec<(u64, &str, &str, u32)> = pulls
        .iter()
        .map(|p| (p.number, p.state.as_str(), p.body.as_str(), p.updates))
        .collect();
    assert_eq!(
        states,
        [
            (closed, "closed", "old", 0),
            (merged, "closed", "older", 0),
            (3, "open", "new", 0)
        ]
    );
    // Closing finds none open either.
    assert!(close_pull(&target, TOKEN, "elsewhere", "n")
        .expect("no error")
        .is_none());
    fake.seed_pull(REPO, PullSeed::new("elsewhere", "main").closed());
    assert!(close_pull(&target, TOKEN, "elsewhere", "n")
        .expect("no error")
        .is_none());
    assert!(fake.pulls(REPO).iter().all(|p| p.comments.is_empty()));
}

#[test]
fn the_same_head_into_another_base_is_another_pull_request() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let release = PullRequestDraft {
        base: "release".to_owned(),
        ..draft("to release")
    };
    let first = open_or_update_pull(&target, TOKEN, &release).expect("opened");
    let second = open_or_update_pull(&target, TOKEN, &draft("to main")).expect("opened");
    assert!(first.created && second.created);
    assert_ne!(first.number, second.number);
    let bases: Vec<(String, String)> = fake
        .pulls(REPO)
        .into_iter()
        .map(|p| (p.base, p.body))
        .collect();
    assert_eq!(
        bases,
        [
            ("release".to_owned(), "to release".to_owned()),
            ("main".to_owned(), "to main".to_owned())
        ]
    );
}

/// Another run opened the pull request between driftlog's look and its `POST`: GitHub's
/// "already exists" leads to that one, updated.
#[test]
fn a_pull_request_opened_meanwhile_is_found_and_updated() {
    let fake = FakeGithub::start(TOKEN);
    let target = target(&fake.api_url());
    let racer = fake.seed_pull(REPO, PullSeed::new(HEAD, "main").body("the racer's"));
    fake.inject(Fault::new("GET", "/repos/acme/infra/pulls", 200).body("[]"));

    let result = open_or_update_pull(&target, TOKEN, &draft("ours")).expect("updated");
    assert_eq!((result.number, result.created), (racer, false));
    let pulls = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    assert_eq!(pulls[0].body, "ours");
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/repos/acme/infra/pulls")
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(posts, [422]);
}

#[test]
fn a_refusal_other_than_already_exists_is_an_error() {
    let fake = FakeGithub::start(TOKEN);
    fake.set_branches(REPO, &[]);
    let err = open_or_update_pull(&target(&fake.api_url()), TOKEN, &draft("x"))
        .expect_err("the head branch does not exist");
    assert!(
        matches!(err, GithubError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    assert!(fake.pulls(REPO).is_empty());
}

#[test]
fn a_body_over_githubs_limit_is_cut_to_fit_saying_so() {
    let fake = FakeGithub::start(TOKEN);
    let body = "d".repeat(MAX_PULL_BODY_CHARS + 10);
    open_or_update_pull(&target(&fake.api_url()), TOKEN, &draft(&body)).expect("opened");
    let stored = &fake.pulls(REPO)[0].body;
    assert!(
        stored.chars().count() <= MAX_PULL_BODY_CHARS,
        "within the limit"
    );
    assert!(stored.starts_with(&"d".repeat(1000)));
    assert!(
        stored.contains("shortened to fit GitHub's limit"),
        "says so"
    );
}

#[test]
fn default_branch_is_the_repositorys_on_either_api_layout() {
    let fake = FakeGithub::start(TOKEN);
    let github = target(&fake.api_url());
    assert_eq!(default_branch(&github, TOKEN).expect("looked up"), "main");
    fake.set_default_branch(REPO, "trunk");
    assert_eq!(default_branch(&github, TOKEN).expect("looked up"), "trunk");
    let enterprise = target(&fake.enterprise_api_url());
    assert_eq!(
        default_branch(&enterprise, TOKEN).expect("looked up"),
        "trunk"
    );
    assert_eq!(
        open_or_update_pull(&enterprise, TOKEN, &draft("ghes"))
            .expect("opened")
            .url,
        format!("{}/acme/infra/pull/1", fake.api_url())
    );
}

/// When GitHub ignores the `head` filter, a fork's pull request from a branch of the same name
/// is not taken for the one on the repository's own branch.
#[test]
fn a_forks_branch_of_the_same_name_is_not_the_head() {
    let fake = FakeGithub::start(TOKEN);
    let fork = format!(
        r#"[{{"number":9,"user":{{"login":"mallory"}},"head":{{"ref":"{HEAD}","label":"mallory:{HEAD}"}},"base":{{"ref":"main"}}}}]"#
    );
    fake.inject(Fault::new("GET", "/repos/acme/infra/pulls", 200).body(fork));
    let opened =
        open_or_update_pull(&target(&fake.api_url()), TOKEN, &draft("ours")).expect("opened");
    assert!(opened.created);
    assert_eq!(fake.pulls(REPO).len(), 1);
}
