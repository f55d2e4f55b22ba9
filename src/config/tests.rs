use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A repository with stacks `infra/prod`, `infra/stage`, `envs/a/live`, `envs/b/live` and
/// the module `modules/net` they call.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let calling = "module \"net\" {\n  source = \"../../modules/net\"\n}\n";
    write(root, "infra/prod/main.tf", calling);
    write(root, "infra/stage/main.tf", calling);
    write(root, "envs/a/live/main.tf", "resource \"a\" \"b\" {}\n");
    write(root, "envs/b/live/main.tofu", "resource \"a\" \"b\" {}\n");
    write(root, "modules/net/main.tf", "resource \"a\" \"b\" {}\n");
    dir
}

fn parse(root: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::parse(root, &root.join(FILE_NAME), text)
}

/// The error's line, column, key and message.
fn invalid(root: &Path, text: &str) -> (usize, usize, Option<String>, String) {
    match parse(root, text) {
        Err(ConfigError::Invalid {
            file,
            line,
            column,
            key,
            message,
        }) => {
            assert_eq!(file, root.join(FILE_NAME));
            (line, column, key, message)
        }
        other => panic!("expected an invalid configuration, got {other:?}"),
    }
}

#[test]
fn valid_config_with_every_field() {
    let dir = repo();
    let root = dir.path();
    write(
        root,
        FILE_NAME,
        r#"# stacks
[[stacks]]
path = "./infra/prod/"
name = "prod"
workspace = "default"
var_files = ["prod.tfvars", "../common.tfvars"]
vars = { region = "eu-west-1", az_count = "3" }

[[ignore]]
resource = "aws_autoscaling_group.web"
attribute = "desired_capacity"
stack = "infra/*"
expires = 2026-12-31
reason = "the autoscaler owns it"

[[ignore]]
expires = "2027-01-15"
reason = "everything, for a while"

[[ignore]]
resource = "aws_autoscaling_group.web"
attribute = "desired_capacity"
stack = "infra/*"
reason = "same again"
"#,
    );
    let config = Config::load(root, None).expect("valid");
    assert_eq!(config.file, Some(root.join(FILE_NAME)));
    assert_eq!(config.root, root);
    assert_eq!(
        config.stacks,
        vec![StackSpec {
            path: PathBuf::from("infra/prod"),
            name: "prod".to_owned(),
            workspace: Some("default".to_owned()),
            var_files: vec![
                PathBuf::from("prod.tfvars"),
                PathBuf::from("../common.tfvars")
            ],
            vars: vec![
                ("az_count".to_owned(), "3".to_owned()),
                ("region".to_owned(), "eu-west-1".to_owned()),
            ],
            cloudformation: None,
            owners: Vec::new(),
        }]
    );
    assert_eq!(
        config.ignore[0],
        IgnoreRule {
            id: "aws_autoscaling_group.web:desired_capacity@infra/*".to_owned(),
            resource: "aws_autoscaling_group.web".to_owned(),
            attribute: Some("desired_capacity".to_owned()),
            stack: Some("infra/*".to_owned()),
            expires: Some("2026-12-31".to_owned()),
            reason: "the autoscaler owns it".to_owned(),
            line: 9,
        }
    );
    assert_eq!(config.ignore[1].id, "*");
    assert_eq!(config.ignore[1].resource, "*");
    assert_eq!(config.ignore[1].attribute, None);
    assert_eq!(config.ignore[1].expires.as_deref(), Some("2027-01-15"));
    assert_eq!(config.ignore[1].line, 16);
    assert_eq!(
        config.ignore[2].id,
        "aws_autoscaling_group.web:desired_capacity@infra/*#2"
    );
    assert_eq!(config.warnings, Vec::<String>::new());
}

#[test]
fn explicit_file_wins_and_missing_file_is_an_error() {
    let dir = repo();
    let root = dir.path();
    write(root, FILE_NAME, "[[stacks]]\npath = \"infra/prod\"\n");
    write(root, "other.toml", "[[stacks]]\npath = \"infra/stage\"\n");
    let config = Config::load(root, Some(&root.join("other.toml"))).expect("valid");
    assert_eq!(config.stacks[0].path, PathBuf::from("infra/stage"));

    let err = Config::load(root, Some(&root.join("missing.toml"))).expect_err("missing");
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

#[test]
fn a_configuration_larger_than_the_limit_is_refused_unread() {
    let dir = repo();
    let root = dir.path();
    // Valid TOML all through: only its size gives it away.
    let mut text = String::from("[[stacks]]\npath = \"infra/prod\"\n");
    text.push_str(&"# padding\n".repeat(crate::config::MAX_CONFIG_BYTES as usize / 10 + 1));
    write(root, FILE_NAME, &text);
    let err = Config::load(root, None).expect_err("too large");
    assert!(matches!(err, ConfigError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("MAX_CONFIG_BYTES"), "{err}");
}

#[test]
fn without_a_file_stacks_are_discovered() {
    let dir = repo();
    let root = dir.path();
    let config = Config::load(root, None).expect("discovered");
    assert_eq!(config.file, None);
    assert!(config.ignore.is_empty());
    let paths: Vec<_> = config.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        paths,
        vec!["envs/a/live", "envs/b/live", "infra/prod", "infra/stage"]
    );

    // A file with only ignore rules discovers its stacks too.
    write(
        root,
        FILE_NAME,
        "[[ignore]]\nresource = \"a.b\"\nreason = \"r\"\n",
    );
    let config = Config::load(root, None).expect("valid");
    assert_eq!(config.stacks.len(), 4);
    assert_eq!(config.ignore.len(), 1);
}

#[test]
fn globs_expand_to_several_stacks() {
    let dir = repo();
    let root = dir.path();
    let config = parse(
        root,
        "[[stacks]]\npath = \"infra/*\"\nworkspace = \"w\"\nvars = { a = \"1\" }\n\n\
         [[stacks]]\npath = \"envs/**\"\n",
    )
    .expect("valid");
    let names: Vec<_> = config.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["infra/prod", "infra/stage", "envs/a/live", "envs/b/live"]
    );
    assert_eq!(config.stacks[1].workspace.as_deref(), Some("w"));
    assert_eq!(
        config.stacks[1].vars,
        vec![("a".to_owned(), "1".to_owned())]
    );
    assert_eq!(config.stacks[2].workspace, None);

    let config = parse(root, "[[stacks]]\npath = \"envs/*/live\"\n").expect("valid");
    assert_eq!(config.stacks.len(), 2);
    // The module is not a stack, even when a glob covers it.
    let config = parse(root, "[[stacks]]\npath = \"*/*\"\n").expect("valid");
    let names: Vec<_> = config.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["infra/prod", "infra/stage"]);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let dir = repo();
    let root = dir.path();
    let text = "[[stacks]]\npath = \"infra/prod\"\n\n[[stacks]]\n  pth = \"infra/stage\"\n";
    let err = parse(root, text).expect_err("unknown key");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:5:3: unknown key `pth` in [[stacks]] (expected path, name, workspace, var_files, vars, cloudformation, region, profile, template, owners)",
            root.join(FILE_NAME).display()
        )
    );
    let (line, _, key, message) = invalid(root, "[[ignore]]\nreason = \"x\"\nresouce = \"a\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("ignore"));
    assert_eq!(
        message,
        "unknown key `resouce` in [[ignore]] (expected resource, attribute, stack, expires, reason)"
    );
    let (line, column, _, message) = invalid(root, "\nstack = []\n");
    assert_eq!((line, column), (2, 1));
    assert_eq!(
        message,
        "unknown key `stack` at the top level (expected stacks, ignore, remediate, notify, drift)"
    );
}

#[test]
fn drift_table_sets_whether_unmanaged_drift_counts() {
    let dir = repo();
    let root = dir.path();
    let counted = parse(root, "[drift]\ncount_unmanaged = true\n").expect("valid");
    assert!(counted.count_unmanaged);
    let default = parse(root, "[drift]\n").expect("valid");
    assert!(!default.count_unmanaged, "off unless asked for");
    let (line, _, _, message) = invalid(root, "[drift]\ncount_unmanged = true\n");
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "unknown key `count_unmanged` in [drift] (expected count_unmanaged)"
    );
    let (line, _, key, message) = invalid(root, "[drift]\ncount_unmanaged = \"yes\"\n");
    assert_eq!(line, 2);
    assert_eq!(key.as_deref(), Some("drift.count_unmanaged"));
    assert!(message.contains("count_unmanaged"), "{message}");
}

#[test]
fn key_lists_in_messages_are_the_fields() {
    // serde's own list of fields, in any order, must be the one messages show.
    for (text, keys) in [
        ("x = 1\n", TOP_KEYS),
        ("[[stacks]]\nx = 1\n", STACK_KEYS),
        ("[[ignore]]\nx = 1\n", IGNORE_KEYS),
        ("[[notify]]\nx = 1\n", notify::NOTIFY_KEYS),
    ] {
        let err = toml::from_str::<RawFile>(text).err().expect("unknown key");
        let mut listed: Vec<&str> = err.message().split('`').skip(3).step_by(2).collect();
        listed.sort_unstable();
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        assert_eq!(listed, keys, "{}", err.message());
    }
}

#[test]
fn wrong_type_names_line_and_key() {
    let dir = repo();
    let root = dir.path();
    let (line, column, key, message) =
        invalid(root, "[[stacks]]\npath = \"infra/prod\"\nworkspace = 3\n");
    assert_eq!((line, column), (3, 13));
    assert_eq!(key.as_deref(), Some("stacks.workspace"));
    assert_eq!(
        message,
        "`workspace` in [[stacks]]: invalid type: integer `3`, expected a string"
    );
    let (line, _, key, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/prod\"\nvars = { region = \"x\", count = 2 }\n",
    );
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("stacks.vars.count"));
    assert!(
        message.starts_with("`vars.count` in [[stacks]]: "),
        "{message}"
    );
    let (line, _, _, message) = invalid(root, "[[stacks]]\nname = \"x\"\n");
    assert_eq!(line, 1);
    assert_eq!(message, "a stack needs `path` (a Terraform directory) or `cloudformation` (a CloudFormation stack's name)");
    let (line, column, _, _) = invalid(root, "\u{feff}[[stacks]]\npath = \"infra/prod\"\n x = 1\n");
    assert_eq!((line, column), (3, 2));
    let (line, _, _, _) = invalid(root, "\n\nstacks = \"infra\"\n");
    assert_eq!(line, 3);
    // Not TOML at all.
    let (line, _, _, _) = invalid(root, "[[stacks]]\npath = \"infra/prod\n");
    assert_eq!(line, 2);
}

#[test]
fn name_on_a_glob_is_an_error() {
    let dir = repo();
    let root = dir.path();
    let (line, column, key, message) =
        invalid(root, "[[stacks]]\npath = \"infra/*\"\nname = \"all\"\n");
    assert_eq!((line, column), (3, 8));
    assert_eq!(key.as_deref(), Some("stacks.name"));
    assert!(message.contains("`name`"), "{message}");
    assert!(message.contains("infra/*"), "{message}");
}

#[test]
fn glob_matching_nothing_and_missing_directories_are_errors() {
    let dir = repo();
    let root = dir.path();
    let (line, _, key, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/prod\"\n\n[[stacks]]\npath = \"infar/*\"\n",
    );
    assert_eq!(line, 5);
    assert_eq!(key.as_deref(), Some("stacks.path"));
    assert!(message.contains("infar/*"), "{message}");
    assert!(message.contains("matches no"), "{message}");
    let (line, _, _, message) = invalid(root, "[[stacks]]\npath = \"infra/prd\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("not a directory"), "{message}");
    let (line, _, _, message) = invalid(root, "[[stacks]]\npath = \"  \"\n");
    assert_eq!(line, 2);
    assert_eq!(message, "`path` is empty");
}

#[test]
fn duplicate_stacks_are_errors() {
    let dir = repo();
    let root = dir.path();
    let (line, _, key, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/stage\"\n\n[[stacks]]\npath = \"infra/*\"\n",
    );
    assert_eq!(line, 5);
    assert_eq!(key.as_deref(), Some("stacks.path"));
    assert_eq!(
        message,
        "stack `infra/stage` is listed twice (first at line 2)"
    );
    let (line, _, key, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/prod\"\nname = \"x\"\n\n[[stacks]]\npath = \"infra/stage\"\nname = \"x\"\n",
    );
    assert_eq!(line, 7);
    assert_eq!(key.as_deref(), Some("stacks.name"));
    assert_eq!(message, "stack name `x` is used twice (first at line 3)");
    // A name that is another stack's path.
    let (line, _, _, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/*\"\n\n[[stacks]]\npath = \"envs/a/live\"\nname = \"infra/prod\"\n",
    );
    assert_eq!(line, 6);
    assert!(message.contains("used twice"), "{message}");
    // The same directory written two ways.
    let (line, _, _, _) = invalid(
        root,
        "[[stacks]]\npath = \"infra/prod\"\n[[stacks]]\npath = \"./infra//prod/\"\nname = \"p\"\n",
    );
    assert_eq!(line, 4);
}

#[test]
fn missing_or_empty_reason_is_an_error() {
    let dir = repo();
    let root = dir.path();
    let (line, column, key, message) = invalid(
        root,
        "[[stacks]]\npath = \"infra/prod\"\n\n[[ignore]]\nresource = \"a.b\"\n",
    );
    assert_eq!((line, column), (4, 1));
    assert_eq!(key.as_deref(), Some("ignore.reason"));
    assert!(message.contains("no `reason`"), "{message}");
    let (line, _, _, message) = invalid(root, "[[ignore]]\nreason = \"\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("`reason` is empty"), "{message}");
}

#[test]
fn bad_dates_are_errors() {
    let dir = repo();
    let root = dir.path();
    let head = "[[ignore]]\nreason = \"r\"\n";
    for (value, needle) in [
        ("2026-13-01", "month"),
        ("2026-02-30", "day"),
        ("\"2026-02-30\"", "not a valid date"),
        ("\"31/12/2026\"", "not a date"),
        ("\"2026-1-1\"", "not a date"),
        ("2026-12-31T10:00:00", "not 2026-12-31T10:00:00"),
        ("10:00:00", "must be a date"),
        ("20261231", "not a integer"),
    ] {
        let (line, _, key, message) = invalid(root, &format!("{head}expires = {value}\n"));
        assert_eq!(line, 3, "{value}");
        assert_eq!(key.as_deref(), Some("ignore.expires"), "{value}: {message}");
        assert!(message.contains("expires"), "{value}: {message}");
        assert!(message.contains(needle), "{value}: {message}");
    }
    let config = parse(root, &format!("{head}expires = 2024-02-29\n")).expect("leap day");
    assert_eq!(config.ignore[0].expires.as_deref(), Some("2024-02-29"));
}

#[test]
fn paths_leaving_the_repository_are_errors() {
    let dir = repo();
    let root = dir.path();
    for path in ["../x", "infra/../../x", "../*", "infra/*/../x", "/etc"] {
        let (line, _, key, message) = invalid(root, &format!("[[stacks]]\npath = \"{path}\"\n"));
        assert_eq!(line, 2, "{path}");
        assert_eq!(key.as_deref(), Some("stacks.path"), "{path}");
        assert!(message.contains(path), "{path}: {message}");
    }
    let config = parse(root, "[[stacks]]\npath = \"envs/../infra/prod\"\n").expect("inside");
    assert_eq!(config.stacks[0].path, PathBuf::from("infra/prod"));
    write(root, "main.tf", "");
    let config = parse(root, "[[stacks]]\npath = \".\"\n").expect("root");
    assert_eq!(config.stacks[0].path, PathBuf::from("."));
    assert_eq!(config.stacks[0].name, ".");
}

#[test]
fn terraform_stacks_under_the_cloudformation_keys_are_refused() {
    let dir = repo();
    let root = dir.path();
    write(
        root,
        "cloudformation/legacy/main.tf",
        "resource \"a\" \"b\" {}\n",
    );
    write(
        root,
        "cloudformationish/main.tf",
        "resource \"a\" \"b\" {}\n",
    );
    for path in [
        "cloudformation/legacy",
        "./cloudformation/legacy/",
        "infra/../cloudformation/legacy",
    ] {
        let (line, _, key, message) = invalid(root, &format!("[[stacks]]\npath = \"{path}\"\n"));
        assert_eq!((line, key.as_deref()), (2, Some("stacks.path")), "{path}");
        assert!(message.contains("`cloudformation/`"), "{path}: {message}");
    }
    parse(root, "[[stacks]]\npath = \"cloudformationish\"\n").expect("another directory");

    // Discovered, it is left out and said.
    let config = Config::load(root, None).expect("discovered");
    let paths: Vec<_> = config.stacks.iter().map(|s| s.name.as_str()).collect();
    assert!(!paths.contains(&"cloudformation/legacy"), "{paths:?}");
    assert!(paths.contains(&"cloudformationish"), "{paths:?}");
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.starts_with("cloudformation/legacy: not scanned")),
        "{:?}",
        config.warnings
    );

    // Named on the command line: as given, or from a directory below the root.
    let infra = root.join("infra");
    for (cwd, given) in [
        (root, "cloudformation/legacy"),
        (root, "./cloudformation/legacy"),
        (infra.as_path(), "../cloudformation/legacy"),
        (infra.as_path(), "cloudformation/legacy"),
    ] {
        let err = check_terraform_dir(root, cwd, Path::new(given)).expect_err(given);
        assert!(
            matches!(err, ConfigError::CloudFormationNamespace { .. }),
            "{given}"
        );
        assert!(err.to_string().contains("`cloudformation/`"), "{err}");
    }
    let absolute = root.join("cloudformation/legacy");
    assert!(check_terraform_dir(root, &infra, &absolute).is_err());
    check_terraform_dir(root, root, Path::new("infra/prod")).expect("a Terraform directory");
    check_terraform_dir(root, root, Path::new("cloudformationish")).expect("another directory");
}

#[test]
fn empty_globs_are_errors() {
    let dir = repo();
    let root = dir.path();
    for key in ["attribute", "resource", "stack"] {
        let (line, _, found, message) =
            invalid(root, &format!("[[ignore]]\nreason = \"r\"\n{key} = \"\"\n"));
        assert_eq!(line, 3);
        assert_eq!(found, Some(format!("ignore.{key}")));
        assert!(
            message.starts_with(&format!("`{key}` is empty")),
            "{message}"
        );
    }
}

#[test]
fn loaded_rules_match() {
    let dir = repo();
    let root = dir.path();
    let config = parse(
        root,
        "[[ignore]]\nresource = 'module.a[\"x\"].aws_b.c[*]'\nattribute = \"tags.*\"\n\
         expires = 2026-06-30\nreason = \"r\"\n",
    )
    .expect("valid");
    let rule = &config.ignore[0];
    assert!(rule.matches(".", r#"module.a["x"].aws_b.c[0]"#, Some("tags.LastScanned")));
    assert!(!rule.matches(".", r#"module.a["x"].aws_b.c[0]"#, Some("name")));
    assert!(!rule.matches(".", r#"module.a["x"].aws_b.c[0]"#, None));
    assert!(rule.is_active("2026-06-30"));
    assert!(!rule.is_active("2026-07-01"));
}

#[test]
fn shards_cover_every_stack_once() {
    let stacks: Vec<StackSpec> = ["f", "b", ".", "e/x", "a", "c"]
        .iter()
        .map(|path| StackSpec::at(PathBuf::from(path)))
        .collect();
    for n in 1..=7 {
        let mut seen: Vec<PathBuf> = Vec::new();
        for k in 1..=n {
            let part = shard(&stacks, k, n);
            assert!(part.len() <= stacks.len().div_ceil(n), "{k}/{n}");
            assert!(part.len() + 1 >= stacks.len() / n, "{k}/{n}");
            seen.extend(part.into_iter().map(|stack| stack.path));
        }
        seen.sort();
        let mut all: Vec<PathBuf> = stacks.iter().map(|stack| stack.path.clone()).collect();
        all.sort();
        assert_eq!(seen, all, "n = {n}");
    }
    let first: Vec<_> = shard(&stacks, 1, 2).into_iter().map(|s| s.name).collect();
    assert_eq!(first, vec![".", "b", "e/x"]);
    assert!(shard(&stacks, 0, 2).is_empty());
    assert!(shard(&stacks, 3, 2).is_empty());
}

#[test]
fn parse_shard_accepts_k_of_n_only() {
    assert_eq!(parse_shard("2/3"), Ok((2, 3)));
    assert_eq!(parse_shard(" 1 / 1 "), Ok((1, 1)));
    let err = |text: &str| parse_shard(text).expect_err(text);
    assert!(err("0/3").contains("numbered from 1"));
    assert!(err("4/3").contains("only 3 shards"));
    assert!(err("1/0").contains("at least 1"));
    for junk in ["", "2", "a/b", "2/3/4", "-1/3", "2/3x", "1.5/3"] {
        assert!(err(junk).contains("K/N"), "{junk}: {}", err(junk));
    }
}

#[test]
fn notify_entries_default_to_every_transition_and_stack() {
    let dir = repo();
    let root = dir.path();
    let config = parse(
        root,
        "[[notify]]\nkind = \"slack\"\nurl_env = \"SLACK_DRIFT_WEBHOOK\"\n\n\
         [[notify]]\nkind = \"webhook\"\nurl_env = \"HOOK\"\nsecret_env = \"HOOK_KEY\"\n\
         on = [\"resolved\", \"failed\", \"failed\"]\nstacks = \"infra/prod*\"\n",
    )
    .expect("valid");
    let [slack, hook] = config.notify.as_slice() else {
        panic!("two entries: {:?}", config.notify);
    };
    assert_eq!(slack.kind, crate::notify::Kind::Slack);
    assert_eq!((slack.line, hook.line), (1, 5));
    assert_eq!(slack.on, crate::notify::Transition::ALL.to_vec());
    assert!(slack.wants(crate::notify::Transition::Changed, "anything/at/all"));
    assert_eq!(hook.secret_env.as_deref(), Some("HOOK_KEY"));
    use crate::notify::Transition::{Drifted, Failed, Resolved};
    assert_eq!(hook.on, vec![Resolved, Failed]);
    assert!(hook.wants(Failed, "infra/prod"));
    assert!(!hook.wants(Drifted, "infra/prod"));
    assert!(!hook.wants(Failed, "infra/stage"));
}

#[test]
fn notify_entries_that_cannot_work_are_refused_with_their_line() {
    let dir = repo();
    let root = dir.path();
    for (text, key, says) in [
        (
            "[[notify]]\nurl_env = \"X\"\n",
            "notify.kind",
            "has no `kind`",
        ),
        (
            "[[notify]]\nkind = \"email\"\nurl_env = \"X\"\n",
            "notify.kind",
            "expected slack, webhook, teams",
        ),
        (
            "[[notify]]\nkind = \"slack\"\n",
            "notify.url_env",
            "has no `url_env`",
        ),
        (
            "[[notify]]\nkind = \"slack\"\nurl_env = \"X\"\non = []\n",
            "notify.on",
            "`on` is empty",
        ),
        (
            "[[notify]]\nkind = \"slack\"\nurl_env = \"X\"\non = [\"always\"]\n",
            "notify.on",
            "not a transition",
        ),
    ] {
        let (line, _, got_key, message) = invalid(root, text);
        assert!(line >= 1, "{text}");
        assert_eq!(got_key.as_deref(), Some(key), "{text}: {message}");
        assert!(message.contains(says), "{text}: {message}");
    }
}

#[test]
fn a_url_pasted_where_its_variable_belongs_is_refused_and_not_repeated() {
    let dir = repo();
    let root = dir.path();
    let url = "https://hooks.slack.com/services/T000/B000/s3cr3tpart";
    for key in ["url_env", "secret_env"] {
        let text =
            format!("[[notify]]\nkind = \"webhook\"\nurl_env = \"HOOK\"\n{key} = \"{url}\"\n")
                .replacen("url_env = \"HOOK\"\nurl_env", "url_env", 1);
        let err = parse(root, &text).expect_err("a URL is not a variable name");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("s3cr3tpart"), "{key}: {shown}");
        assert!(
            shown.contains("must name an environment variable"),
            "{shown}"
        );
    }
}

#[test]
fn more_notify_entries_than_the_limit_are_refused() {
    let dir = repo();
    let root = dir.path();
    let entry = "[[notify]]\nkind = \"slack\"\nurl_env = \"X\"\n";
    let text = entry.repeat(notify::MAX_NOTIFY_TARGETS + 1);
    let err = parse(root, &text).expect_err("too many");
    assert!(
        err.to_string()
            .contains(&notify::MAX_NOTIFY_TARGETS.to_string()),
        "{err}"
    );
    parse(root, &entry.repeat(notify::MAX_NOTIFY_TARGETS)).expect("at the limit");
}
