//! CloudFormation as an engine: its own drift detection through the AWS CLI, each stack
//! (and each nested stack, as a stack of its own) one report in the same model as
//! Terraform's. See `detect` for the sequence of calls, `model` for how results read.

pub mod aws;
mod detect;
pub mod model;
pub mod output;
pub mod template;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::drift::{CloudFormationStack, ScanReport, Stack, Tool, ToolName};

use super::{Engine, Progress};
use aws::{Aws, AwsLimits};
pub use detect::MAX_DRIFT_PAGES;

/// Longest a drift detection may take before the scan gives up on it.
pub const DEFAULT_DETECTION_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Nested stacks followed below one stack, at most (levels) and in all.
pub const MAX_NESTING_DEPTH: usize = 8;
pub const MAX_NESTED_STACKS: usize = 200;

/// One CloudFormation stack to scan, as the configuration or the command line names it.
#[derive(Debug, Clone)]
pub struct CloudFormationOptions {
    /// Its name (or ARN).
    pub stack_name: String,
    /// `--region` for the CLI; else the environment's.
    pub region: Option<String>,
    /// `--profile` for the CLI; else the environment's.
    pub profile: Option<String>,
    pub aws_bin: OsString,
    /// The template file in the repository (for annotations), as configured.
    pub template: Option<String>,
    pub limits: AwsLimits,
    pub detection_timeout: Duration,
}

impl CloudFormationOptions {
    pub fn new(stack_name: impl Into<String>) -> CloudFormationOptions {
        CloudFormationOptions {
            stack_name: stack_name.into(),
            region: None,
            profile: None,
            aws_bin: OsString::from("aws"),
            template: None,
            limits: AwsLimits::default(),
            detection_timeout: DEFAULT_DETECTION_TIMEOUT,
        }
    }
}

/// The key reports, ignore rules and the audit log place a stack at:
/// `cloudformation/REGION/NAME` (`cloudformation/NAME` when the region is the
/// environment's). A nested stack's is its parent's key and its logical id.
pub fn stack_key(region: Option<&str>, name: &str) -> PathBuf {
    let name = name.replace('/', "_");
    match region {
        Some(region) => Path::new("cloudformation").join(region).join(name),
        None => Path::new("cloudformation").join(name),
    }
}

/// A CloudFormation stack and the stacks nested in it.
#[derive(Debug, Clone)]
pub struct CloudFormationEngine {
    pub options: CloudFormationOptions,
    dir: PathBuf,
}

impl CloudFormationEngine {
    pub fn new(options: CloudFormationOptions) -> CloudFormationEngine {
        let dir = stack_key(options.region.as_deref(), &options.stack_name);
        CloudFormationEngine { options, dir }
    }

    fn aws(&self) -> Aws {
        Aws {
            bin: self.options.aws_bin.clone(),
            region: self.options.region.clone(),
            profile: self.options.profile.clone(),
            limits: self.options.limits,
        }
    }
}

impl Engine for CloudFormationEngine {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn stack(&self) -> Stack {
        Stack {
            dir: self.dir.display().to_string(),
            workspace: "default".to_owned(),
            cloudformation: Some(CloudFormationStack {
                name: self.options.stack_name.clone(),
                region: self.options.region.clone(),
                template: self.options.template.clone(),
                ..Default::default()
            }),
        }
    }

    fn scan(&self, progress: &mut dyn FnMut(Progress<'_>)) -> Vec<ScanReport> {
        let aws = self.aws();
        let tool = match aws.version() {
            Ok(version) => Tool {
                name: ToolName::Cloudformation,
                version,
            },
            Err(err) => {
                let mut report = ScanReport::new(self.stack(), now());
                detect::fail(&mut report, &err);
                return vec![report];
            }
        };
        let mut reports = Vec::new();
        let root = detect::Target {
            stack: self.stack(),
            name: self.options.stack_name.clone(),
            depth: 0,
        };
        let mut queue = vec![root];
        let mut nested_seen = 0;
        while let Some(target) = queue.pop() {
            let clock = std::time::Instant::now();
            let mut report = ScanReport::new(target.stack.clone(), now());
            report.tool = Some(tool.clone());
            let nested = detect::scan_stack(&aws, &self.options, &target, &mut report, progress);
            report.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut children: Vec<detect::Target> = Vec::new();
            for child in nested {
                if target.depth + 1 > MAX_NESTING_DEPTH || nested_seen >= MAX_NESTED_STACKS {
                    report.diagnostics.push(detect::warning(format!(
                        "nested stack {} was not scanned: more than {MAX_NESTED_STACKS} nested \
                         stacks or {MAX_NESTING_DEPTH} levels",
                        child.stack.dir
                    )));
                    continue;
                }
                nested_seen += 1;
                children.push(child);
            }
            reports.push(report);
            // Depth first, in the order CloudFormation lists them.
            queue.extend(children.into_iter().rev());
        }
        reports
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
