//! `driftlog verify`: checks the audit branch and prints every problem found.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftlog::audit::recorder::repository_identity;
use driftlog::audit::sshsig::AllowedSigners;
use driftlog::audit::verify::{self, Problem, Report, VerifyError, VerifyOptions, UNDETECTABLE};
use driftlog::context::RunContext;
use serde::Serialize;

use crate::log_location::FormatArg;

/// Where the trust root lives on the main branch, relative to the repository root.
const ALLOWED_SIGNERS_PATH: &str = ".driftlog/allowed_signers";

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks the audit branch from its first commit to its tip: one signed commit per \
                  record, the hash chain, every signature against the allowed signers, the signed \
                  checkpoints against the recomputed Merkle tree, and the checkpoints you kept \
                  (--checkpoint) against the history now on the branch. The trust root is \
                  .driftlog/allowed_signers on the default branch (origin/HEAD), never the \
                  checked-out copy: a pull request cannot trust its own key. Then the pending \
                  refs a fetch left (git fetch origin \
                  '+refs/driftlog/pending/*:refs/driftlog/remotes/origin/pending/*'): records \
                  waiting to be folded into the branch are listed, an entry that does not \
                  verify is a problem. Exit 0 when nothing is wrong, 1 otherwise."
)]
pub struct Args {
    #[command(flatten)]
    pub log: crate::log_location::LogLocation,

    /// The OpenSSH allowed signers file listing the keys trusted to write the log, instead of
    /// `.driftlog/allowed_signers` on the default branch.
    #[arg(long, value_name = "FILE", conflicts_with = "trust_ref")]
    pub allowed_signers: Option<PathBuf>,

    /// Read the trust root, `.driftlog/allowed_signers`, from this commit (any revision git
    /// understands: `origin/main`, a tag, a commit id). Default: the default branch, what
    /// `refs/remotes/origin/HEAD` points to. Never HEAD or the working tree, which whoever is
    /// being verified controls.
    #[arg(long, value_name = "REF")]
    pub trust_ref: Option<String>,

    /// A signed checkpoint seen earlier (the `driftlog-checkpoint v1 ...` line a scan prints,
    /// or a whole signed note): the log must still contain exactly the history it commits to.
    /// Repeatable.
    #[arg(long = "checkpoint", value_name = "LINE")]
    pub checkpoints: Vec<String>,

    /// Verify incrementally from this checkpoint (a line as for --checkpoint): the log must be
    /// consistent with it, and only the records after it are read.
    #[arg(long, value_name = "LINE", conflicts_with = "since_witnessed")]
    pub since: Option<String>,

    /// Verify incrementally from the newest checkpoint of this log that GitHub witnessed: the
    /// largest in driftlog's pull-request comments and drift issues that the trust root's keys
    /// signed. Without one (or without a token, repository or pull request) the whole log is
    /// walked.
    #[arg(long)]
    pub since_witnessed: bool,

    /// Print the checkpoint --since-witnessed would start from (nothing when there is none)
    /// and exit without verifying. The action looks it up before its scan updates the
    /// comment, so the scan's own checkpoint never vouches for the history it was appended to.
    #[arg(long, conflicts_with_all = ["since", "since_witnessed", "checkpoints"])]
    pub print_witnessed: bool,

    /// This repository's identity, which the log's id must name (default: host/owner/name in
    /// GitHub Actions, else the origin remote's URL without scheme). Set it to verify a mirror.
    #[arg(long, value_name = "ID")]
    pub repository: Option<String>,

    #[command(flatten)]
    pub witness: crate::witnessed::WitnessArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// The `--format json` document: the report, plus where the trust came from.
#[derive(Serialize)]
struct JsonOutput<'a> {
    allowed_signers: &'a str,
    trust_root: &'a TrustRoot,
    intact: bool,
    /// The checkpoint the walk started from, and where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    since_checkpoint: Option<&'a Since>,
    #[serde(flatten)]
    report: &'a Report,
    warnings: &'a [String],
    undetectable: &'a str,
}

/// Where the allowed signers were read.
#[derive(Debug, Clone, Serialize)]
pub struct TrustRoot {
    /// The file: a path in the commit, or on disk for --allowed-signers.
    pub path: String,
    /// The revision it was read at (`origin/main`); `None` for --allowed-signers.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// The commit it was read at, full hex.
    pub commit: Option<String>,
}

impl TrustRoot {
    fn describe(&self) -> String {
        match (&self.git_ref, &self.commit) {
            (Some(git_ref), Some(commit)) => {
                format!("{} at {git_ref} (commit {})", self.path, short(commit))
            }
            _ => format!("{} (--allowed-signers)", self.path),
        }
    }
}

/// The checkpoint an incremental walk starts from.
#[derive(Debug, Clone, Serialize)]
struct Since {
    line: String,
    /// `--since`, or where GitHub showed it.
    from: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let repo = driftlog::audit::discover_repository(&args.log.repo)?;
    let (allowed, trust) = allowed_signers(&repo, &args)?;
    let source = trust.describe();
    let warnings = namespace_warnings(&allowed, &source);
    for warning in &warnings {
        eprintln!("driftlog: warning: {warning}");
    }
    let repository = match &args.repository {
        Some(id) => Some(id.trim().to_owned()).filter(|id| !id.is_empty()),
        None => repository_identity(&repo, &RunContext::detect(repo.workdir())),
    };
    if args.print_witnessed {
        let found = crate::witnessed::newest(
            &args.witness,
            repository.as_deref(),
            &args.log.branch,
            &allowed,
        )
        .unwrap_or_else(|reason| {
            eprintln!("driftlog: {reason}");
            None
        });
        if let Some(found) = found {
            eprintln!(
                "driftlog: GitHub witnessed the checkpoint at size {} ({})",
                found.size, found.place
            );
            write_stdout(&format!("{}\n", found.line))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let since = match (&args.since, args.since_witnessed) {
        (Some(line), _) => Some(Since {
            line: line.trim().to_owned(),
            from: "--since".to_owned(),
        }),
        (None, true) => {
            let found = crate::witnessed::newest(
                &args.witness,
                repository.as_deref(),
                &args.log.branch,
                &allowed,
            );
            match found {
                Ok(Some(found)) => {
                    eprintln!(
                        "driftlog: verifying from the checkpoint at size {} that GitHub \
                         witnessed ({})",
                        found.size, found.place
                    );
                    Some(Since {
                        line: found.line,
                        from: found.place,
                    })
                }
                Ok(None) => {
                    eprintln!("driftlog: verifying the whole log");
                    None
                }
                Err(reason) => {
                    eprintln!("driftlog: {reason}; verifying the whole log");
                    None
                }
            }
        }
        (None, false) => None,
    };
    let options = VerifyOptions {
        allowed: &allowed,
        checkpoints: &args.checkpoints,
        since: since.as_ref().map(|since| since.line.as_str()),
        repository: repository.as_deref(),
        threads: 0,
    };
    // This process only verifies; git checked the objects' hashes when they arrived.
    verify::fast_object_reads();
    let report = match verify::verify(&repo, &args.log.branch, &options) {
        Ok(report) => report,
        Err(err @ VerifyError::NoBranch { .. }) if !args.checkpoints.is_empty() => {
            anyhow::bail!(
                "{err}, but the checkpoints you gave show it had records: it was deleted, or not \
                 fetched (git fetch origin {0}:{0})",
                args.log.branch
            )
        }
        Err(err @ VerifyError::NoBranch { .. }) => anyhow::bail!(
            "{err}: nothing to verify (to verify a remote's log, git fetch origin {0}:{0})",
            args.log.branch
        ),
        Err(err) => return Err(err.into()),
    };

    match args.format {
        FormatArg::Json => {
            let output = JsonOutput {
                allowed_signers: &source,
                trust_root: &trust,
                intact: report.is_intact(),
                since_checkpoint: since.as_ref(),
                report: &report,
                warnings: &warnings,
                undetectable: UNDETECTABLE,
            };
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
        }
        FormatArg::Text => write_stdout(&text(&report, &source))?,
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A line without `namespaces=` lets its key sign anything (ssh-keygen's rule): git commits,
/// records, and any other file someone asks it to sign.
fn namespace_warnings(allowed: &AllowedSigners, source: &str) -> Vec<String> {
    allowed
        .entries()
        .iter()
        .filter(|entry| entry.namespaces().is_none())
        .map(|entry| {
            format!(
                "the allowed signers ({source}) line {} ({}) has no namespaces=, so its key is \
                 trusted for every namespace; restrict it with namespaces=\"git,driftlog\" (as \
                 `driftlog keygen` writes)",
                entry.line(),
                entry.principals()
            )
        })
        .collect()
}

/// A hostile branch can hold any number of broken commits: the text names the first of
/// their problems and counts the rest (`--format json` lists the first thousand).
const PROBLEM_LINES: usize = 100;

fn text(report: &Report, source: &str) -> String {
    let mut lines = vec![format!("allowed signers: {source}")];
    if let Some(size) = report.since {
        lines.push(format!(
            "verified from a checkpoint at size {size}: the records before it are proven \
             unchanged through it"
        ));
    }
    lines.extend(report.problems.iter().take(PROBLEM_LINES).map(describe));
    if report.problems_total > PROBLEM_LINES as u64 {
        lines.push(format!(
            "…and {} more problems (--format json lists the first {})",
            report.problems_total - PROBLEM_LINES as u64,
            verify::MAX_PROBLEMS
        ));
    }
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    lines.push(format!(
        "{}: {} verified, {} ({})",
        report.branch,
        plural(report.records, "record", "records"),
        plural(report.problems_total, "problem", "problems"),
        [
            plural(report.commits, "commit", "commits"),
            plural(
                report.checkpoints_matched as u64,
                "given checkpoint matched",
                "given checkpoints matched"
            ),
        ]
        .join(", ")
    ));
    for signer in &report.signers {
        lines.push(format!(
            "signed by {} ({}): {}",
            signer.principal,
            signer.fingerprint,
            plural(signer.records, "record", "records")
        ));
    }
    lines.extend(pending_lines(report));
    if let Some(head) = &report.head {
        lines.push(format!(
            "head: record {} sha256:{} in commit {}, Merkle root {}",
            head.seq,
            head.record_sha256,
            short(&head.commit),
            head.merkle_root
        ));
        lines.push(match &head.checkpoint_line {
            // A checkpoint of a log with problems would vouch for them later.
            Some(_) if !report.is_intact() => {
                "checkpoint: none to keep while the log has problems".to_owned()
            }
            Some(line) => format!("checkpoint (keep it to verify later): {line}"),
            None => "checkpoint: none (the tip's checkpoint did not verify or does not match the \
                     records)"
                .to_owned(),
        });
    }
    lines.push(UNDETECTABLE.to_owned());
    lines.push(String::new());
    lines.join("\n")
}

/// Pending refs listed one a line before the text only counts them.
const PENDING_LINES: usize = 20;

/// The pending refs found: each (a refused one is a problem, listed with them), then how many
/// records wait and what folds them.
fn pending_lines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    let records = |n: usize| match n {
        1 => "1 record".to_owned(),
        n => format!("{n} records"),
    };
    for pending in report.pending.iter().take(PENDING_LINES) {
        let mut parts = Vec::new();
        if pending.waiting > 0 {
            parts.push(format!("{} waiting to be folded", records(pending.waiting)));
        }
        if pending.folded > 0 {
            parts.push(format!(
                "{} folded, the ref not deleted yet (`{}`)",
                records(pending.folded),
                pending.delete_command()
            ));
        }
        if pending.refused > 0 {
            parts.push(format!("{} refused", records(pending.refused)));
        }
        if let Some(why) = &pending.error {
            parts.push(format!("refused: {why}"));
        }
        lines.push(format!(
            "pending ref {} ({}, commit {}): {}",
            pending.name,
            pending.remote,
            short(&pending.commit),
            parts.join(", ")
        ));
    }
    if report.pending.len() > PENDING_LINES {
        lines.push(format!(
            "…and {} more pending refs (--format json lists them)",
            report.pending.len() - PENDING_LINES
        ));
    }
    if report.pending_unread > 0 {
        lines.push(format!(
            "…and {} more pending refs not read (at most {} are)",
            report.pending_unread,
            report.pending.len()
        ));
    }
    let waiting: usize = report.pending.iter().map(|p| p.waiting).sum();
    if waiting > 0 {
        let refs = report.pending.iter().filter(|p| p.waiting > 0).count();
        lines.push(format!(
            "{} {} in {refs} pending {}, not on the branch yet: the next `driftlog scan` or \
             `driftlog report merge` folds {} into the branch",
            records(waiting),
            if waiting == 1 { "waits" } else { "wait" },
            if refs == 1 { "ref" } else { "refs" },
            if waiting == 1 { "it" } else { "them" }
        ));
    }
    lines
}

/// Writes `text` to standard output; a reader that stopped early (`| head`) is no error.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing to standard output"),
    }
}

/// `commit <short> seq <n>: <what>`, leaving out what the problem is not tied to.
fn describe(problem: &Problem) -> String {
    match (&problem.commit, problem.seq) {
        (Some(commit), Some(seq)) => {
            format!("commit {} seq {seq}: {}", short(commit), problem.what)
        }
        (Some(commit), None) => format!("commit {}: {}", short(commit), problem.what),
        (None, Some(seq)) => format!("seq {seq}: {}", problem.what),
        (None, None) => format!("log: {}", problem.what),
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// The trust root and where it came from.
fn allowed_signers(
    repo: &git2::Repository,
    args: &Args,
) -> anyhow::Result<(AllowedSigners, TrustRoot)> {
    let (text, trust) = match &args.allowed_signers {
        Some(path) => (
            driftlog::bounded::read_to_string(
                path,
                driftlog::bounded::MAX_ALLOWED_SIGNERS_BYTES,
                "MAX_ALLOWED_SIGNERS_BYTES",
            )
            .with_context(|| format!("reading the allowed signers {}", path.display()))?,
            TrustRoot {
                path: path.display().to_string(),
                git_ref: None,
                commit: None,
            },
        ),
        None => committed_allowed_signers(repo, args.trust_ref.as_deref())?,
    };
    let source = trust.describe();
    let allowed = AllowedSigners::parse(&text)
        .with_context(|| format!("the allowed signers ({source}) cannot be used"))?;
    anyhow::ensure!(
        !allowed.is_empty(),
        "the allowed signers ({source}) list no key, so nothing could verify"
    );
    Ok((allowed, trust))
}

/// `.driftlog/allowed_signers` as committed at `trust_ref`, else on the default branch: the
/// trust root is reviewed and merged there, so neither a branch's own copy (HEAD) nor an
/// edited working tree can add a key.
fn committed_allowed_signers(
    repo: &git2::Repository,
    trust_ref: Option<&str>,
) -> anyhow::Result<(String, TrustRoot)> {
    let (name, object) = match trust_ref {
        Some(rev) => {
            let object = repo.revparse_single(rev).with_context(|| {
                format!("--trust-ref {rev}: no such revision here (fetch it first?)")
            })?;
            (rev.to_owned(), object)
        }
        None => default_branch(repo)?,
    };
    let commit = object
        .peel_to_commit()
        .with_context(|| format!("{name} is not a commit"))?;
    let id = commit.id().to_string();
    let missing = || {
        format!(
            "{name} (commit {}) has no {ALLOWED_SIGNERS_PATH}: commit one there (the lines \
             `driftlog keygen` prints), or name another trust root with --trust-ref REF or \
             --allowed-signers FILE",
            short(&id)
        )
    };
    let entry = commit
        .tree()
        .and_then(|tree| tree.get_path(Path::new(ALLOWED_SIGNERS_PATH)))
        .map_err(|_| anyhow::anyhow!(missing()))?;
    let blob = repo
        .find_blob(entry.id())
        .map_err(|_| anyhow::anyhow!(missing()))?;
    let text = String::from_utf8(blob.content().to_vec())
        .with_context(|| format!("{ALLOWED_SIGNERS_PATH} at {name} is not text"))?;
    Ok((
        text,
        TrustRoot {
            path: ALLOWED_SIGNERS_PATH.to_owned(),
            git_ref: Some(name),
            commit: Some(id),
        },
    ))
}

/// The branch `refs/remotes/origin/HEAD` points to (`origin/main`).
fn default_branch(repo: &git2::Repository) -> anyhow::Result<(String, git2::Object<'_>)> {
    const ORIGIN_HEAD: &str = "refs/remotes/origin/HEAD";
    let missing = || {
        anyhow::anyhow!(
            "no default branch to read the trust root ({ALLOWED_SIGNERS_PATH}) from: \
             {ORIGIN_HEAD} is not set (`git remote set-head origin --auto` sets it). Pass \
             --trust-ref REF (e.g. origin/main) or --allowed-signers FILE; the checked-out \
             copy is not used, as the branch being verified could trust its own key"
        )
    };
    let head = repo.find_reference(ORIGIN_HEAD).map_err(|_| missing())?;
    let name = head
        .symbolic_target()
        .map(|target| {
            target
                .strip_prefix("refs/remotes/")
                .unwrap_or(target)
                .to_owned()
        })
        .unwrap_or_else(|| "origin/HEAD".to_owned());
    let object = head
        .resolve()
        .and_then(|resolved| resolved.peel(git2::ObjectType::Commit))
        .map_err(|_| missing())?;
    Ok((name, object))
}

#[cfg(test)]
mod tests {
    use driftlog::audit::verify::{LogHead, Problem, Report};

    fn report(problems: usize) -> Report {
        Report {
            branch: "driftlog/audit".into(),
            origin: None,
            records: 3,
            commits: 3,
            head: Some(LogHead {
                commit: "0123456789abcdef".into(),
                seq: 2,
                record_sha256: "ab".into(),
                merkle_root: "cd".into(),
                checkpoint_line: Some("driftlog-checkpoint v1 x 3 root sig".into()),
            }),
            checkpoints_matched: 0,
            log_repository: None,
            signers: Vec::new(),
            since: None,
            pending: Vec::new(),
            pending_unread: 0,
            problems_total: problems as u64,
            problems: (0..problems)
                .map(|n| Problem {
                    commit: None,
                    seq: Some(n as u64),
                    what: "junk".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn problems_are_capped_and_a_broken_log_offers_no_checkpoint() {
        let text = super::text(&report(250), "test");
        assert_eq!(text.matches(": junk").count(), super::PROBLEM_LINES);
        assert!(text.contains("…and 150 more problems"), "{text}");
        assert!(text.contains("250 problems"), "{text}");
        assert!(!text.contains("keep it"), "{text}");
        let intact = super::text(&report(0), "test");
        assert!(intact.contains("checkpoint (keep it to verify later): driftlog-checkpoint"));
    }
}
