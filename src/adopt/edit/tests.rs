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
