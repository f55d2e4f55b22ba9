//! `driftlog verify`: checks the audit branch and prints every problem found.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftlog::audit::sshsig::AllowedSigners;
use driftlog::audit::verify::{self, Problem, Report, VerifyError, UNDETECTABLE};
use serde::Serialize;

use crate::log_location::FormatArg;

/// Where the trust root lives on the main branch, relative to the repository root.
const ALLOWED_SIGNERS_PATH: &str = ".driftlog/allowed_signers";

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks the audit branch from its first commit to its tip: one signed commit per \
                  record, the hash chain, every signature against the allowed signers, the signed \
                  checkpoints against the recomputed Merkle tree, and the checkpoints you kept \
                  (--checkpoint) against the history now on the branch. Exit 0 when nothing is \
                  wrong, 1 otherwise."
)]
pub struct Args {
    #[command(flatten)]
    pub log: crate::log_location::LogLocation,

    /// The OpenSSH allowed signers file listing the keys trusted to write the log. Default:
    /// `.driftlog/allowed_signers` as committed at HEAD, else the working tree's copy.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,

    /// A signed checkpoint seen earlier (the `driftlog-checkpoint v1 ...` line a scan prints,
    /// or a whole signed note): the log must still contain exactly the history it commits to.
    /// Repeatable.
    #[arg(long = "checkpoint", value_name = "LINE")]
    pub checkpoints: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// The `--format json` document: the report, plus where the trust came from.
#[derive(Serialize)]
struct JsonOutput<'a> {
    allowed_signers: &'a str,
    intact: bool,
    #[serde(flatten)]
    report: &'a Report,
    undetectable: &'a str,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let repo = driftlog::audit::discover_repository(&args.log.repo)?;
    let (allowed, source) = allowed_signers(&repo, &args)?;
    let report = match verify::verify_log(&repo, &args.log.branch, &allowed, &args.checkpoints) {
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
                intact: report.is_intact(),
                report: &report,
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

/// A hostile branch can hold any number of broken commits: the text names the first of
/// their problems and counts the rest (`--format json` lists the first thousand).
const PROBLEM_LINES: usize = 100;

fn text(report: &Report, source: &str) -> String {
    let mut lines = vec![format!("allowed signers: {source}")];
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

/// The trust root and a description of where it came from.
fn allowed_signers(
    repo: &git2::Repository,
    args: &Args,
) -> anyhow::Result<(AllowedSigners, String)> {
    let (text, source) = match &args.allowed_signers {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the allowed signers {}", path.display()))?,
            format!("{} (--allowed-signers)", path.display()),
        ),
        None => match committed_allowed_signers(repo, &args.log.branch)? {
            Some(found) => found,
            None => working_tree_allowed_signers(repo)?,
        },
    };
    let allowed = AllowedSigners::parse(&text)
        .with_context(|| format!("the allowed signers ({source}) cannot be used"))?;
    anyhow::ensure!(
        !allowed.is_empty(),
        "the allowed signers ({source}) list no key, so nothing could verify"
    );
    Ok((allowed, source))
}

/// `.driftlog/allowed_signers` in HEAD's commit: the trust root is reviewed and committed on
/// the main branch, so a copy edited in the working tree does not count when a commit has one.
fn committed_allowed_signers(
    repo: &git2::Repository,
    audit_branch: &str,
) -> anyhow::Result<Option<(String, String)>> {
    let Ok(head) = repo.head() else {
        return Ok(None);
    };
    // On the audit branch itself the file would come from the very log being checked.
    if head.shorthand() == Some(audit_branch) {
        return Ok(None);
    }
    let commit = head.peel_to_commit().context("reading HEAD")?;
    let entry = match commit
        .tree()
        .and_then(|tree| tree.get_path(Path::new(ALLOWED_SIGNERS_PATH)))
    {
        Ok(entry) => entry,
        Err(_) => return Ok(None),
    };
    let blob = repo
        .find_blob(entry.id())
        .with_context(|| format!("reading {ALLOWED_SIGNERS_PATH} at HEAD"))?;
    let text = String::from_utf8(blob.content().to_vec())
        .with_context(|| format!("{ALLOWED_SIGNERS_PATH} at HEAD is not text"))?;
    let id = commit.id().to_string();
    let source = format!(
        "{ALLOWED_SIGNERS_PATH} as committed at HEAD ({} {})",
        head.shorthand().unwrap_or("detached"),
        short(&id)
    );
    Ok(Some((text, source)))
}

fn working_tree_allowed_signers(repo: &git2::Repository) -> anyhow::Result<(String, String)> {
    let missing = || {
        format!(
            "no allowed signers: HEAD has no {ALLOWED_SIGNERS_PATH}; commit one (the lines \
             `driftlog keygen` prints) or pass --allowed-signers FILE"
        )
    };
    let workdir = repo.workdir().ok_or_else(|| anyhow::anyhow!(missing()))?;
    let path = workdir.join(ALLOWED_SIGNERS_PATH);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(missing()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    Ok((
        text,
        format!(
            "{} from the working tree (not committed at HEAD)",
            path.display()
        ),
    ))
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
