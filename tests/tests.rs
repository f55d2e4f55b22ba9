//! Integration tests: the driftlog binary against real terraform and the filestate test
//! provider (`scripts/setup-test-env.sh` installs both). One test binary, modules by topic.

/// Toolchain discovery, throwaway stacks, out-of-band drift, and a driftlog runner.
mod support;

/// What driftlog wrote during the tests, kept for the leak scan.
mod capture;

/// The leak scan: no test secret in anything driftlog wrote.
mod leaks;

/// A stateful fake of the GitHub REST API on loopback, and its own tests.
mod fake_github;

/// A webhook receiver on loopback that keeps what it was sent (Slack, Teams, webhooks).
mod fake_receiver;

/// Notifications per transition of a stack's drift, signed, retried, never leaking a URL.
mod notify;

/// Drift routed to its owners (CODEOWNERS, `owners`): named, mentioned and assigned.
mod owners;

// CloudFormation through the real AWS CLI against a fake of its API.
mod cloudformation;

/// CloudFormation scans recorded, verified, explained (CloudTrail) and told as history.
mod cloudformation_audit;

/// Ctrl-C during a CloudFormation scan: waiting for the detection, or in an AWS CLI call.
mod cloudformation_signals;

/// CloudFormation at the surface: annotations at template lines, `stacks`, what `remediate`
/// and `adopt` skip, the demo's scenario.
mod cloudformation_surface;

/// `driftlog scan` end to end: every drift shape, secrets, failures, temp-file cleanup.
mod scan;

/// What driftlog reads from terraform when it misbehaves: raw text, errors, silence, paths,
/// bounds and time limits.
mod terraform_input;

/// Parser and differ on JSON recorded from real terraform runs.
mod recorded;

/// Drift that counts: moves, `ignore_changes`, computed attributes, with real terraform.
mod classes;

/// driftlog's key and tokens never reach terraform, its providers or `local-exec`.
mod secrets;

/// Documents written from Terraform's and OpenTofu's source (OpenTofu cannot run here; nor
/// can identities, write-only attributes, deferrals or ephemeral resources).
mod written;

/// Audit signatures against the standard verifiers: `ssh-keygen -Y verify`, `git verify-commit`.
mod signing;

/// The audit log: key generation and the signed, hash-chained branch.
mod audit;

/// Remediation's terraform side: a targeted saved plan of recorded drift, the guard on it,
/// the saved plan applied, the plan file gone on every path.
mod remediate_plan;

/// `driftlog apply`: applies recorded with what they changed, refused when unrecordable.
mod apply;

/// `driftlog verify` and `driftlog log`: tampering of every kind is detected.
mod verify;

/// Remediation records: signed, verified by git, ssh-keygen and `driftlog verify`, redacted.
mod remediation_record;

/// `driftlog remediate`: recorded drift reverted by rules through a guarded apply, or refused.
mod remediate;

/// Reporting on GitHub: comment, issue, status, job summary, outputs, annotations, retries.
mod github;

/// A remediation's report on the drift issue and in the job summary, through the library.
mod github_remediation;

/// The pull requests driftlog opens, updates and closes (only its own), and the default
/// branch, through the library against the fake.
mod github_pulls;

/// GitHub and saved reports that cannot be trusted: servers echoing the token, other users'
/// comments and issues carrying driftlog's marker, non-ASCII where ASCII is expected.
mod github_hostile;

/// Signals and network timeouts after terraform: GitHub and git remotes that never answer;
/// stages that fail without keeping the others from running.
mod signals;

/// The GitHub Action's install and scan steps, run as a runner would run them.
mod action;

/// Workflow linting: actionlint and the action metadata schema over every workflow and
/// action.yml; third-party actions pinned by SHA.
mod workflows;

/// Many stacks: discovery, config, parallel scans, ignore rules, shards and merge.
mod stacks;

/// `driftlog adopt`: recorded drift written into the configuration, proven by terraform.
mod adopt;

/// `driftlog adopt --pull-request`: the branch on a real bare origin, the fake GitHub's pull
/// requests.
mod adopt_pulls;

/// Pushing the audit branch: concurrent writers, rejected pushes, the spool.
mod sync;

/// The audit log at fan-out scale: many writers at once, pending refs, folding.
mod fanout;

/// Folding other runs' pending refs when they are hostile, replayed, or made by a wrong clock.
mod fold_attacks;

/// Shallow clones and linked worktrees: recording keeps both intact.
mod checkouts;

/// The spool refuses what driftlog did not sign when it made the record.
mod spool;

/// history and explain over a log of real applies and scans, with CloudTrail events.
mod explain;

/// Crafted `show -json` documents (dynamic attributes changing type, malformed masks, ids
/// copied from sensitive names) through the binary: no secret in any report or record.
mod redaction;

/// The command line pinned: every command's `--help` and `-h` against `tests/help/`.
mod help;
