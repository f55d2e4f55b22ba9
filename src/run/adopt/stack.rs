//! One stack's adoption, in order: the latest scan record, the adopt rules' selection, the
//! edit, the proof (a targeted plan of the edited code in a mirror of the stack; values it
//! still changes are dropped and the rest edited and planned again), then the delivery and
//! one record per rule.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::adopt::edit::{edit, Edits, Outcome, Sources};
use crate::adopt::proof::{judge, summary, Claim, Mirror};
use crate::adopt::select::{select, Candidate};
use crate::audit::record::{
    AdoptedAttribute, AdoptedFile, AdoptionOutcome, AdoptionProof, AdoptionRecord, AdoptionRefusal,
    RecordRef, RuleRef,
};
use crate::audit::recorder::{self, RecordError, RecordTarget, Subject};
use crate::audit::store::sha256_hex as sha256;
use crate::audit::sync::Placement;
use crate::config::remediate::Action as RuleAction;
use crate::config::Config;
use crate::drift::Failure;
use crate::run::ignore::stack_path;
use crate::run::latest::{latest_scan, Latest};
use crate::run::pipeline::Line;
use crate::run::publish::AdoptionPulls;
use crate::scan::ScanOptions;
use crate::terraform::{PlanInputs, Terraform};

use super::{deliver, AdoptSettings, Delivery, RuleAdopted, StackAdoption};

pub(super) struct StackRun<'a> {
    pub settings: &'a AdoptSettings,
    pub config: &'a Config,
    pub options: &'a ScanOptions,
    pub pulls: Option<&'a AdoptionPulls<'a>>,
    pub not_recorded: Vec<RecordError>,
}

/// The edit the proof plan accepted.
pub(super) struct Proven {
    /// Each kept candidate, its rule's index, and where its value is written.
    pub candidates: Vec<(usize, Candidate, PathBuf, usize)>,
    pub edits: Edits,
    pub proof: AdoptionProof,
}

/// Where the stack is in its repository, for the paths records and diffs name.
pub(super) struct Place {
    /// The stack directory relative to the repository root (`.` at the root).
    pub stack: String,
}

impl Place {
    fn of(dir: &Path) -> Place {
        let stack = crate::audit::discover_repository(dir)
            .ok()
            .and_then(|repo| repo.workdir().map(|w| recorder::stack_path(w, dir)))
            .unwrap_or_else(|| ".".to_owned());
        Place { stack }
    }

    /// A stack file's path from the repository root, `/`-separated.
    pub fn file(&self, name: &Path) -> String {
        let name = name.to_string_lossy().replace('\\', "/");
        match self.stack.as_str() {
            "." => name,
            stack => format!("{stack}/{name}"),
        }
    }
}

impl StackRun<'_> {
    pub fn adopt(&mut self, show: &mut dyn FnMut(Line<'_>)) -> StackAdoption {
        let (terraform, stack) = self.options.terraform();
        let mut result = StackAdoption::new(stack);
        if let Err(message) = self.run(&terraform, &mut result, show) {
            result.error = Some(message);
        }
        result
    }

    fn run(
        &mut self,
        terraform: &Terraform,
        result: &mut StackAdoption,
        show: &mut dyn FnMut(Line<'_>),
    ) -> Result<(), String> {
        let settings = self.settings;
        let dir = &self.options.dir;
        let latest = latest_scan(
            dir,
            settings.log_repo.as_deref(),
            &settings.branch,
            &result.stack,
            "adoption",
        )?;
        let entry = latest.entry();
        result.acts_on = Some(RecordRef::of(entry));
        let rules_stack = stack_path(&self.config.root, dir);
        let taken = select(
            &self.config.remediate,
            &settings.today,
            &rules_stack,
            &entry.record.resources,
        );
        result.rules = taken
            .iter()
            .map(|t| RuleAdopted {
                rule: RuleRef::of(self.config, t.rule),
                adopted: Vec::new(),
                refusals: t.refusals.clone(),
            })
            .collect();
        let candidates: Vec<(usize, Candidate)> = taken
            .into_iter()
            .enumerate()
            .flat_map(|(rule, t)| t.candidates.into_iter().map(move |c| (rule, c)))
            .collect();
        // Where the records go is checked before anything is changed.
        let target = match (&settings.audit, settings.delivery) {
            (Some(audit), Delivery::Write | Delivery::PullRequest) => Some(
                RecordTarget::locate(dir, &result.stack.workspace, audit, Subject::Adoption)
                    .and_then(|t| t.check(audit).map(|()| t))
                    .map_err(|err| {
                        format!("the adoption could not be recorded, so nothing was changed: {err}")
                    })?,
            ),
            _ => None,
        };
        let place = Place::of(dir);
        if candidates.is_empty() {
            if let (Some(pulls), Some(target)) = (self.pulls, &target) {
                self.close_stale(pulls, target, &place, &latest, result, show)?;
            }
            if result.refusals().next().is_some() && target.is_some() {
                result.outcome = Some(AdoptionOutcome::Refused);
                self.record(target.as_ref(), None, result, show);
            }
            return Ok(());
        }
        if self.options.init {
            show(Line::Note(&format!("{}: terraform init", result.stack.dir)));
            terraform
                .init()
                .map_err(|e| format!("terraform init failed, so nothing is adopted: {e}"))?;
        }
        let sources = Sources::read(dir).map_err(|e| e.to_string())?;
        let tofu = crate::adopt::shadow::tofu_files(dir)
            .map_err(|e| format!("{}: cannot be read ({e})", dir.display()))?;
        let candidates = self.unshadowed(&sources, &tofu, candidates, result);
        let Some(proven) = self.prove(&sources, candidates, result, show)? else {
            if target.is_some() {
                result.outcome = Some(AdoptionOutcome::Refused);
                self.record(target.as_ref(), None, result, show);
            }
            return Ok(());
        };
        for (rule, candidate, file, line) in &proven.candidates {
            for instance in &candidate.instances {
                result.rules[*rule].adopted.push(AdoptedAttribute {
                    address: instance.address.clone(),
                    path: candidate.wanted.path.clone(),
                    before: instance.before.clone(),
                    after: instance.after.clone(),
                    file: place.file(file),
                    line: *line,
                });
            }
        }
        let changes: Vec<(String, &str, &str)> = proven
            .edits
            .files
            .iter()
            .map(|(name, after)| {
                let before = sources
                    .files
                    .iter()
                    .find(|f| &f.path == name)
                    .map_or("", |f| f.text.as_str());
                (place.file(name), before, after.as_str())
            })
            .collect();
        result.files = changes
            .iter()
            .map(|(path, before, after)| AdoptedFile {
                path: path.clone(),
                before_sha256: sha256(before.as_bytes()),
                after_sha256: sha256(after.as_bytes()),
            })
            .collect();
        let file_changes: Vec<crate::adopt::patch::FileChange<'_>> = changes
            .iter()
            .map(|(path, before, after)| crate::adopt::patch::FileChange {
                path,
                before,
                after,
            })
            .collect();
        result.patch = Some(crate::adopt::patch::unified(&file_changes));
        result.proof = Some(proven.proof.clone());
        let failure = match (settings.delivery, &target) {
            (Delivery::Patch, _) | (_, None) => return Ok(()),
            (Delivery::Write, Some(_)) => {
                deliver::write(dir, &sources, &proven.edits)?;
                result.outcome = Some(AdoptionOutcome::Written);
                None
            }
            (Delivery::PullRequest, Some(target)) => {
                let pulls = self.pulls.ok_or("no GitHub API to open the pull request")?;
                let request = deliver::PullRequest {
                    dir,
                    place: &place,
                    pulls,
                    target,
                    settings,
                    latest: &latest,
                    edits: &proven.edits,
                    sources: &sources,
                };
                match deliver::propose(&request, result) {
                    Ok(link) => {
                        result.pull_request = Some(link);
                        result.outcome = Some(AdoptionOutcome::Proposed);
                        None
                    }
                    Err(failure) => {
                        result.outcome = Some(AdoptionOutcome::Failed);
                        Some(*failure)
                    }
                }
            }
        };
        let message = failure.as_ref().map(|f| f.message.clone());
        self.record(target.as_ref(), failure, result, show);
        match message {
            Some(message) => Err(message),
            None => Ok(()),
        }
    }

    /// The candidates whose block no override file touches, in a directory without OpenTofu
    /// files; the others refused.
    fn unshadowed(
        &self,
        sources: &Sources,
        tofu: &[String],
        candidates: Vec<(usize, Candidate)>,
        result: &mut StackAdoption,
    ) -> Vec<(usize, Candidate)> {
        let mut kept = Vec::new();
        for (rule, candidate) in candidates {
            let wanted = &candidate.wanted;
            let reason = match tofu.first() {
                Some(file) => Some(format!(
                    "the stack directory has OpenTofu files ({file}{}), which OpenTofu reads in \
                     place of the .tf files of the same name: only .tf files are edited, so \
                     nothing is edited here",
                    if tofu.len() > 1 { ", ..." } else { "" }
                )),
                None => {
                    crate::adopt::shadow::overridden(sources, &wanted.resource_type, &wanted.name)
                }
            };
            match reason {
                Some(reason) => refuse(result, rule, &candidate, &reason),
                None => kept.push((rule, candidate)),
            }
        }
        kept
    }

    /// Edits, then proves; what the edit or the proof refuses goes to the rule's refusals,
    /// and the rest is edited and proven again. `None`: nothing was left.
    fn prove(
        &self,
        sources: &Sources,
        mut candidates: Vec<(usize, Candidate)>,
        result: &mut StackAdoption,
        show: &mut dyn FnMut(Line<'_>),
    ) -> Result<Option<Proven>, String> {
        loop {
            if candidates.is_empty() {
                return Ok(None);
            }
            if crate::interrupt::requested() {
                return Err("stopped before the proof plan; nothing was changed".into());
            }
            let wanted: Vec<_> = candidates.iter().map(|(_, c)| c.wanted.clone()).collect();
            let edits = edit(sources, &wanted);
            let mut kept = Vec::new();
            let mut refused = false;
            for ((rule, candidate), outcome) in candidates.into_iter().zip(&edits.outcomes) {
                match outcome {
                    Outcome::Edited { file, line } => {
                        kept.push((rule, candidate, file.clone(), *line))
                    }
                    Outcome::Refused(why) => {
                        refused = true;
                        refuse(result, rule, &candidate, &why.to_string());
                    }
                }
            }
            if refused {
                // The texts hold only kept values, but planned again from the start anyway.
                candidates = kept.into_iter().map(|(r, c, _, _)| (r, c)).collect();
                continue;
            }
            show(Line::Note(&format!(
                "{}: planning the edited configuration to prove it matches the real resources",
                result.stack.dir
            )));
            let (targets, plan) = self.proof_plan(&edits, &kept)?;
            let claims: Vec<Claim<'_>> = kept
                .iter()
                .map(|(_, c, _, _)| Claim {
                    target: &c.target,
                    path: &c.wanted.path,
                })
                .collect();
            let failed = judge(&plan.plan, &claims)
                .map_err(|why| format!("the proof plan proves nothing: {why}"))?;
            if failed.is_empty() {
                let proof = AdoptionProof {
                    targets,
                    summary: format!("{}; nothing adopted changes", summary(&plan.plan)),
                    show_sha256: plan.show_sha256.clone(),
                };
                return Ok(Some(Proven {
                    candidates: kept,
                    edits,
                    proof,
                }));
            }
            candidates = Vec::new();
            for (index, (rule, candidate, _, _)) in kept.into_iter().enumerate() {
                match failed.get(&index) {
                    Some(why) => refuse(result, rule, &candidate, why),
                    None => candidates.push((rule, candidate)),
                }
            }
        }
    }

    /// The targeted plan of the edited configuration, in a mirror of the stack directory.
    fn proof_plan(
        &self,
        edits: &Edits,
        kept: &[(usize, Candidate, PathBuf, usize)],
    ) -> Result<(Vec<String>, crate::terraform::saved_plan::RemediationPlan), String> {
        let mirror = Mirror::new(&self.options.dir, &edits.files).map_err(|e| {
            format!(
                "the edited configuration could not be laid out beside {} for the proof plan: {e}",
                self.options.dir.display()
            )
        })?;
        let terraform = Terraform::new(
            &self.options.terraform_bin,
            mirror.path(),
            self.options.workspace.clone(),
        )
        .with_timeouts(self.options.timeouts);
        let targets: Vec<String> = kept
            .iter()
            .map(|(_, c, _, _)| c.target.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // The user's extra plan arguments never reach the proof.
        let inputs = PlanInputs {
            extra_args: Vec::new(),
            ..self.options.inputs.clone()
        };
        let plan = terraform
            .plan_remediation(&targets, &inputs, &mut |_| {})
            .map_err(|e| {
                format!(
                    "the proof plan of the edited configuration failed, so nothing is adopted: {e}"
                )
            })?;
        Ok((targets, plan))
    }

    /// No drift is left to adopt: the open pull request of an earlier adoption is closed
    /// with a note, and that is recorded.
    fn close_stale(
        &mut self,
        pulls: &AdoptionPulls<'_>,
        target: &RecordTarget,
        place: &Place,
        latest: &Latest,
        result: &mut StackAdoption,
        show: &mut dyn FnMut(Line<'_>),
    ) -> Result<(), String> {
        let branch = super::branch_name(&place.stack, &result.stack.workspace);
        let seq = latest.entry().record.seq;
        let note = format!(
            "driftlog closed this pull request: the latest scan (record {seq} of the audit log) \
             shows no drift left for it to adopt, so the drift is gone another way."
        );
        let closed = pulls
            .close(&branch, &note)
            .map_err(|e| format!("closing the adoption pull request of {branch}: {e}"))?;
        let Some(closed) = closed else {
            return Ok(());
        };
        show(Line::Note(&format!(
            "{}: closed pull request #{} ({}): no drift is left to adopt",
            result.stack.dir, closed.number, closed.url
        )));
        let rule = self
            .config
            .remediate
            .iter()
            .find(|r| r.action == RuleAction::Adopt && r.is_active(&self.settings.today))
            .or_else(|| {
                self.config
                    .remediate
                    .iter()
                    .find(|r| r.action == RuleAction::Adopt)
            })
            .ok_or("no adopt rule")?;
        result.rules = vec![RuleAdopted {
            rule: RuleRef::of(self.config, rule),
            adopted: Vec::new(),
            refusals: Vec::new(),
        }];
        result.pull_request = Some(crate::audit::record::PullRequestLink {
            number: closed.number,
            url: closed.url,
            branch,
            commit: None,
        });
        result.outcome = Some(AdoptionOutcome::Closed);
        self.record(Some(target), None, result, show);
        Ok(())
    }

    /// One record per rule of the stack's outcome.
    fn record(
        &mut self,
        target: Option<&RecordTarget>,
        failure: Option<Failure>,
        result: &mut StackAdoption,
        show: &mut dyn FnMut(Line<'_>),
    ) {
        let (Some(target), Some(audit), Some(outcome), Some(acts_on)) = (
            target,
            &self.settings.audit,
            result.outcome,
            result.acts_on.clone(),
        ) else {
            return;
        };
        for rule in &result.rules {
            // A rule whose every value was refused says so on its own, whatever became of
            // the others; a rule that took nothing this run says nothing.
            let (outcome, edits) = match outcome {
                AdoptionOutcome::Closed => (outcome, false),
                _ if !rule.adopted.is_empty() => (outcome, outcome != AdoptionOutcome::Refused),
                _ if !rule.refusals.is_empty() => (AdoptionOutcome::Refused, false),
                _ => continue,
            };
            let failure = failure
                .clone()
                .filter(|_| outcome == AdoptionOutcome::Failed);
            let record = AdoptionRecord {
                rule: rule.rule.clone(),
                acts_on: acts_on.clone(),
                outcome,
                adopted: rule.adopted.clone(),
                refusals: rule.refusals.clone(),
                files: match edits {
                    true => result.files.clone(),
                    false => Vec::new(),
                },
                diff_sha256: match edits {
                    true => result.patch.as_deref().map(|p| sha256(p.as_bytes())),
                    false => None,
                },
                proof: match edits {
                    true => result.proof.clone(),
                    false => None,
                },
                pull_request: result.pull_request.clone().filter(|_| {
                    matches!(outcome, AdoptionOutcome::Proposed | AdoptionOutcome::Closed)
                }),
            };
            let recorded = recorder::record_adoption(target, &record, failure, audit);
            for line in crate::run::record::result_lines(&audit.branch, &recorded) {
                show(Line::Text(&format!("{line}\n")));
            }
            match recorded {
                Ok(outcome) => {
                    if let Some(Placement::Branch(appended)) = outcome.placed.first() {
                        result.records.push(RecordRef::from(appended));
                    }
                }
                Err(err) => self.not_recorded.push(err),
            }
        }
    }
}

fn refuse(result: &mut StackAdoption, rule: usize, candidate: &Candidate, reason: &str) {
    result.rules[rule]
        .refusals
        .extend(candidate.instances.iter().map(|i| AdoptionRefusal {
            address: i.address.clone(),
            path: Some(candidate.wanted.path.clone()),
            reason: reason.to_owned(),
        }));
}
