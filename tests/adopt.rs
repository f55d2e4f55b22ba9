//! `driftlog adopt` end to end: real terraform and the filestate provider, a real git
//! repository with a real audit branch, the drift recorded by `driftlog scan` first. The edit
//! is checked byte for byte, proven by terraform, and recorded.

use std::path::{Path, PathBuf};

use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use serde_json::{json, Value};

use crate::support::{git, Run, Stack, PROVIDER};

pub const CODE: &str = r#"
variable "db_size" {
  default = 2
}

locals {
  db_description = "the database"
}

# The web tier: widened by hand at 3 a.m.
resource "filestate_object" "web" {
  name        = "web"
  description = "web tier" # what it serves
  size        = 3
  enabled     = true
  secret      = "code-literal-adopt"
  tags = {
    env  = "prod"
    team = "web"
  }

  rule {
    port        = 22
    cidr_blocks = ["10.0.0.0/8", "10.1.0.0/16"]
  }
}

resource "filestate_object" "db" {
  name        = "db"
  size        = var.db_size
  description = local.db_description
}
"#;

/// [`CODE`] with the out-of-band changes of [`drift`] adopted, as terraform fmt writes it.
const ADOPTED: &str = r#"
variable "db_size" {
  default = 2
}

locals {
  db_description = "the database"
}

# The web tier: widened by hand at 3 a.m.
resource "filestate_object" "web" {
  name        = "web"
  description = "web tier, widened" # what it serves
  size        = 5
  enabled     = false
  secret      = "code-literal-adopt"
  tags = {
    env  = "prod"
    team = "platform"
  }

  rule {
    port        = 443
    cidr_blocks = ["10.0.0.0/8", "10.2.0.0/16"]
  }
}

resource "filestate_object" "db" {
  name        = "db"
  size        = var.db_size
  description = local.db_description
}
"#;

pub const RULE: &str = r#"
[[remediate]]
resource = "filestate_object.*"
action = "adopt"
reason = "the console change was the fix"
"#;

/// A stack applied and committed with its `.driftlog.toml`, and its signing key.
pub struct Repo {
    pub stack: Stack,
    pub key: SigningKey,
    pub key_file: PathBuf,
}

impl Repo {
    pub fn new(code: &str, rules: &str) -> Repo {
        let stack = Stack::new(&[
            ("main.tf", &format!("{PROVIDER}{code}")),
            (".driftlog.toml", rules),
        ]);
        stack.apply(&[]);
        let (key_file, key) = stack.commit_to_git(&[]);
        Repo {
            stack,
            key,
            key_file,
        }
    }

    pub fn root(&self) -> &Path {
        &self.stack.root
    }

    pub fn key(&self) -> &str {
        self.key_file.to_str().expect("utf-8")
    }

    /// A recorded scan: the drift adoption acts on.
    pub fn scan(&self) -> Run {
        let run = self.stack.scan(&["--signing-key", self.key()]);
        assert!(
            run.code == 0 || run.code == 2,
            "{}{}",
            run.stdout,
            run.stderr
        );
        run
    }

    pub fn adopt(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let root = self.root().to_str().expect("utf-8");
        let run = self.stack.driftlog_with_env(
            self.root(),
            &[&["adopt", root, "--signing-key", self.key()][..], args].concat(),
            env,
        );
        assert!(
            !run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"),
            "a secret in the output:\n{}{}",
            run.stdout,
            run.stderr
        );
        run
    }

    pub fn code(&self) -> String {
        std::fs::read_to_string(self.root().join("main.tf")).expect("read main.tf")
    }

    pub fn records(&self) -> Vec<Value> {
        let listed = git(
            self.root(),
            &["ls-tree", "-r", "--name-only", "driftlog/audit", "records"],
        );
        listed
            .lines()
            .filter(|path| path.ends_with(".json"))
            .map(|path| {
                let text = git(self.root(), &["show", &format!("driftlog/audit:{path}")]);
                assert!(!text.contains("s3cr3t"), "a secret in a record: {text}");
                serde_json::from_str(&text).expect("record is JSON")
            })
            .collect()
    }

    /// `driftlog verify` of the audit branch.
    pub fn assert_log_verifies(&self) {
        let allowed = self.root().join("keys/allowed_signers");
        std::fs::write(
            &allowed,
            format!("{}\n", allowed_signers_line("ci", &self.key)),
        )
        .expect("write");
        let verify = self.stack.driftlog_in(
            self.root(),
            &[
                "verify",
                "--allowed-signers",
                allowed.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    }

    /// `terraform plan -detailed-exitcode` of the stack as it is now: 0 when nothing changes.
    pub fn plan_changes(&self, targets: &[&str]) -> (i32, String) {
        let mut args = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
        let targets: Vec<String> = targets.iter().map(|t| format!("-target={t}")).collect();
        args.extend(targets.iter().map(String::as_str));
        let out = self.stack.terraform(&args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// Someone widened the web tier by hand, rotated its secret, and resized the database.
pub fn drift(stack: &Stack) {
    stack.edit("web", |o| {
        o["description"] = json!("web tier, widened");
        o["size"] = json!(5);
        o["enabled"] = json!(false);
        o["tags"]["team"] = json!("platform");
        o["rule"][0]["port"] = json!(443);
        o["rule"][0]["cidr_blocks"][1] = json!("10.2.0.0/16");
        o["secret"] = json!("s3cr3t-rotated-by-hand");
    });
    stack.edit("db", |o| {
        o["size"] = json!(7);
        o["description"] = json!("resized");
    });
}

pub fn adoptions(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["kind"] == "adoption").collect()
}

#[test]
fn write_adopts_literals_keeps_every_other_byte_and_refuses_secrets_and_expressions() {
    let repo = Repo::new(CODE, RULE);
    drift(&repo.stack);
    repo.scan();

    let patch = repo.adopt(&["--patch"], &[]);
    assert_eq!(patch.code, 2, "{}{}", patch.stdout, patch.stderr);
    assert_eq!(
        repo.code(),
        format!("{PROVIDER}{CODE}"),
        "--patch writes nothing"
    );
    assert!(
        adoptions(&repo.records()).is_empty(),
        "--patch records nothing"
    );
    std::fs::write(repo.root().join("adopt.patch"), &patch.stdout).expect("write patch");
    git(repo.root(), &["apply", "--check", "adopt.patch"]);
    std::fs::remove_file(repo.root().join("adopt.patch")).expect("rm");

    let run = repo.adopt(&["--write"], &[]);
    assert_eq!(
        run.code, 2,
        "some drift is refused: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(repo.code(), format!("{PROVIDER}{ADOPTED}"));
    let text = &run.stdout;
    assert!(
        text.contains("refused filestate_object.web secret"),
        "{text}"
    );
    assert!(
        text.contains("`size` is set by var.db_size (main.tf:")
            && text.contains("its value comes from the default in main.tf:"),
        "{text}"
    );
    assert!(text.contains("local.db_description is"), "{text}");

    // The proof, again by hand: terraform sees no change to what was adopted.
    let (_, plan) = repo.plan_changes(&["filestate_object.web"]);
    for adopted in [
        "description",
        "size",
        "enabled",
        "team",
        "port",
        "10.2.0.0/16",
    ] {
        assert!(
            !plan
                .lines()
                .any(|l| l.contains(adopted) && l.contains("->")),
            "{adopted} still changes:\n{plan}"
        );
    }
    assert!(
        plan.contains("secret"),
        "the refused secret still differs:\n{plan}"
    );

    let records = repo.records();
    let adopted = adoptions(&records);
    assert_eq!(adopted.len(), 1, "{records:#?}");
    let record = adopted[0];
    assert_eq!(record["result"], "adopted");
    let body = &record["adoption"];
    assert_eq!(body["outcome"], "written");
    let paths: Vec<&str> = body["adopted"]
        .as_array()
        .expect("adopted")
        .iter()
        .map(|a| a["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "description",
            "enabled",
            "rule[0].cidr_blocks[1]",
            "rule[0].port",
            "size",
            "tags.team"
        ]
    );
    assert_eq!(body["files"][0]["path"], "main.tf");
    assert!(body["proof"]["summary"]
        .as_str()
        .expect("summary")
        .contains("nothing adopted changes"));
    let scan_seq = records
        .iter()
        .filter(|r| r["kind"] == "scan")
        .map(|r| r["seq"].as_u64().expect("seq"))
        .max();
    assert_eq!(body["acts_on"]["seq"].as_u64(), scan_seq);
    repo.assert_log_verifies();
}

#[test]
fn an_edit_the_proof_plan_rejects_is_dropped_and_nothing_is_written() {
    // One block, two instances: only one drifted, so the edit would change the other.
    let code = r#"
resource "filestate_object" "n" {
  count = 2
  name  = "n${count.index}"
  size  = 1
}
"#;
    let repo = Repo::new(code, RULE);
    repo.stack.edit("n0", |o| o["size"] = json!(4));
    repo.scan();
    let run = repo.adopt(&["--write"], &[]);
    assert_eq!(
        run.code, 1,
        "nothing adoptable: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(repo.code(), format!("{PROVIDER}{code}"), "nothing written");
    assert!(
        run.stdout
            .contains("the edited configuration still changes `size` of filestate_object.n[1]"),
        "{}",
        run.stdout
    );
    let records = repo.records();
    let adopted = adoptions(&records);
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0]["result"], "refused");
    repo.assert_log_verifies();
}

#[test]
fn a_hostile_real_value_is_written_as_a_literal_never_as_an_expression() {
    let repo = Repo::new(CODE, RULE);
    // What a console (or a malicious provider) can put in a string: interpolation, template
    // directives, quotes, a newline, a heredoc marker.
    let hostile = "${file(\"/etc/passwd\")} %{if true}x%{endif} \"q\" \\ \n<<EOT";
    repo.stack
        .edit("web", |o| o["description"] = json!(hostile));
    repo.scan();
    let run = repo.adopt(&["--write"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let code = repo.code();
    assert!(
        code.contains(
            r#"description = "$${file(\"/etc/passwd\")} %%{if true}x%%{endif} \"q\" \\ \n<<EOT" # what it serves"#
        ),
        "{code}"
    );
    // Terraform reads the literal back as exactly the real value: nothing to change.
    let (status, plan) = repo.plan_changes(&["filestate_object.web"]);
    assert_eq!(status, 0, "the adopted code plans no change:\n{plan}");
}

#[test]
fn uncommitted_changes_a_missing_token_and_no_rule_are_clear_errors_that_change_nothing() {
    let repo = Repo::new(CODE, RULE);
    repo.stack.edit("web", |o| o["size"] = json!(9));
    repo.scan();

    let no_github = repo.adopt(&["--pull-request"], &[]);
    assert_eq!(no_github.code, 1, "{}", no_github.stderr);
    assert!(
        no_github
            .stderr
            .contains("a pull request needs the GitHub API"),
        "{}",
        no_github.stderr
    );

    let mine = format!("{PROVIDER}{CODE}# my change, not committed\n");
    std::fs::write(repo.root().join("main.tf"), &mine).expect("write");
    let dirty = repo.adopt(
        &[
            "--pull-request",
            "--repo",
            "octo/infra",
            "--github-token",
            "ghs_s3cr3t-token",
            "--github-api-url",
            "http://127.0.0.1:9",
            "--base",
            "main",
        ],
        &[],
    );
    assert_eq!(dirty.code, 1, "{}{}", dirty.stdout, dirty.stderr);
    let text = format!("{}{}", dirty.stdout, dirty.stderr);
    assert!(
        text.contains("main.tf has changes that are not committed"),
        "{text}"
    );
    assert_eq!(repo.code(), mine, "the user's file is as they left it");
    let records = repo.records();
    let adopted = adoptions(&records);
    assert_eq!(adopted.len(), 1, "the failed proposal is recorded");
    assert_eq!(adopted[0]["result"], "failed");
    assert_eq!(adopted[0]["failure"]["kind"], "dirty_work_tree");

    std::fs::write(repo.root().join(".driftlog.toml"), "").expect("write");
    let no_rule = repo.adopt(&["--write"], &[]);
    assert_eq!(no_rule.code, 1);
    assert!(
        no_rule
            .stderr
            .contains("no [[remediate]] rule with action = \"adopt\""),
        "{}",
        no_rule.stderr
    );
}

/// A stop during the proof plan: terraform gets exactly one SIGINT, driftlog exits 130, the
/// files are as they were and the mirror the plan ran in is gone.
#[test]
fn an_interrupted_proof_changes_nothing_and_leaves_no_mirror() {
    let repo = Repo::new(CODE, RULE);
    repo.stack.edit("web", |o| o["size"] = json!(6));
    repo.scan();
    let marks = repo.root().join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let wrapper = repo.stack.fake_terraform(
        "slow-proof",
        "#!/bin/bash\ncase \"$PWD\" in *.driftlog-adopt-*)\n\
         trap 'echo once >> \"$MARKS/interrupted\"; exit 1' INT\n\
         echo \"$PWD\" > \"$MARKS/mirror\"\n\
         : > \"$MARKS/started\"\nwhile true; do sleep 0.05; done;;\nesac\n\
         exec terraform \"$@\"\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command
        .args(["adopt", repo.root().to_str().expect("utf-8"), "--write"])
        .args(["--signing-key", repo.key(), "--terraform-bin", &wrapper])
        .current_dir(repo.root())
        .env("TMPDIR", &repo.stack.tmp)
        .env("MARKS", &marks)
        .env_remove("DRIFTLOG_SIGNING_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::support::terraform_env(&mut command);
    let child = command.spawn().expect("start driftlog");
    let out = crate::support::interrupt_once_started(child, &marks);
    crate::support::assert_interrupted_once(&out, &marks);
    assert_eq!(repo.code(), format!("{PROVIDER}{CODE}"), "nothing written");
    let mirror = std::fs::read_to_string(marks.join("mirror")).expect("mirror path");
    assert!(
        !Path::new(mirror.trim()).exists(),
        "the mirror {mirror} is left behind"
    );
    assert!(
        adoptions(&repo.records()).is_empty(),
        "nothing adopted, nothing recorded"
    );
}

#[test]
fn a_block_an_override_file_merges_into_is_not_edited() {
    let repo = Repo::new(CODE, RULE);
    let overriding = "resource \"filestate_object\" \"web\" {\n  size = 3\n}\n";
    std::fs::write(repo.root().join("web_override.tf"), overriding).expect("write");
    git(repo.root(), &["add", "web_override.tf"]);
    git(repo.root(), &["commit", "-q", "-m", "override"]);
    repo.stack.edit("web", |o| o["size"] = json!(5));
    repo.scan();
    let run = repo.adopt(&["--write"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("web_override.tf overrides filestate_object.web"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.code(), format!("{PROVIDER}{CODE}"));
    let kept = std::fs::read_to_string(repo.root().join("web_override.tf")).expect("read");
    assert_eq!(kept, overriding);
}
