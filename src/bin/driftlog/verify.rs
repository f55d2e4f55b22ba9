//! `driftlog verify`: checks the audit branch and prints every problem found.

use crate::log_location::FormatArg;
use crate::print::{eprint_line, write_stdout};
use driftlog::audit::trust::TrustSource;
use driftlog::run::verify::{self, Start, VerifySettings};
use std::path::PathBuf;
use std::process::ExitCode;

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

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = VerifySettings {
        repo: args.log.repo.clone(),
        branch: args.log.branch.clone(),
        trust: match &args.allowed_signers {
            Some(path) => TrustSource::File(path.clone()),
            None => TrustSource::Committed(args.trust_ref.clone()),
        },
        checkpoints: args.checkpoints.clone(),
        start: match (&args.since, args.since_witnessed) {
            (Some(line), _) => Start::Since(line.clone()),
            (None, true) => Start::Witnessed(args.witness.settings()),
            (None, false) => Start::Whole,
        },
        repository: args.repository.clone(),
        // This process only verifies; git checked the objects' hashes when they arrived.
        fast_object_reads: true,
    };
    if args.print_witnessed {
        if let Some(found) =
            verify::witnessed_start(&settings, &args.witness.settings(), &mut eprint_line)?
        {
            write_stdout(&format!("{}\n", found.line))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let verified = verify::verify(&settings, &mut eprint_line)?;
    write_stdout(&verified.render(args.format == FormatArg::Json))?;
    Ok(ExitCode::from(u8::from(!verified.report.is_intact())))
}
