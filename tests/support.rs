//! Shared test fixtures: the real terraform + test provider toolchain, throwaway stacks, and
//! a runner for the driftlog binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

/// The toolchain `scripts/setup-test-env.sh` lays out.
pub struct Tools {
    pub bin_dir: PathBuf,
    pub cli_config: PathBuf,
}

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        let root = target.join("driftlog-tools");
        let tools = Tools {
            bin_dir: root.join("bin"),
            cli_config: root.join("terraformrc"),
        };
        assert!(
            tools.bin_dir.join("terraform").is_file() && tools.cli_config.is_file(),
            "terraform and the test provider are missing from {}: run `bash scripts/setup-test-env.sh` \
             (the README's test command, `bash scripts/test.sh`, does it for you)",
            root.display()
        );
        tools
    })
}

/// PATH with the test terraform first.
pub fn path_with_tools() -> OsString {
    let mut paths = vec![tools().bin_dir.clone()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("PATH entries are valid")
}

/// The environment every test runs terraform and driftlog in: the test tools first on PATH.
pub fn terraform_env(command: &mut Command) {
    command
        .env("PATH", path_with_tools())
        .env("TF_CLI_CONFIG_FILE", &tools().cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_WORKSPACE")
        .env_remove("TF_DATA_DIR")
        .env_remove("DRIFTLOG_TERRAFORM_BIN")
        .env_remove("DRIFTLOG_SIGNING_KEY")
        .env_remove("NO_COLOR");
    // A test is in GitHub Actions only when it says so.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("GITHUB_") || name.starts_with("RUNNER_") {
            command.env_remove(&*name);
        }
    }
}

/// The terraform block every test configuration starts with.
pub const PROVIDER: &str = r#"
terraform {
  required_providers {
    filestate = { source = "example/filestate", version = "0.1.0" }
  }
}
provider "filestate" {
  directory = "store"
}
"#;

/// A stack exercising every shape the differ must handle.
pub const RICH_STACK: &str = r#"
resource "filestate_object" "web" {
  name        = "web"
  description = "web tier"
  size        = 3
  enabled     = true
  secret      = "s3cr3t-OLD-value"
  tags        = { env = "prod", team = "platform" }
  rule {
    port        = 443
    cidr_blocks = ["10.0.0.0/8", "10.1.0.0/16"]
  }
  rule {
    port        = 22
    cidr_blocks = ["10.2.0.0/16"]
  }
}

resource "filestate_object" "counted" {
  count = 2
  name  = "counted-${count.index}"
}

resource "filestate_object" "keyed" {
  for_each = toset(["plain", "we\"ird key"])
  name     = "keyed-${md5(each.key)}"
  tags     = { key = each.key }
}

module "net" {
  source = "./modules/net"
}

output "web_id" {
  value = filestate_object.web.id
}
"#;

pub const NET_MODULE: &str = r#"
terraform {
  required_providers {
    filestate = { source = "example/filestate" }
  }
}
resource "filestate_object" "subnet" {
  name        = "subnet"
  description = "private subnet"
  tags        = { tier = "private" }
}
"#;

/// A stack in a temp dir, with its own TMPDIR so tests can prove temp files are removed.
pub struct Stack {
    _dir: TempDir,
    pub root: PathBuf,
    pub tmp: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The report on stdout, which must conform to the published JSON Schema.
    pub fn json(&self) -> Value {
        let report: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        let errors: Vec<String> = report_schema()
            .iter_errors(&report)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "the report breaks docs/scan-report.schema.json: {errors:#?}\n{report:#}"
        );
        report
    }
}

fn report_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        jsonschema::validator_for(&driftlog::drift::json_schema())
            .expect("the published schema is valid")
    })
}

impl Stack {
    /// Writes `files` (relative path, content) into a new stack directory.
    pub fn new(files: &[(&str, &str)]) -> Stack {
        let dir = tempfile::Builder::new()
            .prefix("driftlog-test-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().join("stack");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("file has a parent"))
                .expect("create dirs");
            std::fs::write(path, content).expect("write config file");
        }
        Stack {
            _dir: dir,
            root,
            tmp,
        }
    }

    /// The rich stack: root module plus the `net` module.
    pub fn rich() -> Stack {
        Stack::new(&[
            ("main.tf", &format!("{PROVIDER}{RICH_STACK}")),
            ("modules/net/main.tf", NET_MODULE),
        ])
    }

    pub fn terraform(&self, args: &[&str]) -> Output {
        let mut command = Command::new(tools().bin_dir.join("terraform"));
        command.args(args).current_dir(&self.root);
        terraform_env(&mut command);
        command.output().expect("run terraform")
    }

    /// Runs terraform in `dir` (a stack below the root).
    pub fn terraform_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(tools().bin_dir.join("terraform"));
        command.args(args).current_dir(dir);
        terraform_env(&mut command);
        command.output().expect("run terraform")
    }

    /// `terraform init` + `apply` in `dir`, asserting both succeed.
    pub fn apply_in(&self, dir: &Path) {
        for args in [
            &["init", "-input=false", "-no-color"][..],
            &["apply", "-auto-approve", "-input=false", "-no-color"][..],
        ] {
            let out = self.terraform_in(dir, args);
            assert!(
                out.status.success(),
                "terraform {args:?} in {} failed:\n{}\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `terraform init` + `apply`, asserting both succeed.
    pub fn apply(&self, extra: &[&str]) -> &Self {
        for args in [
            &["init", "-input=false", "-no-color"][..],
            &[
                &["apply", "-auto-approve", "-input=false", "-no-color"][..],
                extra,
            ]
            .concat(),
        ] {
            let out = self.terraform(args);
            assert!(
                out.status.success(),
                "terraform {args:?} failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self
    }

    /// Makes the stack's directory a git repository on `main` holding one commit of its
    /// configuration (terraform's files, the provider's store, `keys/` and `ignored` left
    /// out), and writes a fresh signing key to `keys/signing_key`.
    pub fn commit_to_git(
        &self,
        ignored: &[&str],
    ) -> (PathBuf, driftlog::audit::sshsig::SigningKey) {
        let root = &self.root;
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "Platform CI"]);
        git(root, &["config", "user.email", "ci@example.com"]);
        let mut ignore = String::from(".terraform/\nstore/\n*.tfstate*\nkeys/\n");
        for pattern in ignored {
            ignore.push_str(pattern);
            ignore.push('\n');
        }
        std::fs::write(root.join(".gitignore"), ignore).expect("write .gitignore");
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "stack"]);
        let key = driftlog::audit::sshsig::SigningKey::generate().expect("key");
        let keys = root.join("keys");
        std::fs::create_dir_all(&keys).expect("mkdir keys");
        let key_file = keys.join("signing_key");
        std::fs::write(&key_file, key.to_openssh("ci").expect("encode")).expect("write key");
        (key_file, key)
    }

    /// The file the test provider reads an object's real state from.
    pub fn object_file(&self, name: &str) -> PathBuf {
        self.root.join("store").join(format!("{name}.json"))
    }

    /// Changes an object's real state out of band.
    pub fn edit(&self, name: &str, change: impl FnOnce(&mut Value)) {
        let path = self.object_file(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut value: Value = serde_json::from_str(&text).expect("object file is JSON");
        change(&mut value);
        std::fs::write(&path, serde_json::to_vec_pretty(&value).expect("serialize"))
            .expect("write object file");
    }

    /// Deletes an object out of band.
    pub fn delete(&self, name: &str) {
        std::fs::remove_file(self.object_file(name)).expect("delete object file");
    }

    /// Runs `driftlog scan <stack> ARGS`, without recording unless ARGS bring a signing key.
    pub fn scan(&self, args: &[&str]) -> Run {
        let audit = args
            .iter()
            .any(|a| *a == "--signing-key" || *a == "--no-audit");
        let no_audit: &[&str] = if audit { &[] } else { &["--no-audit"] };
        self.driftlog_in(
            &self.root,
            &[
                &["scan", self.root.to_str().expect("utf-8 path")],
                no_audit,
                args,
            ]
            .concat(),
        )
    }

    pub fn driftlog_in(&self, cwd: &Path, args: &[&str]) -> Run {
        self.driftlog_with_env(cwd, args, &[])
    }

    /// Runs driftlog with extra environment variables (a GitHub Actions runner's, say).
    pub fn driftlog_with_env(&self, cwd: &Path, args: &[&str], env: &[(String, String)]) -> Run {
        self.run_with_env(Path::new(env!("CARGO_BIN_EXE_driftlog")), cwd, args, env)
    }

    /// Runs `program` with the test terraform's environment plus `env`.
    pub fn run_with_env(
        &self,
        program: &Path,
        cwd: &Path,
        args: &[&str],
        env: &[(String, String)],
    ) -> Run {
        let mut command = Command::new(program);
        command.args(args).current_dir(cwd).env("TMPDIR", &self.tmp);
        terraform_env(&mut command);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let out = command.output().expect("run driftlog");
        crate::capture::run(args, cwd, env, &out.stdout, &out.stderr);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Writes an executable script into the stack dir, to stand in for terraform.
    pub fn fake_terraform(&self, name: &str, script: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.join(name);
        std::fs::write(&path, script).expect("write fake terraform");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_str().expect("utf-8 path").to_owned()
    }

    /// A terraform (`env-terraform`, in the stack dir) that appends its environment to
    /// `env-dump` before running the real one: terraform's environment is every provider's
    /// and every `local-exec`'s. The wrapper's path and the dump's.
    pub fn env_dumping_terraform(&self) -> (String, PathBuf) {
        let dump = self.root.join("env-dump");
        let wrapper = self.fake_terraform(
            "env-terraform",
            &format!(
                "#!/bin/sh\nenv >> '{}'\nexec terraform \"$@\"\n",
                dump.display()
            ),
        );
        (wrapper, dump)
    }

    /// `driftlog scan --format json --terraform-bin BIN` on this stack.
    pub fn scan_json_with(&self, terraform_bin: &str) -> Run {
        self.scan(&["--format", "json", "--terraform-bin", terraform_bin])
    }

    /// Whatever driftlog left in its TMPDIR (it should leave nothing).
    pub fn leftover_temp_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.tmp)
            .expect("read tmp")
            .map(|e| e.expect("dir entry").path())
            .collect()
    }
}

/// The drifted resource at `address` in a JSON report.
pub fn resource<'a>(report: &'a Value, address: &str) -> &'a Value {
    report["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .unwrap_or_else(|| panic!("{address} not in report:\n{report:#}"))
}

/// The change at `path` of a drifted resource, as (before, after).
pub fn change<'a>(resource: &'a Value, path: &str) -> (&'a Value, &'a Value) {
    let change = resource["changes"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["path"] == path))
        .unwrap_or_else(|| panic!("no change at {path} in:\n{resource:#}"));
    (&change["before"], &change["after"])
}

pub fn known(value: Value) -> Value {
    serde_json::json!({"kind": "known", "value": value})
}

/// Runs git in `dir`, asserting it succeeds; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts `text` (a run's stdout or stderr) contains `wanted`, showing all of `text` if not.
#[track_caller]
pub fn assert_contains(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{}", text);
}

/// Asserts the process `out` came from exited 0, showing its stderr if not.
#[track_caller]
pub fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SHA-256 of `bytes`, lowercase hex, computed independently of driftlog's own helpers.
pub fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts driftlog, interrupted by [`interrupt_once_started`], exited 130 (showing its stderr
/// if not), and that the fake terraform got exactly one SIGINT.
#[track_caller]
pub fn assert_interrupted_once(out: &Output, marks: &Path) {
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(marks.join("interrupted")).unwrap_or_default(),
        "once\n",
        "terraform gets exactly one SIGINT"
    );
}

/// Sends `child` (driftlog running a fake terraform) one SIGINT once the fake has written
/// `MARKS/started` (waiting at most 30 s), so the signal hits a run in progress, then
/// collects its output.
pub fn interrupt_once_started(child: std::process::Child, marks: &Path) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !marks.join("started").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "fake terraform never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait for driftlog");
    crate::capture::bytes("stdout", &out.stdout);
    crate::capture::bytes("stderr", &out.stderr);
    out
}

/// Records, commits and CloudTrail events all have one-second resolution: the scenario's
/// steps must fall in different seconds, as real runs hours apart do.
pub fn wait_for_the_next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .expect("clock after 1970");
    std::thread::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ));
}
