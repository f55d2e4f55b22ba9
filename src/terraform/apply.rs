//! `terraform apply -json`: the arguments it needs, running it, and what its stream says it
//! changed.
//!
//! An apply changes infrastructure, so this module never kills one: interrupts reach it as
//! one SIGINT (see [`crate::interrupt`]) and terraform stops gracefully; a line that is not
//! JSON is passed through as text instead of ending the run.

use std::ffi::{OsStr, OsString};

use serde_json::Value;

use super::process::{self, Line, StderrTail};
use super::state::StateValues;
use super::{describe_failure, RawText, Terraform, TerraformError};
use crate::audit::record::{AppliedChange, ApplyOutcome, ApplySummary, ChangeOutcome};
use crate::drift::analysis::{self, Sides};
use crate::drift::{Action, Diagnostic, Failure, Severity};
use crate::interrupt;

const PURPOSE: &str = "terraform apply";

/// Flags of `terraform apply` that take a value, which may be the next argument
/// (`-var NAME=VALUE`). Any other flag is a boolean one (`-auto-approve`, `-destroy`).
const VALUE_FLAGS: &[&str] = &[
    "backup",
    "exclude",
    "generate-config-out",
    "invoke",
    "lock-timeout",
    "parallelism",
    "replace",
    "state",
    "state-out",
    "target",
    "var",
    "var-file",
];

/// Why the arguments cannot make a non-interactive `terraform apply -json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyArgsError {
    #[error(
        "terraform apply needs approval, and driftlog cannot ask for it (terraform writes its \
         machine-readable output only for non-interactive applies): pass -auto-approve \
         (`driftlog apply DIR -- -auto-approve`), or a plan file saved by `terraform plan \
         -out=FILE` (`driftlog apply DIR -- FILE`). Nothing was applied"
    )]
    NotApproved,
    #[error(
        "{0} turns off the machine-readable output driftlog records the apply from; leave it \
         out. Nothing was applied"
    )]
    JsonOff(String),
}

/// A `terraform apply` that can run without asking anything: checked before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRequest {
    /// The user's arguments, passed through as given (a `-json` of theirs left out: driftlog
    /// adds its own).
    args: Vec<String>,
    plan_file: Option<String>,
    /// Where the apply writes its state when a legacy `-state-out`/`-state` says so.
    state_file: Option<String>,
}

impl ApplyRequest {
    /// Checks the user's `terraform apply` arguments: they must approve the apply
    /// (`-auto-approve`, also from `TF_CLI_ARGS` or `TF_CLI_ARGS_apply`) or name a saved plan
    /// file, and must not turn `-json` off.
    pub fn new(args: Vec<String>) -> Result<ApplyRequest, ApplyArgsError> {
        let env_args: Vec<String> = ["TF_CLI_ARGS", "TF_CLI_ARGS_apply"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .flat_map(|value| {
                value
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        Self::with_env_args(args, &env_args)
    }

    fn with_env_args(args: Vec<String>, env_args: &[String]) -> Result<Self, ApplyArgsError> {
        let from_env = parse_args(env_args);
        let given = parse_args(&args);
        if let Some(flag) = from_env.json_off.or(given.json_off) {
            return Err(ApplyArgsError::JsonOff(flag));
        }
        // The user's flags come after TF_CLI_ARGS*, so theirs win, as in terraform.
        let approved = given
            .auto_approve
            .or(from_env.auto_approve)
            .unwrap_or(false);
        let plan_file = given.plan_file.or(from_env.plan_file);
        if !approved && plan_file.is_none() {
            return Err(ApplyArgsError::NotApproved);
        }
        let args = args
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !given.json_at.contains(index))
            .map(|(_, arg)| arg)
            .collect();
        let state_file = given
            .state_out
            .or(given.state)
            .or(from_env.state_out)
            .or(from_env.state);
        Ok(ApplyRequest {
            args,
            plan_file,
            state_file,
        })
    }

    /// Exactly a plan file driftlog saved: no user arguments (nothing can widen or retarget
    /// it), nothing to approve (applying a saved plan asks nothing).
    pub fn saved_plan(file: &super::saved_plan::PlanFile) -> ApplyRequest {
        let path = file.path_str().to_owned();
        ApplyRequest {
            args: vec![path.clone()],
            plan_file: Some(path),
            state_file: None,
        }
    }

    /// The saved plan being applied, if any.
    pub fn plan_file(&self) -> Option<&str> {
        self.plan_file.as_deref()
    }

    /// `apply -json -input=false` and the user's arguments.
    fn command_args(&self) -> Vec<OsString> {
        ["apply", "-json", "-input=false"]
            .iter()
            .map(OsString::from)
            .chain(self.args.iter().map(OsString::from))
            .collect()
    }
}

/// What a list of `terraform apply` arguments says, read as Go's `flag` package reads them.
#[derive(Debug, Default)]
struct ParsedArgs {
    auto_approve: Option<bool>,
    plan_file: Option<String>,
    /// Indexes of `-json` flags (driftlog passes its own).
    json_at: Vec<usize>,
    /// A `-json=false`, as given.
    json_off: Option<String>,
    state: Option<String>,
    state_out: Option<String>,
}

fn parse_args(args: &[String]) -> ParsedArgs {
    let mut parsed = ParsedArgs::default();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        if arg == "--" {
            parsed.plan_file = args.get(index + 1).cloned();
            break;
        }
        let Some(flag) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|flag| !flag.is_empty())
        else {
            // The first argument that is not a flag ends the flags: the plan file.
            parsed.plan_file = Some(arg.clone());
            break;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        match name {
            "auto-approve" => parsed.auto_approve = Some(value.is_none_or(go_bool_true)),
            "json" if value.is_none_or(go_bool_true) => parsed.json_at.push(index),
            "json" => parsed.json_off = Some(arg.clone()),
            "state" | "state-out" => {
                let value = match value {
                    Some(value) => Some(value.to_owned()),
                    None => {
                        index += 1;
                        args.get(index).cloned()
                    }
                };
                match name {
                    "state" => parsed.state = value,
                    _ => parsed.state_out = value,
                }
            }
            name if VALUE_FLAGS.contains(&name) && value.is_none() => index += 1,
            _ => {}
        }
        index += 1;
    }
    parsed
}

/// Go's `strconv.ParseBool` truths; anything else (including its falses) is false.
fn go_bool_true(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// A line for a person watching the apply, as terraform's own output would show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ApplyMessage<'a> {
    /// A message's human-readable text (`@message`): progress, the plan summary, "Apply
    /// complete!".
    Progress(&'a str),
    /// An error or warning, with its detail.
    Diagnostic(&'a Diagnostic),
    /// A line that was not one of terraform's JSON messages, as it came.
    Text(&'a str),
}

/// What a `terraform apply -json` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyRun {
    /// The changes terraform reported, its exit code and summary.
    pub outcome: ApplyOutcome,
    /// From the `version` message.
    pub tool: Option<crate::drift::Tool>,
    /// SHA-256 of terraform's whole `-json` output, as evidence of what it said.
    pub stream_sha256: String,
    /// Every diagnostic, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether a stop was requested (Ctrl-C, SIGTERM) while terraform ran.
    pub interrupted: bool,
    /// The end of terraform's standard error: described in the failure, never quoted.
    pub stderr: StderrTail,
    /// Lines of the stream that were not JSON messages (passed through as text).
    pub unparsed_lines: usize,
    /// Set when the stream could not be read to its end.
    pub read_error: Option<String>,
}

impl ApplyRun {
    /// Whether terraform said the apply succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome.exit_code == Some(0) && self.read_error.is_none()
    }

    /// The exit code to pass on: terraform's, 1 when it was killed by a signal.
    pub fn exit_code(&self) -> u8 {
        match self.outcome.exit_code {
            Some(0) if self.read_error.is_none() => 0,
            Some(code) => u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1),
            None => 1,
        }
    }

    /// Why the apply failed, for its record: kind `apply_failed` (or `interrupted`), and
    /// terraform's error diagnostics; `None` when it succeeded.
    pub fn failure(&self) -> Option<Failure> {
        if self.succeeded() {
            return None;
        }
        let status = match self.outcome.exit_code {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_owned(),
        };
        let mut message = if self.interrupted {
            format!("terraform apply was interrupted and asked to stop gracefully ({status})")
        } else {
            format!("terraform apply failed ({status})")
        };
        let stderr = RawText::of_stderr(self.stderr.clone());
        message.push_str(&describe_failure(&self.diagnostics, &stderr));
        if let Some(error) = &self.read_error {
            message.push_str(&format!("\n  reading terraform's output failed: {error}"));
        }
        let unfinished: Vec<&str> = self
            .outcome
            .changes
            .iter()
            .filter(|c| c.outcome == ChangeOutcome::Errored)
            .map(|c| c.address.as_str())
            .collect();
        if !unfinished.is_empty() {
            message.push_str(&format!("\n  not completed: {}", unfinished.join(", ")));
        }
        let mut failure = Failure::new(
            if self.interrupted {
                "interrupted"
            } else {
                "apply_failed"
            },
            message,
        );
        failure.output = stderr.as_deref().map(RawText::output);
        failure.shown = stderr.map(|raw| raw.shown);
        Some(failure)
    }
}

impl Terraform {
    /// Runs `terraform apply -json -input=false ARGS`, handing each line meant for a person
    /// to `on_message` as it arrives. A failed apply is an `Ok` run with terraform's exit
    /// code; an `Err` means terraform did not run (or its output could not be read at all).
    pub fn apply(
        &self,
        request: &ApplyRequest,
        on_message: &mut dyn FnMut(ApplyMessage<'_>),
    ) -> Result<ApplyRun, TerraformError> {
        let args = request.command_args();
        let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        let command = self.command(&args);
        // No time limit: stopping an apply half way leaves infrastructure half changed.
        let mut running = self.spawn(command, PURPOSE, None)?;

        let mut reader = ApplyStream::default();
        let streamed = running.stdout().map(|stdout| {
            process::read_lines::<()>(stdout, &mut |line| {
                match line {
                    Line::Text(_, text) => reader.line(text, on_message),
                    // Read on, never kept: stopping the read would stop the apply.
                    Line::TooLong(_) => reader.run.unparsed_lines += 1,
                }
                Ok(())
            })
        });
        // Never kill an apply: whatever happened to its output, wait for it to finish.
        let ended = running.wait().map_err(|source| TerraformError::Io {
            purpose: PURPOSE,
            source,
        })?;
        let mut run = reader.finish();
        match streamed {
            Some(Ok(Ok(sha256))) => run.stream_sha256 = sha256,
            Some(Ok(Err(()))) | None => {}
            Some(Err(err)) => {
                run.read_error = Some(
                    TerraformError::Io {
                        purpose: PURPOSE,
                        source: err,
                    }
                    .to_string(),
                )
            }
        }
        run.outcome.exit_code = ended.status.code();
        run.interrupted = interrupt::requested();
        run.stderr = ended.stderr;
        self.withhold_secret_ids(request, &mut run, on_message);
        Ok(run)
    }

    /// terraform names a change's object by its `id` (or `name`) unless that attribute is
    /// marked sensitive, but a provider's id copied from a sensitive name is not marked.
    /// The state after the apply tells: an id is kept only where the drift analysis would
    /// name it ([`analysis::identifiers`]). Ids the state cannot vouch for (no state, an
    /// object missing from it, an interrupted run) are dropped, with a warning.
    fn withhold_secret_ids(
        &self,
        request: &ApplyRequest,
        run: &mut ApplyRun,
        on_message: &mut dyn FnMut(ApplyMessage<'_>),
    ) {
        if run.outcome.changes.iter().all(|change| change.id.is_none()) {
            return;
        }
        let state = match run.interrupted {
            true => Err("the apply was interrupted".to_owned()),
            false => self.state_values(request.state_file.as_deref()),
        };
        let state = match state {
            Ok(state) => state,
            Err(why) => {
                let diagnostic = Diagnostic {
                    severity: Severity::Warning,
                    summary: "driftlog records no resource ids for this apply".to_owned(),
                    detail: format!(
                        "The state after the apply could not be read ({why}), so driftlog \
                         cannot tell which ids hold sensitive values. The changes are \
                         recorded without them."
                    ),
                    address: None,
                    location: None,
                    withheld: None,
                };
                on_message(ApplyMessage::Diagnostic(&diagnostic));
                run.diagnostics.push(diagnostic);
                StateValues::default()
            }
        };
        for change in &mut run.outcome.changes {
            let Some(id) = change.id.take() else {
                continue;
            };
            let Some(resource) = state.resource(&change.address) else {
                continue;
            };
            let sides = Sides {
                before: &resource.values,
                after: &resource.values,
                before_sensitive: &resource.sensitive_values,
                after_sensitive: &resource.sensitive_values,
                after_unknown: &Value::Null,
            };
            if analysis::identifiers(&sides)
                .values()
                .any(|named| *named == id)
            {
                change.id = Some(id);
            }
        }
    }

    /// `terraform show -json [STATE]`: the state the apply left.
    fn state_values(&self, state_file: Option<&str>) -> Result<StateValues, String> {
        const PURPOSE: &str = "read the state after the apply (terraform show -json)";
        let mut args = vec![OsStr::new("show"), OsStr::new("-json")];
        args.extend(state_file.map(OsStr::new));
        let json = self
            .stdout_of(
                self.command(&args),
                PURPOSE,
                self.timeouts.read,
                super::Limit::new(process::MAX_SHOW_JSON_BYTES, "MAX_SHOW_JSON_BYTES"),
            )
            .map_err(|err| err.brief())?;
        // serde's message would quote the document; where it broke is enough.
        StateValues::parse(&json).map_err(|err| {
            format!(
                "its output is not a state document (line {}, column {})",
                err.line(),
                err.column()
            )
        })
    }
}

/// Builds an [`ApplyRun`] from the stream, one line at a time.
#[derive(Debug, Default)]
struct ApplyStream {
    run: ApplyRun,
    /// Changes terraform started and has not finished, in the order they started.
    started: Vec<(String, Action)>,
}

impl ApplyStream {
    fn line(&mut self, line: &str, on_message: &mut dyn FnMut(ApplyMessage<'_>)) {
        let message: Value = match serde_json::from_str(line) {
            Ok(message @ Value::Object(_)) => message,
            _ => {
                self.run.unparsed_lines += 1;
                on_message(ApplyMessage::Text(line));
                return;
            }
        };
        let hook = &message["hook"];
        let address = hook["resource"]["addr"].as_str().unwrap_or_default();
        let action = hook["action"].as_str().unwrap_or_default();
        match message["type"].as_str().unwrap_or_default() {
            "version" => {
                self.run.tool = Some(super::stream::tool(&message));
            }
            "apply_start" => {
                if let Some(action) = changing_action(action) {
                    self.started.push((address.to_owned(), action));
                }
            }
            "apply_complete" | "apply_errored" => {
                if let Some(action) = changing_action(action) {
                    let (outcome, id) = if message["type"] == "apply_complete" {
                        let id = hook["id_value"].as_str().filter(|id| !id.is_empty());
                        (ChangeOutcome::Complete, id.map(str::to_owned))
                    } else {
                        (ChangeOutcome::Errored, None)
                    };
                    self.finished(address, action, outcome, id);
                }
            }
            "change_summary" => {
                let changes = &message["changes"];
                // The plan's summary comes first when no saved plan is applied; only the
                // apply's (or destroy's) counts what was done.
                if changes["operation"].as_str().is_some_and(|op| op != "plan") {
                    let count = |key: &str| changes[key].as_u64().unwrap_or(0);
                    self.run.outcome.summary = Some(ApplySummary {
                        add: count("add"),
                        change: count("change"),
                        import: count("import"),
                        remove: count("remove"),
                    });
                }
            }
            "diagnostic" => {
                let diagnostic = super::stream::parse_line(line)
                    .ok()
                    .and_then(|event| match event {
                        super::stream::StreamEvent::Diagnostic(diagnostic) => Some(diagnostic),
                        _ => None,
                    })
                    .unwrap_or_else(|| {
                        let text = message["@message"].as_str().unwrap_or_default();
                        Diagnostic {
                            severity: Severity::Error,
                            summary: format!(
                                "terraform sent a diagnostic driftlog could not read; its words \
                                 are withheld ({} bytes; shown on driftlog's standard error)",
                                text.len()
                            ),
                            detail: String::new(),
                            address: None,
                            location: None,
                            withheld: Some(text.to_owned()),
                        }
                    });
                on_message(ApplyMessage::Diagnostic(&diagnostic));
                self.run.diagnostics.push(diagnostic);
                return;
            }
            _ => {}
        }
        if let Some(text) = message["@message"].as_str() {
            // terraform names an object by its id, which a provider may have copied from a
            // secret: the record keeps an id only once the state shows it is none, and the
            // terminal, which cannot wait for that, never shows it.
            let id_key = hook["id_key"].as_str().unwrap_or("id");
            match hook["id_value"].as_str().filter(|id| !id.is_empty()) {
                Some(id) => on_message(ApplyMessage::Progress(
                    &text.replace(&format!("{id_key}={id}"), &format!("{id_key}=(withheld)")),
                )),
                None => on_message(ApplyMessage::Progress(text)),
            }
        }
    }

    /// A change finished (or failed). terraform applies a replacement as a delete and a
    /// create of the same address (in either order): the second merges into the first.
    fn finished(
        &mut self,
        address: &str,
        action: Action,
        outcome: ChangeOutcome,
        id: Option<String>,
    ) {
        if let Some(index) = self
            .started
            .iter()
            .position(|(a, started)| a == address && *started == action)
        {
            self.started.remove(index);
        }
        let changes = &mut self.run.outcome.changes;
        let other_half = match action {
            Action::Create => Some(Action::Delete),
            Action::Delete => Some(Action::Create),
            _ => None,
        };
        let earlier = other_half.and_then(|other| {
            changes
                .iter()
                .position(|c| c.address == address && c.action == other)
        });
        let change = match earlier {
            Some(index) => {
                let first = changes.remove(index);
                AppliedChange {
                    address: first.address,
                    action: Action::Replace,
                    outcome: if first.outcome == ChangeOutcome::Complete {
                        outcome
                    } else {
                        first.outcome
                    },
                    // The id after the change: the created object's.
                    id: if action == Action::Create {
                        id
                    } else {
                        first.id
                    },
                }
            }
            None => AppliedChange {
                address: address.to_owned(),
                action,
                outcome,
                id,
            },
        };
        changes.push(change);
    }

    /// The run as far as the stream went. A change terraform started but never reported
    /// on (it was killed) did not complete: it is listed as errored.
    fn finish(mut self) -> ApplyRun {
        for (address, action) in std::mem::take(&mut self.started) {
            self.finished(&address, action, ChangeOutcome::Errored, None);
        }
        self.run
    }
}

/// The driftlog action of a hook's action, when it changes something: reads of data
/// sources and no-ops are not changes.
fn changing_action(action: &str) -> Option<Action> {
    match action {
        "" | "noop" | "read" | "open" | "renew" | "close" => None,
        other => Some(Action::from_terraform(&[other])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn request(list: &[&str]) -> Result<ApplyRequest, ApplyArgsError> {
        ApplyRequest::with_env_args(args(list), &[])
    }

    #[test]
    fn the_state_an_apply_writes_is_where_its_ids_are_checked() {
        let state = |list: &[&str]| request(list).expect("approved").state_file;
        assert_eq!(state(&["-auto-approve"]), None);
        assert_eq!(
            state(&["-auto-approve", "-state", "a.tfstate"]),
            Some("a.tfstate".to_owned())
        );
        assert_eq!(
            state(&["-state-out=b.tfstate", "-auto-approve", "-state=a.tfstate"]),
            Some("b.tfstate".to_owned()),
            "terraform writes to -state-out when both are given"
        );
    }

    #[test]
    fn a_state_document_lists_every_module_s_resources() {
        let state = StateValues::parse(
            br#"{"values": {"root_module": {"resources": [{"address": "a.b", "values": {"id": "x"},
                 "sensitive_values": {}}], "child_modules": [{"resources": [{"address":
                 "module.m.a.c", "values": {"id": "y"}, "sensitive_values": {"name": true}}]}]}}}"#,
        )
        .expect("a state");
        assert_eq!(
            state.resource("a.b").map(|r| &r.values["id"]),
            Some(&"x".into())
        );
        let child = state.resource("module.m.a.c").expect("the child module's");
        assert_eq!(child.sensitive_values["name"], true);
        let empty = StateValues::parse(br#"{"format_version": "1.0"}"#).expect("empty state");
        assert!(empty.resource("a.b").is_none());
    }

    #[test]
    fn an_apply_must_be_approved_or_apply_a_saved_plan() {
        assert_eq!(request(&[]), Err(ApplyArgsError::NotApproved));
        assert_eq!(
            request(&["-var", "x=1", "-target=a.b"]),
            Err(ApplyArgsError::NotApproved),
            "a flag's value is not a plan file"
        );
        assert_eq!(
            request(&["-auto-approve=false"]),
            Err(ApplyArgsError::NotApproved)
        );
        let approved = request(&["-auto-approve", "-lock=false"]).expect("approved");
        assert_eq!(approved.plan_file(), None);
        assert!(request(&["--auto-approve=true"]).is_ok());
        let planned = request(&["-parallelism", "3", "tfplan"]).expect("plan file");
        assert_eq!(planned.plan_file(), Some("tfplan"));
        assert_eq!(
            request(&["--", "-odd-name"])
                .expect("plan file")
                .plan_file(),
            Some("-odd-name")
        );
        let from_env = ApplyRequest::with_env_args(vec![], &args(&["-auto-approve"]));
        assert!(from_env.is_ok(), "TF_CLI_ARGS_apply approves too");
        let overridden =
            ApplyRequest::with_env_args(args(&["-auto-approve=false"]), &args(&["-auto-approve"]));
        assert_eq!(overridden, Err(ApplyArgsError::NotApproved));
    }

    #[test]
    fn json_is_added_once_and_never_turned_off() {
        let request = request(&["-json", "-auto-approve", "--json=true"]).expect("ok");
        assert_eq!(
            request.command_args(),
            ["apply", "-json", "-input=false", "-auto-approve"]
                .iter()
                .map(OsString::from)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            super::tests::request(&["-auto-approve", "-json=false"]),
            Err(ApplyArgsError::JsonOff("-json=false".into()))
        );
    }

    fn read(lines: &[&str]) -> (ApplyRun, Vec<String>) {
        let mut stream = ApplyStream::default();
        let mut shown = Vec::new();
        for line in lines {
            stream.line(line, &mut |message| {
                shown.push(match message {
                    ApplyMessage::Progress(text) => text.to_owned(),
                    ApplyMessage::Diagnostic(d) => {
                        format!("diag: {}", d.withheld.as_deref().unwrap_or(&d.summary))
                    }
                    ApplyMessage::Text(text) => format!("text: {text}"),
                })
            });
        }
        (stream.finish(), shown)
    }

    fn hook(kind: &str, address: &str, action: &str, id: Option<&str>) -> String {
        let mut hook = serde_json::json!({
            "resource": {"addr": address, "module": ""},
            "action": action,
        });
        if let Some(id) = id {
            hook["id_key"] = "id".into();
            hook["id_value"] = id.into();
        }
        serde_json::json!({
            "@level": "info",
            "@message": format!("{address}: {kind} {action}"),
            "type": kind,
            "hook": hook,
        })
        .to_string()
    }

    #[test]
    fn the_stream_says_what_changed_and_how_replacements_pair_up() {
        let lines = [
            r#"{"@level":"info","@message":"Terraform 1.15.5","terraform":"1.15.5","type":"version","ui":"1.3"}"#.to_owned(),
            r#"{"@message":"Plan: 2 to add, 1 to change, 2 to destroy.","changes":{"add":2,"change":1,"import":0,"remove":2,"operation":"plan"},"type":"change_summary"}"#.to_owned(),
            hook("apply_start", "x.gone", "delete", Some("gone")),
            hook("apply_start", "x.swap", "delete", Some("old")),
            hook("apply_complete", "x.gone", "delete", None),
            hook("apply_start", "x.new", "create", None),
            hook("apply_start", "x.edit", "update", Some("e")),
            hook("apply_start", "data.x.read", "read", None),
            hook("apply_complete", "data.x.read", "read", None),
            hook("apply_complete", "x.swap", "delete", None),
            hook("apply_complete", "x.new", "create", Some("n-1")),
            hook("apply_complete", "x.edit", "update", Some("e")),
            hook("apply_start", "x.swap", "create", None),
            hook("apply_complete", "x.swap", "create", Some("new")),
            hook("apply_start", "x.cbd", "create", None),
            hook("apply_complete", "x.cbd", "create", Some("cbd-2")),
            hook("apply_start", "x.cbd", "delete", Some("cbd-1")),
            hook("apply_complete", "x.cbd", "delete", None),
            r#"{"@message":"Apply complete! Resources: 3 added, 1 changed, 3 destroyed.","changes":{"add":3,"change":1,"import":0,"remove":3,"operation":"apply"},"type":"change_summary"}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (run, shown) = read(&lines);
        assert_eq!(
            run.tool.as_ref().map(|t| t.to_string()).as_deref(),
            Some("Terraform 1.15.5")
        );
        let changes: Vec<(&str, Action, ChangeOutcome, Option<&str>)> = run
            .outcome
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c.action, c.outcome, c.id.as_deref()))
            .collect();
        use ChangeOutcome::Complete;
        assert_eq!(
            changes,
            [
                ("x.gone", Action::Delete, Complete, None),
                ("x.new", Action::Create, Complete, Some("n-1")),
                ("x.edit", Action::Update, Complete, Some("e")),
                ("x.swap", Action::Replace, Complete, Some("new")),
                ("x.cbd", Action::Replace, Complete, Some("cbd-2")),
            ]
        );
        assert_eq!(
            run.outcome.summary,
            Some(ApplySummary {
                add: 3,
                change: 1,
                import: 0,
                remove: 3
            }),
            "the apply's summary, not the plan's"
        );
        assert_eq!(shown[0], "Terraform 1.15.5");
        assert_eq!(shown[1], "Plan: 2 to add, 1 to change, 2 to destroy.");
        assert_eq!(
            shown.last().map(String::as_str),
            Some("Apply complete! Resources: 3 added, 1 changed, 3 destroyed.")
        );
    }

    #[test]
    fn a_failed_apply_keeps_what_completed_and_what_errored() {
        let lines = [
            hook("apply_start", "x.ok", "create", None),
            hook("apply_start", "x.bad", "create", None),
            hook("apply_complete", "x.ok", "create", Some("ok")),
            hook("apply_errored", "x.bad", "create", None),
            hook("apply_start", "x.half", "delete", Some("h")),
            hook("apply_complete", "x.half", "delete", None),
            hook("apply_start", "x.half", "create", None),
            hook("apply_errored", "x.half", "create", None),
            hook("apply_start", "x.cut", "update", Some("c")),
            r#"{"@level":"error","@message":"Error: object already exists","diagnostic":{"severity":"error","summary":"object already exists","detail":"store/dup.json exists","address":"x.bad","range":{"filename":"main.tf","start":{"line":14}}},"type":"diagnostic"}"#.to_owned(),
            "panic: not json".to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (mut run, shown) = read(&lines);
        run.outcome.exit_code = Some(1);
        let changes: Vec<(&str, Action, ChangeOutcome)> = run
            .outcome
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c.action, c.outcome))
            .collect();
        use ChangeOutcome::{Complete, Errored};
        assert_eq!(
            changes,
            [
                ("x.ok", Action::Create, Complete),
                ("x.bad", Action::Create, Errored),
                ("x.half", Action::Replace, Errored),
                ("x.cut", Action::Update, Errored),
            ],
            "a change never reported on did not complete"
        );
        assert_eq!(run.outcome.summary, None);
        assert_eq!(run.unparsed_lines, 1);
        // The terminal gets the provider's words; the record only describes them.
        assert!(shown.contains(&"diag: object already exists\nstore/dup.json exists".to_owned()));
        assert!(shown.contains(&"text: panic: not json".to_owned()));
        assert!(!run.succeeded());
        assert_eq!(run.exit_code(), 1);
        let failure = run.failure().expect("failed");
        assert_eq!(failure.kind, "apply_failed");
        assert!(
            failure
                .message
                .contains("terraform's error about x.bad is withheld")
                && failure.message.contains("(x.bad) at main.tf:14")
                && !failure.message.contains("store/dup.json exists")
                && failure
                    .message
                    .contains("not completed: x.bad, x.half, x.cut"),
            "{}",
            failure.message
        );
        run.interrupted = true;
        assert_eq!(run.failure().expect("failed").kind, "interrupted");
    }

    #[test]
    fn an_apply_failed_without_diagnostics_describes_its_stderr_but_never_quotes_it() {
        let text = "[TRACE] provider: token=s3cr3t-apply-stderr\nError: backend gone\n";
        let mut run = ApplyRun::default();
        run.outcome.exit_code = Some(1);
        run.stderr = process::tail_of(text.as_bytes());
        let failure = run.failure().expect("failed");
        assert!(!failure.message.contains("s3cr3t"), "{}", failure.message);
        assert!(
            failure.message.contains("2 line(s), 64 bytes"),
            "{}",
            failure.message
        );
        let output = failure.output.expect("described");
        assert_eq!((output.stream.as_str(), output.bytes), ("stderr", 64));
        assert_eq!(
            output.shown_sha256,
            super::super::sha256_hex(text.as_bytes())
        );
        // The text is for the terminal only: the record never serializes it.
        assert_eq!(failure.shown.as_deref(), Some(text));
        let record = serde_json::to_string(&run.failure()).unwrap_or_default();
        assert!(!record.contains("s3cr3t") && record.contains(&output.shown_sha256));
    }

    #[test]
    fn exit_codes_pass_through() {
        let mut run = ApplyRun::default();
        run.outcome.exit_code = Some(0);
        assert_eq!((run.exit_code(), run.failure()), (0, None));
        run.outcome.exit_code = Some(3);
        assert_eq!(run.exit_code(), 3);
        run.outcome.exit_code = None;
        assert_eq!(run.exit_code(), 1);
        run.outcome.exit_code = Some(0);
        run.read_error = Some("broken".into());
        assert_eq!(run.exit_code(), 1, "an unread stream is not a success");
    }
}
