//! The ignore stage: the configuration's `[[ignore]]` rules, as of today, marked on each
//! scan's drift (kept in the report and the record, saying which rule; no longer counted).

use std::path::Path;

use crate::config::{self, Config};
use crate::drift::{Ignored, ScanReport};

/// The configuration's ignore rules, as of `today` (`YYYY-MM-DD`, for their expiry).
pub struct IgnoreRules<'a> {
    config: &'a Config,
    today: String,
}

impl<'a> IgnoreRules<'a> {
    pub fn new(config: &'a Config, today: impl Into<String>) -> Self {
        IgnoreRules {
            config,
            today: today.into(),
        }
    }

    /// The rules as of the current date.
    pub fn today(config: &'a Config) -> Self {
        IgnoreRules::new(config, today())
    }

    pub fn config(&self) -> &'a Config {
        self.config
    }

    /// Marks what the rules ignore in `report`, a scan of the stack at `dir`.
    pub fn apply(&self, report: &mut ScanReport, dir: &Path) {
        if self.config.ignore.is_empty() {
            return;
        }
        let stack_path = stack_path(&self.config.root, dir);
        let file = self
            .config
            .file
            .as_deref()
            .map(|f| {
                f.strip_prefix(&self.config.root)
                    .unwrap_or(f)
                    .display()
                    .to_string()
            })
            .unwrap_or_else(|| config::FILE_NAME.to_owned());
        report.apply_ignores(|resource, change| {
            let rule = self.config.ignore.iter().find(|rule| {
                rule.applies(
                    &self.today,
                    &stack_path,
                    &resource.address,
                    change.map(|c| c.path.as_str()),
                )
            })?;
            Some(Ignored {
                rule: format!("{file}:{}", rule.line),
                reason: rule.reason.clone(),
                expires: rule.expires.clone(),
            })
        });
    }
}

/// Today's date in UTC, `YYYY-MM-DD`, as rules' `expires` is compared with it.
pub fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.get(..10).unwrap_or_default().to_owned()
}

/// A stack's path relative to the repository root, as ignore rules name stacks.
pub fn stack_path(root: &Path, dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match dir.strip_prefix(&root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => dir.display().to_string(),
    }
}
