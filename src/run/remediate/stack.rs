//! One stack's remediation, in order: the latest scan record, the rules' selection, the
//! re-check against a fresh scan, then per rule a targeted plan judged by the guard and (with
//! `apply`) that saved plan applied, one scan to verify, and a record per rule. A resource
//! stops at its first refusal; the others go on.

use std::collections::BTreeSet;

use crate::audit::reader::LogEntry;
use crate::audit::record::AppliedRun;
use crate::audit::record::{
    PlannedChange, RecordRef, Refusal, RemediationOutcome, RemediationRecord, RemediationRun,
    RuleRef,
};
use crate::audit::recorder::{self, RecordError, RecordTarget, Subject};
use crate::audit::sync::{Outcome, Placement};
use crate::config::Config;
use crate::drift::fingerprint::CountedDrift;
use crate::drift::{
    Action, AttributeChange, DriftClass, DriftedResource, Evidence, Failure, ScanReport, Status,
    Tool,
};
use crate::remediate::guard::{guard, unapplied_values, ApprovedChange, Revert};
use crate::remediate::select::select;
use crate::run::ignore::{stack_path, IgnoreRules};
use crate::run::pipeline::Line;
use crate::scan::{self, ScanOptions};
use crate::terraform::apply::ApplyMessage;
use crate::terraform::saved_plan::{SavedApplyOutcome, SavedPlanError};
use crate::terraform::show::saved::{PlannedAction, SavedPlan};
use crate::terraform::{PlanInputs, Terraform};

use super::{RemediateSettings, RuleResult, StackResult};

/// A rule's attempt, with what its record needs beyond the result.
struct Attempt {
    result: RuleResult,
    applied: Option<AppliedRun>,
    evidence: Evidence,
    tool: Option<Tool>,
    /// The failure's kind, when it failed (its message is in `result.failure`).
    failure_kind: Option<&'static str>,
    /// What the approved plan reverts, for the verifying scan.
    reverted: BTreeSet<String>,
}

pub(super) struct StackRun<'a> {
    settings: &'a RemediateSettings,
    config: &'a Config,
    options: &'a ScanOptions,
    budget: &'a mut usize,
    pub not_recorded: Vec<RecordError>,
}

impl<'a> StackRun<'a> {
    pub fn new(
        settings: &'a RemediateSettings,
        config: &'a Config,
        options: &'a ScanOptions,
        budget: &'a mut usize,
    ) -> StackRun<'a> {
        StackRun {
            settings,
            config,
            options,
            budget,
            not_recorded: Vec::new(),
        }
    }

    pub fn remediate(&mut self, show: &mut dyn FnMut(Line<'_>)) -> StackResult {
        let (terraform, stack) = self.options.terraform();
        let mut result = StackResult::new(stack);
        if let Err(message) = self.run(&terraform, &mut result, show) {
            result.error = Some(message);
        }
        result
    }

    fn run(
        &mut self,
        terraform: &Terraform,
        result: &mut StackResult,
        show: &mut dyn FnMut(Line<'_>),
    ) -> Result<(), String> {
        let settings = self.settings;
        let dir = &self.options.dir;
        let latest = crate::run::latest::latest_scan(
            dir,
            settings.log_repo.as_deref(),
            &settings.branch,
            &result.stack,
            "remediation",
        )?;
        let latest = latest.entry();
        let seq = latest.record.seq;
        result.acts_on = Some(RecordRef::of(latest));
        let rules_stack = stack_path(&self.config.root, dir);
        let selection = select(
            &self.config.remediate,
            &settings.today,
            &rules_stack,
            &latest.record.resources,
        );
        result.unmatched = selection.unmatched.clone();
        if selection.rules.is_empty() {
            return Ok(());
        }
        // Where the records go is checked before anything is changed.
        let target = match (&settings.audit, settings.apply) {
            (Some(audit), true) => Some(
                RecordTarget::locate(dir, &result.stack.workspace, audit, Subject::Remediation)
                    .and_then(|t| t.check(audit).map(|()| t))
                    .map_err(|err| {
                        format!(
                            "the remediation could not be recorded, so nothing was applied: {err}"
                        )
                    })?,
            ),
            _ => None,
        };

        show(Line::Note(&format!(
            "{}: re-checking the drift of record {seq} with a fresh scan",
            result.stack.dir
        )));
        let rules = IgnoreRules::new(self.config, settings.today.clone());
        let fresh = self.scan(&rules);
        if fresh.status == Status::Failed {
            return Err(format!(
                "the re-check scan failed, so nothing was reverted: {}",
                fresh.failure.as_ref().map_or("", |f| f.message.as_str())
            ));
        }
        let recorded = CountedDrift::of(&latest.record.resources);
        let now = CountedDrift::of(&fresh.resources);
        let pending_moves = pending_moves(&fresh);

        let mut attempts = Vec::new();
        for selected in &selection.rules {
            let mut attempt = Attempt {
                result: RuleResult {
                    rule: RuleRef::of(self.config, selected.rule),
                    changes: Vec::new(),
                    plan_sha256: None,
                    refusals: Vec::new(),
                    outcome: None,
                    failure: None,
                    record: None,
                },
                applied: None,
                evidence: Evidence::default(),
                tool: None,
                failure_kind: None,
                reverted: BTreeSet::new(),
            };
            let refusals = &mut attempt.result.refusals;
            let mut reverts: Vec<Revert> = Vec::new();
            for revert in &selected.reverts {
                let only: BTreeSet<&str> = [revert.address.as_str()].into();
                let (was, is) = (recorded.of_addresses(&only), now.of_addresses(&only));
                if selected.over_limit() {
                    refusals.push(refuse(
                        &revert.address,
                        format!(
                            "rule {} selects {} resources, more than its max_resources = {}; it \
                             reverts none of them",
                            attempt.result.rule.name,
                            selected.reverts.len(),
                            selected.rule.max_resources
                        ),
                    ));
                } else if let Some(moves) = &pending_moves {
                    refusals.push(refuse(
                        &revert.address,
                        format!(
                            "the configuration moves resources and the moves were never applied \
                             ({moves}): a targeted plan cannot leave them out, and applying them \
                             is not a revert; apply the refactor first, then remediate"
                        ),
                    ));
                } else if was != is {
                    refusals.push(refuse(
                        &revert.address,
                        format!(
                            "drift changed since record {seq}: {}",
                            was.differences(&is).join("; ")
                        ),
                    ));
                } else if *self.budget == 0 {
                    refusals.push(refuse(
                        &revert.address,
                        format!(
                            "the run's --max-resources ({}) is used up",
                            settings.max_resources
                        ),
                    ));
                } else {
                    *self.budget -= 1;
                    reverts.push(revert.clone());
                }
            }
            self.attempt(
                terraform,
                reverts,
                &latest.record.resources,
                &mut attempt,
                show,
            );
            attempts.push(attempt);
        }

        if attempts.iter().any(|a| a.applied.is_some()) {
            self.verify(&rules, &mut attempts, result, show);
        }
        if let (Some(target), Some(audit)) = (&target, &settings.audit) {
            for attempt in &mut attempts {
                let run = record_of(attempt, latest, result.verified_by.clone());
                let recorded = recorder::record_remediation(target, &run, audit);
                attempt.result.record = self.landed(&audit.branch, recorded, show);
            }
        }
        result.rules = attempts.into_iter().map(|a| a.result).collect();
        Ok(())
    }

    /// Says where a record went (or why it did not), keeps a failure for the run's exit
    /// code, and returns the record's place when it is on the branch.
    fn landed(
        &mut self,
        branch: &str,
        recorded: Result<Outcome, RecordError>,
        show: &mut dyn FnMut(Line<'_>),
    ) -> Option<RecordRef> {
        shown_lines(show, super::super::record::result_lines(branch, &recorded));
        match recorded {
            Ok(outcome) => on_branch(&outcome),
            Err(err) => {
                self.not_recorded.push(err);
                None
            }
        }
    }

    fn scan(&self, rules: &IgnoreRules<'_>) -> ScanReport {
        let mut report = scan::scan(self.options, &mut |_| {});
        rules.apply(&mut report, &self.options.dir);
        report
    }

    /// Plans `reverts`, guards the plan, and (with `apply`) applies it.
    fn attempt(
        &self,
        terraform: &Terraform,
        reverts: Vec<Revert>,
        recorded: &[DriftedResource],
        attempt: &mut Attempt,
        show: &mut dyn FnMut(Line<'_>),
    ) {
        let refusals = &mut attempt.result.refusals;
        let planned = match self.plan_guarded(terraform, reverts, recorded, refusals) {
            Ok(planned) => planned,
            Err(err) => {
                let interrupted = err.interrupted();
                fail(
                    attempt,
                    interrupted,
                    match &err {
                        SavedPlanError::Terraform(e) => e.kind(),
                        _ => "remediation_plan_failed",
                    },
                    format!("the remediation plan failed: {err}"),
                );
                return;
            }
        };
        let Some((plan, approved)) = planned else {
            if self.settings.apply {
                attempt.result.outcome = Some(RemediationOutcome::Refused);
            }
            return;
        };
        attempt.result.changes = planned_changes(&plan.plan, &approved);
        attempt.result.plan_sha256 = Some(plan.plan_sha256.clone());
        attempt.evidence.plan_stream_sha256 = Some(plan.run.stream_sha256.clone());
        attempt.evidence.show_json_sha256 = Some(plan.show_sha256.clone());
        attempt.tool = plan.run.tool.clone();
        attempt.reverted = approved.iter().map(|a| a.address.clone()).collect();
        if !self.settings.apply {
            return;
        }
        if crate::interrupt::requested() {
            fail(
                attempt,
                true,
                "interrupted",
                "a stop was asked for before the apply; nothing was applied".into(),
            );
            return;
        }
        let mut on_message = |message: ApplyMessage<'_>| match message {
            ApplyMessage::Progress(text) | ApplyMessage::Text(text) => {
                show(Line::Text(&format!("{text}\n")))
            }
            ApplyMessage::Diagnostic(diagnostic) => {
                show(Line::Text(&crate::report::apply::diagnostic(diagnostic)))
            }
        };
        match terraform.apply_saved_plan(plan.file, &mut on_message) {
            Ok(saved) => {
                let run = &saved.run;
                attempt.applied = Some(AppliedRun {
                    failure: run.failure(),
                    tool: run.tool.clone(),
                    stream_sha256: run.stream_sha256.clone(),
                    outcome: run.outcome.clone(),
                });
                match saved.outcome {
                    SavedApplyOutcome::Applied => {}
                    SavedApplyOutcome::Interrupted => fail(attempt, true, "interrupted", "a stop was asked for while the saved plan was applied: the revert may be partial".into()),
                    SavedApplyOutcome::Failed => fail(attempt, false, "apply_failed", run.failure().map_or_else(|| "terraform apply of the saved plan failed".to_owned(), |f| f.message)),
                }
            }
            Err(err) => {
                let interrupted = err.ends_the_scan();
                fail(
                    attempt,
                    interrupted,
                    err.kind(),
                    format!("terraform apply did not run: {err}"),
                );
            }
        }
    }

    /// A plan of `reverts` the guard approves; the refused resources dropped and the rest
    /// planned again, as long as each refusal names one of them. `None` when nothing is left.
    fn plan_guarded(
        &self,
        terraform: &Terraform,
        mut targets: Vec<Revert>,
        recorded: &[DriftedResource],
        refusals: &mut Vec<Refusal>,
    ) -> Result<
        Option<(
            crate::terraform::saved_plan::RemediationPlan,
            Vec<ApprovedChange>,
        )>,
        SavedPlanError,
    > {
        // The user's extra plan arguments never reach a remediation's plan.
        let inputs = PlanInputs {
            extra_args: Vec::new(),
            ..self.options.inputs.clone()
        };
        if !targets.is_empty() {
            // Compared by the plan itself, not by values: a sensitive one cannot hide it.
            let addresses: Vec<String> = targets.iter().map(|t| t.address.clone()).collect();
            for change in terraform.unapplied_code(&addresses, &inputs)? {
                let refusal = crate::remediate::guard::Refusal::UnappliedCode {
                    paths: change.changed_paths().map(str::to_owned).collect(),
                    address: change.address,
                };
                let address = refusal.subject().unwrap_or_default().to_owned();
                refusals.push(refuse(&address, refusal.to_string()));
            }
            targets.retain(|t| !refusals.iter().any(|r| r.address == t.address));
        }
        while !targets.is_empty() {
            let addresses: Vec<String> = targets.iter().map(|t| t.address.clone()).collect();
            let plan = terraform.plan_remediation(&addresses, &inputs, &mut |_| {})?;
            let found = match guard(&targets, &plan.plan) {
                Ok(approved) => {
                    let found = unapplied_values(recorded, &approved, &plan.plan);
                    if found.is_empty() {
                        return Ok(Some((plan, approved)));
                    }
                    found
                }
                Err(found) => found,
            };
            let of_target = |r: &crate::remediate::guard::Refusal| {
                r.subject()
                    .is_some_and(|s| addresses.iter().any(|a| a == s))
            };
            if !found.iter().all(of_target) {
                // Not one resource's refusal (the plan errored, an output, another resource):
                // nothing of this plan may be applied.
                let reason: Vec<String> = found.iter().map(ToString::to_string).collect();
                refusals.extend(
                    targets
                        .iter()
                        .map(|t| refuse(&t.address, reason.join("; "))),
                );
                return Ok(None);
            }
            for refusal in &found {
                let address = refusal.subject().unwrap_or_default();
                if !refusals.iter().any(|r| r.address == address) {
                    refusals.push(refuse(address, refusal.to_string()));
                }
            }
            targets.retain(|t| !refusals.iter().any(|r| r.address == t.address));
        }
        Ok(None)
    }

    /// Scans again, records the scan, and settles each applied attempt's outcome.
    fn verify(
        &mut self,
        rules: &IgnoreRules<'_>,
        attempts: &mut [Attempt],
        result: &mut StackResult,
        show: &mut dyn FnMut(Line<'_>),
    ) {
        show(Line::Note(&format!(
            "{}: scanning again to verify",
            result.stack.dir
        )));
        let report = self.scan(rules);
        if let Some(audit) = &self.settings.audit {
            let recorded = recorder::record_scan(&report, &self.options.dir, audit);
            result.verified_by = self.landed(&audit.branch, recorded, show);
        }
        let now = CountedDrift::of(&report.resources);
        result.clean_after = report.status == Status::Clean;
        for attempt in attempts.iter_mut().filter(|a| a.applied.is_some()) {
            if attempt.result.outcome.is_some() {
                continue;
            }
            let reverted: BTreeSet<&str> = attempt.reverted.iter().map(String::as_str).collect();
            let left = now.of_addresses(&reverted);
            if report.status == Status::Failed {
                let why = report.failure.as_ref().map_or("", |f| f.message.as_str());
                fail(
                    attempt,
                    false,
                    "verify_scan_failed",
                    format!("the saved plan was applied but the scan after it failed: {why}"),
                );
            } else if !left.is_empty() {
                let lines = CountedDrift::default().differences(&left);
                fail(
                    attempt,
                    false,
                    "not_reverted",
                    format!(
                        "the scan after the apply still shows drift: {}",
                        lines.join("; ")
                    ),
                );
            } else if result.verified_by.is_none() {
                fail(attempt, false, "verify_not_recorded", "the saved plan was applied and the scan after it was clean, but that scan's record did not reach the audit branch, so the revert is not verified in the log".into());
            } else {
                attempt.result.outcome = Some(RemediationOutcome::Reverted);
            }
        }
    }
}

/// The moves in code that were never applied, as `a -> b, ...`, when there are any.
fn pending_moves(report: &ScanReport) -> Option<String> {
    // A moved resource that also drifted is listed with its drift, not as a refactor.
    let drifted = report.resources.iter().filter_map(|r| {
        r.previous_address
            .as_ref()
            .map(|from| format!("{from} -> {}", r.address))
    });
    let moves: Vec<String> = report
        .refactors
        .iter()
        .map(|r| match &r.previous_address {
            Some(from) => format!("{from} -> {}", r.address),
            None => format!("{} ({})", r.address, r.action),
        })
        .chain(drifted)
        .collect();
    (!moves.is_empty()).then(|| moves.join(", "))
}

fn refuse(address: &str, reason: String) -> Refusal {
    Refusal {
        address: address.to_owned(),
        reason,
    }
}

fn fail(attempt: &mut Attempt, interrupted: bool, kind: &'static str, message: String) {
    attempt.result.outcome = Some(match interrupted {
        true => RemediationOutcome::Interrupted,
        false => RemediationOutcome::Failed,
    });
    attempt.result.failure = Some(message);
    attempt.failure_kind = Some(kind);
}

fn shown_lines(show: &mut dyn FnMut(Line<'_>), lines: Vec<String>) {
    for line in lines {
        show(Line::Text(&format!("{line}\n")));
    }
}

/// The record's place, when it is on the branch.
fn on_branch(outcome: &Outcome) -> Option<RecordRef> {
    match outcome.placed.first() {
        Some(Placement::Branch(appended)) => Some(RecordRef::from(appended)),
        _ => None,
    }
}

/// What the approved changes of `plan` set, as records hold it (already redacted).
fn planned_changes(plan: &SavedPlan, approved: &[ApprovedChange]) -> Vec<PlannedChange> {
    approved
        .iter()
        .filter_map(|a| {
            plan.changes
                .iter()
                .find(|c| c.address == a.address && c.deposed.is_none())
        })
        .map(|change| PlannedChange {
            address: change.address.clone(),
            action: match change.action {
                PlannedAction::Create => Action::Create,
                _ => Action::Update,
            },
            attributes: change
                .attributes
                .iter()
                .map(|a| AttributeChange {
                    path: a.path.clone(),
                    before: a.before.clone(),
                    after: a.after.clone(),
                    class: DriftClass::Managed,
                    ignored: None,
                })
                .collect(),
        })
        .collect()
}

/// The record of `attempt`, acting on `latest`.
fn record_of(
    attempt: &Attempt,
    latest: &LogEntry,
    verified_by: Option<RecordRef>,
) -> RemediationRun {
    let outcome = attempt
        .result
        .outcome
        .unwrap_or(RemediationOutcome::Refused);
    let mut run = RemediationRun::new(RemediationRecord {
        rule: attempt.result.rule.clone(),
        acts_on: RecordRef::of(latest),
        plan_sha256: attempt.result.plan_sha256.clone(),
        changes: attempt.result.changes.clone(),
        outcome,
        refusals: attempt.result.refusals.clone(),
        // Only an attempt that applied something was verified by the scan after it.
        verified_by: verified_by.filter(|_| attempt.applied.is_some()),
    });
    run.evidence = attempt.evidence.clone();
    run.tool = attempt.tool.clone();
    if let (Some(kind), Some(message)) = (attempt.failure_kind, &attempt.result.failure) {
        run.failure = Some(Failure::new(kind, message.clone()));
    }
    match &attempt.applied {
        Some(applied) => run.with_apply(applied),
        None => run,
    }
}
