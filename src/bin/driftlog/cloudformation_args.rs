//! The flags that name CloudFormation stacks on the command line and how to reach them.

use std::path::PathBuf;

use driftlog::config::{self, CloudFormationSpec};
use driftlog::run::stacks::{parse_timeout, ScanSettings};

#[derive(Debug, Clone, clap::Args)]
pub struct CloudFormationArgs {
    /// A CloudFormation stack to scan (its name or ARN), beside any DIR. Repeatable.
    #[arg(long = "cloudformation", value_name = "NAME", value_parser = parse_stack_name)]
    pub stacks: Vec<String>,
    /// The AWS region of the --cloudformation stacks (default: the environment's).
    #[arg(long, value_name = "REGION", value_parser = parse_region, requires = "stacks")]
    pub region: Option<String>,
    /// The AWS CLI profile for the --cloudformation stacks (default: the environment's).
    #[arg(long, value_name = "NAME", value_parser = parse_profile, requires = "stacks")]
    pub profile: Option<String>,
    /// The AWS CLI to run for CloudFormation stacks (a name on PATH or a path).
    #[arg(long, env = "DRIFTLOG_AWS_BIN", value_name = "PATH")]
    pub aws_bin: Option<PathBuf>,
    /// Longest a CloudFormation drift detection may take (default 15m).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub cloudformation_timeout: Option<std::time::Duration>,
}

impl CloudFormationArgs {
    /// The stacks named, as the configuration would name them.
    pub fn specs(&self) -> Vec<CloudFormationSpec> {
        self.stacks
            .iter()
            .map(|name| CloudFormationSpec {
                stack_name: name.clone(),
                region: self.region.clone(),
                profile: self.profile.clone(),
                template: None,
            })
            .collect()
    }

    /// Adds how to run the AWS CLI to `settings`.
    pub fn apply(&self, settings: &mut ScanSettings) {
        settings.aws_bin = self.aws_bin.clone().map(PathBuf::into_os_string);
        settings.cloudformation_timeout = self.cloudformation_timeout;
    }
}

fn parse_stack_name(text: &str) -> Result<String, String> {
    if config::valid_stack_name(text) {
        Ok(text.to_owned())
    } else {
        Err(
            "a stack name is letters, digits and hyphens, starting with a letter (or an ARN)"
                .into(),
        )
    }
}

fn parse_profile(text: &str) -> Result<String, String> {
    if config::valid_profile(text) {
        Ok(text.to_owned())
    } else {
        Err("a profile name is printable ASCII without spaces, not starting with `-`".into())
    }
}

fn parse_region(text: &str) -> Result<String, String> {
    if config::valid_region(text) {
        Ok(text.to_owned())
    } else {
        Err("a region is like `us-east-1`".into())
    }
}
