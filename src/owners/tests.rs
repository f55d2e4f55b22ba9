use super::*;

fn names(owners: Option<&[Owner]>) -> Option<Vec<String>> {
    owners.map(|owners| owners.iter().map(Owner::display).collect())
}

const FILE: &str = "\
# Platform owns everything unless a later line says otherwise.
*                       @acme/platform
/infra/                 @acme/infra   # the infra team
infra/**/prod           @acme/sre @alice
*.md                    docs@acme.example
/infra/legacy/          
docs/*                  @bob
/infra/prod/db/         @carol
";

#[test]
fn the_last_matching_line_wins() {
    let owners = CodeOwners::parse(FILE);
    assert!(owners.warnings.is_empty(), "{:?}", owners.warnings);
    let of = |path| names(owners.of(path));
    assert_eq!(of("README.tf"), Some(vec!["@acme/platform".into()]));
    assert_eq!(of("infra/vpc/main.tf"), Some(vec!["@acme/infra".into()]));
    // `infra/**/prod` owns prod directories at any depth below infra, and infra/prod.
    assert_eq!(
        of("infra/prod/main.tf"),
        Some(vec!["@acme/sre".into(), "@alice".into()])
    );
    assert_eq!(
        of("infra/eu/west/prod/main.tf"),
        Some(vec!["@acme/sre".into(), "@alice".into()])
    );
    assert_eq!(
        of("other/prod/main.tf"),
        Some(vec!["@acme/platform".into()])
    );
    // A later line overrides an earlier one for what both match.
    assert_eq!(of("infra/prod/db/main.tf"), Some(vec!["@carol".into()]));
    assert_eq!(
        of("infra/prod/README.md"),
        Some(vec!["docs@acme.example".into()])
    );
    // A line without owners leaves its files unowned: matched, nobody.
    assert_eq!(of("infra/legacy/main.tf"), Some(vec![]));
    // `docs/*` owns the files in docs, not deeper ones.
    assert_eq!(of("docs/runbook.txt"), Some(vec!["@bob".into()]));
    assert_eq!(
        of("docs/deep/runbook.txt"),
        Some(vec!["@acme/platform".into()])
    );
}

#[test]
fn patterns_follow_gitignore_anchoring() {
    let owners = CodeOwners::parse("logs @u4\napps/ @u1\n/build/logs/ @u2\n*.js @u3\n");
    let of = |path| names(owners.of(path));
    assert_eq!(of("apps/x.txt"), Some(vec!["@u1".into()]));
    assert_eq!(of("deep/apps/x.txt"), Some(vec!["@u1".into()]));
    assert_eq!(of("apps"), None, "`apps/` is a directory, not a file");
    assert_eq!(of("build/logs/a/b.log"), Some(vec!["@u2".into()]));
    assert_eq!(
        of("x/build/logs/b.log"),
        Some(vec!["@u4".into()]),
        "/build/logs/ is anchored at the root"
    );
    assert_eq!(of("a/b/c.js"), Some(vec!["@u3".into()]));
    assert_eq!(of("a/logs/today.txt"), Some(vec!["@u4".into()]));
    assert_eq!(of("logs"), Some(vec!["@u4".into()]));
    assert_eq!(of("./apps/x.txt"), Some(vec!["@u1".into()]));
}

#[test]
fn what_github_does_not_support_is_skipped_with_a_warning() {
    let owners = CodeOwners::parse(
        "* @ok\n!infra/ @neg\ninfra/[ab]/ @range\n\\#file @esc\ninfra/ not-an-owner\ninfra/ @a b\n",
    );
    assert_eq!(owners.warnings.len(), 5, "{:#?}", owners.warnings);
    assert!(owners.warnings[0].starts_with("line 2: `!infra/`"));
    assert!(owners.warnings[1].contains("character ranges"));
    assert!(owners.warnings[3].contains("`not-an-owner`"));
    assert_eq!(names(owners.of("infra/main.tf")), Some(vec!["@ok".into()]));
}

#[test]
fn owners_are_users_teams_or_addresses() {
    assert_eq!(Owner::parse("@alice"), Some(Owner::User("alice".into())));
    assert_eq!(
        Owner::parse("@acme/sre-team"),
        Some(Owner::Team("acme/sre-team".into()))
    );
    assert_eq!(
        Owner::parse("ops@acme.example"),
        Some(Owner::Email("ops@acme.example".into()))
    );
    for bad in ["alice", "@", "@a/b/c", "@a b", "@<img>", "x@y", "@acme/"] {
        assert_eq!(Owner::parse(bad), None, "{bad}");
    }
}

#[test]
fn a_stacks_owners_come_from_its_files_and_the_first_codeowners_found() {
    let root = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("infra/prod/main.tf", "");
    write("infra/prod/db.tf", "");
    write("infra/prod/terraform.tfstate", "");
    write("infra/prod/modules/x/main.tf", "");
    write("docs/CODEOWNERS", "* @from-docs\n");
    write("CODEOWNERS", "* @from-root\n");
    let owners = CodeOwners::load(root.path());
    assert_eq!(owners.file.as_deref(), Some(Path::new("CODEOWNERS")));
    write(
        ".github/CODEOWNERS",
        "*.tf @tf\ninfra/prod/db.tf @dba @tf\n",
    );
    let owners = CodeOwners::load(root.path());
    assert_eq!(
        owners.file.as_deref(),
        Some(Path::new(".github/CODEOWNERS"))
    );
    let files = stack_files(root.path(), "infra/prod");
    assert_eq!(files, ["infra/prod/db.tf", "infra/prod/main.tf"]);
    let stack: Vec<String> = owners
        .of_all(files.iter().map(String::as_str))
        .iter()
        .map(Owner::display)
        .collect();
    assert_eq!(stack, ["@dba", "@tf"]);

    write(
        ".github/CODEOWNERS",
        &"#".repeat(MAX_CODEOWNERS_BYTES as usize + 1),
    );
    let owners = CodeOwners::load(root.path());
    assert_eq!(owners.of("infra/prod/main.tf"), None);
    assert!(owners.warnings[0].contains("larger than GitHub reads"));
}
