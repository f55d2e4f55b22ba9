//! A stateful fake of the GitHub REST API, served on loopback for the integration tests.
//!
//! [`FakeGithub::start`] binds `127.0.0.1:0` and answers on a few background threads until the
//! value is dropped. It keeps per-repository state (issues and pull requests in one number space,
//! comments with globally unique ids, labels, commit statuses, check runs; pull requests' heads
//! and bases, the default branch, in [`pulls`]), checks the token,
//! paginates like GitHub (`per_page`/`page`, absolute `Link` URLs), and every route also answers
//! under the `/api/v3` prefix of GitHub Enterprise Server. Faults can be queued to make the next
//! matching requests fail, and every request is logged.
//!
//! As on GitHub, `POST` is accepted wherever `PATCH` is (octocrab's `update_comment` uses it).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

mod pulls;

pub use pulls::{PullRequest, PullSeed};

/// The login an installation token's writes are authored by (the default token of the fake,
/// like Actions' `GITHUB_TOKEN`); [`FakeGithub::token_of_user`] gives the token to a user.
pub const BOT_LOGIN: &str = "github-actions[bot]";
/// github-actions[bot]'s user id on github.com.
const BOT_ID: u64 = 41_898_282;
/// Longest issue or comment body GitHub accepts, in characters.
pub const BODY_LIMIT: usize = 65_536;
/// Longest commit status description GitHub accepts, in characters.
const STATUS_DESCRIPTION_LIMIT: usize = 140;
/// Longest check run output summary or text GitHub accepts, in characters.
const CHECK_OUTPUT_LIMIT: usize = 65_535;
/// Longest label description GitHub accepts, in characters.
const LABEL_DESCRIPTION_LIMIT: usize = 100;
/// The GitHub Enterprise Server API prefix.
const ENTERPRISE_PREFIX: &str = "/api/v3";
const RATE_LIMIT: u64 = 5000;
const DOCS: &str = "https://docs.github.com/rest";
const WORKERS: usize = 4;
/// In a fault's body, replaced by the request's `Authorization` header.
pub const AUTHORIZATION_ECHO: &str = "{authorization}";

/// A queued failure: the next `times` requests whose method matches (`"*"` matches any) and whose
/// path (without the enterprise prefix and query) contains `path_contains` get this response
/// instead of normal handling. An empty `body` becomes `{"message":"<reason phrase>"}`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub times: usize,
}

impl Fault {
    /// A fault answering once with `status` and the default body.
    pub fn new(method: &'static str, path_contains: impl Into<String>, status: u16) -> Fault {
        Fault {
            method,
            path_contains: path_contains.into(),
            status,
            headers: Vec::new(),
            body: String::new(),
            times: 1,
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Fault {
        self.body = body.into();
        self
    }

    /// A body that echoes the request's `Authorization` header back, as some proxies and
    /// misconfigured servers do: in GitHub's `message`, and raw in another field.
    pub fn echoing_authorization(self) -> Fault {
        self.body(format!(
            r#"{{"message":"bad request: Authorization: {AUTHORIZATION_ECHO}","request":{{"headers":"Authorization: {AUTHORIZATION_ECHO}"}}}}"#
        ))
    }

    pub fn times(mut self, times: usize) -> Fault {
        self.times = times;
        self
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// The path without the enterprise prefix and without the query, still percent-encoded.
    pub path: String,
    /// The raw query string (without `?`), empty if none.
    pub query: String,
    pub at: Instant,
    pub status: u16,
    pub authorized: bool,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    /// How many times the comment was edited through the API.
    pub updates: u32,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub comments: Vec<Comment>,
    /// Who opened it.
    pub author: String,
    /// Logins assigned, in the order assigned.
    pub assignees: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CommitStatus {
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub details_url: Option<String>,
}

/// The fake server. Dropping it stops the server threads.
pub struct FakeGithub {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    port: u16,
}

struct Shared {
    state: Mutex<State>,
    shutdown: AtomicBool,
}

impl FakeGithub {
    /// Starts a fake accepting `token` (as `Bearer <token>` or `token <token>`).
    pub fn start(token: &str) -> FakeGithub {
        crate::capture::secret(token);
        let server = tiny_http::Server::http("127.0.0.1:0")
            .expect("the fake GitHub binds an ephemeral loopback port");
        let port = server
            .server_addr()
            .to_ip()
            .expect("the fake GitHub listens on TCP")
            .port();
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(token, port)),
            shutdown: AtomicBool::new(false),
        });
        let workers = (0..WORKERS)
            .map(|n| {
                let server = Arc::clone(&server);
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("fake-github-{n}"))
                    .spawn(move || serve(&server, &shared))
                    .expect("spawn a fake GitHub worker thread")
            })
            .collect();
        FakeGithub {
            shared,
            server,
            workers,
            port,
        }
    }

    /// `http://127.0.0.1:PORT`, the github.com layout.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/api/v3`, the GitHub Enterprise Server layout of the same fake.
    pub fn enterprise_api_url(&self) -> String {
        format!("{}{ENTERPRISE_PREFIX}", self.api_url())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Adds `count` comments `comment N` by `author` to issue or pull request `issue`, numbering
    /// on from the comments it already has. A number that does not exist yet becomes a pull
    /// request (as does any unknown number whose comments are read or posted through the API).
    pub fn seed_comments(&self, repo: &str, issue: u64, count: usize, author: &str) {
        self.add_comments(repo, issue, author, |had| {
            (had + 1..=had + count)
                .map(|n| format!("comment {n}"))
                .collect()
        });
    }

    /// Adds one comment with `body` by `author` to issue or pull request `issue` (created as a
    /// pull request when it does not exist yet).
    pub fn seed_comment_body(&self, repo: &str, issue: u64, body: &str, author: &str) {
        self.add_comments(repo, issue, author, |_| vec![body.to_string()]);
    }

    /// Adds to issue or pull request `issue` (created as a pull request when it does not exist
    /// yet) a comment by `author` for each of the bodies `bodies` gives, told how many
    /// comments the issue has already.
    fn add_comments(
        &self,
        repo: &str,
        issue: u64,
        author: &str,
        bodies: impl FnOnce(usize) -> Vec<String>,
    ) {
        let mut state = self.state();
        let State {
            repos, counters, ..
        } = &mut *state;
        let repo = repos.entry(repo.to_string()).or_default();
        let rec = repo.ensure_pull(issue, counters);
        for body in bodies(rec.comments.len()) {
            let comment = CommentRec::new(counters, body, author);
            rec.comments.push(comment);
        }
    }

    /// Opens pull request `number` without comments (it takes its number from the shared
    /// issue/pull request sequence, as on GitHub).
    pub fn seed_pull_request(&self, repo: &str, number: u64) {
        self.seed_comments(repo, number, 0, BOT_LOGIN);
    }

    /// Creates an issue authored by the bot (as if an earlier run had); missing labels are
    /// created. A closed issue is closed as `completed`. Returns its number.
    pub fn seed_issue(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[&str],
        open: bool,
    ) -> u64 {
        self.seed_issue_by(repo, title, body, labels, open, BOT_LOGIN)
    }

    /// Like [`FakeGithub::seed_issue`], opened (and closed) by `author`.
    pub fn seed_issue_by(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[&str],
        open: bool,
        author: &str,
    ) -> u64 {
        let mut state = self.state();
        let State {
            repos, counters, ..
        } = &mut *state;
        let repo = repos.entry(repo.to_string()).or_default();
        let names = labels
            .iter()
            .map(|name| repo.ensure_label(name, counters))
            .collect::<Vec<_>>();
        let number = repo.next_number();
        let now = counters.now();
        let mut rec = IssueRec::new(next_id(&mut counters.issue), number, title, now, false);
        rec.body = Some(body.to_string());
        rec.labels = dedup_names(names);
        rec.author = author.to_string();
        if !open {
            rec.open = false;
            rec.state_reason = Some("completed".into());
            rec.closed_at = Some(now);
            rec.closed_by = Some(author.into());
        }
        repo.issues.insert(number, rec);
        number
    }

    /// The comments on issue or pull request `issue`, in creation order.
    pub fn comments(&self, repo: &str, issue: u64) -> Vec<Comment> {
        let state = self.state();
        state
            .repos
            .get(repo)
            .and_then(|r| r.issues.get(&issue))
            .map(|rec| rec.comments.iter().map(CommentRec::public).collect())
            .unwrap_or_default()
    }

    /// Every issue (not pull requests), by number.
    pub fn issues(&self, repo: &str) -> Vec<Issue> {
        let state = self.state();
        state
            .repos
            .get(repo)
            .map(|r| {
                r.issues
                    .values()
                    .filter(|rec| !rec.pull)
                    .map(IssueRec::public)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The repository's labels, in creation order.
    pub fn labels(&self, repo: &str) -> Vec<Label> {
        let state = self.state();
        state
            .repos
            .get(repo)
            .map(|r| {
                r.labels
                    .iter()
                    .map(|l| Label {
                        name: l.name.clone(),
                        color: l.color.clone(),
                        description: l.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The statuses set on `sha`, in creation order.
    pub fn statuses(&self, repo: &str, sha: &str) -> Vec<CommitStatus> {
        let state = self.state();
        state
            .repos
            .get(repo)
            .and_then(|r| r.statuses.get(sha))
            .map(|list| {
                list.iter()
                    .map(|s| CommitStatus {
                        state: s.state.clone(),
                        context: s.context.clone(),
                        description: s.description.clone(),
                        target_url: s.target_url.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The repository's check runs, in creation order, as they are now.
    pub fn check_runs(&self, repo: &str) -> Vec<CheckRun> {
        let state = self.state();
        state
            .repos
            .get(repo)
            .map(|r| {
                r.checks
                    .iter()
                    .map(|c| CheckRun {
                        id: c.id,
                        name: c.name.clone(),
                        head_sha: c.head_sha.clone(),
                        status: c.status.clone(),
                        conclusion: c.conclusion.clone(),
                        title: c.title.clone(),
                        summary: c.summary.clone(),
                        details_url: c.details_url.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Queues a fault; faults are tried in the order they were queued.
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.state().faults.push(fault);
        }
    }

    /// From now on every non-GET request gets 403 "Resource not accessible by integration".
    pub fn deny_writes(&self) {
        self.state().deny_writes = true;
    }

    /// From now on creating or updating check runs gets 403 (as for a personal access token).
    pub fn deny_check_runs(&self) {
        self.state().deny_check_runs = true;
    }

    /// Only these logins can be assigned issues of `repo` (GitHub: people with access to
    /// it); until called, anyone can.
    pub fn set_assignable(&self, repo: &str, logins: &[&str]) {
        let mut state = self.state();
        let repo = state.repos.entry(repo.to_owned()).or_default();
        repo.assignable = Some(logins.iter().map(|l| l.to_ascii_lowercase()).collect());
    }

    /// Every request so far, in arrival order.
    /// Makes the token a user's (a personal access token): `GET /user` answers `login`, and
    /// everything created through the API from then on is authored by it. Until then the
    /// token is an installation's: `GET /user` is refused with 403 as for `GITHUB_TOKEN`, and
    /// writes are authored by [`BOT_LOGIN`].
    pub fn token_of_user(&self, login: &str) {
        self.state().user = Some(login.to_string());
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state().log.clone()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve(server: &tiny_http::Server, shared: &Shared) {
    loop {
        match server.recv() {
            Ok(request) => handle(request, shared),
            Err(_) if shared.shutdown.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        }
    }
}

fn handle(mut request: tiny_http::Request, shared: &Shared) {
    let arrived = Instant::now();
    let method = request.method().as_str().to_ascii_uppercase();
    let target = request.url().to_string();
    let authorization = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let mut body = Vec::new();
    let body_read = request.as_reader().read_to_end(&mut body).is_ok();
    crate::capture::bytes("github-request", &body);
    let incoming = Incoming {
        method: &method,
        target: &target,
        authorization: authorization.as_deref(),
        body: body_read.then_some(body.as_slice()),
        arrived,
    };
    let outcome =
        std::panic::catch_unwind(AssertUnwindSafe(|| lock(&shared.state).process(&incoming)));
    let (status, headers, body) = match outcome {
        Ok(reply) => reply,
        Err(_) => {
            let (path, query) = split_target(&target);
            let mut state = lock(&shared.state);
            state.log.push(Logged {
                method: method.clone(),
                path: strip_prefix(path).1.to_string(),
                query: query.to_string(),
                at: arrived,
                status: 500,
                authorized: false,
            });
            let reply = Reply::message(500, "The fake GitHub panicked handling this request");
            state.finish(reply, None)
        }
    };
    let mut response = tiny_http::Response::from_data(body.into_bytes()).with_status_code(status);
    for (name, value) in headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let _ = request.respond(response);
}

struct Incoming<'a> {
    method: &'a str,
    target: &'a str,
    authorization: Option<&'a str>,
    /// `None` when the body could not be read.
    body: Option<&'a [u8]>,
    arrived: Instant,
}

/// A response before the common headers are added.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Handlers return the error response as `Err` so `?` can short-circuit.
type Handled = Result<Reply, Reply>;

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: value.to_string(),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn message(status: u16, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
        )
    }

    fn not_found() -> Reply {
        Reply::message(404, "Not Found")
    }

    fn validation(errors: Vec<Value>) -> Reply {
        Reply::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": errors,
                "documentation_url": DOCS,
                "status": "422",
            }),
        )
    }

    /// GitHub's answer to a body that fails its JSON schema.
    fn invalid(detail: &str) -> Reply {
        Reply::message(422, &format!("Invalid request.\n\n{detail}"))
    }

    fn header(mut self, name: &str, value: String) -> Reply {
        self.headers.push((name.to_string(), value));
        self
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct Counters {
    /// Fake clock: every mutation is one second after the previous one, starting a day ago, so
    /// `updated_at` always moves and timestamps sort.
    base: u64,
    ticks: u64,
    comment: u64,
    issue: u64,
    label: u64,
    status: u64,
    check: u64,
}

impl Counters {
    fn now(&mut self) -> u64 {
        self.ticks += 1;
        self.base + self.ticks
    }
}

/// The next of the ids `counter` numbers (each kind of object has its own sequence).
fn next_id(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter
}

struct CommentRec {
    id: u64,
    body: String,
    author: String,
    created: u64,
    updated: u64,
    updates: u32,
}

impl CommentRec {
    /// A comment by `author` created now, never edited.
    fn new(counters: &mut Counters, body: String, author: &str) -> CommentRec {
        let created = counters.now();
        CommentRec {
            id: next_id(&mut counters.comment),
            body,
            author: author.to_string(),
            created,
            updated: created,
            updates: 0,
        }
    }

    fn public(&self) -> Comment {
        Comment {
            id: self.id,
            body: self.body.clone(),
            author: self.author.clone(),
            created_at: rfc3339(self.created),
            updated_at: rfc3339(self.updated),
            updates: self.updates,
        }
    }
}

struct IssueRec {
    id: u64,
    number: u64,
    title: String,
    body: Option<String>,
    open: bool,
    state_reason: Option<String>,
    /// Label names as the repository spells them.
    labels: Vec<String>,
    author: String,
    comments: Vec<CommentRec>,
    created: u64,
    updated: u64,
    closed_at: Option<u64>,
    closed_by: Option<String>,
    pull: bool,
    assignees: Vec<String>,
}

impl IssueRec {
    fn new(id: u64, number: u64, title: &str, now: u64, pull: bool) -> IssueRec {
        IssueRec {
            id,
            number,
            title: title.to_string(),
            body: None,
            open: true,
            state_reason: None,
            labels: Vec::new(),
            author: BOT_LOGIN.to_string(),
            comments: Vec::new(),
            created: now,
            updated: now,
            closed_at: None,
            closed_by: None,
            pull,
            assignees: Vec::new(),
        }
    }

    fn state(&self) -> &'static str {
        if self.open {
            "open"
        } else {
            "closed"
        }
    }

    fn public(&self) -> Issue {
        Issue {
            number: self.number,
            title: self.title.clone(),
            body: self.body.clone().unwrap_or_default(),
            state: self.state().to_string(),
            state_reason: self.state_reason.clone(),
            labels: self.labels.clone(),
            comments: self.comments.iter().map(CommentRec::public).collect(),
            assignees: self.assignees.clone(),
            author: self.author.clone(),
        }
    }

    fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(name))
    }
}

struct LabelRec {
    id: u64,
    name: String,
    color: String,
    description: Option<String>,
}

struct StatusRec {
    id: u64,
    state: String,
    context: String,
    description: Option<String>,
    target_url: Option<String>,
    created: u64,
}

struct CheckRec {
    id: u64,
    name: String,
    head_sha: String,
    status: String,
    conclusion: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    text: Option<String>,
    details_url: Option<String>,
    external_id: Option<String>,
    started: u64,
    completed: Option<u64>,
}

#[derive(Default)]
struct Repo {
    issues: BTreeMap<u64, IssueRec>,
    last_number: u64,
    labels: Vec<LabelRec>,
    statuses: BTreeMap<String, Vec<StatusRec>>,
    checks: Vec<CheckRec>,
    pulls: pulls::Pulls,
    /// Lowercased logins that can be assigned; `None`: anyone.
    assignable: Option<BTreeSet<String>>,
}

impl Repo {
    fn next_number(&mut self) -> u64 {
        self.last_number += 1;
        self.last_number
    }

    /// Issue or pull request `number`; a number never seen is taken to be an open pull request
    /// (the one a pull_request event names exists on GitHub).
    fn ensure_pull(&mut self, number: u64, counters: &mut Counters) -> &mut IssueRec {
        self.last_number = self.last_number.max(number);
        if !self.issues.contains_key(&number) {
            self.pulls.implicit(number);
        }
        self.issues.entry(number).or_insert_with(|| {
            let now = counters.now();
            IssueRec::new(
                next_id(&mut counters.issue),
                number,
                &format!("Pull request #{number}"),
                now,
                true,
            )
        })
    }

    fn label(&self, name: &str) -> Option<&LabelRec> {
        self.labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// The label's name as the repository spells it, creating the label (grey, as GitHub does)
    /// if it does not exist.
    fn ensure_label(&mut self, name: &str, counters: &mut Counters) -> String {
        if let Some(label) = self.label(name) {
            return label.name.clone();
        }
        self.labels.push(LabelRec {
            id: next_id(&mut counters.label),
            name: name.to_string(),
            color: "ededed".into(),
            description: None,
        });
        name.to_string()
    }

    fn comment_mut(&mut self, id: u64) -> Option<(u64, bool, &mut CommentRec)> {
        self.issues.values_mut().find_map(|issue| {
            let (number, pull) = (issue.number, issue.pull);
            issue
                .comments
                .iter_mut()
                .find(|c| c.id == id)
                .map(|c| (number, pull, c))
        })
    }
}

struct State {
    token: String,
    port: u16,
    reset: u64,
    served: u64,
    counters: Counters,
    repos: BTreeMap<String, Repo>,
    faults: Vec<Fault>,
    deny_writes: bool,
    deny_check_runs: bool,
    /// The token's user; `None` for an installation token.
    user: Option<String>,
    log: Vec<Logged>,
}

/// What handlers need to know about the request besides the repository.
struct Ctx<'a> {
    /// `http://127.0.0.1:PORT` plus the prefix the request came in with.
    api: String,
    /// `http://127.0.0.1:PORT`, for `html_url`s.
    web: String,
    /// `owner/name`.
    repo: &'a str,
    /// The request path without prefix and query, as sent.
    path: &'a str,
    query: Vec<(String, String)>,
    /// Who the token writes as.
    actor: String,
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl State {
    fn new(token: &str, port: u16) -> State {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1_700_000_000);
        State {
            token: token.to_string(),
            port,
            reset: now + 3600,
            served: 0,
            counters: Counters {
                base: now.saturating_sub(86_400),
                ticks: 0,
                comment: 0,
                issue: 1_000_000,
                label: 2_000_000,
                status: 3_000_000,
                check: 4_000_000,
            },
            repos: BTreeMap::new(),
            faults: Vec::new(),
            deny_writes: false,
            deny_check_runs: false,
            user: None,
            log: Vec::new(),
        }
    }

    fn authorized(&self, header: Option<&str>) -> bool {
        let Some((scheme, credential)) = header.and_then(|h| h.trim().split_once(' ')) else {
            return false;
        };
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
            && !self.token.is_empty()
            && credential.trim() == self.token
    }

    fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| {
            (f.method == "*" || f.method.eq_ignore_ascii_case(method))
                && path.contains(f.path_contains.as_str())
        })?;
        let fault = self.faults.get_mut(index)?;
        fault.times = fault.times.saturating_sub(1);
        let taken = fault.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    fn process(&mut self, incoming: &Incoming<'_>) -> (u16, Vec<(String, String)>, String) {
        let method = incoming.method;
        let (raw_path, raw_query) = split_target(incoming.target);
        let (prefix, path) = strip_prefix(raw_path);
        let authorized = self.authorized(incoming.authorization);
        let mut fault_headers = None;
        let reply = if let Some(fault) = self.take_fault(method, path) {
            let body = if fault.body.is_empty() {
                let reason = tiny_http::StatusCode(fault.status).default_reason_phrase();
                json!({"message": reason, "documentation_url": DOCS}).to_string()
            } else {
                fault.body.replace(
                    AUTHORIZATION_ECHO,
                    incoming.authorization.unwrap_or_default(),
                )
            };
            fault_headers = Some(fault.headers.clone());
            Reply {
                status: fault.status,
                headers: Vec::new(),
                body,
            }
        } else if !authorized {
            Reply::message(401, "Bad credentials")
        } else if let Some(body) = incoming.body {
            let web = format!("http://127.0.0.1:{}", self.port);
            self.route(method, path, raw_query, &web, prefix, body)
                .unwrap_or_else(|error| error)
        } else {
            Reply::message(400, "Problems reading the request body")
        };
        self.log.push(Logged {
            method: method.to_string(),
            path: path.to_string(),
            query: raw_query.to_string(),
            at: incoming.arrived,
            status: reply.status,
            authorized,
        });
        self.finish(reply, fault_headers)
    }

    /// Adds the headers every GitHub response carries; a fault's own headers win.
    fn finish(
        &mut self,
        reply: Reply,
        overrides: Option<Vec<(String, String)>>,
    ) -> (u16, Vec<(String, String)>, String) {
        self.served += 1;
        let remaining = RATE_LIMIT.saturating_sub(self.served);
        let mut headers: Vec<(String, String)> = vec![
            (
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("x-ratelimit-limit".into(), RATE_LIMIT.to_string()),
            ("x-ratelimit-remaining".into(), remaining.to_string()),
            ("x-ratelimit-reset".into(), self.reset.to_string()),
            (
                "x-ratelimit-used".into(),
                (RATE_LIMIT - remaining).to_string(),
            ),
            ("x-ratelimit-resource".into(), "core".into()),
            (
                "x-github-request-id".into(),
                format!("FAKE:{:08X}", self.served),
            ),
            ("x-github-api-version-selected".into(), "2022-11-28".into()),
            (
                "x-github-media-type".into(),
                "github.v3; format=json".into(),
            ),
        ];
        for (name, value) in reply
            .headers
            .into_iter()
            .chain(overrides.unwrap_or_default())
        {
            match headers
                .iter_mut()
                .find(|(existing, _)| existing.eq_ignore_ascii_case(&name))
            {
                Some(slot) => slot.1 = value,
                None => headers.push((name, value)),
            }
        }
        (reply.status, headers, reply.body)
    }

    fn route(
        &mut self,
        method: &str,
        path: &str,
        raw_query: &str,
        web: &str,
        prefix: &str,
        body: &[u8],
    ) -> Handled {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_decode(s, false))
            .collect();
        let actor = self.user.clone().unwrap_or_else(|| BOT_LOGIN.to_string());
        if method == "GET" && segments == ["user"] {
            let ctx = Ctx {
                api: format!("{web}{prefix}"),
                web: web.to_string(),
                repo: "",
                path,
                query: Vec::new(),
                actor,
            };
            return match &self.user {
                Some(login) => Ok(Reply::json(200, user_json(&ctx, login))),
                None => Err(Reply::message(
                    403,
                    "Resource not accessible by integration",
                )),
            };
        }
        let (Some("repos"), Some(owner), Some(name), Some(rest)) = (
            segments.first().map(String::as_str),
            segments.get(1),
            segments.get(2),
            segments.get(3..),
        ) else {
            return Err(Reply::not_found());
        };
        if owner.is_empty() || name.is_empty() {
            return Err(Reply::not_found());
        }
        if method != "GET" && self.deny_writes {
            return Err(Reply::message(
                403,
                "Resource not accessible by integration",
            ));
        }
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        // GitHub accepts POST wherever it accepts PATCH.
        let patch = method == "PATCH" || method == "POST";
        let repo_key = format!("{owner}/{name}");
        let ctx = Ctx {
            api: format!("{web}{prefix}"),
            web: web.to_string(),
            repo: &repo_key,
            path,
            query: parse_query(raw_query),
            actor,
        };
        let State {
            repos,
            counters,
            deny_check_runs,
            ..
        } = self;
        let repo = repos.entry(repo_key.clone()).or_default();
        let c = counters;
        match (method, rest.as_slice()) {
            ("GET", []) => pulls::get_repository(repo, &ctx),
            ("GET", ["pulls"]) => pulls::list(repo, &ctx),
            ("POST", ["pulls"]) => pulls::create(repo, c, &ctx, &parse_body(body)?),
            ("GET", ["pulls", n]) => pulls::get(repo, &ctx, id_of(n)?),
            (_, ["pulls", n]) if patch => {
                pulls::update(repo, c, &ctx, id_of(n)?, &parse_body(body)?)
            }
            ("GET", ["issues"]) => list_issues(repo, &ctx),
            ("POST", ["issues"]) => create_issue(repo, c, &ctx, &parse_body(body)?),
            ("GET", ["issues", "comments", id]) => get_comment(repo, &ctx, id_of(id)?),
            (_, ["issues", "comments", id]) if patch => {
                update_comment(repo, c, &ctx, id_of(id)?, &parse_body(body)?)
            }
            ("DELETE", ["issues", "comments", id]) => delete_comment(repo, id_of(id)?),
            ("GET", ["issues", n]) => get_issue(repo, &ctx, id_of(n)?),
            (_, ["issues", n]) if patch => {
                update_issue(repo, c, &ctx, id_of(n)?, &parse_body(body)?)
            }
            ("GET", ["issues", n, "comments"]) => list_comments(repo, c, &ctx, id_of(n)?),
            ("POST", ["issues", n, "comments"]) => {
                create_comment(repo, c, &ctx, id_of(n)?, &parse_body(body)?)
            }
            ("GET", ["issues", n, "labels"]) => issue_labels(repo, &ctx, id_of(n)?),
            ("POST", ["issues", n, "assignees"]) => {
                add_assignees(repo, c, &ctx, id_of(n)?, &parse_body(body)?)
            }
            ("POST", ["issues", n, "labels"]) => add_issue_labels(repo, c, &ctx, id_of(n)?, body),
            ("DELETE", ["issues", n, "labels", label]) => {
                remove_issue_label(repo, c, &ctx, id_of(n)?, label)
            }
            ("GET", ["labels"]) => list_labels(repo, &ctx),
            ("POST", ["labels"]) => create_label(repo, c, &ctx, &parse_body(body)?),
            ("GET", ["labels", label]) => get_label(repo, &ctx, label),
            (_, ["labels", label]) if patch => update_label(repo, &ctx, label, &parse_body(body)?),
            ("POST", ["statuses", sha]) => create_status(repo, c, &ctx, sha, &parse_body(body)?),
            ("GET", ["commits", sha, "statuses"]) => list_statuses(repo, &ctx, sha),
            ("POST", ["check-runs"]) if *deny_check_runs => Err(check_runs_denied()),
            ("POST", ["check-runs"]) => create_check(repo, c, &ctx, &parse_body(body)?),
            ("GET", ["check-runs", id]) => get_check(repo, &ctx, id_of(id)?),
            (_, ["check-runs", _]) if patch && *deny_check_runs => Err(check_runs_denied()),
            (_, ["check-runs", id]) if patch => {
                update_check(repo, c, &ctx, id_of(id)?, &parse_body(body)?)
            }
            ("GET", ["commits", sha, "check-runs"]) => list_checks(repo, &ctx, sha),
            _ => Err(Reply::not_found()),
        }
    }
}

fn check_runs_denied() -> Reply {
    Reply::json(
        403,
        json!({
            "message": "You must authenticate via a GitHub App.",
            "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
            "status": "403",
        }),
    )
}

fn id_of(segment: &str) -> Result<u64, Reply> {
    segment.parse().map_err(|_| Reply::not_found())
}

// ---------------------------------------------------------------------------------------------
// Request bodies

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Reply::message(400, "Problems parsing JSON")),
    }
}

/// Absent: `None`; `null`: `Some(None)`; a string: `Some(Some(..))`; anything else: 422.
fn opt_string(body: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, Reply> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(Reply::invalid(&format!(
            "For 'properties/{key}', {other} is not a string or null."
        ))),
    }
}

fn required_string(body: &Map<String, Value>, key: &str) -> Result<String, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Err(Reply::invalid(&format!("\"{key}\" wasn't supplied."))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Reply::invalid(&format!(
            "For 'properties/{key}', {other} is not a string."
        ))),
    }
}

/// Label names from `["a", "b"]` or `[{"name": "a"}]`.
fn label_names(value: &Value) -> Result<Vec<String>, Reply> {
    let Value::Array(items) = value else {
        return Err(Reply::invalid(&format!(
            "For 'properties/labels', {value} is not an array."
        )));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => match o.get("name") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(Reply::invalid(&format!(
                    "For 'items', {item} is not a string."
                ))),
            },
            other => Err(Reply::invalid(&format!(
                "For 'items', {other} is not a string."
            ))),
        })
        .collect()
}

fn dedup_names(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    out
}

fn body_too_long(resource: &str) -> Reply {
    let error = if resource == "IssueComment" {
        json!({
            "resource": "IssueComment",
            "code": "unprocessable",
            "field": "data",
            "message": format!("Body is too long (maximum is {BODY_LIMIT} characters)"),
        })
    } else {
        json!({
            "resource": resource,
            "code": "custom",
            "field": "body",
            "message": format!("body is too long (maximum is {BODY_LIMIT} characters)"),
        })
    };
    Reply::validation(vec![error])
}

fn check_body_length(body: Option<&str>, resource: &str) -> Result<(), Reply> {
    match body {
        Some(text) if text.chars().count() > BODY_LIMIT => Err(body_too_long(resource)),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

fn user_id(login: &str) -> u64 {
    if login == BOT_LOGIN {
        return BOT_ID;
    }
    // FNV-1a: a stable id per login.
    let hash = login.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1_000 + hash % 90_000_000
}

fn user_json(ctx: &Ctx<'_>, login: &str) -> Value {
    let id = user_id(login);
    let bot = login.ends_with("[bot]");
    let encoded = percent_encode(login);
    let url = format!("{}/users/{encoded}", ctx.api);
    let html_url = if bot {
        format!("{}/apps/{}", ctx.web, login.trim_end_matches("[bot]"))
    } else {
        format!("{}/{encoded}", ctx.web)
    };
    json!({
        "login": login,
        "id": id,
        "node_id": if bot { format!("BOT_kgDO{id:08}") } else { format!("U_kgDO{id:08}") },
        "avatar_url": format!("{}/avatars/u/{id}?v=4", ctx.web),
        "gravatar_id": "",
        "url": url,
        "html_url": html_url,
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": if bot { "Bot" } else { "User" },
        "user_view_type": "public",
        "site_admin": false,
    })
}

fn comment_json(ctx: &Ctx<'_>, number: u64, pull: bool, c: &CommentRec) -> Value {
    let kind = if pull { "pull" } else { "issues" };
    json!({
        "id": c.id,
        "node_id": format!("IC_kwDOFake{:08}", c.id),
        "url": format!("{}/repos/{}/issues/comments/{}", ctx.api, ctx.repo, c.id),
        "html_url": format!("{}/{}/{kind}/{number}#issuecomment-{}", ctx.web, ctx.repo, c.id),
        "issue_url": format!("{}/repos/{}/issues/{number}", ctx.api, ctx.repo),
        "body": c.body,
        "user": user_json(ctx, &c.author),
        "created_at": rfc3339(c.created),
        "updated_at": rfc3339(c.updated),
        "author_association": "NONE",
        "performed_via_github_app": null,
    })
}

fn label_json(ctx: &Ctx<'_>, l: &LabelRec) -> Value {
    json!({
        "id": l.id,
        "node_id": format!("LA_kwDOFake{:08}", l.id),
        "url": format!("{}/repos/{}/labels/{}", ctx.api, ctx.repo, percent_encode(&l.name)),
        "name": l.name,
        "color": l.color,
        "default": false,
        "description": l.description,
    })
}

fn issue_labels_json(ctx: &Ctx<'_>, repo: &Repo, rec: &IssueRec) -> Vec<Value> {
    rec.labels
        .iter()
        .filter_map(|name| repo.label(name))
        .map(|l| label_json(ctx, l))
        .collect()
}

fn issue_json(ctx: &Ctx<'_>, repo: &Repo, rec: &IssueRec) -> Value {
    let n = rec.number;
    let url = format!("{}/repos/{}/issues/{n}", ctx.api, ctx.repo);
    let kind = if rec.pull { "pull" } else { "issues" };
    let mut value = json!({
        "id": rec.id,
        "node_id": format!("I_kwDOFake{:08}", rec.id),
        "url": url,
        "repository_url": format!("{}/repos/{}", ctx.api, ctx.repo),
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": format!("{}/{}/{kind}/{n}", ctx.web, ctx.repo),
        "number": n,
        "state": rec.state(),
        "state_reason": rec.state_reason,
        "title": rec.title,
        "body": rec.body,
        "user": user_json(ctx, &rec.author),
        "labels": issue_labels_json(ctx, repo, rec),
        "assignee": rec.assignees.first().map(|login| user_json(ctx, login)),
        "assignees": rec.assignees.iter().map(|login| user_json(ctx, login)).collect::<Vec<_>>(),
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": rec.comments.len(),
        "closed_at": rec.closed_at.map(rfc3339),
        "closed_by": rec.closed_by.as_deref().map(|login| user_json(ctx, login)),
        "created_at": rfc3339(rec.created),
        "updated_at": rfc3339(rec.updated),
        "author_association": "NONE",
    });
    if rec.pull {
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "pull_request".into(),
                json!({
                    "url": format!("{}/repos/{}/pulls/{n}", ctx.api, ctx.repo),
                    "html_url": format!("{}/{}/pull/{n}", ctx.web, ctx.repo),
                    "diff_url": format!("{}/{}/pull/{n}.diff", ctx.web, ctx.repo),
                    "patch_url": format!("{}/{}/pull/{n}.patch", ctx.web, ctx.repo),
                    "merged_at": repo.pulls.merged_at(n).map(rfc3339),
                }),
            );
        }
    }
    value
}

fn status_json(ctx: &Ctx<'_>, sha: &str, s: &StatusRec) -> Value {
    json!({
        "url": format!("{}/repos/{}/statuses/{sha}", ctx.api, ctx.repo),
        "avatar_url": format!("{}/avatars/u/{BOT_ID}?v=4", ctx.web),
        "id": s.id,
        "node_id": format!("SC_kwDOFake{:08}", s.id),
        "state": s.state,
        "description": s.description,
        "target_url": s.target_url,
        "context": s.context,
        "created_at": rfc3339(s.created),
        "updated_at": rfc3339(s.created),
        "creator": user_json(ctx, &ctx.actor),
    })
}

fn check_json(ctx: &Ctx<'_>, c: &CheckRec) -> Value {
    let url = format!("{}/repos/{}/check-runs/{}", ctx.api, ctx.repo, c.id);
    json!({
        "id": c.id,
        "node_id": format!("CR_kwDOFake{:08}", c.id),
        "head_sha": c.head_sha,
        "external_id": c.external_id.clone().unwrap_or_default(),
        "url": url,
        "html_url": format!("{}/{}/runs/{}", ctx.web, ctx.repo, c.id),
        "details_url": c.details_url,
        "status": c.status,
        "conclusion": c.conclusion,
        "started_at": rfc3339(c.started),
        "completed_at": c.completed.map(rfc3339),
        "output": {
            "title": c.title,
            "summary": c.summary,
            "text": c.text,
            "annotations_count": 0,
            "annotations_url": format!("{url}/annotations"),
        },
        "name": c.name,
        "check_suite": {"id": 5_000_000 + c.id},
        "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
        "pull_requests": [],
    })
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// One page of `items` per `per_page`/`page`, with GitHub's `Link` header when there is more
/// than one page.
fn paginate(ctx: &Ctx<'_>, items: Vec<Value>) -> (Vec<Value>, Option<String>) {
    let per_page = ctx
        .param("per_page")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(30, |n| n.min(100));
    let page = ctx
        .param("page")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip(page.saturating_sub(1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    if last == 1 && page == 1 {
        return (slice, None);
    }
    let mut links = Vec::new();
    if page > 1 {
        links.push((page.saturating_sub(1).min(last), "prev"));
    }
    if page < last {
        links.push((page + 1, "next"));
        links.push((last, "last"));
    }
    if page > 1 {
        links.push((1, "first"));
    }
    let header = links
        .into_iter()
        .map(|(n, rel)| format!("<{}>; rel=\"{rel}\"", page_url(ctx, n)))
        .collect::<Vec<_>>()
        .join(", ");
    (slice, Some(header))
}

/// The request's URL with `page` set to `page`, other parameters kept (re-encoded, so commas in
/// `labels=a,b` become `%2C` and never split the `Link` header).
fn page_url(ctx: &Ctx<'_>, page: usize) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut replaced = false;
    for (k, v) in &ctx.query {
        if k == "page" {
            if !replaced {
                pairs.push((k.clone(), page.to_string()));
                replaced = true;
            }
        } else {
            pairs.push((k.clone(), v.clone()));
        }
    }
    if !replaced {
        pairs.push(("page".into(), page.to_string()));
    }
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}{}?{query}", ctx.api, ctx.path)
}

fn page_reply(ctx: &Ctx<'_>, items: Vec<Value>) -> Reply {
    let (page, link) = paginate(ctx, items);
    let reply = Reply::json(200, Value::Array(page));
    match link {
        Some(link) => reply.header("Link", link),
        None => reply,
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers: comments

fn list_comments(repo: &mut Repo, c: &mut Counters, ctx: &Ctx<'_>, n: u64) -> Handled {
    let issue = repo.ensure_pull(n, c);
    let items = issue
        .comments
        .iter()
        .map(|c| comment_json(ctx, n, issue.pull, c))
        .collect();
    Ok(page_reply(ctx, items))
}

fn create_comment(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    body: &Map<String, Value>,
) -> Handled {
    let text = required_string(body, "body")?;
    check_body_length(Some(&text), "IssueComment")?;
    let issue = repo.ensure_pull(n, c);
    let comment = CommentRec::new(c, text, &ctx.actor);
    let now = comment.created;
    let value = comment_json(ctx, n, issue.pull, &comment);
    let location = format!(
        "{}/repos/{}/issues/comments/{}",
        ctx.api, ctx.repo, comment.id
    );
    issue.comments.push(comment);
    issue.updated = now;
    Ok(Reply::json(201, value).header("Location", location))
}

fn get_comment(repo: &mut Repo, ctx: &Ctx<'_>, id: u64) -> Handled {
    let (number, pull, comment) = repo.comment_mut(id).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(200, comment_json(ctx, number, pull, comment)))
}

fn update_comment(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    id: u64,
    body: &Map<String, Value>,
) -> Handled {
    let (number, pull, comment) = repo.comment_mut(id).ok_or_else(Reply::not_found)?;
    let text = required_string(body, "body")?;
    check_body_length(Some(&text), "IssueComment")?;
    comment.body = text;
    comment.updated = c.now();
    comment.updates += 1;
    Ok(Reply::json(200, comment_json(ctx, number, pull, comment)))
}

fn delete_comment(repo: &mut Repo, id: u64) -> Handled {
    for issue in repo.issues.values_mut() {
        if let Some(index) = issue.comments.iter().position(|c| c.id == id) {
            issue.comments.remove(index);
            return Ok(Reply::empty(204));
        }
    }
    Err(Reply::not_found())
}

// ---------------------------------------------------------------------------------------------
// Handlers: issues

fn list_issues(repo: &Repo, ctx: &Ctx<'_>) -> Handled {
    let state = ctx.param("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return Err(Reply::validation(vec![
            json!({"resource": "Issue", "field": "state", "code": "invalid"}),
        ]));
    }
    let sort = ctx.param("sort").unwrap_or("created");
    if !matches!(sort, "created" | "updated" | "comments") {
        return Err(Reply::validation(vec![
            json!({"resource": "Issue", "field": "sort", "code": "invalid"}),
        ]));
    }
    let ascending = ctx.param("direction") == Some("asc");
    let wanted: Vec<&str> = ctx
        .param("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let creator = ctx.param("creator");
    let mut matching: Vec<&IssueRec> = repo
        .issues
        .values()
        .filter(|i| state == "all" || i.state() == state)
        .filter(|i| wanted.iter().all(|w| i.has_label(w)))
        .filter(|i| creator.is_none_or(|login| i.author.eq_ignore_ascii_case(login)))
        .collect();
    matching.sort_by_key(|i| {
        let key = match sort {
            "updated" => i.updated,
            "comments" => i.comments.len() as u64,
            _ => i.created,
        };
        (key, i.number)
    });
    if !ascending {
        matching.reverse();
    }
    let items = matching
        .into_iter()
        .map(|i| issue_json(ctx, repo, i))
        .collect();
    Ok(page_reply(ctx, items))
}

fn create_issue(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    body: &Map<String, Value>,
) -> Handled {
    let title = match body.get("title") {
        None | Some(Value::Null) => {
            return Err(Reply::invalid("\"title\" wasn't supplied."));
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(Reply::invalid(&format!(
                "For 'properties/title', {other} is not a string or integer."
            )));
        }
    };
    if title.trim().is_empty() {
        return Err(Reply::validation(vec![
            json!({"resource": "Issue", "code": "missing_field", "field": "title"}),
        ]));
    }
    let text = opt_string(body, "body")?.flatten();
    check_body_length(text.as_deref(), "Issue")?;
    let names = match body.get("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => label_names(value)?,
    };
    let labels = names
        .iter()
        .map(|name| repo.ensure_label(name, c))
        .collect::<Vec<_>>();
    let number = repo.next_number();
    let now = c.now();
    let mut rec = IssueRec::new(next_id(&mut c.issue), number, &title, now, false);
    rec.author = ctx.actor.clone();
    rec.body = text;
    rec.labels = dedup_names(labels);
    let value = issue_json(ctx, repo, &rec);
    repo.issues.insert(number, rec);
    let location = format!("{}/repos/{}/issues/{number}", ctx.api, ctx.repo);
    Ok(Reply::json(201, value).header("Location", location))
}

fn get_issue(repo: &Repo, ctx: &Ctx<'_>, n: u64) -> Handled {
    let rec = repo.issues.get(&n).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(200, issue_json(ctx, repo, rec)))
}

/// `POST /repos/{owner}/{repo}/issues/{n}/assignees`: adds up to 10 assignees, keeping those
/// already there; logins that cannot be assigned are left out without an error, as GitHub
/// does. 201 with the issue.
fn add_assignees(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    body: &Map<String, Value>,
) -> Handled {
    let logins: Vec<String> = match body.get("assignees") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(login) => Ok(login.clone()),
                other => Err(Reply::invalid(&format!(
                    "For 'items', {other} is not a string."
                ))),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Reply::invalid(
                "For 'properties/assignees', it must be an array.",
            ))
        }
    };
    let assignable = repo.assignable.clone();
    let Some(rec) = repo.issues.get_mut(&n) else {
        return Err(Reply::not_found());
    };
    for login in logins {
        let known = assignable
            .as_ref()
            .is_none_or(|set| set.contains(&login.to_ascii_lowercase()));
        let already = rec.assignees.iter().any(|a| a.eq_ignore_ascii_case(&login));
        if known && !already && rec.assignees.len() < 10 {
            rec.assignees.push(login);
        }
    }
    rec.updated = c.now();
    let rec = repo.issues.get(&n).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(201, issue_json(ctx, repo, rec)))
}

fn update_issue(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    body: &Map<String, Value>,
) -> Handled {
    if !repo.issues.contains_key(&n) {
        return Err(Reply::not_found());
    }
    // Validate everything before changing anything.
    let title = match body.get("title") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(num)) => Some(num.to_string()),
        Some(Value::String(_)) | Some(Value::Null) => {
            return Err(Reply::validation(vec![
                json!({"resource": "Issue", "code": "missing_field", "field": "title"}),
            ]));
        }
        Some(other) => {
            return Err(Reply::invalid(&format!(
                "For 'properties/title', {other} is not a string or integer."
            )));
        }
    };
    let text = opt_string(body, "body")?;
    if let Some(text) = &text {
        check_body_length(text.as_deref(), "Issue")?;
    }
    let state = opt_string(body, "state")?.flatten();
    if let Some(state) = &state {
        if state != "open" && state != "closed" {
            return Err(Reply::invalid(&format!(
                "For 'properties/state', \"{state}\" is not a possible value. Must be one of: open, closed."
            )));
        }
    }
    let reason = opt_string(body, "state_reason")?;
    if let Some(Some(reason)) = &reason {
        if !matches!(
            reason.as_str(),
            "completed" | "not_planned" | "reopened" | "duplicate"
        ) {
            return Err(Reply::invalid(&format!(
                "For 'properties/state_reason', \"{reason}\" is not a possible value."
            )));
        }
    }
    let labels = match body.get("labels") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(value) => Some(label_names(value)?),
    };
    let labels = labels.map(|names| {
        dedup_names(
            names
                .iter()
                .map(|name| repo.ensure_label(name, c))
                .collect(),
        )
    });
    let now = c.now();
    let rec = repo.issues.get_mut(&n).ok_or_else(Reply::not_found)?;
    if let Some(title) = title {
        rec.title = title;
    }
    if let Some(text) = text {
        rec.body = text;
    }
    if let Some(labels) = labels {
        rec.labels = labels;
    }
    match state.as_deref() {
        Some("closed") => {
            if rec.open {
                rec.open = false;
                rec.closed_at = Some(now);
                rec.closed_by = Some(ctx.actor.clone());
            }
            rec.state_reason = Some(
                reason
                    .clone()
                    .flatten()
                    .unwrap_or_else(|| "completed".to_string()),
            );
        }
        Some(_) => {
            if !rec.open {
                rec.open = true;
                rec.closed_at = None;
                rec.closed_by = None;
                rec.state_reason = Some("reopened".into());
            }
        }
        None => {
            if let Some(reason) = reason {
                rec.state_reason = reason;
            }
        }
    }
    rec.updated = now;
    let rec = repo.issues.get(&n).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(200, issue_json(ctx, repo, rec)))
}

// ---------------------------------------------------------------------------------------------
// Handlers: labels

fn list_labels(repo: &Repo, ctx: &Ctx<'_>) -> Handled {
    let items = repo.labels.iter().map(|l| label_json(ctx, l)).collect();
    Ok(page_reply(ctx, items))
}

fn get_label(repo: &Repo, ctx: &Ctx<'_>, name: &str) -> Handled {
    let label = repo.label(name).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(200, label_json(ctx, label)))
}

fn valid_color(color: &str) -> bool {
    color.len() == 6 && color.chars().all(|ch| ch.is_ascii_hexdigit())
}

fn label_fields(
    body: &Map<String, Value>,
) -> Result<(Option<String>, Option<Option<String>>), Reply> {
    let color = opt_string(body, "color")?.flatten();
    if let Some(color) = &color {
        if !valid_color(color) {
            return Err(Reply::validation(vec![
                json!({"resource": "Label", "code": "invalid", "field": "color"}),
            ]));
        }
    }
    let description = opt_string(body, "description")?;
    if let Some(Some(text)) = &description {
        if text.chars().count() > LABEL_DESCRIPTION_LIMIT {
            return Err(Reply::validation(vec![json!({
                "resource": "Label",
                "code": "custom",
                "field": "description",
                "message": format!("description is too long (maximum is {LABEL_DESCRIPTION_LIMIT} characters)"),
            })]));
        }
    }
    Ok((color.map(|c| c.to_ascii_lowercase()), description))
}

fn already_exists() -> Reply {
    Reply::validation(vec![
        json!({"resource": "Label", "code": "already_exists", "field": "name"}),
    ])
}

fn create_label(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    body: &Map<String, Value>,
) -> Handled {
    let name = required_string(body, "name")?;
    if name.trim().is_empty() {
        return Err(Reply::validation(vec![
            json!({"resource": "Label", "code": "missing_field", "field": "name"}),
        ]));
    }
    let (color, description) = label_fields(body)?;
    if repo.label(&name).is_some() {
        return Err(already_exists());
    }
    let label = LabelRec {
        id: next_id(&mut c.label),
        name: name.clone(),
        color: color.unwrap_or_else(|| "ededed".into()),
        description: description.flatten(),
    };
    let value = label_json(ctx, &label);
    repo.labels.push(label);
    let location = format!(
        "{}/repos/{}/labels/{}",
        ctx.api,
        ctx.repo,
        percent_encode(&name)
    );
    Ok(Reply::json(201, value).header("Location", location))
}

fn update_label(repo: &mut Repo, ctx: &Ctx<'_>, name: &str, body: &Map<String, Value>) -> Handled {
    let old = repo.label(name).ok_or_else(Reply::not_found)?.name.clone();
    let new_name = opt_string(body, "new_name")?.flatten();
    let (color, description) = label_fields(body)?;
    if let Some(new_name) = &new_name {
        if !new_name.eq_ignore_ascii_case(&old) && repo.label(new_name).is_some() {
            return Err(already_exists());
        }
    }
    if let Some(new_name) = &new_name {
        for issue in repo.issues.values_mut() {
            for label in issue.labels.iter_mut() {
                if label.eq_ignore_ascii_case(&old) {
                    *label = new_name.clone();
                }
            }
        }
    }
    let label = repo
        .labels
        .iter_mut()
        .find(|l| l.name == old)
        .ok_or_else(Reply::not_found)?;
    if let Some(new_name) = new_name {
        label.name = new_name;
    }
    if let Some(color) = color {
        label.color = color;
    }
    if let Some(description) = description {
        label.description = description;
    }
    Ok(Reply::json(200, label_json(ctx, label)))
}

fn issue_labels(repo: &Repo, ctx: &Ctx<'_>, n: u64) -> Handled {
    let rec = repo.issues.get(&n).ok_or_else(Reply::not_found)?;
    Ok(page_reply(ctx, issue_labels_json(ctx, repo, rec)))
}

/// The labels of issue `n` as GitHub answers a change to them: one array, not paginated.
fn changed_labels(repo: &Repo, ctx: &Ctx<'_>, n: u64) -> Handled {
    let rec = repo.issues.get(&n).ok_or_else(Reply::not_found)?;
    Ok(Reply::json(
        200,
        Value::Array(issue_labels_json(ctx, repo, rec)),
    ))
}

fn add_issue_labels(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    raw: &[u8],
) -> Handled {
    if !repo.issues.contains_key(&n) {
        return Err(Reply::not_found());
    }
    // GitHub takes `{"labels": [...]}` or a bare array.
    let value: Value =
        serde_json::from_slice(raw).map_err(|_| Reply::message(400, "Problems parsing JSON"))?;
    let names = match &value {
        Value::Object(map) => match map.get("labels") {
            Some(labels) => label_names(labels)?,
            None => return Err(Reply::invalid("\"labels\" wasn't supplied.")),
        },
        other => label_names(other)?,
    };
    let names: Vec<String> = names.iter().map(|n| repo.ensure_label(n, c)).collect();
    let now = c.now();
    let rec = repo.issues.get_mut(&n).ok_or_else(Reply::not_found)?;
    let mut labels = std::mem::take(&mut rec.labels);
    labels.extend(names);
    rec.labels = dedup_names(labels);
    rec.updated = now;
    changed_labels(repo, ctx, n)
}

fn remove_issue_label(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    n: u64,
    name: &str,
) -> Handled {
    let now = c.now();
    let rec = repo.issues.get_mut(&n).ok_or_else(Reply::not_found)?;
    let index = rec
        .labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case(name))
        .ok_or_else(|| Reply::message(404, "Label does not exist"))?;
    rec.labels.remove(index);
    rec.updated = now;
    changed_labels(repo, ctx, n)
}

// ---------------------------------------------------------------------------------------------
// Handlers: commit statuses

fn create_status(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    sha: &str,
    body: &Map<String, Value>,
) -> Handled {
    let state = required_string(body, "state")?;
    if !matches!(state.as_str(), "error" | "failure" | "pending" | "success") {
        return Err(Reply::invalid(&format!(
            "For 'properties/state', \"{state}\" is not a possible value. Must be one of: error, failure, pending, success."
        )));
    }
    let description = opt_string(body, "description")?.flatten();
    if let Some(text) = &description {
        if text.chars().count() > STATUS_DESCRIPTION_LIMIT {
            return Err(Reply::validation(vec![json!({
                "resource": "Status",
                "code": "custom",
                "field": "description",
                "message": format!("description is too long (maximum is {STATUS_DESCRIPTION_LIMIT} characters)"),
            })]));
        }
    }
    let target_url = opt_string(body, "target_url")?.flatten();
    let context = opt_string(body, "context")?
        .flatten()
        .unwrap_or_else(|| "default".into());
    let status = StatusRec {
        id: next_id(&mut c.status),
        state,
        context,
        description,
        target_url,
        created: c.now(),
    };
    let value = status_json(ctx, sha, &status);
    repo.statuses
        .entry(sha.to_string())
        .or_default()
        .push(status);
    Ok(Reply::json(201, value))
}

fn list_statuses(repo: &Repo, ctx: &Ctx<'_>, sha: &str) -> Handled {
    // Newest first, as GitHub lists them.
    let items = repo
        .statuses
        .get(sha)
        .map(|list| {
            list.iter()
                .rev()
                .map(|s| status_json(ctx, sha, s))
                .collect()
        })
        .unwrap_or_default();
    Ok(page_reply(ctx, items))
}

// ---------------------------------------------------------------------------------------------
// Handlers: check runs

const CHECK_STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];
const CHECK_CONCLUSIONS: &[&str] = &[
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
];

struct CheckFields {
    name: Option<String>,
    details_url: Option<Option<String>>,
    external_id: Option<Option<String>>,
    status: Option<String>,
    conclusion: Option<String>,
    /// title, summary, text
    output: Option<(String, String, Option<String>)>,
}

fn check_fields(body: &Map<String, Value>) -> Result<CheckFields, Reply> {
    let name = opt_string(body, "name")?.flatten();
    let status = opt_string(body, "status")?.flatten();
    if let Some(status) = &status {
        if !CHECK_STATUSES.contains(&status.as_str()) {
            return Err(Reply::invalid(&format!(
                "For 'properties/status', \"{status}\" is not a possible value."
            )));
        }
    }
    let conclusion = opt_string(body, "conclusion")?.flatten();
    if let Some(conclusion) = &conclusion {
        if !CHECK_CONCLUSIONS.contains(&conclusion.as_str()) {
            return Err(Reply::invalid(&format!(
                "For 'properties/conclusion', \"{conclusion}\" is not a possible value."
            )));
        }
    }
    let output = match body.get("output") {
        None | Some(Value::Null) => None,
        Some(Value::Object(output)) => {
            let title = required_string(output, "title")?;
            let summary = required_string(output, "summary")?;
            let text = opt_string(output, "text")?.flatten();
            for field in [Some(&summary), text.as_ref()].into_iter().flatten() {
                let count = field.chars().count();
                if count > CHECK_OUTPUT_LIMIT {
                    return Err(Reply::invalid(&format!(
                        "Only {CHECK_OUTPUT_LIMIT} characters are allowed; {count} were supplied."
                    )));
                }
            }
            Some((title, summary, text))
        }
        Some(other) => {
            return Err(Reply::invalid(&format!(
                "For 'properties/output', {other} is not an object."
            )));
        }
    };
    Ok(CheckFields {
        name,
        details_url: opt_string(body, "details_url")?,
        external_id: opt_string(body, "external_id")?,
        status,
        conclusion,
        output,
    })
}

fn apply_check_fields(check: &mut CheckRec, fields: CheckFields, now: u64) -> Result<(), Reply> {
    let status = match (&fields.conclusion, &fields.status) {
        (Some(_), _) => Some("completed".to_string()),
        (None, status) => status.clone(),
    };
    if status.as_deref() == Some("completed")
        && fields.conclusion.is_none()
        && check.conclusion.is_none()
    {
        return Err(Reply::invalid(
            "No subschema in \"anyOf\" matched.\n\"conclusion\" wasn't supplied.",
        ));
    }
    if let Some(name) = fields.name {
        check.name = name;
    }
    if let Some(url) = fields.details_url {
        check.details_url = url;
    }
    if let Some(id) = fields.external_id {
        check.external_id = id;
    }
    if let Some(conclusion) = fields.conclusion {
        check.conclusion = Some(conclusion);
    }
    if let Some(status) = status {
        if status == "completed" {
            check.completed.get_or_insert(now);
        } else {
            check.completed = None;
            check.conclusion = None;
        }
        check.status = status;
    }
    if let Some((title, summary, text)) = fields.output {
        check.title = Some(title);
        check.summary = Some(summary);
        check.text = text;
    }
    Ok(())
}

fn create_check(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    body: &Map<String, Value>,
) -> Handled {
    let name = required_string(body, "name")?;
    let head_sha = required_string(body, "head_sha")?;
    if name.trim().is_empty() || head_sha.trim().is_empty() {
        return Err(Reply::validation(vec![
            json!({"resource": "CheckRun", "code": "missing_field", "field": if name.trim().is_empty() { "name" } else { "head_sha" }}),
        ]));
    }
    let fields = check_fields(body)?;
    let now = c.now();
    let mut check = CheckRec {
        id: next_id(&mut c.check),
        name,
        head_sha,
        status: "queued".into(),
        conclusion: None,
        title: None,
        summary: None,
        text: None,
        details_url: None,
        external_id: None,
        started: now,
        completed: None,
    };
    apply_check_fields(&mut check, fields, now)?;
    let value = check_json(ctx, &check);
    repo.checks.push(check);
    Ok(Reply::json(201, value))
}

fn get_check(repo: &Repo, ctx: &Ctx<'_>, id: u64) -> Handled {
    let check = repo
        .checks
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(Reply::not_found)?;
    Ok(Reply::json(200, check_json(ctx, check)))
}

fn update_check(
    repo: &mut Repo,
    c: &mut Counters,
    ctx: &Ctx<'_>,
    id: u64,
    body: &Map<String, Value>,
) -> Handled {
    let fields = check_fields(body)?;
    let now = c.now();
    let check = repo
        .checks
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(Reply::not_found)?;
    // Validate on a copy so a rejected update changes nothing.
    let mut updated = CheckRec {
        id: check.id,
        name: check.name.clone(),
        head_sha: check.head_sha.clone(),
        status: check.status.clone(),
        conclusion: check.conclusion.clone(),
        title: check.title.clone(),
        summary: check.summary.clone(),
        text: check.text.clone(),
        details_url: check.details_url.clone(),
        external_id: check.external_id.clone(),
        started: check.started,
        completed: check.completed,
    };
    apply_check_fields(&mut updated, fields, now)?;
    *check = updated;
    Ok(Reply::json(200, check_json(ctx, check)))
}

fn list_checks(repo: &Repo, ctx: &Ctx<'_>, sha: &str) -> Handled {
    let name = ctx.param("check_name");
    let matching: Vec<Value> = repo
        .checks
        .iter()
        .rev()
        .filter(|c| c.head_sha == sha && name.is_none_or(|n| c.name == n))
        .map(|c| check_json(ctx, c))
        .collect();
    let total = matching.len();
    let (page, link) = paginate(ctx, matching);
    let reply = Reply::json(200, json!({"total_count": total, "check_runs": page}));
    Ok(match link {
        Some(link) => reply.header("Link", link),
        None => reply,
    })
}

// ---------------------------------------------------------------------------------------------
// URLs and time

/// Splits a request target into path and raw query; an absolute-form target loses its origin.
fn split_target(target: &str) -> (&str, &str) {
    let target = match target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        Some(rest) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
        None => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (if path.is_empty() { "/" } else { path }, query)
}

/// `("/api/v3", rest)` for enterprise-layout paths, `("", path)` otherwise.
fn strip_prefix(path: &str) -> (&'static str, &str) {
    match path.strip_prefix(ENTERPRISE_PREFIX) {
        Some("") => (ENTERPRISE_PREFIX, "/"),
        Some(rest) if rest.starts_with('/') => (ENTERPRISE_PREFIX, rest),
        _ => ("", path),
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Epoch seconds as GitHub's `2024-01-31T12:00:00Z`.
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::assert_contains;
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;

    pub(super) const TOKEN: &str = "ghs_fake_token";
    pub(super) const REPO: &str = "acme/infra";

    pub(super) struct Resp {
        pub(super) status: u16,
        headers: Vec<(String, String)>,
        pub(super) body: String,
    }

    impl Resp {
        pub(super) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        pub(super) fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("response is JSON ({e}): {}", self.body))
        }

        /// `rel` -> URL from the `Link` header.
        pub(super) fn links(&self) -> BTreeMap<String, String> {
            let Some(link) = self.header("link") else {
                return BTreeMap::new();
            };
            link.split(", ")
                .map(|part| {
                    let (url, rel) = part.split_once("; rel=").expect("`<url>; rel=\"x\"`");
                    (
                        rel.trim_matches('"').to_string(),
                        url.trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_string(),
                    )
                })
                .collect()
        }
    }

    /// A minimal blocking HTTP/1.1 client: one request per connection.
    fn http(method: &str, url: &str, authorization: Option<&str>, body: Option<&str>) -> Resp {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (host, target) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut stream = TcpStream::connect(host).expect("connect to the fake");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("set a read timeout");
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/vnd.github+json\r\nConnection: close\r\n"
        );
        if let Some(auth) = authorization {
            request.push_str(&format!("Authorization: {auth}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut payload = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if chunked {
            payload = dechunk(&payload);
        }
        Resp {
            status,
            headers,
            body: String::from_utf8(payload).expect("a UTF-8 body"),
        }
    }

    fn dechunk(mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line_end = data
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a chunk size line");
            let size_text = String::from_utf8_lossy(&data[..line_end]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .expect("a hex chunk size");
            data = &data[line_end + 2..];
            if size == 0 {
                return out;
            }
            out.extend_from_slice(&data[..size]);
            data = &data[size + 2..];
        }
    }

    fn bearer() -> Option<&'static str> {
        Some("Bearer ghs_fake_token")
    }

    pub(super) fn get(fake: &FakeGithub, path: &str) -> Resp {
        http("GET", &format!("{}{path}", fake.api_url()), bearer(), None)
    }

    pub(super) fn send(fake: &FakeGithub, method: &str, path: &str, body: Value) -> Resp {
        http(
            method,
            &format!("{}{path}", fake.api_url()),
            bearer(),
            Some(&body.to_string()),
        )
    }

    pub(super) fn post(fake: &FakeGithub, path: &str, body: Value) -> Resp {
        send(fake, "POST", path, body)
    }

    pub(super) fn patch(fake: &FakeGithub, path: &str, body: Value) -> Resp {
        send(fake, "PATCH", path, body)
    }

    #[test]
    fn the_token_is_an_installations_until_given_to_a_user() {
        let fake = FakeGithub::start(TOKEN);
        let denied = get(&fake, "/user");
        assert_eq!(denied.status, 403);
        assert_eq!(
            denied.json()["message"],
            "Resource not accessible by integration"
        );
        let posted = post(
            &fake,
            &format!("/repos/{REPO}/issues/7/comments"),
            json!({"body": "by the bot"}),
        );
        assert_eq!(posted.json()["user"]["login"], BOT_LOGIN);

        fake.token_of_user("octocat");
        let me = get(&fake, "/user");
        assert_eq!(me.status, 200);
        assert_eq!(me.json()["login"], "octocat");
        assert_eq!(me.json()["type"], "User");
        post(
            &fake,
            &format!("/repos/{REPO}/issues/7/comments"),
            json!({"body": "by octocat"}),
        );
        let issue = post(
            &fake,
            &format!("/repos/{REPO}/issues"),
            json!({"title": "t"}),
        );
        assert_eq!(issue.json()["user"]["login"], "octocat");
        let authors: Vec<String> = fake
            .comments(REPO, 7)
            .into_iter()
            .map(|c| c.author)
            .collect();
        assert_eq!(authors, [BOT_LOGIN, "octocat"]);
        assert_eq!(
            fake.issues(REPO).last().map(|i| i.author.clone()),
            Some("octocat".into())
        );
    }

    #[test]
    fn faults_can_echo_the_authorization_header() {
        let fake = FakeGithub::start(TOKEN);
        fake.inject(Fault::new("GET", "/user", 500).echoing_authorization());
        let echoed = get(&fake, "/user");
        assert_eq!(echoed.status, 500);
        assert_contains(&echoed.body, "Authorization: Bearer ghs_fake_token");
    }

    #[test]
    fn rejects_missing_or_wrong_credentials_and_accepts_both_schemes() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 1, "alice");
        let url = format!("{}/repos/{REPO}/issues/7/comments", fake.api_url());

        for auth in [
            None,
            Some("Bearer nope"),
            Some("Basic Zm9vOmJhcg=="),
            Some("Bearer"),
        ] {
            let resp = http("GET", &url, auth, None);
            assert_eq!(resp.status, 401, "{auth:?}");
            assert_eq!(resp.json()["message"], "Bad credentials");
        }
        for auth in ["Bearer ghs_fake_token", "token ghs_fake_token"] {
            let resp = http("GET", &url, Some(auth), None);
            assert_eq!(resp.status, 200, "{auth}");
            assert_eq!(resp.json()[0]["body"], "comment 1");
            assert_eq!(
                resp.header("content-type"),
                Some("application/json; charset=utf-8")
            );
            assert_eq!(resp.header("x-ratelimit-limit"), Some("5000"));
            assert_eq!(resp.header("x-ratelimit-resource"), Some("core"));
            let remaining: u64 = resp
                .header("x-ratelimit-remaining")
                .and_then(|v| v.parse().ok())
                .expect("x-ratelimit-remaining is a number");
            assert!(remaining < 5000);
            let reset: u64 = resp
                .header("x-ratelimit-reset")
                .and_then(|v| v.parse().ok())
                .expect("x-ratelimit-reset is epoch seconds");
            assert!(reset > 1_600_000_000);
        }

        let log = fake.requests();
        assert_eq!(log.len(), 6);
        assert_eq!(
            log.iter().map(|l| l.authorized).collect::<Vec<_>>(),
            [false, false, false, false, true, true]
        );
        assert!(log
            .iter()
            .all(|l| l.path == "/repos/acme/infra/issues/7/comments"));
        assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn creates_and_updates_comments() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 2, "alice");

        let created = post(
            &fake,
            "/repos/acme/infra/issues/7/comments",
            json!({"body": "drift report"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let comment = created.json();
        let id = comment["id"].as_u64().expect("comment id");
        assert_eq!(comment["user"]["login"], BOT_LOGIN);
        assert_eq!(comment["user"]["type"], "Bot");
        assert_eq!(comment["body"], "drift report");
        assert_eq!(
            comment["html_url"],
            format!("{}/acme/infra/pull/7#issuecomment-{id}", fake.api_url())
        );
        assert!(comment["created_at"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with('Z')));

        let updated = patch(
            &fake,
            &format!("/repos/acme/infra/issues/comments/{id}"),
            json!({"body": "drift report v2"}),
        );
        assert_eq!(updated.status, 200, "{}", updated.body);
        assert_eq!(updated.json()["body"], "drift report v2");
        assert_ne!(updated.json()["updated_at"], comment["updated_at"]);
        assert_eq!(updated.json()["created_at"], comment["created_at"]);

        // POST is accepted where PATCH is, as on GitHub (octocrab's update_comment uses it).
        let again = post(
            &fake,
            &format!("/repos/acme/infra/issues/comments/{id}"),
            json!({"body": "drift report v3"}),
        );
        assert_eq!(again.status, 200, "{}", again.body);

        let fetched = get(&fake, &format!("/repos/acme/infra/issues/comments/{id}"));
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.json()["body"], "drift report v3");

        let comments = fake.comments(REPO, 7);
        assert_eq!(comments.len(), 3);
        assert_eq!(comments[0].body, "comment 1");
        assert_eq!(comments[0].author, "alice");
        assert_eq!(comments[2].id, id);
        assert_eq!(comments[2].updates, 2);
        assert_eq!(comments[2].author, BOT_LOGIN);
        assert!(comments[2].updated_at > comments[2].created_at);

        let missing = patch(
            &fake,
            "/repos/acme/infra/issues/comments/999999",
            json!({"body": "x"}),
        );
        assert_eq!(missing.status, 404);
        // An unknown number is a pull request that exists on GitHub but was never seeded.
        let unseen = post(
            &fake,
            "/repos/acme/infra/issues/8/comments",
            json!({"body": "x"}),
        );
        assert_eq!(unseen.status, 201, "{}", unseen.body);
        assert!(unseen.json()["html_url"]
            .as_str()
            .is_some_and(|u| u.contains("/acme/infra/pull/8#issuecomment-")));
        assert_eq!(fake.comments(REPO, 8).len(), 1);
        assert!(fake.issues(REPO).is_empty(), "pull requests are not issues");
        assert_eq!(get(&fake, "/repos/acme/infra/issues/9").status, 404);
        let no_body = post(&fake, "/repos/acme/infra/issues/7/comments", json!({}));
        assert_eq!(no_body.status, 422);
        let bad_json = http(
            "POST",
            &format!("{}/repos/acme/infra/issues/7/comments", fake.api_url()),
            bearer(),
            Some("{not json"),
        );
        assert_eq!(bad_json.status, 400);
        assert_eq!(bad_json.json()["message"], "Problems parsing JSON");
    }

    #[test]
    fn paginates_120_comments_with_link_headers() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 120, "chatty");

        let first = get(&fake, "/repos/acme/infra/issues/7/comments?per_page=100");
        assert_eq!(first.status, 200);
        assert_eq!(first.json().as_array().map(Vec::len), Some(100));
        let links = first.links();
        let base = format!("{}/repos/acme/infra/issues/7/comments", fake.api_url());
        assert_eq!(
            links.get("next"),
            Some(&format!("{base}?per_page=100&page=2"))
        );
        assert_eq!(
            links.get("last"),
            Some(&format!("{base}?per_page=100&page=2"))
        );
        assert!(!links.contains_key("prev") && !links.contains_key("first"));

        let mut bodies = Vec::new();
        let mut next = Some(format!("{base}?per_page=100"));
        let mut pages = 0;
        while let Some(url) = next {
            let page = http("GET", &url, bearer(), None);
            assert_eq!(page.status, 200);
            for comment in page.json().as_array().expect("an array") {
                bodies.push(comment["body"].as_str().expect("a body").to_string());
            }
            next = page.links().get("next").cloned();
            pages += 1;
            if pages == 2 {
                let links = page.links();
                assert_eq!(
                    links.get("prev"),
                    Some(&format!("{base}?per_page=100&page=1"))
                );
                assert_eq!(
                    links.get("first"),
                    Some(&format!("{base}?per_page=100&page=1"))
                );
                assert!(!links.contains_key("last"));
            }
        }
        assert_eq!(pages, 2);
        let expected: Vec<String> = (1..=120).map(|n| format!("comment {n}")).collect();
        assert_eq!(bodies, expected);

        // Defaults: 30 a page; per_page is capped at 100.
        let default = get(&fake, "/repos/acme/infra/issues/7/comments");
        assert_eq!(default.json().as_array().map(Vec::len), Some(30));
        assert_eq!(default.links().get("last"), Some(&format!("{base}?page=4")));
        let capped = get(
            &fake,
            "/repos/acme/infra/issues/7/comments?per_page=500&page=2",
        );
        assert_eq!(capped.json().as_array().map(Vec::len), Some(20));
        let beyond = get(
            &fake,
            "/repos/acme/infra/issues/7/comments?per_page=100&page=3",
        );
        assert_eq!(beyond.json().as_array().map(Vec::len), Some(0));

        // Everything on one page: no Link header.
        fake.seed_comments(REPO, 8, 3, "alice");
        let small = get(&fake, "/repos/acme/infra/issues/8/comments");
        assert_eq!(small.header("link"), None);
        assert_eq!(small.json().as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn serves_the_enterprise_prefix_and_keeps_it_in_links() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 120, "chatty");
        let api = fake.enterprise_api_url();
        assert!(api.ends_with("/api/v3"));

        let first = http(
            "GET",
            &format!("{api}/repos/acme/infra/issues/7/comments?per_page=100"),
            bearer(),
            None,
        );
        assert_eq!(first.status, 200);
        let next = first.links().get("next").cloned().expect("a next link");
        assert_eq!(
            next,
            format!("{api}/repos/acme/infra/issues/7/comments?per_page=100&page=2")
        );
        let comment = &first.json()[0];
        assert!(comment["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{api}/repos/acme/infra/issues/comments/"))));
        let second = http("GET", &next, bearer(), None);
        assert_eq!(second.json().as_array().map(Vec::len), Some(20));

        let created = http(
            "POST",
            &format!("{api}/repos/acme/infra/issues/7/comments"),
            bearer(),
            Some(r#"{"body":"via GHES"}"#),
        );
        assert_eq!(created.status, 201);
        assert_eq!(fake.comments(REPO, 7).len(), 121);

        let log = fake.requests();
        assert!(log
            .iter()
            .all(|l| l.path.starts_with("/repos/acme/infra/issues/7/comments")));
        assert_eq!(log[0].query, "per_page=100");
    }

    #[test]
    fn creates_lists_filters_closes_and_reopens_issues() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_pull_request(REPO, 3);
        let old = fake.seed_issue(REPO, "Old drift", "stale", &["drift"], false);
        assert_eq!(old, 4, "issues and pull requests share numbers");

        let created = post(
            &fake,
            "/repos/acme/infra/issues",
            json!({"title": "Drift in prod", "body": "details", "labels": ["drift", "stack:prod"]}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let issue = created.json();
        assert_eq!(issue["number"], 5);
        assert_eq!(issue["state"], "open");
        assert_eq!(issue["user"]["login"], BOT_LOGIN);
        assert_eq!(issue["comments"], 0);
        assert_eq!(issue["labels"][1]["name"], "stack:prod");
        assert_eq!(issue["labels"][1]["color"], "ededed");
        assert_eq!(
            issue["html_url"],
            format!("{}/acme/infra/issues/5", fake.api_url())
        );
        let names: Vec<String> = fake.labels(REPO).into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["drift", "stack:prod"]);

        let other = post(
            &fake,
            "/repos/acme/infra/issues",
            json!({"title": "Drift in dev", "labels": ["drift", "stack:dev"]}),
        );
        assert_eq!(other.json()["number"], 6);

        let untitled = post(&fake, "/repos/acme/infra/issues", json!({"body": "x"}));
        assert_eq!(untitled.status, 422);

        let numbers = |resp: Resp| -> Vec<u64> {
            assert_eq!(resp.status, 200, "{}", resp.body);
            resp.json()
                .as_array()
                .expect("an array")
                .iter()
                .map(|i| i["number"].as_u64().expect("a number"))
                .collect()
        };
        // Default: open, newest first; pull requests are issues too, as on GitHub.
        assert_eq!(numbers(get(&fake, "/repos/acme/infra/issues")), [6, 5, 3]);
        assert_eq!(
            numbers(get(&fake, "/repos/acme/infra/issues?labels=drift")),
            [6, 5]
        );
        assert_eq!(
            numbers(get(
                &fake,
                "/repos/acme/infra/issues?labels=drift,stack:prod"
            )),
            [5]
        );
        assert_eq!(
            numbers(get(
                &fake,
                "/repos/acme/infra/issues?labels=drift%2Cstack%3Aprod&state=all"
            )),
            [5]
        );
        assert_eq!(
            numbers(get(&fake, "/repos/acme/infra/issues?state=closed")),
            [4]
        );
        assert_eq!(
            numbers(get(
                &fake,
                "/repos/acme/infra/issues?state=all&labels=drift&direction=asc"
            )),
            [4, 5, 6]
        );
        // Link keeps the other parameters, with the comma encoded.
        let paged = get(
            &fake,
            "/repos/acme/infra/issues?labels=drift,stack:prod&state=all&per_page=1",
        );
        assert_eq!(paged.header("link"), None);
        let paged = get(
            &fake,
            "/repos/acme/infra/issues?labels=drift&state=all&per_page=1",
        );
        assert_eq!(
            paged.links().get("next"),
            Some(&format!(
                "{}/repos/acme/infra/issues?labels=drift&state=all&per_page=1&page=2",
                fake.api_url()
            ))
        );
        let paged = get(
            &fake,
            "/repos/acme/infra/issues?labels=drift,stack:prod&state=closed&page=2&per_page=1",
        );
        assert!(paged.json().as_array().is_some_and(Vec::is_empty));

        let closed = patch(
            &fake,
            "/repos/acme/infra/issues/5",
            json!({"state": "closed", "state_reason": "not_planned"}),
        );
        assert_eq!(closed.status, 200, "{}", closed.body);
        assert_eq!(closed.json()["state"], "closed");
        assert_eq!(closed.json()["state_reason"], "not_planned");
        assert!(closed.json()["closed_at"].is_string());
        assert_eq!(
            numbers(get(&fake, "/repos/acme/infra/issues?labels=drift")),
            [6]
        );

        let reopened = patch(
            &fake,
            "/repos/acme/infra/issues/5",
            json!({"state": "open", "body": "new details", "labels": ["drift", "reopened"]}),
        );
        assert_eq!(reopened.json()["state"], "open");
        assert_eq!(reopened.json()["state_reason"], "reopened");
        assert!(reopened.json()["closed_at"].is_null());

        let bad_state = patch(
            &fake,
            "/repos/acme/infra/issues/5",
            json!({"state": "gone"}),
        );
        assert_eq!(bad_state.status, 422);
        let fetched = get(&fake, "/repos/acme/infra/issues/5");
        assert_eq!(fetched.json()["body"], "new details");
        assert_eq!(get(&fake, "/repos/acme/infra/issues/99").status, 404);

        let issues = fake.issues(REPO);
        assert_eq!(
            issues.iter().map(|i| i.number).collect::<Vec<_>>(),
            [4, 5, 6],
            "pull requests are left out"
        );
        assert_eq!(issues[1].labels, ["drift", "reopened"]);
        assert_eq!(issues[1].title, "Drift in prod");
        assert_eq!(issues[1].body, "new details");
        assert!(issues[1].comments.is_empty());
        assert_eq!(issues[1].state, "open");
        assert_eq!(issues[0].state, "closed");
        assert_eq!(issues[0].state_reason.as_deref(), Some("completed"));
    }

    #[test]
    fn gets_creates_and_rejects_duplicate_labels() {
        let fake = FakeGithub::start(TOKEN);
        assert_eq!(
            get(&fake, "/repos/acme/infra/labels/drift%20detected").status,
            404
        );

        let created = post(
            &fake,
            "/repos/acme/infra/labels",
            json!({"name": "drift detected", "color": "D93F0B", "description": "Terraform drift"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["color"], "d93f0b");

        let fetched = get(&fake, "/repos/acme/infra/labels/drift%20detected");
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.json()["name"], "drift detected");
        assert_eq!(fetched.json()["description"], "Terraform drift");

        let duplicate = post(
            &fake,
            "/repos/acme/infra/labels",
            json!({"name": "Drift Detected", "color": "000000"}),
        );
        assert_eq!(duplicate.status, 422);
        let error = duplicate.json();
        assert_eq!(error["message"], "Validation Failed");
        assert_eq!(error["errors"][0]["code"], "already_exists");
        assert_eq!(error["errors"][0]["resource"], "Label");
        assert_eq!(error["errors"][0]["field"], "name");

        let bad_color = post(
            &fake,
            "/repos/acme/infra/labels",
            json!({"name": "x", "color": "#fff"}),
        );
        assert_eq!(bad_color.status, 422);

        let labels = fake.labels(REPO);
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].description.as_deref(), Some("Terraform drift"));
        assert_eq!(labels[0].color, "d93f0b");
    }

    #[test]
    fn records_and_lists_commit_statuses() {
        let fake = FakeGithub::start(TOKEN);
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let path = format!("/repos/acme/infra/statuses/{sha}");
        let created = post(
            &fake,
            &path,
            json!({"state": "pending", "context": "driftlog/prod", "description": "scanning"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["context"], "driftlog/prod");
        let second = post(
            &fake,
            &path,
            json!({"state": "failure", "target_url": "https://ci.example/run/1"}),
        );
        assert_eq!(second.json()["context"], "default");
        assert_eq!(post(&fake, &path, json!({"state": "bogus"})).status, 422);
        assert_eq!(post(&fake, &path, json!({})).status, 422);
        let long = "x".repeat(141);
        assert_eq!(
            post(
                &fake,
                &path,
                json!({"state": "success", "description": long})
            )
            .status,
            422
        );

        let listed = get(&fake, &format!("/repos/acme/infra/commits/{sha}/statuses"));
        assert_eq!(listed.json()[0]["state"], "failure", "newest first");
        assert_eq!(listed.json()[1]["state"], "pending");

        let statuses = fake.statuses(REPO, sha);
        assert_eq!(statuses.len(), 2);
        assert_eq!(statuses[0].state, "pending");
        assert_eq!(statuses[0].description.as_deref(), Some("scanning"));
        assert_eq!(statuses[1].context, "default");
        assert_eq!(
            statuses[1].target_url.as_deref(),
            Some("https://ci.example/run/1")
        );
        assert!(fake.statuses(REPO, "other").is_empty());
    }

    #[test]
    fn creates_and_updates_check_runs_unless_denied() {
        let fake = FakeGithub::start(TOKEN);
        let created = post(
            &fake,
            "/repos/acme/infra/check-runs",
            json!({"name": "driftlog", "head_sha": "abc123", "status": "in_progress"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json()["id"].as_u64().expect("check run id");
        assert_eq!(created.json()["status"], "in_progress");

        let updated = patch(
            &fake,
            &format!("/repos/acme/infra/check-runs/{id}"),
            json!({
                "conclusion": "failure",
                "details_url": "https://ci.example/run/2",
                "output": {"title": "2 resources drifted", "summary": "details"},
            }),
        );
        assert_eq!(updated.status, 200, "{}", updated.body);
        assert_eq!(updated.json()["status"], "completed");
        assert!(updated.json()["completed_at"].is_string());
        assert_eq!(updated.json()["output"]["title"], "2 resources drifted");

        let incomplete = post(
            &fake,
            "/repos/acme/infra/check-runs",
            json!({"name": "x", "head_sha": "abc123", "status": "completed"}),
        );
        assert_eq!(incomplete.status, 422);
        let nameless = post(
            &fake,
            "/repos/acme/infra/check-runs",
            json!({"head_sha": "abc"}),
        );
        assert_eq!(nameless.status, 422);
        assert_eq!(
            patch(&fake, "/repos/acme/infra/check-runs/1", json!({})).status,
            404
        );

        let runs = fake.check_runs(REPO);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, id);
        assert_eq!(runs[0].name, "driftlog");
        assert_eq!(runs[0].head_sha, "abc123");
        assert_eq!(runs[0].status, "completed");
        assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
        assert_eq!(runs[0].title.as_deref(), Some("2 resources drifted"));
        assert_eq!(runs[0].summary.as_deref(), Some("details"));
        assert_eq!(
            runs[0].details_url.as_deref(),
            Some("https://ci.example/run/2")
        );

        fake.deny_check_runs();
        let denied = post(
            &fake,
            "/repos/acme/infra/check-runs",
            json!({"name": "driftlog", "head_sha": "def456", "conclusion": "success"}),
        );
        assert_eq!(denied.status, 403);
        assert!(denied.json()["message"].is_string());
        let status = post(
            &fake,
            "/repos/acme/infra/statuses/def456",
            json!({"state": "success", "context": "driftlog"}),
        );
        assert_eq!(status.status, 201);
        assert_eq!(fake.check_runs(REPO).len(), 1);
    }

    #[test]
    fn faults_are_consumed_exactly_times() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_pull_request(REPO, 7);
        fake.inject(Fault {
            method: "POST",
            path_contains: "/issues/7/comments".into(),
            status: 403,
            headers: vec![("Retry-After".into(), "1".into())],
            body: r#"{"message":"You have exceeded a secondary rate limit."}"#.into(),
            times: 2,
        });
        fake.inject(Fault::new("*", "/labels/", 502));
        fake.inject(
            Fault::new("PATCH", "/issues/comments/", 503)
                .header("x-ratelimit-remaining", "0")
                .body(r#"{"message":"busy"}"#)
                .times(1),
        );
        // A fault that fires zero times is never queued.
        fake.inject(Fault::new("*", "/", 500).times(0));

        let path = "/repos/acme/infra/issues/7/comments";
        // A GET on the same path does not match a POST fault.
        assert_eq!(get(&fake, path).status, 200);
        for _ in 0..2 {
            let resp = post(&fake, path, json!({"body": "hi"}));
            assert_eq!(resp.status, 403);
            assert_eq!(resp.header("retry-after"), Some("1"));
            assert_eq!(
                resp.json()["message"],
                "You have exceeded a secondary rate limit."
            );
            assert_eq!(resp.header("x-ratelimit-limit"), Some("5000"));
        }
        let ok = post(&fake, path, json!({"body": "hi"}));
        assert_eq!(ok.status, 201);
        assert_eq!(ok.header("retry-after"), None);
        assert_eq!(fake.comments(REPO, 7).len(), 1);

        let bad_gateway = get(&fake, "/repos/acme/infra/labels/drift");
        assert_eq!(bad_gateway.status, 502);
        assert_eq!(bad_gateway.json()["message"], "Bad Gateway");
        assert_eq!(get(&fake, "/repos/acme/infra/labels/drift").status, 404);

        let id = fake.comments(REPO, 7)[0].id;
        let comment = format!("/repos/acme/infra/issues/comments/{id}");
        let busy = patch(&fake, &comment, json!({"body": "edited"}));
        assert_eq!(busy.status, 503);
        assert_eq!(busy.json()["message"], "busy");
        assert_eq!(
            busy.header("x-ratelimit-remaining"),
            Some("0"),
            "fault headers win"
        );
        let count = busy
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-ratelimit-remaining"))
            .count();
        assert_eq!(count, 1, "overridden, not repeated");
        assert_eq!(
            patch(&fake, &comment, json!({"body": "edited"})).status,
            200
        );

        let statuses: Vec<u16> = fake.requests().iter().map(|l| l.status).collect();
        assert_eq!(statuses, [200, 403, 403, 201, 502, 404, 503, 200]);
    }

    #[test]
    fn deny_writes_forbids_everything_but_reads() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 1, "alice");
        let id = fake.comments(REPO, 7)[0].id;
        fake.deny_writes();

        for (method, path) in [
            ("POST", "/repos/acme/infra/issues/7/comments".to_string()),
            ("PATCH", format!("/repos/acme/infra/issues/comments/{id}")),
            ("POST", "/repos/acme/infra/issues".to_string()),
            ("POST", "/repos/acme/infra/labels".to_string()),
            ("POST", "/repos/acme/infra/statuses/abc".to_string()),
        ] {
            let resp = send(
                &fake,
                method,
                &path,
                json!({"body": "x", "title": "t", "name": "n", "state": "success"}),
            );
            assert_eq!(resp.status, 403, "{method} {path}");
            assert_eq!(
                resp.json()["message"],
                "Resource not accessible by integration"
            );
            assert!(resp.json()["documentation_url"].is_string());
        }
        assert_eq!(
            get(&fake, "/repos/acme/infra/issues/7/comments").status,
            200
        );
        assert_eq!(fake.comments(REPO, 7).len(), 1);
        assert_eq!(fake.comments(REPO, 7)[0].updates, 0);
        assert!(fake.issues(REPO).is_empty());
    }

    #[test]
    fn rejects_bodies_longer_than_65536_characters() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 1, "alice");
        let id = fake.comments(REPO, 7)[0].id;

        let too_long = "x".repeat(BODY_LIMIT + 1);
        let resp = post(
            &fake,
            "/repos/acme/infra/issues/7/comments",
            json!({"body": too_long}),
        );
        assert_eq!(resp.status, 422);
        let error = resp.json();
        assert_eq!(error["message"], "Validation Failed");
        assert!(error["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is too long (maximum is 65536 characters)")));

        let patched = patch(
            &fake,
            &format!("/repos/acme/infra/issues/comments/{id}"),
            json!({"body": too_long}),
        );
        assert_eq!(patched.status, 422);
        let issue = post(
            &fake,
            "/repos/acme/infra/issues",
            json!({"title": "t", "body": too_long}),
        );
        assert_eq!(issue.status, 422);

        // The limit counts characters, not bytes: 65,536 two-byte characters fit.
        let at_limit = "é".repeat(BODY_LIMIT);
        let ok = post(
            &fake,
            "/repos/acme/infra/issues/7/comments",
            json!({"body": at_limit}),
        );
        assert_eq!(ok.status, 201);
        assert_eq!(fake.comments(REPO, 7).len(), 2);
        assert_eq!(fake.comments(REPO, 7)[0].updates, 0);
        assert!(fake.issues(REPO).is_empty());
    }

    #[test]
    fn unknown_routes_are_404_and_logged() {
        let fake = FakeGithub::start(TOKEN);
        for path in [
            "/nope",
            "/repos/acme/infra/pulls/1/files",
            "/repos/acme",
            "/",
        ] {
            let resp = get(&fake, path);
            assert_eq!(resp.status, 404, "{path}");
            assert_eq!(resp.json()["message"], "Not Found");
        }
        let resp = send(&fake, "DELETE", "/repos/acme/infra/issues/1", json!({}));
        assert_eq!(resp.status, 404);
        let enterprise = http(
            "GET",
            &format!("{}/nope?x=1", fake.enterprise_api_url()),
            bearer(),
            None,
        );
        assert_eq!(enterprise.status, 404);

        let log = fake.requests();
        assert_eq!(log.len(), 6);
        assert_eq!(log[0].path, "/nope");
        assert_eq!(log[0].method, "GET");
        assert!(log.iter().all(|l| l.status == 404 && l.authorized));
        assert_eq!(log[5].path, "/nope");
        assert_eq!(log[5].query, "x=1");
    }

    #[test]
    fn formats_timestamps_like_github() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_706_702_400 + 3_661), "2024-01-31T13:01:01Z");
    }

    /// The JSON the fake serves deserializes into octocrab's models, through octocrab itself:
    /// keep-alive connections, Link-header pagination, and the enterprise prefix.
    #[test]
    fn octocrab_understands_the_fake() {
        let fake = FakeGithub::start(TOKEN);
        fake.seed_comments(REPO, 7, 120, "chatty");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        for (round, base) in [fake.api_url(), fake.enterprise_api_url()]
            .into_iter()
            .enumerate()
        {
            runtime.block_on(async {
                let octo = octocrab::Octocrab::builder()
                    .base_uri(base.as_str())
                    .expect("a base URI")
                    .personal_token(TOKEN.to_string())
                    .build()
                    .expect("an octocrab client");
                let issues = octo.issues("acme", "infra");
                let page = issues
                    .list_comments(7)
                    .per_page(100)
                    .send()
                    .await
                    .expect("list comments");
                assert!(page.next.is_some());
                let all = octo.all_pages(page).await.expect("all pages");
                assert_eq!(all.len(), 120 + round, "seeded plus one per round");
                assert_eq!(all[119].body.as_deref(), Some("comment 120"));

                let comment = issues
                    .create_comment(7, "from octocrab")
                    .await
                    .expect("create a comment");
                assert_eq!(comment.user.login, BOT_LOGIN);
                let comment = issues
                    .update_comment(comment.id, "edited")
                    .await
                    .expect("update a comment");
                assert_eq!(comment.body.as_deref(), Some("edited"));

                let issue = issues
                    .create("Drift")
                    .body("details")
                    .labels(vec!["drift".to_string()])
                    .send()
                    .await
                    .expect("create an issue");
                assert_eq!(issue.labels[0].name, "drift");
                let listed = issues
                    .list()
                    .state(octocrab::params::State::All)
                    .labels(&["drift".to_string()])
                    .send()
                    .await
                    .expect("list issues");
                assert!(listed.items.iter().any(|i| i.number == issue.number));
                issues
                    .update(issue.number)
                    .state(octocrab::models::IssueState::Closed)
                    .send()
                    .await
                    .expect("close the issue");
                issues.get_label("drift").await.expect("get a label");

                octo.repos("acme", "infra")
                    .create_status("abc".to_string(), octocrab::models::StatusState::Success)
                    .context("driftlog".to_string())
                    .send()
                    .await
                    .expect("create a status");
                octo.checks("acme", "infra")
                    .create_check_run("driftlog", "abc")
                    .send()
                    .await
                    .expect("create a check run");

                let error = issues
                    .get_label("missing")
                    .await
                    .expect_err("a missing label");
                match error {
                    octocrab::Error::GitHub { source, .. } => {
                        assert_eq!(source.status_code.as_u16(), 404);
                        assert_eq!(source.message, "Not Found");
                    }
                    other => panic!("expected a GitHub error, got {other:?}"),
                }
            });
        }
        assert!(fake.requests().iter().all(|l| l.authorized));
        assert_eq!(fake.comments(REPO, 7).len(), 122);
    }
}
