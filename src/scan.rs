//! One scan of one stack: run terraform, then build the redacted, classified drift model.
//!
//! A refresh-only plan finds what changed outside terraform. Only when it found a change of
//! a real object does driftlog ask which of it the configuration manages ([`classify`]):
//! the provider schema first, and a second, normal plan targeted at what drifted where the
//! schema cannot tell. Moves are refactors, never drift.
//!
//! A scan always ends in a [`ScanReport`]: when terraform cannot tell whether the stack
//! drifted, the report says `failed` and why, so callers (and later the audit log) keep a
//! record of failed scans too.

pub mod classify;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::drift::analysis::{self, Sides};
use crate::drift::{
    Action, Diagnostic, DriftClass, DriftedResource, Failure, Refactor, ScanReport, Severity,
    Stack, Status,
};
use crate::terraform::config::Declarations;
use crate::terraform::show::{MalformedShow, PlanDocument, ResourceDriftEntry};
use crate::terraform::stream::{DriftNotice, StreamEvent};
use crate::terraform::{self, PlanInputs, PlanMode, PlanRun, Terraform, TerraformError};

/// Beyond this many drifted resources the classifying plan is not targeted: a plan of the
/// whole stack costs about as much, and command lines stay short.
const MAX_TARGETS: usize = 1000;

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
    /// Count drift of attributes the configuration does not set (`.driftlog.toml`
    /// `[drift] count_unmanaged`); off by default: apply would not touch them.
    pub count_unmanaged: bool,
    /// How long each terraform command may run.
    pub timeouts: terraform::process::Timeouts,
}

/// Where a scan is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    Initializing,
    Planning,
    RefreshStarted {
        address: &'a str,
    },
    RefreshCompleted {
        address: &'a str,
        refreshed: usize,
    },
    Drift {
        address: &'a str,
    },
    /// The normal plan that tells which drift the configuration manages.
    Classifying {
        drifted: usize,
    },
    ReadingPlan {
        drifted: usize,
    },
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

impl ScanOptions {
    /// Terraform as these options run it, and the stack as reports name it.
    pub fn terraform(&self) -> (Terraform, Stack) {
        let terraform = Terraform::new(&self.terraform_bin, &self.dir, self.workspace.clone())
            .with_timeouts(self.timeouts);
        let stack = Stack::terraform(self.dir.display().to_string(), terraform.workspace());
        (terraform, stack)
    }
}

/// Scans one stack. Never fails: failures are reported in the returned report.
pub fn scan(options: &ScanOptions, progress: &mut dyn FnMut(Progress<'_>)) -> ScanReport {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let clock = Instant::now();
    let (terraform, stack) = options.terraform();
    let mut report = ScanReport::new(stack, started_at);
    if let Err(err) = run(options, &terraform, &mut report, progress) {
        if let ScanError::Terraform(terraform_err) = &err {
            merge_diagnostics(&mut report.diagnostics, terraform_err.diagnostics());
        }
        report.status = Status::Failed;
        let mut failure = Failure::new(err.kind(), err.to_string());
        if let ScanError::Terraform(terraform_err) = &err {
            // Described and hashed in the report; the text itself only on the terminal.
            if let Some(raw) = terraform_err.raw_text() {
                failure.output = Some(raw.output());
                failure.shown = Some(raw.shown.clone());
            }
        }
        report.failure = Some(failure);
    }
    // Settles clean or drifted from what counts; a failed scan stays failed.
    report.recount();
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
    let plan_file = plan_dir.path().join(REFRESH_PLAN);

    progress(Progress::Planning);
    // Kept from the stream as it goes, so a plan that fails later still reports them.
    let mut version = None;
    let mut refreshed = 0;
    let plan = terraform.plan(
        &PlanMode::RefreshOnly,
        &options.inputs,
        &plan_file,
        &mut |event| match event {
            StreamEvent::Version(tool) => version = Some(tool.clone()),
            StreamEvent::RefreshStart { address } => progress(Progress::RefreshStarted { address }),
            StreamEvent::RefreshComplete { address } => {
                refreshed += 1;
                progress(Progress::RefreshCompleted { address, refreshed });
            }
            StreamEvent::ResourceDrift(notice) => progress(Progress::Drift {
                address: &notice.address,
            }),
            _ => {}
        },
    );
    report.tool = version;
    report.summary.checked = refreshed;
    let plan = plan?;
    report.evidence.plan_stream_sha256 = Some(plan.stream_sha256.clone());
    report.output_changes = plan.output_changes.clone();
    report.diagnostics = plan.diagnostics.clone();

    // Drift is what the resource_drift messages say. The exit code also signals output-only
    // changes and moves, and some OpenTofu versions never return 2.
    let (changed, refactors): (Vec<&DriftNotice>, Vec<&DriftNotice>) = plan
        .drift
        .iter()
        .partition(|notice| notice.is_object_change());
    report.refactors = refactors
        .iter()
        .map(|notice| Refactor {
            address: notice.address.clone(),
            previous_address: notice.previous_address.clone(),
            action: notice.action.clone(),
        })
        .collect();
    report.refactors.sort_by(|a, b| a.address.cmp(&b.address));
    if !changed.is_empty() {
        let drift = Drift {
            refresh: &plan,
            changed: changed.len(),
            plan_dir: plan_dir.path(),
        };
        report.resources = classified_drift(options, terraform, &drift, report, progress)?;
    }
    // Until `recount` (in `scan`) finds that nothing counts.
    report.status = Status::Drifted;
    Ok(())
}

/// The drifted resources, classified: from the provider schema when it can tell, else
/// from a normal plan of them; when neither can run, every change counts and a warning says
/// why. See [`classify`] for why in this order.
fn classified_drift(
    options: &ScanOptions,
    terraform: &Terraform,
    drift: &Drift<'_>,
    report: &mut ScanReport,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<DriftedResource>, ScanError> {
    let Drift {
        refresh,
        changed,
        plan_dir,
    } = *drift;
    progress(Progress::ReadingPlan { drifted: changed });
    let (refreshed, show_sha256) = terraform.show_plan(&plan_dir.join(REFRESH_PLAN))?;
    report.evidence.show_json_sha256 = Some(show_sha256);
    let opentofu = report
        .tool
        .as_ref()
        .is_some_and(|tool| tool.name == crate::drift::ToolName::Opentofu);
    let declarations = declarations(&options.dir, !opentofu);
    let schema_error = match terraform.providers_schema() {
        Ok((schemas, sha256)) => {
            report.evidence.provider_schema_sha256 = Some(sha256);
            let by_schema = classify::Classifier {
                plan: &refreshed,
                schemas: Some(&schemas),
                declarations: &declarations,
                stack_dir: &options.dir,
                count_unmanaged: options.count_unmanaged,
            };
            if let Some(resources) = classified_resources(&refresh.drift, &by_schema) {
                return Ok(resources);
            }
            None
        }
        Err(err) if err.ends_the_scan() => return Err(err.into()),
        Err(err) => Some(err),
    };
    progress(Progress::Classifying { drifted: changed });
    match classify_plan(options, terraform, refresh, plan_dir) {
        Ok((document, stream_sha256, show_sha256)) => {
            report.evidence.classify_plan_stream_sha256 = Some(stream_sha256);
            report.evidence.classify_show_json_sha256 = Some(show_sha256);
            let by_plan = classify::Classifier {
                plan: &document,
                schemas: None,
                declarations: &declarations,
                stack_dir: &options.dir,
                count_unmanaged: options.count_unmanaged,
            };
            Ok(classified_resources(&refresh.drift, &by_plan).unwrap_or_default())
        }
        Err(ClassifyError::Interrupted(err)) => Err(err.into()),
        Err(ClassifyError::Failed(err)) => {
            let mut detail = err.brief();
            if let Some(schema_error) = schema_error {
                detail = format!("{}\n{detail}", schema_error.brief());
            }
            report.diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                summary: "driftlog could not ask terraform which drift the configuration \
                          manages; all of it is counted"
                    .to_owned(),
                detail,
                address: None,
                location: None,
                withheld: None,
            });
            Ok(drifted_resources(&refresh.drift, &refreshed.resource_drift))
        }
    }
}

/// What the refresh-only plan found, for classifying it.
#[derive(Clone, Copy)]
struct Drift<'a> {
    refresh: &'a PlanRun,
    /// How many of its notices are changes of real objects (not moves).
    changed: usize,
    /// Where its plan file is, and the classifying plan's goes.
    plan_dir: &'a Path,
}

const REFRESH_PLAN: &str = "refresh.tfplan";
const CLASSIFY_PLAN: &str = "classify.tfplan";

enum ClassifyError {
    /// A stop was asked for, or terraform ran out of time: the scan ends.
    Interrupted(TerraformError),
    /// The drift is still real; only its classification is missing.
    Failed(TerraformError),
}

impl From<TerraformError> for ClassifyError {
    fn from(err: TerraformError) -> Self {
        if err.ends_the_scan() {
            ClassifyError::Interrupted(err)
        } else {
            ClassifyError::Failed(err)
        }
    }
}

/// The normal plan of the drifted resources, shown: its document, the SHA-256 of its stream
/// and of the document. Targeted first; if terraform refuses the targeted plan, once more
/// for the whole stack.
fn classify_plan(
    options: &ScanOptions,
    terraform: &Terraform,
    refresh: &PlanRun,
    plan_dir: &Path,
) -> Result<(PlanDocument, String, String), ClassifyError> {
    let plan_file = plan_dir.join(CLASSIFY_PLAN);
    let targets = targets(&refresh.drift);
    let targeted = !targets.is_empty();
    let mut run = terraform.plan(
        &PlanMode::Classify { targets },
        &options.inputs,
        &plan_file,
        &mut |_| {},
    );
    if targeted && matches!(&run, Err(err) if !err.ends_the_scan()) {
        run = terraform.plan(
            &PlanMode::Classify {
                targets: Vec::new(),
            },
            &options.inputs,
            &plan_file,
            &mut |_| {},
        );
    }
    let run = run?;
    let (document, show_sha256) = terraform.show_plan(&plan_file)?;
    Ok((document, run.stream_sha256, show_sha256))
}

/// The configuration's declarations, as the tool that runs reads them, for
/// `ignore_changes`; with terraform's data directory where `TF_DATA_DIR` puts it (a
/// relative one from the stack directory, as terraform runs there).
fn declarations(dir: &Path, terraform_only: bool) -> Declarations {
    let data_dir = std::env::var_os("TF_DATA_DIR")
        .filter(|dir| !dir.is_empty())
        .unwrap_or_else(|| ".terraform".into());
    Declarations::load_for(dir, Path::new(&data_dir), terraform_only)
}

/// Every drifted address and both ends of every move: terraform refuses a targeted plan
/// that leaves out an instance a `moved` block moves. Empty (the whole stack) when there
/// are too many.
fn targets(notices: &[DriftNotice]) -> Vec<String> {
    let mut targets: Vec<String> = notices
        .iter()
        .flat_map(|notice| std::iter::once(&notice.address).chain(&notice.previous_address))
        .cloned()
        .collect();
    targets.sort();
    targets.dedup();
    if targets.len() > MAX_TARGETS {
        targets.clear();
    }
    targets
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
        .filter(|notice| notice.is_object_change())
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
                previous_address: notice.previous_address.clone(),
                class: DriftClass::Managed,
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

/// The drifted resources the refresh-only plan's `notices` name, with the values of
/// `classifier`'s document, classified; `None` when the schema cannot classify all of them.
pub fn classified_resources(
    notices: &[DriftNotice],
    classifier: &classify::Classifier<'_>,
) -> Option<Vec<DriftedResource>> {
    let mut resources = drifted_resources(notices, &classifier.plan.resource_drift);
    for resource in &mut resources {
        if classifier.classify(resource) == classify::Decided::NeedsPlan {
            return None;
        }
    }
    Some(resources)
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
        previous_address: entry.previous_address.clone(),
        class: DriftClass::Managed,
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
