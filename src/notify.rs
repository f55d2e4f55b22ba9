//! Notifications: a message to Slack, Teams or a webhook when a stack's drift changes, never
//! on every run. [`transition`] compares a scan with the stack's previous record on the audit
//! branch; [`Notification`] is what every kind of message says, built from the typed report
//! (values redacted as everywhere); [`slack`], [`teams`] and [`webhook`] render it as each
//! receiver documents its payload; [`deliver`] sends it. The URLs and signing secrets are
//! named by environment variables, taken out of the environment before anything runs
//! ([`Target::from_env`]), and appear in no output, error or record.

pub mod deliver;
mod render;
pub mod slack;
pub mod teams;
pub mod transition;
pub mod webhook;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::drift::fingerprint::CountedDrift;
use crate::drift::{ScanReport, Status};
use crate::report::shorten;

pub use deliver::{send, Delivered, NotifyError, Secret, Target};
pub use transition::{Previous, Transition};

/// The kind of receiver a `[[notify]]` target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Slack incoming webhook: Block Kit.
    Slack,
    /// Any HTTPS endpoint: driftlog's versioned JSON, optionally HMAC-signed.
    Webhook,
    /// A Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Slack, Kind::Webhook, Kind::Teams];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Slack => "slack",
            Kind::Webhook => "webhook",
            Kind::Teams => "teams",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The request body of `notification` for this kind of receiver.
    pub fn payload(self, notification: &Notification) -> Vec<u8> {
        let value = match self {
            Kind::Slack => slack::payload(notification),
            Kind::Teams => teams::payload(notification),
            Kind::Webhook => webhook::payload(notification),
        };
        // Plain data serializes to a Vec without fail.
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

/// One drifted resource as a message lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotifiedResource {
    pub address: String,
    /// `update`, `delete`, ...
    pub action: String,
    /// The counted attributes that drifted (empty: the resource as a whole).
    pub attributes: Vec<NotifiedAttribute>,
    /// Counted attributes beyond [`MAX_NOTIFIED_ATTRIBUTES`].
    pub more_attributes: usize,
}

/// One drifted attribute: its path and both sides as every report shows them (a secret is
/// `(sensitive value)`, never the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotifiedAttribute {
    pub path: String,
    pub before: String,
    pub after: String,
}

/// Where the scan's record is on the audit branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordPlace {
    pub branch: String,
    pub seq: u64,
    /// SHA-256 (hex) of the record.
    pub sha256: String,
    /// The signed checkpoint at this record, in its one-line form.
    pub checkpoint: String,
}

/// Pages a person goes to from the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Links {
    /// The workflow run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The stack's drift issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// The pull request the run checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
}

/// Most resources a message lists; the rest are counted (`more_resources`).
pub const MAX_NOTIFIED_RESOURCES: usize = 20;
/// Most attributes listed per resource; the rest are counted in `more_attributes`.
pub const MAX_NOTIFIED_ATTRIBUTES: usize = 10;
/// Longest value shown; longer ones are cut, saying how much went.
pub const MAX_NOTIFIED_VALUE_CHARS: usize = 120;
/// Most owners a message names; the rest are counted in `more_owners`.
pub const MAX_NOTIFIED_OWNERS: usize = 50;
/// Longest address, attribute path or owner kept: the webhook body carries them as they are.
pub const MAX_NOTIFIED_NAME_CHARS: usize = 300;
/// Longest summary, difference or explanation line kept.
pub const MAX_NOTIFIED_LINE_CHARS: usize = 500;
/// Longest failure kept (as the job summary cuts it).
pub const MAX_NOTIFIED_FAILURE_CHARS: usize = 4000;

/// What a message says, whatever its receiver: built from the typed report only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Notification {
    pub transition: Transition,
    /// The stack: its directory, or a CloudFormation stack's key.
    pub stack: String,
    pub workspace: String,
    /// `Terraform`, `OpenTofu` or `CloudFormation`.
    pub tool: String,
    /// When the scan started (RFC 3339 UTC).
    pub scanned_at: String,
    /// One line: what is the case now.
    pub summary: String,
    /// What changed since the previous record, a line per resource (values never named).
    pub differences: Vec<String>,
    /// Differences beyond [`MAX_NOTIFIED_RESOURCES`].
    #[serde(default)]
    pub more_differences: usize,
    /// The counted drift now (empty once resolved).
    pub resources: Vec<NotifiedResource>,
    /// Drifted resources beyond [`MAX_NOTIFIED_RESOURCES`].
    pub more_resources: usize,
    /// What the audit log says of each drift, a line each.
    pub explanations: Vec<String>,
    /// Explanations beyond [`MAX_NOTIFIED_RESOURCES`].
    #[serde(default)]
    pub more_explanations: usize,
    /// Why the scan failed, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub owners: Vec<String>,
    /// Owners beyond [`MAX_NOTIFIED_OWNERS`].
    #[serde(default)]
    pub more_owners: usize,
    /// The scan's record, when it reached the audit branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordPlace>,
    /// The seq of the record it was compared with (none: the stack's first scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_seq: Option<u64>,
    /// `sha256:…` of the counted drift (see `drift::fingerprint`); of the drift that went,
    /// for `resolved`.
    pub fingerprint: String,
    /// Stable for one transition of one stack: re-runs that compare with the same previous
    /// record send the same key, so a receiver can drop the repeats.
    pub key: String,
    pub links: Links,
    /// A message from `driftlog notify --test`, about no real stack.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

impl Notification {
    /// The message for `report`'s `transition` from `previous` (its drift and record).
    pub fn of(
        report: &ScanReport,
        transition: Transition,
        previous: Option<&Previous>,
        links: Links,
    ) -> Notification {
        let now = transition::standing(
            &report.resources,
            &report.not_checked,
            previous.map(|p| &p.drift),
        );
        let before = previous.map(|p| p.drift.clone()).unwrap_or_default();
        let fingerprint = match transition {
            Transition::Resolved => before.fingerprint(),
            _ => now.fingerprint(),
        };
        let differences = match transition {
            Transition::Failed => Vec::new(),
            _ => before.differences(&now),
        };
        // Every list and text is bounded here, so the webhook body is too (it is the
        // notification as it is); Slack and Teams cut further to their own limits.
        let line = MAX_NOTIFIED_LINE_CHARS;
        let (differences, more_differences) =
            capped(differences.into_iter(), MAX_NOTIFIED_RESOURCES, line);
        let previous_seq = previous.map(|p| p.seq);
        let stack = report.stack.dir.clone();
        let key = stable_key(
            &stack,
            &report.stack.workspace,
            transition,
            previous_seq,
            &fingerprint,
        );
        let (resources, more_resources) = notified_resources(report);
        let current = report.audit.as_ref().map(|a| a.seq);
        let explanations = report.explanations.iter().map(|e| {
            let said = crate::report::explanation::one_line(e, current);
            format!("{}: {said}", e.address)
        });
        let (explanations, more_explanations) = capped(explanations, MAX_NOTIFIED_RESOURCES, line);
        let owners = report.owners.iter().cloned();
        let (owners, more_owners) = capped(owners, MAX_NOTIFIED_OWNERS, MAX_NOTIFIED_NAME_CHARS);
        Notification {
            transition,
            summary: shorten(&summary(report, transition, &now), line),
            stack,
            workspace: report.stack.workspace.clone(),
            tool: crate::report::tool_name(report).to_owned(),
            scanned_at: report.started_at.clone(),
            differences,
            more_differences,
            resources,
            more_resources,
            explanations,
            more_explanations,
            failure: match report.status {
                Status::Failed => report
                    .failure
                    .as_ref()
                    .map(|f| shorten(&f.message, MAX_NOTIFIED_FAILURE_CHARS)),
                _ => None,
            },
            owners,
            more_owners,
            record: report.audit.as_ref().map(|audit| RecordPlace {
                branch: audit.branch.clone(),
                seq: audit.seq,
                sha256: audit.record_sha256.clone(),
                checkpoint: audit.checkpoint.clone(),
            }),
            previous_seq,
            fingerprint,
            key,
            links,
            test: false,
        }
    }

    /// The message `driftlog notify --test` sends: marked as a test, about no real stack.
    pub fn sample(scanned_at: &str) -> Notification {
        let fingerprint = format!("sha256:{}", sha256_hex(b"driftlog notify --test"));
        Notification {
            transition: Transition::Drifted,
            stack: "driftlog-test".into(),
            workspace: "default".into(),
            tool: "Terraform".into(),
            scanned_at: scanned_at.into(),
            summary: "Test message from `driftlog notify --test`: no stack drifted.".into(),
            differences: vec!["example_resource.sample: drifted since".into()],
            more_differences: 0,
            resources: vec![NotifiedResource {
                address: "example_resource.sample".into(),
                action: "update".into(),
                attributes: vec![NotifiedAttribute {
                    path: "tags.env".into(),
                    before: "\"prod\"".into(),
                    after: "\"staging\"".into(),
                }],
                more_attributes: 0,
            }],
            more_resources: 0,
            explanations: Vec::new(),
            more_explanations: 0,
            failure: None,
            owners: Vec::new(),
            more_owners: 0,
            record: None,
            previous_seq: None,
            key: stable_key(
                "driftlog-test",
                "default",
                Transition::Drifted,
                None,
                &fingerprint,
            ),
            fingerprint,
            links: Links::default(),
            test: true,
        }
    }

    /// The headline every receiver shows: "Drift detected in infra/prod".
    pub fn title(&self) -> String {
        let what = match self.transition {
            Transition::Drifted => "Drift detected in",
            Transition::Changed => "Drift changed in",
            Transition::Resolved => "Drift resolved in",
            Transition::Failed => "Drift scan failed for",
        };
        let test = if self.test { "[test] " } else { "" };
        match self.workspace.as_str() {
            "default" => format!("{test}{what} {}", self.stack),
            workspace => format!("{test}{what} {} (workspace {workspace})", self.stack),
        }
    }
}

fn stable_key(
    stack: &str,
    workspace: &str,
    transition: Transition,
    previous_seq: Option<u64>,
    fingerprint: &str,
) -> String {
    let previous = previous_seq.map_or_else(|| "none".to_owned(), |seq| seq.to_string());
    let text = format!(
        "{stack}\n{workspace}\n{}\n{previous}\n{fingerprint}",
        transition.as_str()
    );
    // Sent as a header too: a stack path with bytes no header takes is percent-encoded.
    let mut safe = String::with_capacity(stack.len());
    for byte in stack.bytes() {
        match byte {
            b'%' | ..=b' ' | 0x7f.. => safe.push_str(&format!("%{byte:02X}")),
            _ => safe.push(char::from(byte)),
        }
    }
    format!("{safe}#{}", &sha256_hex(text.as_bytes())[..32])
}

fn summary(report: &ScanReport, transition: Transition, now: &CountedDrift) -> String {
    let resources = now.addresses().len();
    let drifted = crate::report::plural(resources, "resource");
    match transition {
        Transition::Drifted => format!("{drifted} drifted from the configuration"),
        Transition::Changed => format!("the drift changed: {drifted} drifted now"),
        Transition::Resolved => "no drift: the stack matches its configuration again".to_owned(),
        Transition::Failed => match &report.failure {
            Some(failure) => format!("the scan failed ({}): its drift is unknown", failure.kind),
            None => "the scan failed: its drift is unknown".to_owned(),
        },
    }
}

fn notified_resources(report: &ScanReport) -> (Vec<NotifiedResource>, usize) {
    let counted: Vec<_> = report.resources.iter().filter(|r| r.counts()).collect();
    let listed = counted
        .iter()
        .take(MAX_NOTIFIED_RESOURCES)
        .map(|resource| NotifiedResource {
            address: shorten(&resource.address, MAX_NOTIFIED_NAME_CHARS),
            action: resource.action.as_str().to_owned(),
            attributes: resource
                .counted_changes()
                .take(MAX_NOTIFIED_ATTRIBUTES)
                .map(|change| NotifiedAttribute {
                    path: shorten(&change.path, MAX_NOTIFIED_NAME_CHARS),
                    before: value(&change.before),
                    after: value(&change.after),
                })
                .collect(),
            more_attributes: resource
                .counted_changes()
                .count()
                .saturating_sub(MAX_NOTIFIED_ATTRIBUTES),
        })
        .collect();
    (listed, counted.len().saturating_sub(MAX_NOTIFIED_RESOURCES))
}

fn value(value: &crate::drift::AttrValue) -> String {
    shorten(
        &crate::report::display_value(value),
        MAX_NOTIFIED_VALUE_CHARS,
    )
}

/// The first `max` of `lines`, each cut to `chars` characters, and how many were left out.
fn capped(
    lines: impl ExactSizeIterator<Item = String>,
    max: usize,
    chars: usize,
) -> (Vec<String>, usize) {
    let left_out = lines.len().saturating_sub(max);
    let kept = lines.take(max).map(|line| shorten(&line, chars)).collect();
    (kept, left_out)
}

#[cfg(test)]
mod payload_tests;
#[cfg(test)]
mod tests;
