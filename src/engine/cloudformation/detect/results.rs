//! Waiting for a detection and reading what it found: `describe-stack-drift-detection-status`
//! polled with backoff, then every page of `describe-stack-resource-drifts`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::drift::ScanReport;
use crate::interrupt;

use super::super::aws::{Aws, Operation};
use super::super::model::{self, Drift};
use super::super::output::{DetectionStatus, ResourceDrifts};
use super::super::template::Template;
use super::super::{CloudFormationOptions, Progress};
use super::{DetectError, MAX_DRIFT_PAGES, MAX_REASON_CHARS};

/// How a detection ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// CloudFormation's word on the whole stack (`DRIFTED`, `IN_SYNC`, `UNKNOWN`), when given.
    pub stack_drift_status: Option<String>,
    /// Why it failed (`DETECTION_FAILED`): CloudFormation may still have checked some
    /// resources, whose results are read all the same.
    pub failure: Option<String>,
}

/// Polls the detection until it completes or fails; the time limit or an interrupt is an
/// error.
pub fn wait_for(
    aws: &Aws,
    options: &CloudFormationOptions,
    detection_id: &str,
) -> Result<Outcome, DetectError> {
    let deadline = Instant::now() + options.detection_timeout;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(1.5)
        .without_max_times()
        .with_jitter()
        .build();
    let args = [("--stack-drift-detection-id", detection_id)];
    loop {
        let (status, _): (DetectionStatus, _) =
            aws.call(Operation::DescribeStackDriftDetectionStatus, &args)?;
        let stack_drift_status = status
            .stack_drift_status
            .as_deref()
            .map(|s| model::one_line(s, 40));
        match status.detection_status.as_str() {
            "DETECTION_COMPLETE" => {
                return Ok(Outcome {
                    stack_drift_status,
                    failure: None,
                })
            }
            "DETECTION_FAILED" => {
                let reason = status
                    .detection_status_reason
                    .as_deref()
                    .map(|r| model::one_line(r, MAX_REASON_CHARS))
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "CloudFormation gave no reason".to_owned());
                return Ok(Outcome {
                    stack_drift_status,
                    failure: Some(reason),
                });
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

/// Reads every page of the results into `report` (drifted resources, the count checked,
/// what was not checked, the evidence digest); the logical ids the results named.
pub fn read_pages(
    aws: &Aws,
    id: &str,
    template: Option<&Template>,
    stack_id: &str,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<BTreeSet<String>, DetectError> {
    let mut seen = BTreeSet::new();
    let mut tokens = BTreeSet::new();
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > MAX_DRIFT_PAGES {
            return Err(DetectError::TooManyPages);
        }
        let mut args = vec![("--stack-name", id), ("--max-results", "100")];
        if let Some(token) = &token {
            args.push(("--next-token", token.as_str()));
        }
        let (page, bytes): (ResourceDrifts, _) =
            aws.call(Operation::DescribeStackResourceDrifts, &args)?;
        digest.update(&bytes);
        for result in &page.stack_resource_drifts {
            if !seen.insert(result.logical_resource_id.clone()) {
                continue;
            }
            match model::drift(result, template, stack_id) {
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
        match &token {
            None => break,
            // A token given before leads back to pages already read, and round again.
            Some(token) if !tokens.insert(token.clone()) => {
                return Err(DetectError::RepeatedPageToken)
            }
            Some(_) => {}
        }
    }
    report.evidence.cloudformation_drifts_sha256 = Some(hex(digest.finish().as_ref()));
    Ok(seen)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
