//! Pull requests and the repository object in the fake.
//!
//! A pull request is also an issue, as on GitHub: its number, title, body, state, author and
//! comments live in the repository's issue records (so `/issues/{n}`, its comments and the
//! issue listing see it, with a `pull_request` key), and what only a pull request has (head,
//! base, draft, merge) lives here, keyed by the same number.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::{
    check_body_length, next_id, opt_string, page_reply, required_string, rfc3339, user_json,
    Comment, CommentRec, Counters, Ctx, FakeGithub, Handled, IssueRec, Reply, Repo, State,
    BOT_LOGIN,
};

/// The default branch of a repository no test configured, as on a new GitHub repository.
const DEFAULT_BRANCH: &str = "main";
/// Pull request ids are their own sequence on GitHub; here they sit apart from issue ids.
const PULL_ID_OFFSET: u64 = 100_000_000;

/// A repository's pull requests beyond their issue records, and its branches.
#[derive(Default)]
pub(super) struct Pulls {
    by_number: BTreeMap<u64, PullRec>,
    default_branch: Option<String>,
    /// The branches that exist, once a test names them; until then every branch does.
    branches: Option<BTreeSet<String>>,
}

impl Pulls {
    pub(super) fn default_branch(&self) -> &str {
        self.default_branch.as_deref().unwrap_or(DEFAULT_BRANCH)
    }

    /// Records pull request `number` that a test named only by number (a pull_request event's),
    /// from a made-up branch into the default one.
    pub(super) fn implicit(&mut self, number: u64) {
        let base = self.default_branch().to_string();
        self.by_number
            .entry(number)
            .or_insert_with(|| PullRec::new(None, format!("pull-{number}"), base));
    }

    /// When it was merged, if it was.
    pub(super) fn merged_at(&self, number: u64) -> Option<u64> {
        self.by_number.get(&number).and_then(|p| p.merged_at)
    }

    fn exists(&self, branch: &str) -> bool {
        branch == self.default_branch()
            || self
                .branches
                .as_ref()
                .is_none_or(|set| set.contains(branch))
    }
}

struct PullRec {
    /// The head repository's owner when it is a fork's; `None` for the repository itself.
    head_owner: Option<String>,
    head: String,
    base: String,
    draft: bool,
    maintainer_can_modify: bool,
    merged_at: Option<u64>,
    merged_by: Option<String>,
    /// Edits through `PATCH /pulls/{n}`.
    updates: u32,
}

impl PullRec {
    fn new(head_owner: Option<String>, head: String, base: String) -> PullRec {
        PullRec {
            head_owner,
            head,
            base,
            draft: false,
            maintainer_can_modify: true,
            merged_at: None,
            merged_by: None,
            updates: 0,
        }
    }

    fn head_owner<'a>(&'a self, repo: &'a str) -> &'a str {
        self.head_owner.as_deref().unwrap_or_else(|| owner_of(repo))
    }

    /// `owner:branch`, as GitHub labels a head and as the `head` filter names it.
    fn label(&self, repo: &str) -> String {
        format!("{}:{}", self.head_owner(repo), self.head)
    }

    fn same_head(&self, repo: &str, owner: &str, branch: &str) -> bool {
        self.head == branch && self.head_owner(repo).eq_ignore_ascii_case(owner)
    }
}

/// A pull request as a test reads it from the fake.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// The head branch's name (`ref`), without its owner.
    pub head: String,
    /// `owner:branch`.
    pub head_label: String,
    pub base: String,
    /// Who opened it.
    pub author: String,
    pub draft: bool,
    pub merged: bool,
    /// Its (issue) comments, in creation order.
    pub comments: Vec<Comment>,
    /// How many times it was edited through `PATCH /pulls/{n}`.
    pub updates: u32,
}

/// A pull request for [`FakeGithub::seed_pull`]: open, by [`BOT_LOGIN`], untitled unless
/// told. Seeding checks nothing the API would (duplicates, branches).
#[derive(Debug, Clone)]
pub struct PullSeed {
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub open: bool,
}

impl PullSeed {
    pub fn new(head: &str, base: &str) -> PullSeed {
        PullSeed {
            head: head.to_string(),
            base: base.to_string(),
            title: format!("Merge {head} into {base}"),
            body: String::new(),
            author: BOT_LOGIN.to_string(),
            open: true,
        }
    }

    pub fn by(mut self, author: &str) -> PullSeed {
        self.author = author.to_string();
        self
    }

    pub fn title(mut self, title: &str) -> PullSeed {
        self.title = title.to_string();
        self
    }

    pub fn body(mut self, body: &str) -> PullSeed {
        self.body = body.to_string();
        self
    }

    /// Closed (unmerged) by its author.
    pub fn closed(mut self) -> PullSeed {
        self.open = false;
        self
    }
}

impl FakeGithub {
    /// Makes `branch` the repository's default branch (`main` until set).
    pub fn set_default_branch(&self, repo: &str, branch: &str) {
        let mut state = self.state();
        state
            .repos
            .entry(repo.to_string())
            .or_default()
            .pulls
            .default_branch = Some(branch.to_string());
    }

    /// From now on only these branches (and the default branch) exist: a pull request from or
    /// into any other is refused. Until called, every branch exists.
    pub fn set_branches(&self, repo: &str, branches: &[&str]) {
        let mut state = self.state();
        state
            .repos
            .entry(repo.to_string())
            .or_default()
            .pulls
            .branches = Some(branches.iter().map(|b| b.to_string()).collect());
    }

    /// Opens (or opens and closes) a pull request as if through the API, taking the next
    /// issue number. Returns the number.
    pub fn seed_pull(&self, repo: &str, seed: PullSeed) -> u64 {
        let mut state = self.state();
        let State {
            repos, counters, ..
        } = &mut *state;
        let repo = repos.entry(repo.to_string()).or_default();
        let number = repo.next_number();
        let now = counters.now();
        let mut rec = IssueRec::new(next_id(&mut counters.issue), number, &seed.title, now, true);
        rec.body = Some(seed.body);
        rec.author = seed.author.clone();
        if !seed.open {
            rec.open = false;
            rec.closed_at = Some(now);
            rec.closed_by = Some(seed.author);
        }
        repo.issues.insert(number, rec);
        repo.pulls
            .by_number
            .insert(number, PullRec::new(None, seed.head, seed.base));
        number
    }

    /// Merges pull request `number` (which closes it), as its author.
    pub fn merge_pull(&self, repo: &str, number: u64) {
        let mut state = self.state();
        let State {
            repos, counters, ..
        } = &mut *state;
        let Some(repo) = repos.get_mut(repo) else {
            return;
        };
        let (Some(rec), Some(pull)) = (
            repo.issues.get_mut(&number),
            repo.pulls.by_number.get_mut(&number),
        ) else {
            return;
        };
        let now = counters.now();
        rec.open = false;
        rec.closed_at = Some(now);
        rec.closed_by = Some(rec.author.clone());
        rec.updated = now;
        pull.merged_at = Some(now);
        pull.merged_by = Some(rec.author.clone());
    }

    /// Every pull request of the repository, by number.
    pub fn pulls(&self, repo: &str) -> Vec<PullRequest> {
        let state = self.state();
        let Some(r) = state.repos.get(repo) else {
            return Vec::new();
        };
        r.pulls
            .by_number
            .iter()
            .filter_map(|(n, pull)| {
                let rec = r.issues.get(n)?;
                Some(PullRequest {
                    number: *n,
                    title: rec.title.clone(),
                    body: rec.body.clone().unwrap_or_default(),
                    state: rec.state().to_string(),
                    head: pull.head.clone(),
                    head_label: pull.label(repo),
                    base: pull.base.clone(),
                    author: rec.author.clone(),
                    draft: pull.draft,
                    merged: pull.merged_at.is_some(),
                    comments: rec.comments.iter().map(CommentRec::public).collect(),
                    updates: pull.updates,
                })
            })
            .collect()
    }
}

fn owner_of(repo: &str) -> &str {
    repo.split_once('/').map_or(repo, |(owner, _)| owner)
}

/// A stable 40-hex-digit commit id for a branch (FNV-1a, three ways).
fn sha_of(branch: &str) -> String {
    let hash = |seed: u64| {
        branch.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let (a, b, c) = (hash(0xcbf2_9ce4_8422_2325), hash(1), hash(2));
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

/// The repository object (`GET /repos/{owner}/{repo}`), for `full_name`.
fn repository_json(ctx: &Ctx<'_>, full_name: &str, default_branch: &str, open: usize) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    let url = format!("{}/repos/{full_name}", ctx.api);
    let host = ctx.web.trim_start_matches("http://");
    let id = super::user_id(full_name);
    let mut value = json!({
        "id": id,
        "node_id": format!("R_kgDOFake{id:08}"),
        "name": name,
        "full_name": full_name,
        "private": false,
        "owner": user_json(ctx, owner),
        "html_url": format!("{}/{full_name}", ctx.web),
        "description": null,
        "fork": false,
        "url": url,
        "git_url": format!("git://{host}/{full_name}.git"),
        "ssh_url": format!("git@{host}:{full_name}.git"),
        "clone_url": format!("{}/{full_name}.git", ctx.web),
        "svn_url": format!("{}/{full_name}", ctx.web),
        "mirror_url": null,
        "homepage": null,
    });
    // Two literals: one would pass serde_json's macro recursion limit.
    let counts = json!({
        "language": null,
        "size": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "open_issues_count": open,
        "forks": 0,
        "open_issues": open,
        "watchers": 0,
        "default_branch": default_branch,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "public",
        "license": null,
        "allow_forking": true,
        "web_commit_signoff_required": false,
        "pushed_at": rfc3339(1_700_000_000),
        "created_at": rfc3339(1_600_000_000),
        "updated_at": rfc3339(1_700_000_000),
        "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
    });
    let templates = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    if let (Some(map), Value::Object(counts)) = (value.as_object_mut(), counts) {
        map.extend(counts);
        for (key, tail) in templates {
            map.insert(key.into(), Value::String(format!("{url}{tail}")));
        }
    }
    value
}

fn open_count(repo: &Repo) -> usize {
    repo.issues.values().filter(|i| i.open).count()
}

/// A branch end of a pull request (`head` or `base`).
fn branch_json(ctx: &Ctx<'_>, repo: &Repo, owner: &str, branch: &str) -> Value {
    let full_name = format!(
        "{owner}/{}",
        ctx.repo.split_once('/').map_or("", |(_, n)| n)
    );
    json!({
        "label": format!("{owner}:{branch}"),
        "ref": branch,
        "sha": sha_of(branch),
        "user": user_json(ctx, owner),
        "repo": repository_json(ctx, &full_name, repo.pulls.default_branch(), open_count(repo)),
    })
}

/// The pull request object: the full one of `GET`/`POST`/`PATCH`, or the list's simpler one.
fn pull_json(ctx: &Ctx<'_>, repo: &Repo, rec: &IssueRec, pull: &PullRec, full: bool) -> Value {
    let n = rec.number;
    let url = format!("{}/repos/{}/pulls/{n}", ctx.api, ctx.repo);
    let issue_url = format!("{}/repos/{}/issues/{n}", ctx.api, ctx.repo);
    let html_url = format!("{}/{}/pull/{n}", ctx.web, ctx.repo);
    let statuses_url = format!(
        "{}/repos/{}/statuses/{}",
        ctx.api,
        ctx.repo,
        sha_of(&pull.head)
    );
    let href = |url: &str| json!({"href": url});
    let mut value = json!({
        "url": url,
        "id": PULL_ID_OFFSET + rec.id,
        "node_id": format!("PR_kwDOFake{:08}", rec.id),
        "html_url": html_url,
        "diff_url": format!("{html_url}.diff"),
        "patch_url": format!("{html_url}.patch"),
        "issue_url": issue_url,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{}/repos/{}/pulls/comments{{/number}}", ctx.api, ctx.repo),
        "comments_url": format!("{issue_url}/comments"),
        "statuses_url": statuses_url,
        "number": n,
        "state": rec.state(),
        "locked": false,
        "title": rec.title,
        "user": user_json(ctx, &rec.author),
        "body": rec.body,
        "labels": super::issue_labels_json(ctx, repo, rec),
        "milestone": null,
        "active_lock_reason": null,
        "created_at": rfc3339(rec.created),
        "updated_at": rfc3339(rec.updated),
        "closed_at": rec.closed_at.map(rfc3339),
        "merged_at": pull.merged_at.map(rfc3339),
        "merge_commit_sha": pull.merged_at.map(|_| sha_of(&format!("merge of #{n}"))),
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch_json(ctx, repo, pull.head_owner(ctx.repo), &pull.head),
        "base": branch_json(ctx, repo, owner_of(ctx.repo), &pull.base),
        "_links": {
            "self": href(&url),
            "html": href(&html_url),
            "issue": href(&issue_url),
            "comments": href(&format!("{issue_url}/comments")),
            "review_comments": href(&format!("{url}/comments")),
            "review_comment": href(&format!("{}/repos/{}/pulls/comments{{/number}}", ctx.api, ctx.repo)),
            "commits": href(&format!("{url}/commits")),
            "statuses": href(&statuses_url),
        },
        "author_association": "NONE",
        "auto_merge": null,
        "draft": pull.draft,
    });
    if let (true, Some(map)) = (full, value.as_object_mut()) {
        let merged = pull.merged_at.is_some();
        let extra = json!({
            "merged": merged,
            "mergeable": if merged { Value::Null } else { Value::Bool(true) },
            "rebaseable": if merged { Value::Null } else { Value::Bool(true) },
            "mergeable_state": if merged { "unknown" } else { "clean" },
            "merged_by": pull.merged_by.as_deref().map(|login| user_json(ctx, login)),
            "comments": rec.comments.len(),
            "review_comments": 0,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        });
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
    }
    value
}

fn get_pull_json(ctx: &Ctx<'_>, repo: &Repo, n: u64) -> Handled {
    match (repo.issues.get(&n), repo.pulls.by_number.get(&n)) {
        (Some(rec), Some(pull)) => Ok(Reply::json(200, pull_json(ctx, repo, rec, pull, true))),
        _ => Err(Reply::not_found()),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

pub(super) fn get_repository(repo: &Repo, ctx: &Ctx<'_>) -> Handled {
    let value = repository_json(ctx, ctx.repo, repo.pulls.default_branch(), open_count(repo));
    Ok(Reply::json(200, value))
}

pub(super) fn list(repo: &Repo, ctx: &Ctx<'_>) -> Handled {
    let state = ctx.param("state").unwrap_or("open");
    let sort = ctx.param("sort").unwrap_or("created");
    let direction = ctx.param("direction");
    for (field, ok) in [
        ("state", matches!(state, "open" | "closed" | "all")),
        (
            "sort",
            matches!(sort, "created" | "updated" | "popularity" | "long-running"),
        ),
        (
            "direction",
            matches!(direction, None | Some("asc" | "desc")),
        ),
    ] {
        if !ok {
            return Err(Reply::validation(vec![
                json!({"resource": "PullRequest", "field": field, "code": "invalid"}),
            ]));
        }
    }
    // Only `owner:branch` filters: GitHub ignores a `head` it cannot read as one.
    let head = ctx.param("head").and_then(|h| h.split_once(':'));
    let base = ctx.param("base");
    let mut matching: Vec<(&IssueRec, &PullRec)> = repo
        .pulls
        .by_number
        .iter()
        .filter_map(|(n, pull)| Some((repo.issues.get(n)?, pull)))
        .filter(|(rec, _)| state == "all" || rec.state() == state)
        .filter(|(_, pull)| {
            head.is_none_or(|(owner, branch)| pull.same_head(ctx.repo, owner, branch))
        })
        .filter(|(_, pull)| base.is_none_or(|base| pull.base == base))
        .collect();
    matching.sort_by_key(|(rec, _)| {
        let key = match sort {
            "updated" => rec.updated,
            "popularity" => rec.comments.len() as u64,
            _ => rec.created,
        };
        (key, rec.number)
    });
    // Newest first by default when sorting by creation, else oldest (GitHub's defaults).
    let descending = direction.map_or(sort == "created", |d| d == "desc");
    if descending {
        matching.reverse();
    }
    let items = matching
        .into_iter()
        .map(|(rec, pull)| pull_json(ctx, repo, rec, pull, false))
        .collect();
    Ok(page_reply(ctx, items))
}

fn custom(message: String) -> Reply {
    Reply::validation(vec![
        json!({"resource": "PullRequest", "code": "custom", "message": message}),
    ])
}

fn invalid_field(field: &str) -> Reply {
    Reply::validation(vec![
        json!({"resource": "PullRequest", "field": field, "code": "invalid"}),
    ])
}

fn opt_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Reply::invalid(&format!(
            "For 'properties/{key}', {other} is not a boolean."
        ))),
    }
}

/// The open pull request other than `except` from the same head into the same base.
fn open_duplicate(repo: &Repo, ctx: &Ctx<'_>, pull: &PullRec, except: Option<u64>) -> Option<u64> {
    let owner = pull.head_owner(ctx.repo);
    repo.pulls.by_number.iter().find_map(|(n, other)| {
        let open = repo.issues.get(n).is_some_and(|rec| rec.open);
        (open
            && Some(*n) != except
            && other.same_head(ctx.repo, owner, &pull.head)
            && other.base == pull.base)
            .then_some(*n)
    })
}

/// GitHub's refusals of a head and base, in its order: missing branches, nothing to merge,
/// an open pull request already there.
fn check_branches(
    repo: &Repo,
    ctx: &Ctx<'_>,
    pull: &PullRec,
    except: Option<u64>,
) -> Result<(), Reply> {
    if !repo.pulls.exists(&pull.base) {
        return Err(invalid_field("base"));
    }
    let own_head = pull.head_owner.is_none();
    if own_head && !repo.pulls.exists(&pull.head) {
        return Err(invalid_field("head"));
    }
    if own_head && pull.head == pull.base {
        return Err(custom(format!(
            "No commits between {} and {}",
            pull.base, pull.head
        )));
    }
    if open_duplicate(repo, ctx, pull, except).is_some() {
        return Err(custom(format!(
            "A pull request already exists for {}.",
            pull.label(ctx.repo)
        )));
    }
    Ok(())
}

pub(super) fn create(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    body: &Map<String, Value>,
) -> Handled {
    let title = required_string(body, "title")?;
    if title.trim().is_empty() {
        return Err(Reply::validation(vec![
            json!({"resource": "PullRequest", "code": "missing_field", "field": "title"}),
        ]));
    }
    let head = required_string(body, "head")?;
    let base = required_string(body, "base")?;
    let text = opt_string(body, "body")?.flatten();
    check_body_length(text.as_deref(), "PullRequest")?;
    let draft = opt_bool(body, "draft")?.unwrap_or(false);
    let maintainer_can_modify = opt_bool(body, "maintainer_can_modify")?.unwrap_or(true);
    let (head_owner, branch) = match head.split_once(':') {
        Some((owner, branch)) if !owner.eq_ignore_ascii_case(owner_of(ctx.repo)) => {
            (Some(owner.to_string()), branch.to_string())
        }
        Some((_, branch)) => (None, branch.to_string()),
        None => (None, head),
    };
    let mut pull = PullRec::new(head_owner, branch, base);
    pull.draft = draft;
    pull.maintainer_can_modify = maintainer_can_modify;
    check_branches(repo, ctx, &pull, None)?;
    let number = repo.next_number();
    let now = c.now();
    let mut rec = IssueRec::new(next_id(&mut c.issue), number, &title, now, true);
    rec.author = ctx.actor.clone();
    rec.body = text;
    let value = pull_json(ctx, repo, &rec, &pull, true);
    repo.issues.insert(number, rec);
    repo.pulls.by_number.insert(number, pull);
    let location = format!("{}/repos/{}/pulls/{number}", ctx.api, ctx.repo);
    Ok(Reply::json(201, value).header("Location", location))
}

pub(super) fn get(repo: &Repo, ctx: &Ctx<'_>, n: u64) -> Handled {
    get_pull_json(ctx, repo, n)
}

pub(super) fn update(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    body: &Map<String, Value>,
) -> Handled {
    let (Some(rec), Some(pull)) = (repo.issues.get(&n), repo.pulls.by_number.get(&n)) else {
        return Err(Reply::not_found());
    };
    // Validate everything before changing anything.
    let title = opt_string(body, "title")?;
    if let Some(title) = &title {
        if title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(Reply::validation(vec![
                json!({"resource": "PullRequest", "code": "missing_field", "field": "title"}),
            ]));
        }
    }
    let text = opt_string(body, "body")?;
    if let Some(text) = &text {
        check_body_length(text.as_deref(), "PullRequest")?;
    }
    let state = opt_string(body, "state")?.flatten();
    let reopen = match state.as_deref() {
        None => false,
        Some("open") => !rec.open,
        Some("closed") => false,
        Some(other) => {
            return Err(Reply::invalid(&format!(
                "For 'properties/state', \"{other}\" is not a possible value. Must be one of: open, closed."
            )))
        }
    };
    if reopen && pull.merged_at.is_some() {
        return Err(Reply::validation(vec![json!({
            "resource": "PullRequest", "code": "custom", "field": "state",
            "message": "state cannot be changed. The pull request cannot be reopened because it has been merged.",
        })]));
    }
    let base = opt_string(body, "base")?.flatten();
    let open_after = reopen || (rec.open && state.as_deref() != Some("closed"));
    if base.is_some() || reopen {
        let mut moved = PullRec::new(
            pull.head_owner.clone(),
            pull.head.clone(),
            pull.base.clone(),
        );
        if let Some(base) = &base {
            moved.base = base.clone();
        }
        if open_after {
            check_branches(repo, ctx, &moved, Some(n))?;
        } else if !repo.pulls.exists(&moved.base) {
            return Err(invalid_field("base"));
        }
    }
    let now = c.now();
    let (Some(rec), Some(pull)) = (repo.issues.get_mut(&n), repo.pulls.by_number.get_mut(&n))
    else {
        return Err(Reply::not_found());
    };
    if let Some(Some(title)) = title {
        rec.title = title;
    }
    if let Some(text) = text {
        rec.body = text;
    }
    if let Some(base) = base {
        pull.base = base;
    }
    match state.as_deref() {
        Some("closed") if rec.open => {
            rec.open = false;
            rec.closed_at = Some(now);
            rec.closed_by = Some(ctx.actor.clone());
        }
        Some("open") if !rec.open => {
            rec.open = true;
            rec.closed_at = None;
            rec.closed_by = None;
        }
        _ => {}
    }
    rec.updated = now;
    pull.updates += 1;
    get_pull_json(ctx, repo, n)
}

#[cfg(test)]
mod tests;
