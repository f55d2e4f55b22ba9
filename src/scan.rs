//! One scan of one stack: run terraform, then build the redacted drift model.
//!
//! A scan always ends in a [`ScanReport`]: when terraform cannot tell whether the stack
//! drifted, the report says `failed` and why, so callers (and later the audit log) keep a
//! record of failed scans too.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use crate::drift::analysis::{self, Sides};
use crate::drift::{
    Action, Diagnostic, DriftedResource, Failure, ScanReport, Stack, Status, Summary,
};
use crate::terraform::show::{MalformedShow, ResourceDriftEntry};
use crate::terraform::stream::{DriftNotice, StreamEvent};
use crate::terraform::{self, PlanInputs, Terraform, TerraformError};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub dir: PathBuf,
    pub terraform_bin: OsString,
    pub init: bool,
    pub workspace: Option<String>,
    pub inputs: PlanInputs,
    /// Held while `terraform init` runs: parallel scans that share a plugin cache must not
    /// install into it at the same time (terraform does not lock it).
    pub init_gate: Option<std::sync::Arc<std::sync::Mutex<()>>>,
}

/// Where a scan is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    Initializing,
    Planning,
    RefreshStarted { address: &'a str },
    RefreshCompleted { address: &'a str, refreshed: usize },
    Drift { address: &'a str },
    ReadingPlan { drifted: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("stack directory {0} does not exist")]
    DirMissing(PathBuf),
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0} holds no terraform configuration (no .tf or .tf.json files); pass the directory \
         of a root module"
    )]
    NoConfiguration(PathBuf),
    #[error("reading {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("creating a temporary directory for the plan file: {0}")]
    TempDir(std::io::Error),
    #[error(transparent)]
    Terraform(#[from] TerraformError),
}

impl ScanError {
    fn kind(&self) -> &'static str {
        match self {
            ScanError::DirMissing(_) | ScanError::NotADirectory(_) => "dir_missing",
            ScanError::NoConfiguration(_) => "no_configuration",
            ScanError::ReadDir { .. } | ScanError::TempDir(_) => "io",
            ScanError::Terraform(err) => err.kind(),
        }
    }
}

/// Scans one stack. Never fails: failures are reported in the returned report.
pub fn scan(options: &ScanOptions, progress: &mut dyn FnMut(Progress<'_>)) -> ScanReport {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let clock = Instant::now();
    let terraform = Terraform::new(
        &options.terraform_bin,
        &options.dir,
        options.workspace.clone(),
    );
    let stack = Stack {
        dir: options.dir.display().to_string(),
        workspace: terraform.workspace(),
    };
    let mut report = ScanReport::new(stack, started_at);
    if let Err(err) = run(options, &terraform, &mut report, progress) {
        if let ScanError::Terraform(terraform_err) = &err {
            merge_diagnostics(&mut report.diagnostics, terraform_err.diagnostics());
        }
        report.status = Status::Failed;
        report.failure = Some(Failure {
            kind: err.kind().to_owned(),
            message: err.to_string(),
        });
    }
    report.summary = Summary::of(
        report.summary.checked,
        &report.resources,
        &report.output_changes,
    );
    report.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

fn run(
    options: &ScanOptions,
    terraform: &Terraform,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), ScanError> {
    check_stack_dir(&options.dir)?;
    if options.init {
        progress(Progress::Initializing);
        // A poisoned gate only means another scan panicked mid-init; the cache is still usable.
        let _turn = options
            .init_gate
            .as_ref()
            .map(|gate| gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        terraform.init()?;
    }
    terraform.ensure_workspace_exists()?;
    // The plan file holds raw state values, secrets included: keep it in a private temp dir
    // that is removed on every path out of this function.
    let plan_dir = tempfile::Builder::new()
        .prefix("driftlog-plan-")
        .tempdir()
        .map_err(ScanError::TempDir)?;
    let plan_file = plan_dir.path().join("refresh.tfplan");

    progress(Progress::Planning);
    // Kept from the stream as it goes, so a plan that fails later still reports them.
    let mut version = None;
    let mut refreshed = 0;
    let plan = terraform.plan_refresh_only(&options.inputs, &plan_file, &mut |event| match event {
        StreamEvent::Version { terraform } => version = Some(terraform.clone()),
        StreamEvent::RefreshStart { address } => progress(Progress::RefreshStarted { address }),
        StreamEvent::RefreshComplete { address } => {
            refreshed += 1;
            progress(Progress::RefreshCompleted { address, refreshed });
        }
        StreamEvent::ResourceDrift(notice) => progress(Progress::Drift {
            address: &notice.address,
        }),
        _ => {}
    });
    report.terraform_version = version;
    report.summary.checked = refreshed;
    let plan = plan?;
    report.evidence.plan_stream_sha256 = Some(plan.stream_sha256.clone());
    report.output_changes = plan.output_changes;
    report.diagnostics = plan.diagnostics;

    // Drift is what the resource_drift messages say. The exit code also signals output-only
    // changes, and some OpenTofu versions never return 2.
    if !plan.drift.is_empty() {
        progress(Progress::ReadingPlan {
            drifted: plan.drift.len(),
        });
        let (entries, show_sha256) = terraform.show_resource_drift(&plan_file)?;
        report.evidence.show_json_sha256 = Some(show_sha256);
        report.resources = drifted_resources(&plan.drift, &entries);
    }
    report.status = if report.resources.is_empty() {
        Status::Clean
    } else {
        Status::Drifted
    };
    Ok(())
}

fn check_stack_dir(dir: &std::path::Path) -> Result<(), ScanError> {
    match std::fs::metadata(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(ScanError::DirMissing(dir.to_owned()))
        }
        Err(source) => {
            return Err(ScanError::ReadDir {
                path: dir.to_owned(),
                source,
            })
        }
        Ok(meta) if !meta.is_dir() => return Err(ScanError::NotADirectory(dir.to_owned())),
        Ok(_) => {}
    }
    match terraform::has_configuration(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ScanError::NoConfiguration(dir.to_owned())),
        Err(source) => Err(ScanError::ReadDir {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Joins the streamed drift notices with the values `show` gave, sorted by address.
/// A notice `show` has no entry for is still drift: it is kept, without attributes.
fn drifted_resources(
    notices: &[DriftNotice],
    entries: &[ResourceDriftEntry],
) -> Vec<DriftedResource> {
    let by_address: HashMap<&str, &ResourceDriftEntry> =
        entries.iter().map(|e| (e.address.as_str(), e)).collect();
    let mut resources: Vec<DriftedResource> = notices
        .iter()
        .map(|notice| match by_address.get(notice.address.as_str()) {
            Some(entry) => drifted_resource(entry),
            None => DriftedResource {
                address: notice.address.clone(),
                module_address: None,
                mode: "managed".to_owned(),
                resource_type: String::new(),
                name: String::new(),
                index: None,
                provider: String::new(),
                action: Action::from_terraform(&[notice.action.as_str()]),
                changes: Vec::new(),
                identifiers: Default::default(),
                ignored: None,
            },
        })
        .collect();
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    resources.dedup_by(|a, b| a.address == b.address);
    resources
}

/// Reads a `terraform show -json` document and analyses each drift entry in it.
pub fn analyse_show_json(json: &[u8]) -> Result<Vec<DriftedResource>, MalformedShow> {
    Ok(terraform::show::parse_resource_drift(json)?
        .iter()
        .map(drifted_resource)
        .collect())
}

fn drifted_resource(entry: &ResourceDriftEntry) -> DriftedResource {
    let actions: Vec<&str> = entry.change.actions.iter().map(String::as_str).collect();
    let sides = Sides {
        before: &entry.change.before,
        after: &entry.change.after,
        before_sensitive: &entry.change.before_sensitive,
        after_sensitive: &entry.change.after_sensitive,
        after_unknown: &entry.change.after_unknown,
    };
    DriftedResource {
        address: entry.address.clone(),
        module_address: entry.module_address.clone(),
        mode: entry.mode.clone(),
        resource_type: entry.resource_type.clone(),
        name: entry.name.clone(),
        index: entry.index.clone(),
        provider: entry.provider_name.clone(),
        action: Action::from_terraform(&actions),
        changes: analysis::attribute_changes(&sides),
        identifiers: analysis::identifiers(&sides),
        ignored: None,
    }
}

fn merge_diagnostics(into: &mut Vec<Diagnostic>, from: &[Diagnostic]) {
    for diagnostic in from {
        if !into.contains(diagnostic) {
            into.push(diagnostic.clone());
        }
    }
}
