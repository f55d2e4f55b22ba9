//! CloudFormation as an engine: its own drift detection through the AWS CLI, each stack
//! (and each nested stack, as a stack of its own) one report in the same model as
//! Terraform's. See `detect` for the sequence of calls, `model` for how results read.

pub mod aws;
mod detect;
pub mod model;
pub mod output;
pub mod template;

use std::collections::{HashMap, HashSet};
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
/// `cloudformation/REGION/NAME`. Without a configured region the scan rekeys the report by
/// the region the stack's id names; `cloudformation/NAME` is left only when it never learnt
/// it (describe-stacks failed). A nested stack's is its parent's key and its logical id.
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
            secret_parameters: Default::default(),
        };
        let mut queue = vec![root];
        let mut nested_seen = 0;
        // Each stack reached (by id, as CloudFormation spells it, or by name) and the key it
        // was scanned under: a cycle of nested stacks, or one stack nested twice, is scanned
        // once. And the keys given out, so that no two stacks share one.
        let mut reached: HashMap<String, String> = HashMap::new();
        let mut keys: HashSet<String> = HashSet::new();
        while let Some(target) = queue.pop() {
            let clock = std::time::Instant::now();
            let mut report = ScanReport::new(target.stack.clone(), now());
            report.tool = Some(tool.clone());
            let nested = detect::scan_stack(&aws, &self.options, &target, &mut report, progress);
            report.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            let key = report.stack.dir.clone();
            reached
                .entry(target.name.clone())
                .or_insert_with(|| key.clone());
            if let Some(id) = report
                .stack
                .cloudformation
                .as_ref()
                .and_then(|c| c.stack_id.clone())
            {
                reached.entry(id).or_insert_with(|| key.clone());
            }
            keys.insert(key);
            let mut children: Vec<detect::Target> = Vec::new();
            for child in nested {
                let logical_id = child
                    .stack
                    .cloudformation
                    .as_ref()
                    .and_then(|c| c.parent.as_ref())
                    .map(|p| p.logical_id.clone())
                    .unwrap_or_default();
                if let Some(scanned_as) = reached.get(&child.name) {
                    report.diagnostics.push(detect::warning(format!(
                        "nested stack {logical_id} was not scanned again: it is the stack \
                         scanned as {scanned_as} (a cycle, or a stack nested twice)"
                    )));
                    continue;
                }
                if keys.contains(&child.stack.dir) {
                    report.diagnostics.push(detect::warning(format!(
                        "nested stack {logical_id} was not scanned: another stack has its key \
                         {}",
                        child.stack.dir
                    )));
                    detect::not_scanned(&mut report, &logical_id, "another stack has its key");
                    continue;
                }
                if target.depth + 1 > MAX_NESTING_DEPTH || nested_seen >= MAX_NESTED_STACKS {
                    report.diagnostics.push(detect::warning(format!(
                        "nested stack {} was not scanned: {}",
                        child.stack.dir,
                        nested_limits()
                    )));
                    // A warning alone would leave the parent reading as fully checked.
                    detect::not_scanned(&mut report, &logical_id, &nested_limits());
                    continue;
                }
                nested_seen += 1;
                reached.insert(child.name.clone(), child.stack.dir.clone());
                keys.insert(child.stack.dir.clone());
                children.push(child);
            }
            reports.push(report);
            // Depth first, in the order CloudFormation lists them.
            queue.extend(children.into_iter().rev());
        }
        reports
    }
}

fn nested_limits() -> String {
    format!(
        "driftlog scans at most {MAX_NESTED_STACKS} nested stacks, {MAX_NESTING_DEPTH} levels \
         deep"
    )
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
