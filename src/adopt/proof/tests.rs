use super::*;
use crate::drift::AttrValue;
use crate::terraform::show::saved::{PlannedAttribute, SavedChange};
use serde_json::json;

fn change(address: &str, action: PlannedAction, paths: &[&str]) -> SavedChange {
    SavedChange {
        address: address.into(),
        mode: "managed".into(),
        deposed: None,
        action,
        action_reason: None,
        replace_paths: Vec::new(),
        attributes: paths
            .iter()
            .map(|p| PlannedAttribute {
                path: (*p).into(),
                before: AttrValue::Known(json!(1)),
                after: AttrValue::Known(json!(2)),
                recomputed: false,
            })
            .collect(),
    }
}

fn plan(changes: Vec<SavedChange>) -> SavedPlan {
    SavedPlan {
        changes,
        drift: Vec::new(),
        output_changes: Vec::new(),
        deferred: Vec::new(),
        errored: false,
    }
}

#[test]
fn a_plan_that_still_changes_an_adopted_path_fails_only_that_claim() {
    let plan = plan(vec![
        change("aws_x.a", PlannedAction::Update, &["other"]),
        change("aws_x.n[2]", PlannedAction::Update, &["tags.env"]),
        change("aws_x.ab", PlannedAction::Update, &["size"]),
    ]);
    let claims = [
        Claim {
            target: "aws_x.a",
            path: "size",
        },
        Claim {
            target: "aws_x.n",
            path: "tags",
        },
        Claim {
            target: "aws_x.b",
            path: "size",
        },
    ];
    let failed = judge(&plan, &claims).expect("the plan did not error");
    assert_eq!(failed.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert!(failed[&1].contains("aws_x.n[2]"), "{}", failed[&1]);
    assert_eq!(summary(&plan), "0 to add, 3 to change, 0 to destroy");
}

#[test]
fn a_replace_fails_every_claim_of_the_resource_and_an_errored_plan_proves_nothing() {
    let mut errored = plan(vec![change(
        "aws_x.a",
        PlannedAction::DeleteThenCreate,
        &[],
    )]);
    let claims = [Claim {
        target: "aws_x.a",
        path: "size",
    }];
    let failed = judge(&errored, &claims).expect("the plan did not error");
    assert!(failed[&0].contains("replace"), "{}", failed[&0]);
    assert_eq!(summary(&errored), "1 to add, 0 to change, 1 to destroy");
    errored.errored = true;
    assert!(judge(&errored, &claims).is_err());
}

#[test]
fn a_mirror_links_everything_but_the_edited_files_and_is_removed_on_drop() {
    let root = tempfile::tempdir().expect("tempdir");
    let stack = root.path().join("stack");
    std::fs::create_dir_all(stack.join(".terraform")).expect("mkdir");
    std::fs::write(stack.join("main.tf"), "old").expect("write");
    std::fs::write(stack.join("terraform.tfstate"), "{}").expect("write");
    let edited = BTreeMap::from([(PathBuf::from("main.tf"), "new".to_owned())]);
    let mirror = Mirror::new(&stack, &edited).expect("mirror");
    let at = mirror.path().to_path_buf();
    assert_eq!(at.parent(), Some(root.path()), "beside the stack");
    assert_eq!(
        std::fs::read_to_string(at.join("main.tf")).expect("read"),
        "new"
    );
    assert_eq!(
        std::fs::read_to_string(stack.join("main.tf")).expect("read"),
        "old"
    );
    assert!(at.join("terraform.tfstate").is_symlink());
    assert!(at.join(".terraform").is_symlink());
    drop(mirror);
    assert!(!at.exists());
    let nested = BTreeMap::from([(PathBuf::from("sub/main.tf"), "x".to_owned())]);
    assert!(Mirror::new(&stack, &nested).is_err());
}
