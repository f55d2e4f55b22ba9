//! The stacks of a run: the scan settings the command line gave, made into one
//! [`ScanOptions`] per stack (its own workspace, variables and var files first, then the
//! run's), and the configuration's or discovery's stacks made into [`StackJob`]s; and the
//! stacks listed for people and for CI fan-out (`driftlog stacks`, [`listing`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::batch::StackJob;
use serde_json::json;

use crate::config::{CloudFormationSpec, Config, StackSpec};
use crate::engine::cloudformation::{CloudFormationEngine, CloudFormationOptions};
use crate::engine::terraform::TerraformEngine;
use crate::scan::ScanOptions;
use crate::terraform::process::Timeouts;
use crate::terraform::PlanInputs;

/// How to scan, as the command line asked: the same for every stack of the run.
#[derive(Debug, Clone, Default)]
pub struct ScanSettings {
    pub terraform_bin: std::ffi::OsString,
    pub init: bool,
    pub workspace: Option<String>,
    /// `NAME=VALUE`, after each stack's own.
    pub vars: Vec<String>,
    /// Absolute, or as given when they do not exist (terraform names them then).
    pub var_files: Vec<PathBuf>,
    /// Passed to `terraform plan` after driftlog's own arguments.
    pub plan_args: Vec<String>,
    /// One time limit for every terraform command (default: each command's own).
    pub terraform_timeout: Option<std::time::Duration>,
    /// The AWS CLI, for CloudFormation stacks (default `aws`).
    pub aws_bin: Option<std::ffi::OsString>,
    /// How long a CloudFormation drift detection may take (default: the engine's).
    pub cloudformation_timeout: Option<std::time::Duration>,
}

/// Where driftlog runs (`.` when the directory is gone).
pub fn working_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The repository holding the working directory (its work tree), else the directory itself.
pub fn repository_root() -> PathBuf {
    let cwd = working_dir();
    git2::Repository::discover(&cwd)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .unwrap_or(cwd)
}

/// `--var-file` paths are relative to where driftlog runs, not to the stack directory.
pub fn resolve_from_cwd(path: &Path) -> PathBuf {
    if path.is_relative() && path.exists() {
        std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    }
}

/// A `--terraform-timeout`: a duration as humantime writes it, more than zero.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("a time limit must be more than zero".to_owned()),
        Err(err) => Err(format!("{err} (write it like `45m`, `2h` or `90s`)")),
    }
}

impl ScanSettings {
    /// The options to scan `dir` with, the stack's own workspace, variables and var files
    /// before the run's.
    pub fn options(
        &self,
        config: &Config,
        dir: PathBuf,
        workspace: Option<String>,
        vars: &[(String, String)],
        var_files: &[PathBuf],
    ) -> ScanOptions {
        let mut all_vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        all_vars.extend(self.vars.iter().cloned());
        let mut all_var_files: Vec<PathBuf> = var_files.to_vec();
        all_var_files.extend(self.var_files.iter().cloned());
        ScanOptions {
            dir,
            terraform_bin: self.terraform_bin.clone(),
            init: self.init,
            workspace: workspace.or_else(|| self.workspace.clone()),
            init_gate: None,
            count_unmanaged: config.count_unmanaged,
            timeouts: self
                .terraform_timeout
                .map_or_else(Timeouts::default, Timeouts::all),
            inputs: PlanInputs {
                vars: all_vars,
                extra_args: self.plan_args.clone(),
                var_files: all_var_files,
            },
        }
    }

    /// One job per stack of `specs` (paths relative to the configuration's root), each
    /// directory as it reads naturally from `cwd` in reports and comments. `given` says the
    /// stacks were named on the command line (relative to `cwd`), not by the configuration.
    pub fn jobs(
        &self,
        config: &Config,
        specs: &[StackSpec],
        cwd: &Path,
        given: bool,
    ) -> Vec<StackJob> {
        let mut jobs: Vec<StackJob> = self
            .stack_options(config, specs, cwd, given)
            .into_iter()
            .map(|(name, options)| StackJob {
                name,
                engine: Arc::new(TerraformEngine { options }),
                owners: Vec::new(),
            })
            .collect();
        // In the specs' order, Terraform's and CloudFormation's alike.
        let mut terraform = jobs.drain(..);
        let mut ordered = Vec::with_capacity(specs.len());
        for spec in specs {
            match &spec.cloudformation {
                Some(cfn) => ordered.push(StackJob {
                    name: spec.name.clone(),
                    engine: Arc::new(CloudFormationEngine::new(self.cloudformation(cfn))),
                    owners: spec.owners.clone(),
                }),
                None => ordered.extend(terraform.next().map(|job| StackJob {
                    owners: spec.owners.clone(),
                    ..job
                })),
            }
        }
        ordered
    }

    /// The options to scan the CloudFormation stack `spec` names with.
    pub fn cloudformation(&self, spec: &CloudFormationSpec) -> CloudFormationOptions {
        let mut options = CloudFormationOptions::new(spec.stack_name.clone());
        options.region = spec.region.clone();
        options.profile = spec.profile.clone();
        options.template = spec
            .template
            .as_ref()
            .map(|path| path.display().to_string());
        if let Some(bin) = &self.aws_bin {
            options.aws_bin = bin.clone();
        }
        if let Some(limit) = self.cloudformation_timeout {
            options.detection_timeout = limit;
        }
        options
    }

    /// Each stack of `specs` by name, with the options to scan it ([`ScanSettings::jobs`]).
    pub fn stack_options(
        &self,
        config: &Config,
        specs: &[StackSpec],
        cwd: &Path,
        given: bool,
    ) -> Vec<(String, ScanOptions)> {
        // Terraform does not lock a shared plugin cache: with one, inits take turns.
        let init_gate = std::env::var_os("TF_PLUGIN_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(|_| Arc::new(Mutex::new(())));
        specs
            .iter()
            // CloudFormation stacks are no directories (`jobs` builds their engines).
            .filter(|spec| spec.cloudformation.is_none())
            .map(|spec| {
                let absolute = config.root.join(&spec.path);
                let dir = match absolute.strip_prefix(cwd) {
                    Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
                    Ok(relative) => relative.to_path_buf(),
                    Err(_) if spec.path.is_relative() && !given => absolute,
                    Err(_) => spec.path.clone(),
                };
                let mut options = self.options(
                    config,
                    dir,
                    spec.workspace.clone(),
                    &spec.vars,
                    &spec.var_files,
                );
                options.init_gate = init_gate.clone();
                (spec.name.clone(), options)
            })
            .collect()
    }
}

/// The stacks of `specs` the Terraform-only commands (`remediate`, `adopt`) act on, and the
/// keys of the CloudFormation stacks they leave out.
pub fn without_cloudformation(specs: Vec<StackSpec>) -> (Vec<StackSpec>, Vec<String>) {
    let (cloudformation, terraform): (Vec<StackSpec>, Vec<StackSpec>) = specs
        .into_iter()
        .partition(|spec| spec.cloudformation.is_some());
    let skipped = cloudformation
        .iter()
        .map(|spec| spec.path.display().to_string())
        .collect();
    (terraform, skipped)
}

/// What `driftlog COMMAND` says of a CloudFormation stack it leaves out.
pub fn skipped_line(command: &str, key: &str) -> String {
    format!(
        "skipping CloudFormation stack {key}: `driftlog {command}` does not support \
         CloudFormation stacks yet (scan them with `driftlog scan`)"
    )
}

/// What `driftlog COMMAND` says when every stack it was to act on is a CloudFormation one.
pub fn only_cloudformation_line(command: &str) -> String {
    format!(
        "nothing to {command}: the only stacks configured are CloudFormation stacks, which \
         `driftlog {command}` does not support yet"
    )
}

/// How `driftlog stacks` lists the stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// One stack per line: a Terraform stack's path; a CloudFormation stack's key, then its
    /// settings as `.driftlog.toml` names them.
    Paths,
    /// Every stack's settings, as JSON.
    Json,
    /// A GitHub Actions `strategy.matrix` with one entry per stack.
    Matrix,
    /// A `strategy.matrix` of N entries `shard: K/N`, for `driftlog scan --shard`.
    Shards(usize),
}

/// The stacks of `config` listed as `listing` says (no final newline).
pub fn listing(config: &Config, listing: Listing) -> String {
    let path = |spec: &StackSpec| spec.path.display().to_string();
    match listing {
        Listing::Shards(n) => {
            let shards: Vec<String> = (1..=n).map(|k| format!("{k}/{n}")).collect();
            json!({ "shard": shards }).to_string()
        }
        Listing::Matrix => {
            let include: Vec<_> = config
                .stacks
                .iter()
                .map(|spec| json!({ "stack": path(spec), "name": spec.name }))
                .collect();
            json!({ "include": include }).to_string()
        }
        Listing::Json => {
            let stacks: Vec<_> = config
                .stacks
                .iter()
                .map(|spec| {
                    let mut entry = json!({
                        "path": path(spec),
                        "name": spec.name,
                        "workspace": spec.workspace,
                        "var_files": spec.var_files,
                        "vars": spec.vars.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                    });
                    if let Some(cfn) = &spec.cloudformation {
                        entry["cloudformation"] = json!({
                            "stack": cfn.stack_name,
                            "region": cfn.region,
                            "profile": cfn.profile,
                            "template": cfn.template,
                        });
                    }
                    entry
                })
                .collect();
            // Pretty, as `serde_json::to_string_pretty` writes it, which cannot fail for a
            // value.
            format!("{:#}", json!({ "stacks": stacks }))
        }
        Listing::Paths => config
            .stacks
            .iter()
            .map(|spec| match &spec.cloudformation {
                Some(cfn) => cloudformation_line(spec, cfn),
                None => path(spec),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `cloudformation/eu-west-1/app  cloudformation=app region=eu-west-1 profile=ci
/// template=cfn/app.yaml`: the key reports and ignore rules use, then the settings given (a
/// `name` only when it is not the key).
fn cloudformation_line(spec: &StackSpec, cfn: &CloudFormationSpec) -> String {
    let key = spec.path.display().to_string();
    let template = cfn.template.as_ref().map(|t| t.display().to_string());
    let name = (spec.name != key).then_some(&spec.name);
    let settings = [
        ("name", name),
        ("cloudformation", Some(&cfn.stack_name)),
        ("region", cfn.region.as_ref()),
        ("profile", cfn.profile.as_ref()),
        ("template", template.as_ref()),
    ];
    let mut line = key;
    line.push(' ');
    for (setting, value) in settings {
        let Some(value) = value else { continue };
        // Quoted like TOML when it would not read as one word.
        let plain = !value.is_empty()
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\');
        if plain {
            line.push_str(&format!(" {setting}={value}"));
        } else {
            line.push_str(&format!(" {setting}=\"{}\"", value.escape_debug()));
        }
    }
    line
}
