use super::*;

fn sources(files: &[(&str, &str)]) -> Sources {
    Sources {
        files: files
            .iter()
            .map(|(p, t)| SourceFile {
                path: PathBuf::from(p),
                text: (*t).to_owned(),
            })
            .collect(),
    }
}

fn want(path: &str, value: NewValue) -> Wanted {
    Wanted {
        resource_type: "aws_s3_bucket".into(),
        name: "b".into(),
        path: path.into(),
        value,
    }
}

#[test]
fn a_literal_string_is_replaced_in_place() {
    let text = "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"old\" # keep\n}\n";
    let edits = edit(
        &sources(&[("main.tf", text)]),
        &[want("bucket", NewValue::Set("n\"${x}".into()))],
    );
    assert_eq!(
        edits.files[Path::new("main.tf")],
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"n\\\"$${x}\" # keep\n}\n"
    );
    assert_eq!(
        edits.outcomes,
        vec![Outcome::Edited {
            file: "main.tf".into(),
            line: 2
        }]
    );
}

const BUCKET: &str = r#"# The logs bucket.
resource "aws_s3_bucket" "b" {
  bucket  = "logs" # name
  size    = 10
  enabled = true
  tags = {
    env  = "prod"
    team = "web"
  }
  cidr_blocks = ["10.0.0.0/16", "10.1.0.0/16"]

  rule {
    port = 443 // https
  }
}
"#;

fn edited(path: &str, value: NewValue) -> (String, Vec<Outcome>) {
    let edits = edit(&sources(&[("main.tf", BUCKET)]), &[want(path, value)]);
    let text = edits
        .files
        .get(Path::new("main.tf"))
        .cloned()
        .unwrap_or_else(|| BUCKET.to_owned());
    (text, edits.outcomes)
}

#[test]
fn literals_of_every_kind_are_replaced_and_nothing_else_changes() {
    use serde_json::json;
    let cases = [
        ("size", json!(50), "  size    = 10\n", "  size    = 50\n"),
        (
            "enabled",
            json!(false),
            "  enabled = true\n",
            "  enabled = false\n",
        ),
        (
            "tags.env",
            json!("stage"),
            "    env  = \"prod\"\n",
            "    env  = \"stage\"\n",
        ),
        (
            "cidr_blocks[1]",
            json!("0.0.0.0/0"),
            "\"10.1.0.0/16\"]",
            "\"0.0.0.0/0\"]",
        ),
        (
            "rule[0].port",
            json!(8443),
            "    port = 443 // https\n",
            "    port = 8443 // https\n",
        ),
    ];
    for (path, value, from, to) in cases {
        let (text, outcomes) = edited(path, NewValue::Set(value));
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Edited { .. }]),
            "{path}: {outcomes:?}"
        );
        assert_eq!(text, BUCKET.replacen(from, to, 1), "{path}");
    }
}

#[test]
fn a_new_map_entry_is_added_aligned() {
    let (text, outcomes) = edited("tags.owner", NewValue::Set("ops".into()));
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Edited { .. }]),
        "{outcomes:?}"
    );
    assert!(text.contains("    owner = \"ops\"\n"), "{text}");
    assert!(text.contains("# The logs bucket.\n"), "{text}");
}

#[test]
fn an_attribute_set_by_a_variable_is_refused_with_where_its_value_comes_from() {
    let main = "resource \"aws_s3_bucket\" \"b\" {\n  size = var.size\n}\n";
    let variables = "variable \"size\" {\n  default = 10\n}\n";
    let tfvars = "size = 20\n";
    let edits = edit(
        &sources(&[
            ("main.tf", main),
            ("terraform.tfvars", tfvars),
            ("variables.tf", variables),
        ]),
        &[want("size", NewValue::Set(50.into()))],
    );
    assert!(edits.files.is_empty(), "nothing edited");
    let [Outcome::Refused(refusal)] = edits.outcomes.as_slice() else {
        panic!("{:?}", edits.outcomes)
    };
    let said = refusal.to_string();
    for needle in [
        "var.size",
        "main.tf:2",
        "terraform.tfvars:1",
        "variables.tf:2",
    ] {
        assert!(said.contains(needle), "{needle}: {said}");
    }
}

#[test]
fn locals_functions_and_dynamic_blocks_are_refused() {
    let main = r#"locals {
  env = "prod"
}
resource "aws_s3_bucket" "b" {
  bucket = local.env
  tags   = merge({ a = "b" }, {})
  dynamic "rule" {
    for_each = [1]
    content {
      port = 1
    }
  }
}
"#;
    for (path, needle) in [
        ("bucket", "local.env"),
        ("tags.a", "merge"),
        ("rule[0].port", "dynamic"),
    ] {
        let edits = edit(
            &sources(&[("main.tf", main)]),
            &[want(path, NewValue::Set("x".into()))],
        );
        let [Outcome::Refused(refusal)] = edits.outcomes.as_slice() else {
            panic!("{path}: {:?}", edits.outcomes)
        };
        assert!(refusal.to_string().contains(needle), "{path}: {refusal}");
        assert!(edits.files.is_empty());
    }
}
