//! A `[[stacks]]` entry naming a CloudFormation stack: `cloudformation = "NAME"`, with
//! optional `region`, `profile`, `template` (the template file, for annotations) and `name`.

use std::path::{Component, Path, PathBuf};

use toml::Spanned;

use super::{CloudFormationSpec, ConfigError, Document, RawStack, StackSpec};
use crate::engine::cloudformation::stack_key;

impl StackSpec {
    /// The stack `spec` names, keyed and named as the configuration would.
    pub fn of_cloudformation(spec: CloudFormationSpec) -> StackSpec {
        let path = stack_key(spec.region.as_deref(), &spec.stack_name);
        StackSpec {
            cloudformation: Some(spec),
            ..StackSpec::at(path)
        }
    }
}

/// The top directory CloudFormation stacks are keyed under (`cloudformation/REGION/NAME`).
const NAMESPACE: &str = "cloudformation";

/// Whether a Terraform stack at `path` (relative to the repository root, lexically clean)
/// would be keyed where CloudFormation stacks are: reports, ignore rules and audit
/// histories would mix the two.
pub(super) fn in_cloudformation_namespace(path: &Path) -> bool {
    path.components().next() == Some(Component::Normal(NAMESPACE.as_ref()))
}

/// What a Terraform stack under `cloudformation/` is told.
pub(super) fn namespace_message(path: &Path) -> String {
    format!(
        "a Terraform stack cannot be under `{NAMESPACE}/` (\"{}\"): driftlog keys \
         CloudFormation stacks there (`{NAMESPACE}/REGION/NAME`), and the two would share \
         reports, ignore rules and audit history; move the directory",
        path.display()
    )
}

/// Refuses a Terraform stack directory named on the command line (`dir`, relative to `cwd`
/// or absolute) whose key would be under `cloudformation/`: as given, or relative to the
/// repository `root` (as the audit log places it).
pub fn check_terraform_dir(root: &Path, cwd: &Path, dir: &Path) -> Result<(), ConfigError> {
    let as_given = dir.is_relative().then(|| super::inside(dir)).flatten();
    let canonical = |path: &Path| std::fs::canonicalize(path).ok();
    let from_root = canonical(&cwd.join(dir))
        .zip(canonical(root))
        .and_then(|(dir, root)| dir.strip_prefix(root).ok().map(Path::to_path_buf));
    match [as_given, from_root]
        .into_iter()
        .flatten()
        .any(|path| in_cloudformation_namespace(&path))
    {
        true => Err(ConfigError::CloudFormationNamespace {
            message: namespace_message(dir),
        }),
        false => Ok(()),
    }
}

/// Whether `name` may be handed to the AWS CLI as a stack name (for `--cloudformation`).
pub fn valid_stack_name(name: &str) -> bool {
    is_stack_name(name)
}

/// Whether `region` may be handed to the AWS CLI as a region.
pub fn valid_region(region: &str) -> bool {
    is_region(region)
}

/// Whether `profile` may be handed to the AWS CLI as a profile name: printable, no spaces,
/// and never one it would read as an option.
pub fn valid_profile(profile: &str) -> bool {
    !profile.is_empty()
        && profile.len() <= 128
        && !profile.starts_with('-')
        && profile.chars().all(|c| c.is_ascii_graphic())
}

impl Document<'_> {
    pub(super) fn cloudformation_entry(
        &self,
        root: &Path,
        entry: &RawStack,
        stack: &Spanned<String>,
    ) -> Result<StackSpec, ConfigError> {
        if let Some(path) = &entry.path {
            return Err(self.error(
                path.span(),
                "stacks.path",
                "a stack is either a Terraform directory (`path`) or a CloudFormation stack \
                 (`cloudformation`), not both; name the template with `template`"
                    .to_owned(),
            ));
        }
        if let Some(workspace) = &entry.workspace {
            return Err(self.terraform_only(workspace.span(), "workspace"));
        }
        if let Some(file) = entry.var_files.first() {
            return Err(self.terraform_only(file.span(), "var_files"));
        }
        if let Some(value) = entry.vars.values().next() {
            return Err(self.terraform_only(value.span(), "vars"));
        }
        let stack_name = self.word(stack, "cloudformation", is_stack_name)?;
        let region = entry
            .region
            .as_ref()
            .map(|region| self.word(region, "region", is_region))
            .transpose()?;
        let profile = entry
            .profile
            .as_ref()
            .map(|profile| self.word(profile, "profile", valid_profile))
            .transpose()?;
        let template = entry
            .template
            .as_ref()
            .map(|template| self.template(root, template))
            .transpose()?;
        let mut spec = StackSpec::of_cloudformation(CloudFormationSpec {
            stack_name,
            region,
            profile,
            template,
        });
        match &entry.name {
            Some(name) if name.get_ref().trim().is_empty() => {
                return Err(self.error(name.span(), "stacks.name", "`name` is empty".to_owned()))
            }
            Some(name) => spec.name = name.get_ref().clone(),
            None => {}
        }
        Ok(spec)
    }

    fn terraform_only(&self, span: std::ops::Range<usize>, key: &str) -> ConfigError {
        self.error(
            span,
            &format!("stacks.{key}"),
            format!("`{key}` is for Terraform stacks, not CloudFormation ones"),
        )
    }

    /// A value handed to the AWS CLI as an argument: not empty, and never one it would read
    /// as an option.
    fn word(
        &self,
        value: &Spanned<String>,
        key: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<String, ConfigError> {
        let text = value.get_ref();
        if text.trim().is_empty() {
            return Err(self.error(
                value.span(),
                &format!("stacks.{key}"),
                format!("`{key}` is empty"),
            ));
        }
        if !valid(text) {
            return Err(self.error(
                value.span(),
                &format!("stacks.{key}"),
                format!("`{key}` \"{}\" is not a valid {key}", text.escape_debug()),
            ));
        }
        Ok(text.clone())
    }

    fn template(&self, root: &Path, value: &Spanned<String>) -> Result<PathBuf, ConfigError> {
        let text = value.get_ref();
        let path = Path::new(text);
        let inside = !path.is_absolute()
            && !text.is_empty()
            && path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(self.error(
                value.span(),
                "stacks.template",
                format!("`template` \"{text}\" must be a path inside the repository"),
            ));
        }
        if !root.join(path).is_file() {
            return Err(self.error(
                value.span(),
                "stacks.template",
                format!("`template` \"{text}\" is not a file in {}", root.display()),
            ));
        }
        Ok(path.to_path_buf())
    }
}

/// A stack name (letters, digits, hyphens, up to 128, starting with a letter) or a stack
/// ARN.
fn is_stack_name(name: &str) -> bool {
    if name.starts_with("arn:") {
        return name.len() <= 2048 && !name.chars().any(char::is_whitespace);
    }
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_region(region: &str) -> bool {
    region.len() <= 32
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_regions_are_checked_before_reaching_the_cli() {
        assert!(is_stack_name("app-prod"));
        assert!(is_stack_name(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"
        ));
        assert!(!is_stack_name("--region"));
        assert!(!is_stack_name("a b"));
        assert!(is_region("eu-west-1"));
        assert!(!is_region("--profile"));
        assert!(valid_profile("prod-admin") && valid_profile("team/ci@acme"));
        for bad in ["", "--debug", "a b", "a\nb", "é"] {
            assert!(!valid_profile(bad), "{bad:?}");
        }
    }
}
