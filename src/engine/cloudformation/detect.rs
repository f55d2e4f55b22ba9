//! One stack's drift detection, call by call: `describe-stacks` (it exists, it can be
//! checked, where it is), `get-template` (which properties carry secrets),
//! `detect-stack-drift`, `describe-stack-drift-detection-status` polled with backoff until
//! complete, failed or the time limit, every page of `describe-stack-resource-drifts`, and
//! `list-stack-resources` for what the results leave out (types without drift detection)
//! and for the nested stacks, which the caller scans next as stacks of their own.

mod results;

use crate::drift::{
    CloudFormationStack, Diagnostic, Failure, NestedIn, NotChecked, ScanReport, Severity, Stack,
    Status,
};

use super::aws::{Aws, AwsError, Operation};
use super::model;
use super::output::{self, DescribeStacks, ListStackResources};
use super::template::{SecretParameters, Template};
use super::{stack_key, CloudFormationOptions, Progress};

/// The states CloudFormation checks drift in.
pub const CHECKABLE_STATES: [&str; 4] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
];
/// Pages of drift results read, at most (100 each: more than any stack holds).
pub const MAX_DRIFT_PAGES: usize = 100;
/// Longest reason quoted from CloudFormation (a failed detection's).
const MAX_REASON_CHARS: usize = 500;
const NESTED_STACK_TYPE: &str = "AWS::CloudFormation::Stack";
/// `not_checked`'s word for a nested stack the scan did not reach.
pub const NOT_SCANNED: &str = "NOT_SCANNED";
/// CloudFormation's own bound on a logical id.
const MAX_LOGICAL_ID_CHARS: usize = 255;
const BAD_LOGICAL_ID: &str = "its logical id is not alphanumeric, as CloudFormation's are";

/// A stack to scan: how reports name it, and how the CLI is to.
#[derive(Debug, Clone)]
pub struct Target {
    pub stack: Stack,
    /// A name or ARN.
    pub name: String,
    pub depth: usize,
    /// The parameters its parent stack passes a secret: none for a root stack (a nested stack
    /// scanned on its own is read with all of them secret, see `detect`).
    pub secret_parameters: SecretParameters,
}

/// Why a detection gave no results.
#[derive(Debug, thiserror::Error)]
enum DetectError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "the stack is {status}: CloudFormation checks drift only of a stack in \
         CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE or UPDATE_ROLLBACK_FAILED; \
         scan again when it has settled"
    )]
    NotCheckable { status: String },
    #[error("CloudFormation's drift detection failed: {reason}")]
    DetectionFailed { reason: String },
    #[error(
        "CloudFormation's drift detection did not finish within {limit}: a stack this size \
         may need longer (--cloudformation-timeout)"
    )]
    DetectionTimedOut { limit: String },
    #[error("interrupted while waiting for CloudFormation's drift detection")]
    Interrupted,
    #[error(
        "CloudFormation's drift results did not end after {MAX_DRIFT_PAGES} pages: driftlog \
         stops there"
    )]
    TooManyPages,
    #[error(
        "CloudFormation's drift results gave the same page token twice: reading on would read \
         the same pages without end, so driftlog stops"
    )]
    RepeatedPageToken,
}

impl DetectError {
    fn kind(&self) -> &'static str {
        match self {
            DetectError::Aws(err) => err.kind(),
            DetectError::NotCheckable { .. } => "stack_not_checkable",
            DetectError::DetectionFailed { .. } => "detection_failed",
            DetectError::DetectionTimedOut { .. } => "detection_timeout",
            DetectError::Interrupted => "interrupted",
            DetectError::TooManyPages | DetectError::RepeatedPageToken => "aws_output",
        }
    }
}

pub fn warning(summary: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        summary,
        detail: String::new(),
        address: None,
        location: None,
        withheld: None,
    }
}

/// Marks `report` failed by `err`; the CLI's own text only for this run's terminal.
pub fn fail(report: &mut ScanReport, err: &AwsError) {
    fail_with(report, err.kind(), err.to_string(), err.text());
}

fn fail_with(
    report: &mut ScanReport,
    kind: &str,
    message: String,
    text: Option<&super::aws::CliText>,
) {
    let mut failure = Failure::new(kind, message);
    if let Some(text) = text {
        failure.output = Some(text.output());
        failure.shown = Some(text.tail.text.clone());
    }
    report.status = Status::Failed;
    report.failure = Some(failure);
}

/// Scans `target` into `report`; the nested stacks it holds, to scan next.
pub fn scan_stack(
    aws: &Aws,
    options: &CloudFormationOptions,
    target: &Target,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Vec<Target> {
    match detect(aws, options, target, report, progress) {
        Ok(nested) => nested,
        Err(err) => {
            let mut message = err.to_string();
            if let DetectError::Aws(AwsError::StackNotFound { .. }) = &err {
                message = format!(
                    "the stack `{}` does not exist (in this account and region): check its \
                     name, `region` and `profile`",
                    target.name
                );
            }
            let text = match &err {
                DetectError::Aws(err) => err.text(),
                _ => None,
            };
            fail_with(report, err.kind(), message, text);
            Vec::new()
        }
    }
}

fn stack_arg(name: &str) -> [(&'static str, &str); 1] {
    [("--stack-name", name)]
}

fn detect(
    aws: &Aws,
    options: &CloudFormationOptions,
    target: &Target,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Target>, DetectError> {
    progress(Progress::Planning);
    let (described, _): (DescribeStacks, _) =
        aws.call(Operation::DescribeStacks, &stack_arg(&target.name))?;
    let Some(stack) = described.stacks.into_iter().next() else {
        return Err(AwsError::StackNotFound {
            text: super::aws::CliText {
                tail: Default::default(),
            },
        }
        .into());
    };
    let stack_id = stack.stack_id.clone().unwrap_or_default();
    if let Some(cfn) = report.stack.cloudformation.as_mut() {
        place(cfn, &stack.stack_name, &stack_id);
    }
    if target.depth == 0 && options.region.is_none() {
        rekey(report, &target.name);
    }
    if !CHECKABLE_STATES.contains(&stack.stack_status.as_str()) {
        return Err(DetectError::NotCheckable {
            status: model::one_line(&stack.stack_status, 60),
        });
    }
    // Later calls name the stack by its id: a stack deleted and made again under the same
    // name meanwhile is another stack.
    let id = if stack_id.is_empty() {
        target.name.clone()
    } else {
        stack_id.clone()
    };

    let template_args = [
        ("--stack-name", id.as_str()),
        ("--template-stage", "Processed"),
    ];
    let (body, _): (output::GetTemplate, _) = aws.call(Operation::GetTemplate, &template_args)?;
    // A nested stack named directly: what its parent passes it is not known.
    let has_parent = stack.parent_id.as_deref().is_some_and(|p| !p.is_empty());
    let secret_parameters = if target.depth == 0 && has_parent {
        SecretParameters::All
    } else {
        target.secret_parameters.clone()
    };
    let template = match body
        .template_body
        .as_ref()
        .map(|body| Template::from_cli_with_secret_parameters(body, &secret_parameters))
    {
        Some(Ok(template)) => Some(template),
        Some(Err(err)) => {
            report.diagnostics.push(warning(format!(
                "the stack's template could not be read ({err}): every drifted value is \
                 withheld, since nothing says which are secret"
            )));
            None
        }
        None => {
            report.diagnostics.push(warning(
                "CloudFormation returned no template: every drifted value is withheld".into(),
            ));
            None
        }
    };

    let (detection, _): (output::DetectStackDrift, _) =
        aws.call(Operation::DetectStackDrift, &stack_arg(&id))?;
    let outcome = results::wait_for(aws, options, &detection.stack_drift_detection_id)?;
    let read = read_and_list(
        aws,
        &id,
        template.as_ref(),
        &stack_id,
        target,
        report,
        progress,
    );
    let nested = match (read, &outcome.failure) {
        (Ok(nested), _) => nested,
        (Err(err), None) => return Err(err),
        // The failed detection is what the report says; why its results are missing too, a
        // warning.
        (Err(err), Some(reason)) => {
            report.diagnostics.push(warning(format!(
                "the results of the failed detection could not be read either: {err}"
            )));
            return Err(DetectError::DetectionFailed {
                reason: reason.clone(),
            });
        }
    };
    conclude(report, &outcome);
    Ok(nested)
}

/// Every page of the results, then `list-stack-resources` for what they leave out and for
/// the nested stacks, which it answers.
fn read_and_list(
    aws: &Aws,
    id: &str,
    template: Option<&Template>,
    stack_id: &str,
    target: &Target,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Target>, DetectError> {
    let seen = results::read_pages(aws, id, template, stack_id, report, progress)?;
    let (listed, _): (ListStackResources, _) =
        aws.call(Operation::ListStackResources, &stack_arg(id))?;
    let mut nested = Vec::new();
    for summary in &listed.stack_resource_summaries {
        if summary.resource_type == NESTED_STACK_TYPE {
            if let Some(child) = summary
                .physical_resource_id
                .as_ref()
                .filter(|p| !p.is_empty())
            {
                let logical_id = &summary.logical_resource_id;
                if valid_logical_id(logical_id) {
                    // An unread template passes its secrets anywhere.
                    let secret_parameters = template.as_ref().map_or(SecretParameters::All, |t| {
                        t.secret_parameters_of(logical_id)
                    });
                    nested.push(nested_target(
                        target,
                        report,
                        logical_id,
                        child,
                        secret_parameters,
                    ));
                } else {
                    // It would be a path segment of the nested stack's key (`.`, `..`, `/`).
                    report.diagnostics.push(warning(format!(
                        "nested stack `{}` was not scanned: {BAD_LOGICAL_ID}",
                        model::one_line(logical_id, MAX_LOGICAL_ID_CHARS)
                    )));
                    not_scanned(report, logical_id, BAD_LOGICAL_ID);
                }
                continue;
            }
        }
        if !seen.contains(&summary.logical_resource_id) {
            report.not_checked.push(model::unlisted(summary));
        }
    }
    report.resources.sort_by(|a, b| a.address.cmp(&b.address));
    report.not_checked.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(nested)
}

/// The report's status, from the results read and what CloudFormation said of the
/// detection. A report that cannot vouch for the stack is failed (exit 1), never clean:
/// clean tells a platform team nothing needs looking at, and drifted that something
/// changed; neither holds when the results are partial or contradict the detection.
fn conclude(report: &mut ScanReport, outcome: &results::Outcome) {
    report.status = if report.resources.is_empty() {
        Status::Clean
    } else {
        Status::Drifted
    };
    report.recount();
    if let Some(reason) = &outcome.failure {
        let mut message = DetectError::DetectionFailed {
            reason: reason.clone(),
        }
        .to_string();
        if report.summary.checked > 0 {
            message.push_str(&format!(
                "; the drift it found in the {} it did check is listed",
                crate::report::plural(report.summary.checked, "resource")
            ));
        }
        fail_with(report, "detection_failed", message, None);
        return;
    }
    let drift_read = !report.resources.is_empty();
    match outcome.stack_drift_status.as_deref() {
        Some("DRIFTED") if !drift_read => {
            report.diagnostics.push(warning(
                "CloudFormation's detection says the stack DRIFTED, but its drift results \
                 list no drifted resource"
                    .to_owned(),
            ));
            fail_with(
                report,
                "drift_unconfirmed",
                "CloudFormation's drift detection says the stack drifted, but its drift results \
                 list no drifted resource (they may be incomplete, or a newer detection's): \
                 driftlog cannot say the stack is clean; scan again"
                    .to_owned(),
                None,
            );
            return;
        }
        // The results are the evidence, and they are reported; the contradiction is noted.
        Some("IN_SYNC") if drift_read => report.diagnostics.push(warning(
            "CloudFormation's detection says the stack is IN_SYNC, but its drift results list \
             drifted resources (they may be a newer detection's)"
                .to_owned(),
        )),
        _ => {}
    }
    if report.summary.checked == 0 && !report.not_checked.is_empty() {
        let message = format!(
            "CloudFormation could check none of this stack's resources for drift ({} not \
             checked: types it cannot check, or UNKNOWN): driftlog cannot say the stack is \
             clean",
            report.not_checked.len()
        );
        fail_with(report, "nothing_checked", message, None);
    }
}

/// A stack configured without a region is keyed by the region its id names: else scans of
/// two regions' stacks of one name would share `cloudformation/NAME`, and their histories
/// mix. (When describe-stacks fails there is no id, and the key stays
/// `cloudformation/NAME`.)
fn rekey(report: &mut ScanReport, name: &str) {
    let region = report
        .stack
        .cloudformation
        .as_ref()
        .and_then(|cfn| cfn.region.as_deref())
        .filter(|region| crate::config::valid_region(region));
    if let Some(region) = region {
        report.stack.dir = stack_key(Some(region), name).display().to_string();
    }
}

/// CloudFormation's logical ids are alphanumeric; a nested stack's is a segment of its key.
fn valid_logical_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LOGICAL_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Lists a nested stack the scan did not reach in its parent's `not_checked`, so that the
/// parent never reads as fully checked.
pub fn not_scanned(report: &mut ScanReport, logical_id: &str, reason: &str) {
    let address = model::one_line(logical_id, MAX_LOGICAL_ID_CHARS);
    report
        .not_checked
        .retain(|n| !(n.address == address && n.resource_type == NESTED_STACK_TYPE));
    report.not_checked.push(NotChecked {
        address,
        resource_type: NESTED_STACK_TYPE.to_owned(),
        status: NOT_SCANNED.to_owned(),
        reason: Some(reason.to_owned()),
    });
    report.not_checked.sort_by(|a, b| a.address.cmp(&b.address));
    report.summary.not_checked = report.not_checked.len();
}

fn nested_target(
    parent: &Target,
    report: &ScanReport,
    logical_id: &str,
    id: &str,
    secret_parameters: SecretParameters,
) -> Target {
    // The parent's key as its scan left it (rekeyed by region when none was configured).
    let dir = format!("{}/{logical_id}", report.stack.dir);
    let mut cfn = CloudFormationStack {
        name: id.to_owned(),
        region: report
            .stack
            .cloudformation
            .as_ref()
            .and_then(|c| c.region.clone()),
        parent: Some(NestedIn {
            stack: report.stack.dir.clone(),
            logical_id: logical_id.to_owned(),
        }),
        ..Default::default()
    };
    place(&mut cfn, id, id);
    Target {
        stack: Stack {
            dir,
            workspace: parent.stack.workspace.clone(),
            cloudformation: Some(cfn),
        },
        name: id.to_owned(),
        depth: parent.depth + 1,
        secret_parameters,
    }
}

/// The stack's name, and its region and account as its ARN spells them
/// (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID`).
fn place(cfn: &mut CloudFormationStack, name: &str, stack_id: &str) {
    if !name.starts_with("arn:") {
        cfn.name = name.to_owned();
    }
    if let Some(rest) = stack_id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [_partition, _service, region, account, resource] = parts.as_slice() {
            if !region.is_empty() {
                cfn.region = Some((*region).to_owned());
            }
            if !account.is_empty() {
                cfn.account = Some((*account).to_owned());
            }
            if let Some(stack_name) = resource
                .strip_prefix("stack/")
                .and_then(|r| r.split('/').next())
            {
                cfn.name = stack_name.to_owned();
            }
        }
        cfn.stack_id = Some(stack_id.to_owned());
    }
}
