//! Runs the real AWS CLI v1 against a fake.

use std::path::PathBuf;
use std::process::Command;

use fake_cloudformation::FakeCloudFormation;
use serde_json::Value;

/// `target/driftlog-tools/bin/aws` (from scripts/setup-test-env.sh), else `aws` on PATH.
fn aws_binary() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace.join(dir)
            }
        })
        .unwrap_or_else(|| workspace.join("target"));
    let tools = target.join("driftlog-tools/bin/aws");
    if tools.is_file() {
        return tools;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("aws"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the AWS CLI is missing: neither {} nor `aws` on PATH; run scripts/setup-test-env.sh",
                tools.display()
            )
        })
}

/// What one CLI run gave.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON output of a run that must have succeeded.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, Some(0), "the CLI failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("the CLI printed no JSON ({e}): {}", self.stdout))
    }

    /// The stderr of a run that must have failed with exit code 255 (the CLI's code for
    /// service and parameter errors).
    pub fn failure(&self) -> &str {
        assert_eq!(
            self.code,
            Some(255),
            "expected the CLI to fail; stdout: {}",
            self.stdout
        );
        &self.stderr
    }
}

/// `aws cloudformation ARGS --output json` against the fake, with dummy credentials, no AWS
/// configuration files and no retries, as driftlog runs it.
pub fn cloudformation(fake: &FakeCloudFormation, args: &[&str]) -> Run {
    let home = std::env::temp_dir();
    let output = Command::new(aws_binary())
        .arg("cloudformation")
        .args(args)
        .args(["--output", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", fake.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("running the AWS CLI: {e}"));
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A string field of a JSON object.
pub fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
}
