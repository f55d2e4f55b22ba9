//! The remote: its URL, credentials (a GitHub token for its own server only, git's
//! credential helpers and `http.<url>.extraheader`, the SSH agent), and fetches and pushes run
//! on a thread of their own so a remote that never answers can be abandoned. Every message it
//! returns has the credentials scrubbed.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use git2::{
    AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, ProxyOptions,
    PushOptions, RemoteCallbacks, Repository,
};

use super::{Auth, PushFailure, TRANSPORT_TIMEOUT_ENV};
use crate::audit::pending;
use crate::audit::shallow::ShallowRoots;
use crate::secrets::scrub;

/// Private keys in `~/.ssh` offered when there is no SSH agent, in ssh's order.
const SSH_KEY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];
/// The user name GitHub expects with a token over HTTPS.
const TOKEN_USER: &str = "x-access-token";
/// How often a wait on the remote looks for a stop request or the silence limit.
const TRANSPORT_POLL: Duration = Duration::from_millis(50);

/// How one fetch or push ended, short of success.
pub(crate) enum Attempt {
    /// Another writer got there first; worth another try on the new tip.
    Race(String),
    /// The server refused for a reason of its own, unless the tip moved meanwhile.
    Rejected(String),
    /// The network failed; worth another try.
    Transient(PushFailure),
    Fatal(PushFailure),
}

/// The server's answer to a push: each ref's status (`None`: updated) and what it printed.
pub(crate) struct Pushed {
    pub(crate) statuses: BTreeMap<String, Option<String>>,
    pub(crate) server_said: String,
}

/// The remote, its URL and the credentials for it.
pub(crate) struct Link<'r> {
    repo: &'r Repository,
    auth: &'r Auth,
    name: String,
    branch: String,
    /// `name (url)`, without credentials.
    pub(crate) display: String,
    pub(super) remote_ref: String,
    pub(super) tracking_ref: String,
    fetch_headers: Vec<String>,
    push_headers: Vec<String>,
    /// Strings never to repeat in messages: the token, extra header values, URL passwords.
    secrets: Vec<String>,
    timeout: Duration,
}

impl<'r> Link<'r> {
    pub(crate) fn new(
        repo: &'r Repository,
        name: &str,
        branch: &str,
        auth: &'r Auth,
        timeout: Duration,
    ) -> Result<Self, git2::Error> {
        let remote = repo.find_remote(name)?;
        let url = remote.url().unwrap_or_default().to_owned();
        let push_url = remote.pushurl().map_or_else(|| url.clone(), str::to_owned);
        let config = repo.config()?.snapshot()?;
        let fetch_headers = extra_headers(&config, &url);
        let push_headers = extra_headers(&config, &push_url);
        let mut secrets: Vec<String> = fetch_headers
            .iter()
            .chain(&push_headers)
            .filter_map(|h| h.split_once(':').map(|(_, value)| value.trim().to_owned()))
            .flat_map(|value| {
                // "basic <base64>": the encoded part alone is the secret, too.
                let last = value.split_whitespace().last().map(str::to_owned);
                [Some(value), last]
            })
            .flatten()
            .collect();
        secrets.extend(auth.github_token.clone());
        secrets.extend(url_password(&url));
        secrets.extend(url_password(&push_url));
        Ok(Link {
            repo,
            auth,
            name: name.to_owned(),
            branch: branch.to_owned(),
            display: format!("{name} ({})", scrub(&url, &secrets)),
            remote_ref: format!("refs/heads/{branch}"),
            tracking_ref: format!("refs/remotes/{name}/{branch}"),
            fetch_headers,
            push_headers,
            secrets,
            timeout,
        })
    }

    /// `text` without URL credentials or any secret.
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    fn local(&self, message: impl std::fmt::Display) -> Attempt {
        Attempt::Fatal(PushFailure::Local {
            message: message.to_string(),
        })
    }

    fn transport(&self, operation: &'static str, err: &git2::Error) -> Attempt {
        let failure = PushFailure::Transport {
            remote: self.display.clone(),
            operation,
            message: self.scrub(err.message()),
        };
        // A server that stopped answering is not retried: each try would wait as long again.
        let timed_out = err.code() == ErrorCode::Timeout || err.message().contains("timed out");
        let transient = matches!(err.class(), ErrorClass::Net | ErrorClass::Os)
            && err.code() != ErrorCode::Auth
            && !timed_out;
        if transient {
            Attempt::Transient(failure)
        } else {
            Attempt::Fatal(failure)
        }
    }

    /// Why a transport thread was abandoned, as the attempt's end.
    fn abandoned(&self, operation: &'static str, stalled: Stalled) -> Attempt {
        match stalled {
            Stalled::Git(err) => self.transport(operation, &err),
            Stalled::Interrupted => Attempt::Fatal(PushFailure::Interrupted {
                remote: self.display.clone(),
            }),
            Stalled::Silent(limit) => Attempt::Fatal(PushFailure::Transport {
                remote: self.display.clone(),
                operation,
                message: format!(
                    "the remote sent nothing for {} and was given up on (set \
                     {TRANSPORT_TIMEOUT_ENV} to wait longer)",
                    humantime::format_duration(limit)
                ),
            }),
        }
    }

    /// Runs `work` on a repository of its own on a thread of its own, so that a remote that
    /// never answers can be abandoned: on a stop request, or after the silence limit without
    /// a sign of life (each callback is one). An abandoned thread ends with libgit2's own
    /// socket timeout, or with the process.
    fn on_transport_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Repository, &Auth, &Activity) -> Result<T, git2::Error> + Send + 'static,
    ) -> Result<T, Stalled> {
        if crate::interrupt::requested() {
            return Err(Stalled::Interrupted);
        }
        let limit = self.timeout;
        let activity = Arc::new(Activity::new());
        let (sender, receiver) = mpsc::channel();
        let git_dir = self.repo.path().to_owned();
        let auth = self.auth.clone();
        let alive = Arc::clone(&activity);
        std::thread::Builder::new()
            .name("driftlog-git".into())
            .spawn(move || {
                let result = Repository::open(&git_dir).and_then(|repo| work(&repo, &auth, &alive));
                let _ = sender.send(result);
            })
            .map_err(|e| Stalled::Git(git2::Error::from_str(&e.to_string())))?;
        loop {
            match receiver.recv_timeout(TRANSPORT_POLL) {
                Ok(result) => return result.map_err(Stalled::Git),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Stalled::Git(git2::Error::from_str(
                        "the git transport ended without an answer",
                    )))
                }
            }
            if crate::interrupt::requested() {
                return Err(Stalled::Interrupted);
            }
            if activity.silent_for() >= limit {
                return Err(Stalled::Silent(limit));
            }
        }
    }

    /// Fetches the remote branch and its pending refs (into
    /// [`pending::tracking_prefix`], pruned); the branch's tip, or `None` when the remote has
    /// no such branch.
    pub(super) fn fetch(&self) -> Result<Option<Oid>, Attempt> {
        let refspecs = vec![
            format!("+{}:{}", self.remote_ref, self.tracking_ref),
            format!(
                "+{}:{}*",
                pending::remote_glob(&self.branch),
                pending::tracking_prefix(&self.name, &self.branch)
            ),
        ];
        // The refspecs maintain the tracking refs, pruning those whose ref is gone.
        self.fetch_refspecs(refspecs, true)?;
        match self.repo.refname_to_id(&self.tracking_ref) {
            Ok(tip) => Ok(Some(tip)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.local(e)),
        }
    }

    /// Fetches `refspecs` on the transport thread, keeping a shallow clone's roots;
    /// `prune` removes the refs they map to whose remote ref is gone.
    pub(crate) fn fetch_refspecs(&self, refspecs: Vec<String>, prune: bool) -> Result<(), Attempt> {
        let operation = "fetching from";
        // libgit2 rewrites `.git/shallow` after a fetch that downloads objects, and its local
        // transport reports no roots: the file would be deleted, corrupting a shallow clone.
        let shallow = ShallowRoots::save(self.repo).map_err(|e: io::Error| {
            self.local(format!("keeping the shallow clone's roots: {e}"))
        })?;
        let name = self.name.clone();
        let headers = self.fetch_headers.clone();
        let fetched = self.on_transport_thread(move |repo, auth, activity| {
            let mut remote = repo.find_remote(&name)?;
            let config = repo.config()?;
            let tried = Tried::default();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut options = FetchOptions::new();
            options
                .remote_callbacks(callbacks(auth, &config, &tried, activity))
                .proxy_options(auto_proxy())
                .download_tags(AutotagOption::None)
                .update_fetchhead(false)
                // (Not `Remote::list()`: git2 0.20 builds a slice from libgit2's null pointer
                // when the remote has no refs at all, which is undefined behaviour.)
                .prune(if prune {
                    git2::FetchPrune::On
                } else {
                    git2::FetchPrune::Off
                })
                .custom_headers(&headers);
            remote.fetch(&refspecs, Some(&mut options), None)
        });
        shallow
            .restore()
            .map_err(|e| self.local(format!("keeping the shallow clone's roots: {e}")))?;
        fetched.map_err(|stalled| self.abandoned(operation, stalled))
    }

    /// Pushes `refspecs` without force. libgit2 reports a server's refusal of a ref through
    /// its status, not as an error, so the answer carries each ref's status.
    pub(crate) fn push(&self, refspecs: Vec<String>) -> Result<Pushed, Attempt> {
        let operation = "pushing to";
        let name = self.name.clone();
        let headers = self.push_headers.clone();
        let answer = self
            .on_transport_thread(move |repo, auth, activity| {
                let mut remote = repo.find_remote(&name)?;
                let config = repo.config()?;
                let tried = Tried::default();
                let statuses: RefCell<BTreeMap<String, Option<String>>> = RefCell::default();
                let server_said: RefCell<String> = RefCell::new(String::new());
                let mut callbacks = callbacks(auth, &config, &tried, activity);
                callbacks.push_update_reference(|refname, message| {
                    activity.touch();
                    statuses
                        .borrow_mut()
                        .insert(refname.to_owned(), message.map(str::to_owned));
                    Ok(())
                });
                callbacks.sideband_progress(|bytes| {
                    activity.touch();
                    let mut said = server_said.borrow_mut();
                    if said.len() < 4096 {
                        said.push_str(&String::from_utf8_lossy(bytes));
                    }
                    !crate::interrupt::requested()
                });
                let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                let mut options = PushOptions::new();
                options
                    .remote_callbacks(callbacks)
                    .proxy_options(auto_proxy())
                    .custom_headers(&headers);
                let result = remote.push(&refspecs, Some(&mut options));
                drop(options);
                Ok((result, statuses.into_inner(), server_said.into_inner()))
            })
            .map_err(|stalled| self.abandoned(operation, stalled))?;
        let (result, statuses, server_said) = answer;
        match result {
            Err(err) if err.code() == ErrorCode::NotFastForward => {
                Err(Attempt::Race(self.scrub(err.message())))
            }
            Err(err) => Err(self.transport(operation, &err)),
            Ok(()) => Ok(Pushed {
                statuses: statuses
                    .into_iter()
                    .map(|(name, status)| (name, status.map(|s| self.scrub(&s))))
                    .collect(),
                server_said: self.scrub(&server_messages(&server_said)),
            }),
        }
    }

    /// Pushes the local branch to the remote branch: `Ok` only when the server took it.
    pub(super) fn push_branch(&self) -> Result<(), Attempt> {
        let refspec = format!("{0}:{0}", self.remote_ref);
        let pushed = self.push(vec![refspec])?;
        let reason = |status: &str| {
            let mut reason = status.to_owned();
            if !pushed.server_said.is_empty() {
                reason.push_str(&format!(" (remote: {})", pushed.server_said));
            }
            reason
        };
        match pushed.statuses.get(&self.remote_ref).cloned().flatten() {
            Some(status) if is_race(&status) => Err(Attempt::Race(reason(&status))),
            Some(status) => Err(Attempt::Rejected(reason(&status))),
            None => Ok(()),
        }
    }
}

/// Why a transport thread gave no answer.
enum Stalled {
    Git(git2::Error),
    Interrupted,
    /// Nothing from the remote for this long.
    Silent(Duration),
}

/// When the remote last showed a sign of life.
struct Activity {
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            last: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn silent_for(&self) -> Duration {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

/// Sleeps `delay`, or less when a stop is requested meanwhile.
pub(super) fn pause(delay: Duration) {
    let until = Instant::now() + delay;
    while !crate::interrupt::requested() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(TRANSPORT_POLL));
    }
}

/// Credentials: the GitHub token for its server, then git's credential helpers, then the
/// SSH agent or the default key files; each offered once, so a refused credential ends the
/// attempt instead of looping. Every callback is a sign of life for `activity`, and progress
/// stops the transfer once a stop is requested.
fn callbacks<'a>(
    auth: &'a Auth,
    config: &'a git2::Config,
    tried: &'a Tried,
    activity: &'a Activity,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|_| {
        activity.touch();
        !crate::interrupt::requested()
    });
    callbacks.sideband_progress(|_| {
        activity.touch();
        !crate::interrupt::requested()
    });
    callbacks.pack_progress(|_, _, _| activity.touch());
    callbacks.push_transfer_progress(|_, _, _| activity.touch());
    callbacks.push_negotiation(|_| {
        activity.touch();
        if crate::interrupt::requested() {
            return Err(git2::Error::from_str("driftlog was stopped"));
        }
        Ok(())
    });
    callbacks.credentials(move |url, username, allowed| {
        activity.touch();
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if !tried.token.replace(true) {
                if let Some(token) = auth.token_for(url) {
                    return Cred::userpass_plaintext(TOKEN_USER, token);
                }
            }
            if !tried.helper.replace(true) {
                if let Ok(cred) = Cred::credential_helper(config, url, username) {
                    return Ok(cred);
                }
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = username.unwrap_or("git");
            if !tried.ssh_agent.replace(true) && std::env::var_os("SSH_AUTH_SOCK").is_some() {
                return Cred::ssh_key_from_agent(user);
            }
            // Without an agent, the unencrypted default keys ssh itself would try.
            while let Some(name) = SSH_KEY_FILES.get(tried.ssh_files.get()) {
                tried.ssh_files.set(tried.ssh_files.get() + 1);
                let Some(home) = std::env::var_os("HOME") else {
                    break;
                };
                let path = Path::new(&home).join(".ssh").join(name);
                if path.is_file() {
                    return Cred::ssh_key(user, None, &path, None);
                }
            }
        }
        if allowed.contains(CredentialType::USERNAME) && !tried.username.replace(true) {
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::DEFAULT) && !tried.default.replace(true) {
            return Cred::default();
        }
        Err(git2::Error::from_str(
            "no credentials were accepted (tried GITHUB_TOKEN, git credential helpers and the \
             SSH agent, as applicable)",
        ))
    });
    callbacks
}

/// Which kinds of credential were offered in one connection.
#[derive(Default)]
struct Tried {
    token: Cell<bool>,
    helper: Cell<bool>,
    ssh_agent: Cell<bool>,
    /// How many of [`SSH_KEY_FILES`] were looked at.
    ssh_files: Cell<usize>,
    username: Cell<bool>,
    default: Cell<bool>,
}

/// The proxy git would use (`http.proxy`, `https_proxy`, ...).
fn auto_proxy<'a>() -> ProxyOptions<'a> {
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

/// Ref statuses that mean another writer updated the ref first.
pub(super) fn is_race(status: &str) -> bool {
    let status = status.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "failed to update ref",
        "cannot lock ref",
        "failed to lock",
        "incorrect old value",
    ]
    .iter()
    .any(|needle| status.contains(needle))
}

/// The server's side-band text without progress meters, on one line.
fn server_messages(text: &str) -> String {
    const PROGRESS: [&str; 5] = [
        "Resolving deltas",
        "Counting objects",
        "Compressing objects",
        "Writing objects",
        "Total ",
    ];
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !PROGRESS.iter().any(|p| line.starts_with(p)))
        .take(10)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `http.<url>.extraheader` values git would send to `url`, in git's order (an empty
/// value clears those before it). actions/checkout leaves its token there, and libgit2 does
/// not read that setting itself.
pub(super) fn extra_headers(config: &git2::Config, url: &str) -> Vec<String> {
    let Some(parts) = parse_url(url) else {
        return Vec::new();
    };
    if parts.scheme != "http" && parts.scheme != "https" {
        return Vec::new();
    }
    let mut found: Vec<(git2::ConfigLevel, String)> = Vec::new();
    if let Ok(mut entries) = config.entries(Some(r"^http\..*extraheader$")) {
        while let Some(Ok(entry)) = entries.next() {
            let (Some(name), Some(value)) = (entry.name(), entry.value()) else {
                continue;
            };
            let Some(scope) = name
                .strip_prefix("http.")
                .and_then(|rest| rest.strip_suffix("extraheader"))
            else {
                continue;
            };
            let scope = scope.strip_suffix('.').unwrap_or(scope);
            if scope.is_empty() || url_matches(scope, url) {
                found.push((entry.level(), value.to_owned()));
            }
        }
    }
    found.sort_by_key(|(level, _)| level_rank(*level));
    let mut headers: Vec<String> = Vec::new();
    for (_, value) in found {
        if value.is_empty() {
            headers.clear();
        } else if is_acceptable_header(&value) {
            headers.push(value);
        }
    }
    headers
}

fn level_rank(level: git2::ConfigLevel) -> u8 {
    use git2::ConfigLevel::*;
    match level {
        ProgramData => 0,
        System => 1,
        XDG => 2,
        Global => 3,
        Local => 4,
        Worktree => 5,
        App => 6,
        Highest => 7,
    }
}

/// libgit2 refuses headers it sets itself and malformed ones (and would quote the value).
fn is_acceptable_header(header: &str) -> bool {
    const OWN: [&str; 6] = [
        "user-agent",
        "host",
        "accept",
        "content-type",
        "transfer-encoding",
        "content-length",
    ];
    let Some((name, _)) = header.split_once(':') else {
        return false;
    };
    let name = name.trim();
    !name.is_empty()
        && !header.contains(['\r', '\n', '\0'])
        && !OWN.iter().any(|own| own.eq_ignore_ascii_case(name))
}

struct UrlParts<'a> {
    scheme: String,
    user: Option<&'a str>,
    host: String,
    path: &'a str,
}

fn parse_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    Some(UrlParts {
        scheme: scheme.to_ascii_lowercase(),
        user: userinfo.map(|u| u.split_once(':').map_or(u, |(user, _)| user)),
        host: host.to_ascii_lowercase(),
        path,
    })
}

pub(super) fn url_password(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// git's URL matching for `http.<url>.*`, simplified: same scheme, host and port, the same
/// user if the pattern names one, and a path prefix ending at a `/`.
pub(super) fn url_matches(pattern: &str, url: &str) -> bool {
    let (Some(pattern), Some(url)) = (parse_url(pattern), parse_url(url)) else {
        return false;
    };
    let prefix = pattern.path.trim_end_matches('/');
    pattern.scheme == url.scheme
        && pattern.host == url.host
        && pattern.user.is_none_or(|user| Some(user) == url.user)
        && (prefix.is_empty()
            || url.path == prefix
            || url
                .path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/')))
}
