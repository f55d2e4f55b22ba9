//! The pipeline's order and outcome, with engines that return reports given in advance: what
//! the observer hears and when, what reaches the audit log, and the exit code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::audit::recorder::AuditOptions;
use crate::audit::sshsig::SigningKey;
use crate::audit::sync::{Auth, RemoteChoice};
use crate::drift::{Action, AttrValue, AttributeChange, DriftedResource, Failure, Stack, Summary};
use crate::engine::{Engine, Progress};
use crate::report::Format;
use crate::run::publish::PublishSettings;

/// An engine whose scan returns a report fixed in advance.
#[derive(Debug)]
struct Canned {
    dir: PathBuf,
    report: ScanReport,
}

impl Engine for Canned {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn stack(&self) -> Stack {
        self.report.stack.clone()
    }

    fn scan(&self, progress: &mut dyn FnMut(Progress<'_>)) -> Vec<ScanReport> {
        progress(Progress::Planning);
        vec![self.report.clone()]
    }
}

fn report(dir: &str, status: Status) -> ScanReport {
    let mut report = ScanReport::test(dir, status);
    if status == Status::Drifted {
        let resource = DriftedResource {
            previous_address: None,
            class: Default::default(),
            address: "aws_security_group.web".into(),
            module_address: None,
            mode: "managed".into(),
            resource_type: "aws_security_group".into(),
            name: "web".into(),
            index: None,
            provider: "registry.terraform.io/hashicorp/aws".into(),
            action: Action::Update,
            changes: vec![AttributeChange {
                class: Default::default(),
                path: "description".into(),
                before: AttrValue::Known(json!("web")),
                after: AttrValue::Known(json!("edited by hand")),
                ignored: None,
            }],
            identifiers: Default::default(),
            ignored: None,
        };
        report.summary = Summary::of(1, std::slice::from_ref(&resource), &[], &[]);
        report.resources = vec![resource];
    }
    if status == Status::Failed {
        report.failure = Some(Failure::new("plan_failed", "terraform plan failed"));
    }
    report
}

fn job(dir: &Path, report: ScanReport) -> StackJob {
    StackJob {
        name: report.stack.dir.clone(),
        engine: Arc::new(Canned {
            dir: dir.to_owned(),
            report,
        }),
        owners: Vec::new(),
    }
}

/// What the observer heard, in order.
#[derive(Default)]
struct Heard {
    events: Mutex<Vec<String>>,
    /// The error standard output gives, if any.
    stdout_fails: Option<std::io::ErrorKind>,
}

impl Heard {
    fn push(&self, event: String) {
        self.events.lock().expect("events lock").push(event);
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().expect("events lock").clone()
    }

    fn position(&self, prefix: &str) -> usize {
        self.events()
            .iter()
            .position(|e| e.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {:?}", self.events()))
    }
}

impl Observer for Heard {
    fn scans_started(&self, single: bool, stacks: usize) {
        self.push(format!("started single={single} stacks={stacks}"));
    }
    fn scans_finished(&self) {
        self.push("finished".into());
    }
    fn stdout(&self, text: &str) -> std::io::Result<()> {
        self.push(format!("stdout {text}"));
        match self.stdout_fails {
            Some(kind) => Err(std::io::Error::new(kind, "closed")),
            None => Ok(()),
        }
    }
    fn line(&self, line: Line<'_>) {
        self.push(format!("line {line:?}"));
    }
    fn recorded(&self, _branch: &str, recorded: &Result<Outcome, RecordError>) {
        self.push(format!("recorded ok={}", recorded.is_ok()));
    }
    fn published(&self, _published: &Published) {
        self.push("published".into());
    }
}

struct Fixture {
    repo: tempfile::TempDir,
    config: Config,
}

impl Fixture {
    /// A git repository with a stack directory `infra` and the configuration `toml`.
    fn new(toml: &str) -> Fixture {
        let repo = tempfile::tempdir().expect("test fixture");
        git2::Repository::init(repo.path()).expect("test fixture");
        std::fs::create_dir(repo.path().join("infra")).expect("test fixture");
        let file = repo.path().join(crate::config::FILE_NAME);
        let config = Config::parse(repo.path(), &file, toml).expect("test fixture");
        Fixture { repo, config }
    }

    fn stack(&self) -> PathBuf {
        self.repo.path().join("infra")
    }

    fn settings(&self, format: Format, audit: bool) -> RunSettings {
        RunSettings {
            dirs: vec![self.stack()],
            cloudformation: Vec::new(),
            config_file: None,
            root: self.repo.path().to_owned(),
            cwd: self.repo.path().to_owned(),
            shard: None,
            concurrency: 2,
            scan: ScanSettings::default(),
            audit: audit.then(|| AuditOptions {
                repo: Some(self.repo.path().to_owned()),
                branch: "driftlog/audit".into(),
                key: SigningKey::generate().expect("test fixture"),
                remote: RemoteChoice::Default,
                auth: Auth::none(),
                deadline: None,
            }),
            events: Vec::new(),
            main_branch: None,
            output: OutputSettings {
                format,
                color: false,
                file: None,
                stdout_is_terminal: false,
            },
        }
    }

    fn run(&self, settings: &RunSettings, plan: Plan, heard: &Heard) -> RunOutcome {
        let publisher = Publisher::resolve(PublishSettings::default(), HashMap::new(), None)
            .expect("test fixture");
        run_plan(settings, &self.config, None, plan, &publisher, heard).expect("test fixture")
    }

    fn records(&self) -> usize {
        let repo = git2::Repository::open(self.repo.path()).expect("test fixture");
        crate::audit::reader::read_log(&repo, "driftlog/audit")
            .map(|entries| entries.len())
            .unwrap_or(0)
    }
}

fn single(job: StackJob) -> Plan {
    Plan {
        single: true,
        jobs: vec![job],
    }
}

#[test]
fn the_terminal_report_is_out_before_the_record_and_publishing_comes_last() {
    let fixture = Fixture::new("");
    let settings = fixture.settings(Format::Terminal, true);
    let heard = Heard::default();
    let plan = single(job(&fixture.stack(), report("infra", Status::Drifted)));
    let outcome = fixture.run(&settings, plan, &heard);

    assert_eq!(outcome.exit_code(), 2, "{:?}", heard.events());
    assert!(
        outcome.not_recorded.is_empty(),
        "{:?}",
        outcome.not_recorded
    );
    assert_eq!(fixture.records(), 1, "the scan is on the audit branch");
    let report = heard.position("stdout ");
    assert!(heard.events()[report].contains("aws_security_group.web"));
    assert!(heard.position("finished") < report);
    assert!(report < heard.position("recorded ok=true"));
    assert!(heard.position("recorded") < heard.position("published"));
    assert_eq!(heard.events().last().map(String::as_str), Some("published"));
}

#[test]
fn json_on_standard_output_waits_for_the_record_and_carries_its_place() {
    let fixture = Fixture::new("");
    let settings = fixture.settings(Format::Json, true);
    let heard = Heard::default();
    let plan = single(job(&fixture.stack(), report("infra", Status::Drifted)));
    fixture.run(&settings, plan, &heard);

    let stdout: Vec<String> = heard
        .events()
        .into_iter()
        .filter(|e| e.starts_with("stdout "))
        .collect();
    assert_eq!(stdout.len(), 1, "one JSON document: {stdout:?}");
    assert!(heard.position("recorded") < heard.position("stdout "));
    let document: serde_json::Value =
        serde_json::from_str(stdout[0].trim_start_matches("stdout ")).expect("test fixture");
    assert_eq!(document["audit"]["seq"], 0, "{document}");
}

#[test]
fn ignore_rules_are_marked_before_anything_is_shown_or_recorded() {
    let fixture = Fixture::new(
        "[[ignore]]\nresource = \"aws_security_group.web\"\nreason = \"managed by hand\"\n",
    );
    let settings = fixture.settings(Format::Json, false);
    let heard = Heard::default();
    let plan = single(job(&fixture.stack(), report("infra", Status::Drifted)));
    let outcome = fixture.run(&settings, plan, &heard);

    assert_eq!(outcome.exit_code(), 0, "ignored drift is not drift");
    let text = heard.events()[heard.position("stdout ")].clone();
    assert!(text.contains("managed by hand"), "{text}");
}

/// A one-stack terminal run of a scan with `status` whose standard output fails with `kind`.
fn with_stdout_failing(kind: std::io::ErrorKind, status: Status) -> RunOutcome {
    let fixture = Fixture::new("");
    let settings = fixture.settings(Format::Terminal, false);
    let heard = Heard {
        stdout_fails: Some(kind),
        ..Heard::default()
    };
    let plan = single(job(&fixture.stack(), report("infra", status)));
    fixture.run(&settings, plan, &heard)
}

#[test]
fn a_failed_stage_fails_the_run_but_drift_still_exits_2() {
    let outcome = with_stdout_failing(std::io::ErrorKind::PermissionDenied, Status::Drifted);
    assert_eq!(outcome.exit_code(), 2);
    assert!(matches!(
        outcome.failures[..],
        [StageFailure::Stdout(_), ..]
    ));
    let outcome = with_stdout_failing(std::io::ErrorKind::PermissionDenied, Status::Clean);
    assert_eq!(
        outcome.exit_code(),
        1,
        "a clean scan whose report was lost fails"
    );
}

#[test]
fn a_reader_that_went_away_is_not_a_failure() {
    let outcome = with_stdout_failing(std::io::ErrorKind::BrokenPipe, Status::Drifted);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.exit_code(), 2);
}

#[test]
fn many_stacks_are_one_combined_report_and_each_failure_is_named() {
    let fixture = Fixture::new("");
    std::fs::create_dir(fixture.repo.path().join("db")).expect("test fixture");
    let mut settings = fixture.settings(Format::Json, true);
    settings.dirs = Vec::new();
    let heard = Heard::default();
    let plan = Plan {
        single: false,
        jobs: vec![
            job(&fixture.stack(), report("infra", Status::Drifted)),
            job(
                &fixture.repo.path().join("db"),
                report("db", Status::Failed),
            ),
        ],
    };
    let outcome = fixture.run(&settings, plan, &heard);

    assert_eq!(outcome.exit_code(), 1, "a failed stack fails the run");
    assert_eq!(fixture.records(), 2, "both scans are recorded, in one push");
    assert_eq!(
        heard
            .events()
            .iter()
            .filter(|e| e.starts_with("recorded"))
            .count(),
        1,
        "one log, one outcome"
    );
    assert!(heard
        .events()
        .contains(&"line Error(\"db: terraform plan failed\")".to_owned()));
    let text = heard.events()[heard.position("stdout ")].clone();
    let combined: serde_json::Value =
        serde_json::from_str(text.trim_start_matches("stdout ")).expect("test fixture");
    assert_eq!(combined["stacks"].as_array().map(Vec::len), Some(2));
}

#[test]
fn one_failed_stack_on_screen_is_not_repeated_on_standard_error() {
    let fixture = Fixture::new("");
    let mut settings = fixture.settings(Format::Terminal, false);
    let heard = Heard::default();
    let failed = || single(job(&fixture.stack(), report("infra", Status::Failed)));
    settings.output.stdout_is_terminal = true;
    fixture.run(&settings, failed(), &heard);
    assert!(!heard.events().iter().any(|e| e.starts_with("line Error")));

    settings.output.stdout_is_terminal = false;
    fixture.run(&settings, failed(), &heard);
    assert!(heard
        .events()
        .contains(&"line Error(\"terraform plan failed\")".to_owned()));
}

#[test]
fn lines_read_as_every_command_prints_them() {
    assert_eq!(Line::Warning("w").to_string(), "driftlog: warning: w\n");
    assert_eq!(Line::Note("n").to_string(), "driftlog: n\n");
    assert_eq!(Line::Error("e").to_string(), "driftlog: error: e\n");
    assert_eq!(Line::Text("as is").to_string(), "as is");
}

#[test]
fn a_conclusion_names_each_failure_with_its_sources_and_the_missing_record_last() {
    let failed = || StageFailure::OutputFile {
        path: PathBuf::from("out.json"),
        source: std::io::Error::other("disk full"),
    };
    let drifted = RunOutcome {
        drift_code: 2,
        failures: vec![failed()],
        not_recorded: Vec::new(),
    };
    let concluded = drifted.conclude(true);
    assert_eq!(concluded.result, Ok(2), "drift still exits 2");
    assert_eq!(
        concluded.lines[0],
        "driftlog: error: writing the report to out.json: disk full"
    );
    assert!(
        concluded.lines[1].starts_with("::error "),
        "{:?}",
        concluded.lines
    );
    assert_eq!(
        concluded.lines[2],
        "driftlog: error: 1 of the run's stages failed (above); exiting 2 for the drift"
    );

    let unrecorded = RunOutcome {
        drift_code: 0,
        failures: vec![failed()],
        not_recorded: vec![
            RecordError::Bare(PathBuf::from("/a")),
            RecordError::Bare(PathBuf::from("/b")),
        ],
    };
    let concluded = unrecorded.conclude(false);
    assert_eq!(
        concluded.lines,
        [
            "driftlog: error: writing the report to out.json: disk full",
            "driftlog: error: the scan was NOT recorded in the audit log: the repository at /b \
             has no working tree to place the stack in",
        ]
    );
    assert_eq!(
        concluded.result,
        Err(
            "the scan was NOT recorded in the audit log: the repository at /a has no working \
             tree to place the stack in"
                .to_owned()
        )
    );
}
