//! What must hold before a remediation may apply anything: not a pull request's run, the
//! checkout being exactly the default branch's head with no local change (the code there is
//! what was applied; anything else would revert towards code nobody merged), and nothing in
//! the environment that terraform would add to the guarded plan or apply. An untracked file
//! terraform would read (`evil.tf`, `x_override.tf`, `x.auto.tfvars`) is a local change too.

use std::collections::HashMap;
use std::path::Path;

/// Why a remediation may not apply here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error(
        "this is a {0} run: a pull request's code is not what was applied, so remediation \
         never applies on pull-request events; run it on a schedule or by hand on the default \
         branch (a dry run, without --apply, works anywhere)"
    )]
    PullRequestEvent(String),
    #[error(
        "{0} is set: terraform would add its arguments to the guarded plan or apply (-lock=false, \
         -replace, -destroy...); unset it for remediation"
    )]
    CliArgs(String),
    #[error("{0}: cannot tell which commit is checked out ({1})")]
    Repository(String, String),
    #[error(
        "no default branch found in {0} (refs/remotes/origin/HEAD, main or master): remediation \
         applies only on the default branch's head; run git remote set-head origin --auto"
    )]
    NoDefaultBranch(String),
    #[error(
        "the checkout is {head}, not the head of the default branch {branch} ({tip}): the code \
         here is not what was applied; check out {branch} and pull, then remediate"
    )]
    NotDefaultHead {
        head: String,
        branch: String,
        tip: String,
    },
    #[error(
        "the checkout has local changes ({0}): the code here is not what was applied; commit \
         or stash them, then remediate"
    )]
    LocalChanges(String),
}

/// Checks the run's environment (`env`, as the process has it).
pub fn check_environment(env: &HashMap<String, String>) -> Result<(), GateError> {
    if let Some(event) = env.get("GITHUB_EVENT_NAME") {
        if event.starts_with("pull_request") {
            return Err(GateError::PullRequestEvent(event.clone()));
        }
    }
    for name in ["TF_CLI_ARGS", "TF_CLI_ARGS_plan", "TF_CLI_ARGS_apply"] {
        if env.get(name).is_some_and(|v| !v.trim().is_empty()) {
            return Err(GateError::CliArgs(name.to_owned()));
        }
    }
    Ok(())
}

/// Checks that the repository holding `dir` has the default branch's head checked out,
/// with no change to a tracked file.
pub fn check_checkout(dir: &Path) -> Result<(), GateError> {
    let shown = dir.display().to_string();
    let failed = |err: git2::Error| GateError::Repository(shown.clone(), err.message().to_owned());
    let repo = git2::Repository::discover(dir).map_err(failed)?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(failed)?;
    let (branch, tip) =
        default_branch(&repo).ok_or_else(|| GateError::NoDefaultBranch(shown.clone()))?;
    if head.id() != tip {
        return Err(GateError::NotDefaultHead {
            head: short(head.id()),
            branch,
            tip: short(tip),
        });
    }
    let mut options = git2::StatusOptions::new();
    // Untracked files count when terraform would read them: an untracked evil.tf or
    // main_override.tf changes what is planned as surely as an edit to a tracked file.
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo.statuses(Some(&mut options)).map_err(failed)?;
    let changed: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != git2::Status::CURRENT)
        .filter(|s| s.status() != git2::Status::WT_NEW || s.path().is_some_and(terraform_reads))
        .filter_map(|s| s.path().map(str::to_owned))
        .collect();
    if !changed.is_empty() {
        let mut listed = changed
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if changed.len() > 5 {
            listed.push_str(&format!(" and {} more", changed.len() - 5));
        }
        return Err(GateError::LocalChanges(listed));
    }
    Ok(())
}

/// Whether terraform reads the file at `path` (in the repository) as configuration or
/// variables when it is in a stack's or a module's directory. `.terraform/` is terraform's
/// own (installed modules and providers, from what the tracked configuration says).
fn terraform_reads(path: &str) -> bool {
    if path.split('/').any(|part| part == ".terraform") {
        return false;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    [".tf", ".tf.json", ".tfvars", ".tfvars.json"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The default branch and its tip: what origin/HEAD names, else main, else master (the
/// remote's copy before a local one, which a checkout may have moved).
fn default_branch(repo: &git2::Repository) -> Option<(String, git2::Oid)> {
    if let Ok(reference) = repo.find_reference("refs/remotes/origin/HEAD") {
        if let Ok(resolved) = reference.resolve() {
            let name = resolved.shorthand().unwrap_or("origin/HEAD").to_owned();
            if let Ok(commit) = resolved.peel_to_commit() {
                return Some((name, commit.id()));
            }
        }
    }
    [
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
        "refs/heads/main",
        "refs/heads/master",
    ]
    .iter()
    .find_map(|name| {
        let reference = repo.find_reference(name).ok()?;
        let commit = reference.peel_to_commit().ok()?;
        Some((reference.shorthand()?.to_owned(), commit.id()))
    })
}

fn short(oid: git2::Oid) -> String {
    oid.to_string().chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pull_request_events_and_terraform_argument_variables_are_refused() {
        for event in ["pull_request", "pull_request_target", "pull_request_review"] {
            assert_eq!(
                check_environment(&env(&[("GITHUB_EVENT_NAME", event)])),
                Err(GateError::PullRequestEvent(event.into()))
            );
        }
        assert_eq!(
            check_environment(&env(&[("TF_CLI_ARGS_apply", "-lock=false")])),
            Err(GateError::CliArgs("TF_CLI_ARGS_apply".into()))
        );
        let fine = env(&[("GITHUB_EVENT_NAME", "schedule"), ("TF_CLI_ARGS", " ")]);
        assert_eq!(check_environment(&fine), Ok(()));
    }

    fn commit(repo: &git2::Repository, file: &str, text: &str, branch: &str) -> git2::Oid {
        let root = repo.workdir().expect("a work tree").to_owned();
        std::fs::write(root.join(file), text).expect("write");
        let mut index = repo.index().expect("index");
        index.add_path(Path::new(file)).expect("add");
        index.write().expect("write index");
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let sig = git2::Signature::now("t", "t@example.com").expect("sig");
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        let refname = format!("refs/heads/{branch}");
        repo.commit(Some(&refname), &sig, &sig, "c", &tree, &parents)
            .expect("commit")
    }

    #[test]
    fn only_a_clean_checkout_of_the_default_branch_head_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = git2::Repository::init(dir.path()).expect("init");
        repo.set_head("refs/heads/main").expect("head");
        let first = commit(&repo, "main.tf", "a", "main");
        assert_eq!(check_checkout(dir.path()), Ok(()));

        std::fs::write(dir.path().join("main.tf"), "edited").expect("write");
        assert!(matches!(
            check_checkout(dir.path()),
            Err(GateError::LocalChanges(files)) if files == "main.tf"
        ));

        repo.set_head("refs/heads/feature").expect("head");
        commit(&repo, "main.tf", "b", "feature");
        repo.reference("refs/heads/main", first, true, "keep main")
            .expect("main");
        let err = check_checkout(dir.path()).expect_err("a feature branch");
        assert!(
            err.to_string()
                .contains("not the head of the default branch main"),
            "{err}"
        );
    }

    #[test]
    fn an_untracked_configuration_file_is_a_local_change_and_other_untracked_files_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = git2::Repository::init(dir.path()).expect("init");
        repo.set_head("refs/heads/main").expect("head");
        commit(&repo, "main.tf", "a", "main");
        // Terraform reads every *.tf (and overrides, and *.auto.tfvars) in the directory.
        std::fs::create_dir_all(dir.path().join("modules/x")).expect("mkdir");
        std::fs::write(dir.path().join("notes.txt"), "scratch").expect("write");
        std::fs::write(dir.path().join("plan.out"), "binary").expect("write");
        assert_eq!(check_checkout(dir.path()), Ok(()));
        for file in [
            "evil.tf",
            "main_override.tf.json",
            "x.auto.tfvars",
            "modules/x/main.tf",
        ] {
            std::fs::write(dir.path().join(file), "resource").expect("write");
            assert!(
                matches!(
                    check_checkout(dir.path()),
                    Err(GateError::LocalChanges(files)) if files.contains(file)
                ),
                "{file} untracked passed the gate"
            );
            std::fs::remove_file(dir.path().join(file)).expect("remove");
        }
    }
}
