//! The notify stage: after the records and the publishing, each stack whose drift changed
//! since its previous record on the audit branch is told to the `[[notify]]` receivers that
//! want it. The log is the memory: the same drift as last time sends nothing, whatever the
//! run. A notification that cannot be sent is a warning; it never changes the exit code.

use std::path::PathBuf;

use crate::audit::reader::{read_log, LogEntry};
use crate::audit::record::{Record, RecordKind, RecordResult};
use crate::audit::recorder::AuditOptions;
use crate::config::notify::NotifyRule;
use crate::config::Config;
use crate::drift::ScanReport;
use crate::notify::{self, Delivered, Links, Notification, NotifyError, Previous, Target};
use crate::report::markdown::code_span;

/// The configured receivers, their URLs and secrets taken out of the environment.
pub struct Notifier {
    targets: Vec<(NotifyRule, Result<Target, NotifyError>)>,
}

impl Notifier {
    /// The receivers `config` names. Their variables leave the environment here, before any
    /// child process starts; one that is unset is reported when there is something to send.
    pub fn resolve(config: &Config) -> Notifier {
        let targets = config
            .notify
            .iter()
            .map(|rule| {
                let names: Vec<&str> = rule.variables().collect();
                let values = crate::secrets::withhold(&names);
                let lookup = |name: &str| {
                    names
                        .iter()
                        .position(|n| *n == name)
                        .and_then(|at| values[at].clone())
                };
                let target =
                    Target::from_env(rule.kind, &rule.url_env, rule.secret_env.as_deref(), lookup);
                (rule.clone(), target)
            })
            .collect();
        Notifier { targets }
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The usable receivers, or why each of the others is not.
    pub fn targets(&self) -> &[(NotifyRule, Result<Target, NotifyError>)] {
        &self.targets
    }
}

/// What the stage did, for standard error and the job summary.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Notified {
    /// A line per message delivered.
    pub sent: Vec<String>,
    /// A line per message not delivered, or why none could be.
    pub warnings: Vec<String>,
}

impl Notified {
    /// The job summary's section; empty when there is nothing to say.
    pub fn summary_markdown(&self) -> String {
        if self.sent.is_empty() && self.warnings.is_empty() {
            return String::new();
        }
        let mut text = String::from("\n### Notifications\n\n");
        for line in &self.sent {
            text.push_str(&format!("- ✅ {}\n", code_span(line)));
        }
        for line in &self.warnings {
            text.push_str(&format!("- ⚠️ {}\n", code_span(line)));
        }
        text
    }
}

/// Tells the receivers of each transition among `reports`. `audit` is the log the reports
/// were recorded in (`None`: nothing recorded, so nothing known to compare with); `start` is
/// where its repository is looked for when `audit.repo` names none; `links` gives the pages
/// of the report at an index.
pub fn notify(
    notifier: &Notifier,
    reports: &[&ScanReport],
    audit: Option<&AuditOptions>,
    start: PathBuf,
    links: &dyn Fn(usize) -> Links,
) -> Notified {
    let mut notified = Notified::default();
    if notifier.is_empty() || reports.is_empty() {
        return notified;
    }
    let Some(audit) = audit else {
        notified.warnings.push(
            "no notifications: they compare each scan with the stack's previous record on \
             the audit branch, and this run records nothing (--no-audit)"
                .to_owned(),
        );
        return notified;
    };
    if crate::interrupt::requested() {
        notified
            .warnings
            .push("stopped, so no notification was sent".to_owned());
        return notified;
    }
    let start = audit.repo.clone().unwrap_or(start);
    let entries = match crate::audit::discover_repository(&start)
        .map_err(|err| super::error_chain(&err))
        .and_then(|repo| read_log(&repo, &audit.branch).map_err(|err| super::error_chain(&err)))
    {
        Ok(entries) => entries,
        Err(err) => {
            notified.warnings.push(format!(
                "no notifications: the audit branch {} could not be read: {err}",
                audit.branch
            ));
            return notified;
        }
    };
    let mut sending = Sending::new(&notifier.targets, &notify::send);
    for (at, report) in reports.iter().enumerate() {
        let Some(recorded) = &report.audit else {
            if report.audit_pending.is_some() {
                notified.warnings.push(format!(
                    "{}: its record waits on a pending ref, so it was not compared with the \
                     one before it and no notification was sent",
                    shown(&report.stack.dir)
                ));
            }
            // Otherwise not recorded (its record failed, or a stop came first).
            continue;
        };
        let Some(index) = entries.iter().position(|e| e.record.seq == recorded.seq) else {
            notified.warnings.push(format!(
                "{}: record {} is not on {}, so no notification",
                shown(&report.stack.dir),
                recorded.seq,
                audit.branch
            ));
            continue;
        };
        if entries[index].record.context.pull_request().is_some() {
            // Told on the pull request; the receivers hear of the branches it merges into.
            continue;
        }
        let previous = previous_scan(&entries, index);
        let Some(transition) = notify::transition::of(report, previous.as_ref()) else {
            continue;
        };
        let stack_path = entries[index].record.stack.path.clone();
        let message = Notification::of(report, transition, previous.as_ref(), links(at));
        for (receiver, (rule, _)) in notifier.targets.iter().enumerate() {
            if !rule.wants(transition, &stack_path) {
                continue;
            }
            if crate::interrupt::requested() {
                notified
                    .warnings
                    .push("stopped, so the other notifications were not sent".to_owned());
                return notified;
            }
            match sending.one(receiver, &message) {
                Ok(line) => notified.sent.push(line),
                Err(line) => notified.warnings.push(line),
            }
        }
    }
    let secrets = crate::secrets::withheld_values();
    for line in notified.sent.iter_mut().chain(&mut notified.warnings) {
        *line = crate::secrets::scrub(line, &secrets);
    }
    notified
}

type SendFn<'a> = &'a dyn Fn(&Target, &Notification) -> Result<Delivered, NotifyError>;

/// One run's sending: a receiver that failed is not tried again in the run, and nothing is
/// sent past the stage's deadline, so a dead receiver cannot hold a job stack after stack.
struct Sending<'a> {
    targets: &'a [(NotifyRule, Result<Target, NotifyError>)],
    send: SendFn<'a>,
    given_up: Vec<bool>,
    deadline: std::time::Instant,
}

impl<'a> Sending<'a> {
    fn new(targets: &'a [(NotifyRule, Result<Target, NotifyError>)], send: SendFn<'a>) -> Self {
        Sending {
            targets,
            send,
            given_up: vec![false; targets.len()],
            deadline: std::time::Instant::now() + NOTIFY_STAGE_DEADLINE,
        }
    }

    /// `message` to receiver `at`: the line saying it was sent, or why it was not.
    fn one(&mut self, at: usize, message: &Notification) -> Result<String, String> {
        let what = format!(
            "{} of {}",
            message.transition.as_str(),
            shown(&message.stack)
        );
        let not_sent =
            |why: &dyn std::fmt::Display| format!("notification ({what}) not sent: {why}");
        let target = self.targets[at].1.as_ref().map_err(|err| not_sent(err))?;
        if self.given_up[at] {
            return Err(not_sent(&format!(
                "{} failed earlier in this run",
                target.label
            )));
        }
        if std::time::Instant::now() > self.deadline {
            return Err(not_sent(&format!(
                "the notify stage ran past its {} s",
                NOTIFY_STAGE_DEADLINE.as_secs()
            )));
        }
        match (self.send)(target, message) {
            Ok(delivered) => Ok(format!(
                "notified {} of {what} (HTTP {}{})",
                target.label,
                delivered.status,
                match delivered.attempts {
                    1 => String::new(),
                    n => format!(", {n} attempts"),
                }
            )),
            Err(err) => {
                self.given_up[at] = true;
                Err(not_sent(&err))
            }
        }
    }
}

/// The longest the stage sends for; what is left after it is a warning each.
pub const NOTIFY_STAGE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A stack's path as a line of standard error or the job summary shows it: a path may hold
/// a newline, which must not start a line of its own (a workflow command, a heading).
fn shown(stack: &str) -> String {
    stack.escape_debug().to_string()
}

/// What the log held for the stack of the scan record at `index` before it: the newest
/// earlier scan of the same stack and workspace on the same line, and the drift of the
/// newest that did not fail. `None`: the stack's first scan on that line.
fn previous_scan(entries: &[LogEntry], index: usize) -> Option<Previous> {
    let current = &entries[index].record;
    let mut earlier = entries[..index].iter().rev().filter(|e| {
        e.record.kind == RecordKind::Scan
            && e.record.stack.path == current.stack.path
            && e.record.stack.workspace == current.stack.workspace
            && line(&e.record) == line(current)
    });
    let newest = earlier.next()?;
    let failed = newest.record.result == RecordResult::Failed;
    // Newest first, failed scans left out: they saw nothing.
    let worked: Vec<&LogEntry> = std::iter::once(newest)
        .chain(earlier)
        .filter(|e| e.record.result != RecordResult::Failed)
        .take(MAX_CARRIED_SCANS)
        .collect();
    // Oldest first, each scan's drift carrying its unchecked resources' from the one before.
    let drift = worked.iter().rev().fold(None, |before, e| {
        Some(notify::transition::standing(
            &e.record.resources,
            &e.record.not_checked,
            before.as_ref(),
        ))
    });
    Some(Previous {
        seq: newest.record.seq,
        failed,
        drift: drift.unwrap_or_default(),
    })
}

/// How far back a resource left unchecked scan after scan keeps its last known drift.
const MAX_CARRIED_SCANS: usize = 32;

/// The line of scans a record is on: its git ref in GitHub Actions, none by hand. A scan is
/// compared only along its line, so a feature branch's scan, whose code may differ, or one
/// run on a laptop never flips what the nightly scan of the default branch told.
fn line(record: &Record) -> Option<&str> {
    record.context.git_ref()
}

/// `driftlog notify --test`: the sample message sent to every configured receiver, a line
/// each saying whether it arrived (`Err`: why not). Empty when nothing is configured.
pub fn send_test(notifier: &Notifier, scanned_at: &str) -> Vec<Result<String, String>> {
    let sample = Notification::sample(scanned_at);
    let secrets = crate::secrets::withheld_values();
    notifier
        .targets
        .iter()
        .map(|(rule, target)| {
            let target = target
                .as_ref()
                .map_err(|err| format!("line {}: {err}", rule.line))?;
            notify::send(target, &sample)
                .map(|delivered| {
                    format!(
                        "{}: test message delivered (HTTP {})",
                        target.label, delivered.status
                    )
                })
                .map_err(|err| err.to_string())
        })
        .map(|line| match line {
            Ok(text) => Ok(crate::secrets::scrub(&text, &secrets)),
            Err(text) => Err(crate::secrets::scrub(&text, &secrets)),
        })
        .collect()
}

#[cfg(test)]
mod tests;
