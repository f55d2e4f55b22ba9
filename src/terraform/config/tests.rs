use super::*;
use crate::drift::path::Segment;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dirs");
    }
    std::fs::write(path, text).expect("write file");
}

fn at(file: PathBuf, line: u32, exact: bool) -> Option<SourceLocation> {
    Some(SourceLocation { file, line, exact })
}

#[test]
fn root_resource_line_skips_comments_heredocs_and_other_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "# A comment\n\
         \n\
         terraform {\n  required_version = \">= 1.5\"\n}\n\
         \n\
         /* a block comment\n   resource \"aws_s3_bucket\" \"logs\" {\n*/\n\
         locals {\n  policy = <<-EOT\n    resource \"aws_s3_bucket\" \"logs\" {\n    EOT\n}\n\
         \n\
         // the real one\n\
         resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(None, "managed", "aws_s3_bucket", "logs"),
        at(root.join("main.tf"), 17, true)
    );
}

#[test]
fn crlf_bom_and_one_line_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "\u{feff}# x\r\n\r\nresource \"a\" \"one\" {}\r\nresource a two { x = 1 }\r\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(None, "managed", "a", "one"),
        at(root.join("main.tf"), 3, true)
    );
    assert_eq!(
        declarations.locate(None, "managed", "a", "two"),
        at(root.join("main.tf"), 4, true)
    );
}

#[test]
fn data_source_and_managed_resource_are_told_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "data \"aws_vpc\" \"main\" {\n  default = true\n}\n\nresource \"aws_vpc\" \"main\" {\n}\n",
    );
    write(
        root,
        "checks.tf",
        "check \"health\" {\n  data \"http\" \"site\" {\n    url = \"x\"\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    let main = root.join("main.tf");
    assert_eq!(
        declarations.locate(None, "data", "aws_vpc", "main"),
        at(main.clone(), 1, true)
    );
    assert_eq!(
        declarations.locate(None, "managed", "aws_vpc", "main"),
        at(main, 5, true)
    );
    assert_eq!(
        declarations.locate(None, "data", "http", "site"),
        at(root.join("checks.tf"), 2, true)
    );
    assert_eq!(declarations.locate(None, "managed", "http", "site"), None);
    assert_eq!(declarations.locate(None, "other", "aws_vpc", "main"), None);
}

#[test]
fn resources_in_local_and_nested_modules_with_instance_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"a\" {\n  source   = \"./modules/a\"\n  for_each = toset([\"x\"])\n}\n",
    );
    write(
        root,
        "modules/a/main.tf",
        "resource \"null_resource\" \"in_a\" {}\n\nmodule \"b\" {\n  source = \"../b\"\n  count  = 2\n}\n",
    );
    write(
        root,
        "modules/b/main.tf",
        "variable \"v\" {}\n\nresource \"null_resource\" \"in_b\" {\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    let in_a = at(root.join("modules/a").join("main.tf"), 1, true);
    let in_b = at(root.join("modules/b").join("main.tf"), 3, true);
    for address in ["module.a", "module.a[\"x\"]", "module.a[\"x.y]z\"]"] {
        assert_eq!(
            declarations.locate(Some(address), "managed", "null_resource", "in_a"),
            in_a,
            "{address}"
        );
    }
    for address in [
        "module.a.module.b",
        "module.a[\"x\"].module.b[1]",
        "module.a[\"x.y]z\"].module.b[0]",
        "module.a[\"q\\\"].module.c\"].module.b",
        "module.a[\"\\\\\"].module.b",
    ] {
        assert_eq!(
            declarations.locate(Some(address), "managed", "null_resource", "in_b"),
            in_b,
            "{address}"
        );
    }
    // Wrong module, or not a module address at all.
    assert_eq!(
        declarations.locate(Some("module.a"), "managed", "null_resource", "in_b"),
        None
    );
    assert_eq!(
        declarations.locate(None, "managed", "null_resource", "in_a"),
        None
    );
    for address in ["module.a[\"x]", "module.a.", "module.", "a", "module.a[0]x"] {
        assert_eq!(
            declarations.locate(Some(address), "managed", "null_resource", "in_a"),
            None,
            "{address}"
        );
    }
}

#[test]
fn registry_module_found_through_modules_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"net\" {\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"5.0.0\"\n}\n",
    );
    write(
        root,
        ".terraform/modules/modules.json",
        r#"{"Modules":[{"Key":"","Source":"","Dir":"."},
            {"Key":"net","Source":"registry.terraform.io/terraform-aws-modules/vpc/aws","Version":"5.0.0","Dir":".terraform/modules/net"},
            {"Key":"net.sub","Source":"./modules/sub","Dir":".terraform/modules/net/modules/sub"}]}"#,
    );
    write(
        root,
        ".terraform/modules/net/main.tf",
        "resource \"aws_vpc\" \"this\" {}\nmodule \"sub\" {\n  source = \"./modules/sub\"\n}\n",
    );
    write(
        root,
        ".terraform/modules/net/modules/sub/main.tf",
        "\nresource \"aws_subnet\" \"this\" {}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(Some("module.net"), "managed", "aws_vpc", "this"),
        at(root.join(".terraform/modules/net/main.tf"), 1, true)
    );
    assert_eq!(
        declarations.locate(
            Some("module.net.module.sub"),
            "managed",
            "aws_subnet",
            "this"
        ),
        at(
            root.join(".terraform/modules/net/modules/sub/main.tf"),
            2,
            true
        )
    );
}

#[test]
fn data_dir_elsewhere_is_relative_to_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"net\" {\n  source = \"x/net\"\n}\n",
    );
    write(
        root,
        "tfdata/modules/modules.json",
        r#"{"Modules":[{"Key":"net","Source":"x/net","Dir":"tfdata/modules/net"}]}"#,
    );
    write(
        root,
        "tfdata/modules/net/main.tf",
        "resource \"r\" \"x\" {}\n",
    );
    let declarations = Declarations::load_with_data_dir(root, Path::new("tfdata"));
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(Some("module.net"), "managed", "r", "x"),
        at(root.join("tfdata/modules/net/main.tf"), 1, true)
    );
}

#[test]
fn unresolvable_module_points_at_the_innermost_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"local\" {\n  source = \"./local\"\n}\n",
    );
    write(
        root,
        "local/main.tf",
        "\n\nmodule \"remote\" {\n  source = \"git::https://example.com/m.git\"\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    let call = at(root.join("local").join("main.tf"), 3, false);
    assert_eq!(
        declarations.locate(Some("module.local.module.remote"), "managed", "x", "y"),
        call
    );
    assert_eq!(
        declarations.locate(
            Some("module.local.module.remote[0].module.deeper"),
            "data",
            "x",
            "y"
        ),
        call
    );
}

#[test]
fn unparsable_file_is_a_warning_and_others_are_still_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "broken.tf", "resource \"a\" \"b\" {\n  x = \n");
    write(root, "good.tf", "resource \"a\" \"c\" {}\n");
    write(root, "ignored.tf.json", "{}");
    write(root, "module.tf", "module \"m\" {\n  source = \"./m\"\n}\n");
    write(root, "m/broken.tf", "}\n");
    write(root, "m/ok.tf", "resource \"a\" \"d\" {}\n");
    let declarations = Declarations::load(root);
    let warnings = declarations.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let broken = root.join("broken.tf");
    assert!(
        warnings[0].starts_with(&format!("{}: ", broken.display())),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("line 2"), "{warnings:?}");
    assert!(warnings[1].contains("broken.tf"), "{warnings:?}");
    assert_eq!(
        declarations.locate(None, "managed", "a", "c"),
        at(root.join("good.tf"), 1, true)
    );
    assert_eq!(declarations.locate(None, "managed", "a", "b"), None);
    assert_eq!(
        declarations.locate(Some("module.m"), "managed", "a", "d"),
        at(root.join("m").join("ok.tf"), 1, true)
    );
    // Possibly in the file that could not be parsed: the call is the best guess.
    assert_eq!(
        declarations.locate(Some("module.m"), "managed", "a", "gone"),
        at(root.join("module.tf"), 1, false)
    );
}

#[test]
fn module_cycles_terminate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"self\" {\n  source = \"./\"\n}\nmodule \"dot\" {\n  source = \".\"\n}\n\
         module \"a\" {\n  source = \"./a\"\n}\nresource \"r\" \"x\" {}\n",
    );
    write(
        root,
        "a/main.tf",
        "module \"back\" {\n  source = \"../a/../\"\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(
            Some("module.self.module.dot[0].module.a.module.back.module.self"),
            "managed",
            "r",
            "x"
        ),
        at(root.join("main.tf"), 10, true)
    );
}

#[test]
fn override_files_do_not_move_declarations_but_may_change_sources() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "a_override.tf",
        "resource \"r\" \"x\" {\n  y = 1\n}\nmodule \"m\" {\n  source = \"./real\"\n}\n",
    );
    write(
        root,
        "main.tf",
        "\nresource \"r\" \"x\" {}\nmodule \"m\" {\n  source = \"./stale\"\n}\n",
    );
    write(root, "real/main.tf", "resource \"r\" \"z\" {}\n");
    let declarations = Declarations::load(root);
    assert_eq!(
        declarations.locate(None, "managed", "r", "x"),
        at(root.join("main.tf"), 2, true)
    );
    assert_eq!(
        declarations.locate(Some("module.m"), "managed", "r", "z"),
        at(root.join("real").join("main.tf"), 1, true)
    );
}

#[test]
fn unknown_resources_and_missing_root_are_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "main.tf", "resource \"r\" \"x\" {}\n");
    let declarations = Declarations::load(root);
    assert_eq!(declarations.locate(None, "managed", "r", "y"), None);
    assert_eq!(declarations.locate(None, "managed", "q", "x"), None);
    assert_eq!(
        declarations.locate(Some("module.nope"), "managed", "r", "x"),
        None
    );

    let missing = Declarations::load(&root.join("missing"));
    assert_eq!(missing.warnings().len(), 1);
    assert_eq!(missing.locate(None, "managed", "r", "x"), None);
}

#[test]
fn tofu_files_hide_their_tf_twins_and_editor_files_are_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "main.tf", "resource \"r\" \"x\" {}\n");
    write(root, "main.tofu", "\nresource \"r\" \"x\" {}\n");
    write(root, ".#main.tf", "not hcl {{{");
    write(root, "main.tf~", "not hcl {{{");
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.locate(None, "managed", "r", "x"),
        at(root.join("main.tofu"), 2, true)
    );
}

#[test]
fn terraform_itself_never_reads_tofu_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "main.tf", "resource \"r\" \"x\" {}\n");
    write(
        root,
        "main.tofu",
        "resource \"r\" \"x\" {\n  lifecycle {\n    ignore_changes = all\n  }\n}\n",
    );
    let for_tofu = Declarations::load_for(root, Path::new(".terraform"), false);
    assert!(for_tofu
        .ignore_changes(None, "r", "x")
        .is_some_and(|i| i.all));
    let for_terraform = Declarations::load_for(root, Path::new(".terraform"), true);
    assert_eq!(
        for_terraform.ignore_changes(None, "r", "x"),
        None,
        "terraform manages what only a .tofu file ignores"
    );
    assert_eq!(
        for_terraform.locate(None, "managed", "r", "x"),
        at(root.join("main.tf"), 1, true)
    );
}

#[test]
fn missing_module_dir_and_bad_manifest_are_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"m\" {\n  source = \"./nope\"\n}\n",
    );
    write(root, ".terraform/modules/modules.json", "{\"Modules\": 3}");
    let declarations = Declarations::load(root);
    let warnings = declarations.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("modules.json"), "{warnings:?}");
    assert!(warnings[1].contains("nope"), "{warnings:?}");
    assert_eq!(
        declarations.locate(Some("module.m"), "managed", "r", "x"),
        at(root.join("main.tf"), 1, false)
    );
}

fn key(name: &str) -> IgnoreStep {
    IgnoreStep::Key(name.to_owned())
}

fn ignoring(file: PathBuf, line: u32, paths: Vec<Vec<IgnoreStep>>) -> IgnoreChanges {
    IgnoreChanges {
        all: false,
        paths,
        at: SourceLocation {
            file,
            line,
            exact: true,
        },
    }
}

#[test]
fn ignore_changes_of_a_root_resource_points_at_its_own_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"aws_instance\" \"web\" {\n  ami = \"x\"\n\n  lifecycle {\n    \
         create_before_destroy = true\n    ignore_changes = [\n      tags[\"env\"],\n    ]\n  \
         }\n}\n\nresource \"aws_instance\" \"all\" {\n  lifecycle {\n    ignore_changes = all\n  \
         }\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    let main = root.join("main.tf");
    assert_eq!(
        declarations.ignore_changes(None, "aws_instance", "web"),
        Some(&ignoring(
            main.clone(),
            6,
            vec![vec![key("tags"), key("env")]]
        ))
    );
    let all = declarations.ignore_changes(None, "aws_instance", "all");
    assert_eq!(
        all,
        Some(&IgnoreChanges {
            all: true,
            paths: Vec::new(),
            at: SourceLocation {
                file: main,
                line: 14,
                exact: true
            },
        })
    );
    assert!(all.is_some_and(|all| all.covers(&[Segment::Key("ami")])));
}

#[test]
fn ignore_changes_paths_cover_what_is_inside_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"aws_security_group\" \"sg\" {\n  lifecycle {\n    \
         ignore_changes = [rule[0].cidr_blocks]\n  }\n}\n\
         resource \"aws_instance\" \"dotted\" {\n  lifecycle {\n    \
         ignore_changes = [tags.env]\n  }\n}\n\
         resource \"aws_instance\" \"indexed\" {\n  lifecycle {\n    \
         ignore_changes = [tags[\"env\"]]\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    let sg = declarations
        .ignore_changes(None, "aws_security_group", "sg")
        .expect("sg ignores changes");
    use Segment::{Index, Key};
    assert!(sg.covers(&[Key("rule"), Index(0), Key("cidr_blocks"), Index(1)]));
    assert!(!sg.covers(&[Key("rule"), Index(1), Key("port")]));
    assert!(!sg.covers(&[Key("rule")]));

    let dotted = declarations.ignore_changes(None, "aws_instance", "dotted");
    let indexed = declarations.ignore_changes(None, "aws_instance", "indexed");
    assert_eq!(
        dotted.map(|found| &found.paths),
        indexed.map(|found| &found.paths)
    );
    for found in [dotted, indexed] {
        let found = found.expect("ignores changes");
        assert!(found.covers(&[Key("tags"), Key("env")]));
        assert!(!found.covers(&[Key("tags"), Key("Name")]));
    }
}

#[test]
fn ignore_changes_in_local_and_registry_modules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "module \"local\" {\n  source   = \"./modules/local\"\n  for_each = toset([\"a\"])\n}\n\
         module \"net\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n",
    );
    write(
        root,
        "modules/local/main.tf",
        "resource \"r\" \"x\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n",
    );
    write(
        root,
        ".terraform/modules/modules.json",
        r#"{"Modules":[{"Key":"net","Source":"registry.terraform.io/terraform-aws-modules/vpc/aws","Dir":".terraform/modules/net"},
            {"Key":"net.sub","Source":"./sub","Dir":".terraform/modules/net/sub"}]}"#,
    );
    write(
        root,
        ".terraform/modules/net/main.tf",
        "module \"sub\" {\n  source = \"./sub\"\n  count  = 2\n}\n",
    );
    write(
        root,
        ".terraform/modules/net/sub/main.tf",
        "\nresource \"aws_subnet\" \"this\" {\n  lifecycle {\n    ignore_changes = [b]\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    let local = Some(ignoring(
        root.join("modules/local").join("main.tf"),
        3,
        vec![vec![key("a")]],
    ));
    for address in ["module.local", "module.local[\"a\"]"] {
        assert_eq!(
            declarations
                .ignore_changes(Some(address), "r", "x")
                .cloned(),
            local,
            "{address}"
        );
    }
    assert_eq!(declarations.ignore_changes(None, "r", "x"), None);
    assert_eq!(
        declarations
            .ignore_changes(Some("module.net.module.sub[1]"), "aws_subnet", "this")
            .cloned(),
        Some(ignoring(
            root.join(".terraform/modules/net/sub/main.tf"),
            4,
            vec![vec![key("b")]]
        ))
    );
    assert_eq!(
        declarations.ignore_changes(Some("module.nope"), "aws_subnet", "this"),
        None
    );
    assert_eq!(
        declarations.ignore_changes(Some("not an address"), "r", "x"),
        None
    );
}

#[test]
fn override_files_replace_ignore_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n\
         resource \"r\" \"kept\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n\
         resource \"r\" \"added\" {}\n",
    );
    write(
        root,
        "override.tf",
        "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [b]\n  }\n}\n\
         resource \"r\" \"kept\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\
         resource \"r\" \"added\" {\n  lifecycle {\n    ignore_changes = all\n  }\n}\n\
         resource \"r\" \"orphan\" {\n  lifecycle {\n    ignore_changes = [c]\n  }\n}\n",
    );
    write(
        root,
        "z_override.tf",
        "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [\"c\"]\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    assert_eq!(
        declarations.ignore_changes(None, "r", "replaced").cloned(),
        Some(ignoring(
            root.join("z_override.tf"),
            3,
            vec![vec![key("c")]]
        ))
    );
    assert_eq!(
        declarations.ignore_changes(None, "r", "kept").cloned(),
        Some(ignoring(root.join("main.tf"), 8, vec![vec![key("a")]]))
    );
    let added = declarations.ignore_changes(None, "r", "added");
    assert!(added.is_some_and(|added| added.all && added.at.line == 13));
    assert_eq!(declarations.ignore_changes(None, "r", "orphan"), None);
    // The declaration stays where the primary file has it.
    assert_eq!(
        declarations.locate(None, "managed", "r", "replaced"),
        at(root.join("main.tf"), 1, true)
    );
}

#[test]
fn no_ignore_changes_is_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"r\" \"bare\" {}\n\
         resource \"r\" \"other_lifecycle\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\
         resource \"r\" \"empty\" {\n  lifecycle {\n    ignore_changes = []\n  }\n}\n\
         data \"r\" \"read\" {\n  lifecycle {\n    postcondition {\n      condition = true\n      \
         error_message = \"x\"\n    }\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    assert_eq!(declarations.warnings(), &[] as &[String]);
    for name in ["bare", "other_lifecycle", "empty", "read", "missing"] {
        assert_eq!(declarations.ignore_changes(None, "r", name), None, "{name}");
    }
}

#[test]
fn unparsable_ignore_changes_element_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"r\" \"x\" {\n  lifecycle {\n    ignore_changes = [\n      tags,\n      \
         rule[*].port,\n      lookup(tags, \"a\"),\n    ]\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    let warnings = declarations.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let main = root.join("main.tf");
    for (warning, line) in warnings.iter().zip([5, 6]) {
        assert!(
            warning.starts_with(&format!(
                "{}: ignore_changes element skipped (line {line}: ",
                main.display()
            )),
            "{warnings:?}"
        );
    }
    assert_eq!(
        declarations.ignore_changes(None, "r", "x").cloned(),
        Some(ignoring(main, 3, vec![vec![key("tags")]]))
    );
    // Only module calls are wanted there: lifecycles are not read.
    let (calls, warnings) = local_module_calls(root);
    assert_eq!((calls, warnings), (Vec::new(), Vec::new()));
}

#[test]
fn for_each_resources_share_their_declaration_s_ignore_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "main.tf",
        "resource \"aws_s3_bucket\" \"b\" {\n  for_each = toset([\"a\", \"b\"])\n  \
         bucket   = each.key\n  lifecycle {\n    ignore_changes = [tags]\n  }\n}\n",
    );
    let declarations = Declarations::load(root);
    // `aws_s3_bucket.b["a"]` and `aws_s3_bucket.b["b"]` are looked up by type and name.
    let found = declarations.ignore_changes(None, "aws_s3_bucket", "b");
    assert_eq!(
        found.cloned(),
        Some(ignoring(root.join("main.tf"), 5, vec![vec![key("tags")]]))
    );
    assert!(found.is_some_and(|found| found.covers(&[Segment::Key("tags"), Segment::Key("x")])));
}

#[test]
fn cleans_paths_lexically() {
    assert_eq!(clean(Path::new("a/./b/../c")), PathBuf::from("a/c"));
    assert_eq!(clean(Path::new("a/../../b")), PathBuf::from("../b"));
    assert_eq!(clean(Path::new("./")), PathBuf::new());
    assert_eq!(clean(Path::new("/../x")), PathBuf::from("/x"));
}
