//! One stack's drift detection, call by call: `describe-stacks` (it exists, it can be
//! checked, where it is), `get-template` (which properties carry secrets),
//! `detect-stack-drift`, `describe-stack-drift-detection-status` polled with backoff until
//! complete, failed or the time limit, every page of `describe-stack-resource-drifts`, and
//! `list-stack-resources` for what the results leave out (types without drift detection)
//! and for the nested stacks, which the caller scans next as stacks of their own.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::drift::{
    CloudFormationStack, Diagnostic, Failure, NestedIn, ScanReport, Severity, Stack, Status,
};
use crate::interrupt;

use super::aws::{Aws, AwsError, Operation};
use super::model::{self, Drift};
use super::output::{self, DescribeStacks, DetectionStatus, ListStackResources, ResourceDrifts};
use super::template::{SecretParameters, Template};
use super::{CloudFormationOptions, Progress};

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
}

impl DetectError {
    fn kind(&self) -> &'static str {
        match self {
            DetectError::Aws(err) => err.kind(),
            DetectError::NotCheckable { .. } => "stack_not_checkable",
            DetectError::DetectionFailed { .. } => "detection_failed",
            DetectError::DetectionTimedOut { .. } => "detection_timeout",
            DetectError::Interrupted => "interrupted",
            DetectError::TooManyPages => "aws_output",
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

fn stack_arg(name: &str) -> Vec<String> {
    vec!["--stack-name".to_owned(), name.to_owned()]
}

fn detect(
    aws: &Aws,
    options: &CloudFormationOptions,
    target: &Target,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Target>, DetectError> {
    progress(Progress::Planning);
    let (value, _) = aws.call(Operation::DescribeStacks, &stack_arg(&target.name))?;
    let described: DescribeStacks = output::read(Operation::DescribeStacks, value)?;
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

    let mut template_args = stack_arg(&id);
    template_args.extend(["--template-stage".to_owned(), "Processed".to_owned()]);
    let (value, _) = aws.call(Operation::GetTemplate, &template_args)?;
    let body: output::GetTemplate = output::read(Operation::GetTemplate, value)?;
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

    let (value, _) = aws.call(Operation::DetectStackDrift, &stack_arg(&id))?;
    let detection: output::DetectStackDrift = output::read(Operation::DetectStackDrift, value)?;
    wait_for(aws, options, &detection.stack_drift_detection_id)?;

    let mut seen = BTreeSet::new();
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > MAX_DRIFT_PAGES {
            return Err(DetectError::TooManyPages);
        }
        let mut args = stack_arg(&id);
        args.extend(["--max-results".to_owned(), "100".to_owned()]);
        if let Some(token) = &token {
            args.extend(["--next-token".to_owned(), token.clone()]);
        }
        let (value, bytes) = aws.call(Operation::DescribeStackResourceDrifts, &args)?;
        digest.update(&bytes);
        let page: ResourceDrifts = output::read(Operation::DescribeStackResourceDrifts, value)?;
        for result in &page.stack_resource_drifts {
            if !seen.insert(result.logical_resource_id.clone()) {
                continue;
            }
            match model::drift(result, template.as_ref(), &stack_id) {
                Drift::InSync => report.summary.checked += 1,
                Drift::Drifted(resource) => {
                    report.summary.checked += 1;
                    progress(Progress::Drift {
                        address: &resource.address,
                    });
                    report.resources.push(*resource);
                }
                Drift::NotChecked(unchecked) => report.not_checked.push(unchecked),
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    report.evidence.cloudformation_drifts_sha256 = Some(hex(digest.finish().as_ref()));

    let (value, _) = aws.call(Operation::ListStackResources, &stack_arg(&id))?;
    let listed: ListStackResources = output::read(Operation::ListStackResources, value)?;
    let mut nested = Vec::new();
    for summary in &listed.stack_resource_summaries {
        if summary.resource_type == NESTED_STACK_TYPE {
            if let Some(child) = summary
                .physical_resource_id
                .as_ref()
                .filter(|p| !p.is_empty())
            {
                // An unread template passes its secrets anywhere.
                let secret_parameters = template.as_ref().map_or(SecretParameters::All, |t| {
                    t.secret_parameters_of(&summary.logical_resource_id)
                });
                nested.push(nested_target(
                    target,
                    report,
                    &summary.logical_resource_id,
                    child,
                    secret_parameters,
                ));
                continue;
            }
        }
        if !seen.contains(&summary.logical_resource_id) {
            report.not_checked.push(model::unlisted(summary));
        }
    }
    report.resources.sort_by(|a, b| a.address.cmp(&b.address));
    report.not_checked.sort_by(|a, b| a.address.cmp(&b.address));
    report.status = if report.resources.is_empty() {
        Status::Clean
    } else {
        Status::Drifted
    };
    report.recount();
    Ok(nested)
}

fn nested_target(
    parent: &Target,
    report: &ScanReport,
    logical_id: &str,
    id: &str,
    secret_parameters: SecretParameters,
) -> Target {
    let dir = format!("{}/{}", parent.stack.dir, logical_id.replace('/', "_"));
    let mut cfn = CloudFormationStack {
        name: id.to_owned(),
        region: report
            .stack
            .cloudformation
            .as_ref()
            .and_then(|c| c.region.clone()),
        parent: Some(NestedIn {
            stack: parent.stack.dir.clone(),
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

/// Polls the detection until it completes; a failed one, the time limit or an interrupt
/// is an error.
fn wait_for(
    aws: &Aws,
    options: &CloudFormationOptions,
    detection_id: &str,
) -> Result<(), DetectError> {
    let deadline = Instant::now() + options.detection_timeout;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(1.5)
        .without_max_times()
        .with_jitter()
        .build();
    let args = vec![
        "--stack-drift-detection-id".to_owned(),
        detection_id.to_owned(),
    ];
    loop {
        let (value, _) = aws.call(Operation::DescribeStackDriftDetectionStatus, &args)?;
        let status: DetectionStatus =
            output::read(Operation::DescribeStackDriftDetectionStatus, value)?;
        match status.detection_status.as_str() {
            "DETECTION_COMPLETE" => return Ok(()),
            "DETECTION_FAILED" => {
                let reason = status
                    .detection_status_reason
                    .as_deref()
                    .map(|r| model::one_line(r, MAX_REASON_CHARS))
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "CloudFormation gave no reason".to_owned());
                return Err(DetectError::DetectionFailed { reason });
            }
            _ => {}
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(5));
        if Instant::now() + delay > deadline {
            return Err(DetectError::DetectionTimedOut {
                limit: humantime::format_duration(options.detection_timeout).to_string(),
            });
        }
        if !interrupt::sleep(delay) {
            return Err(DetectError::Interrupted);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
