use super::*;
use crate::audit::record::sample_record;
use crate::audit::sshsig::allowed_signers_line;

fn trusting(key: &SigningKey) -> AllowedSigners {
    AllowedSigners::parse(&allowed_signers_line("driftlog", key)).expect("allowed signers")
}

/// A sample record naming `key` as its signer, as the recorder writes them.
fn made_by(path: &str, key: &SigningKey) -> Record {
    Record {
        signing_key: key.fingerprint(),
        ..sample_record(path)
    }
}

fn committer() -> Committer {
    Committer {
        name: "driftlog".into(),
        email: "driftlog@example.com".into(),
    }
}

#[test]
fn an_entry_verifies_under_its_key_and_no_other() {
    let key = SigningKey::generate().expect("key");
    let entry = PendingEntry::sign(&made_by("infra/a", &key), &key).expect("sign");
    let read = PendingEntry::verify(&entry.bytes, &trusting(&key), None).expect("verifies");
    assert_eq!(read.record, entry.record);
    assert_eq!(read.blob_id(), entry.blob_id());

    let other = SigningKey::generate().expect("key");
    let refused = PendingEntry::verify(&entry.bytes, &trusting(&other), None).expect_err("refused");
    assert!(refused.contains("does not trust"), "{refused}");
}

#[test]
fn an_edited_entry_is_refused() {
    let key = SigningKey::generate().expect("key");
    let entry = PendingEntry::sign(&made_by("infra/a", &key), &key).expect("sign");
    let text = String::from_utf8(entry.bytes).expect("utf-8");
    let edited = text.replacen("infra/a", "infra/b", 1);
    assert_ne!(edited, text);
    let refused =
        PendingEntry::verify(edited.as_bytes(), &trusting(&key), None).expect_err("refused");
    assert!(refused.contains("edited"), "{refused}");
}

#[test]
fn a_branch_record_signature_does_not_make_a_pending_entry() {
    let key = SigningKey::generate().expect("key");
    let record = sample_record("infra/a");
    let json = String::from_utf8(store::encode(&record).expect("encode")).expect("utf-8");
    // Signed as a record on the branch is: over the record's bytes alone.
    let signature = key.sign(DRIFTLOG_NAMESPACE, json.as_bytes()).expect("sign");
    let forged = serde_json::to_vec(&EntryFile {
        format: PENDING_FORMAT.into(),
        record: json,
        signature,
    })
    .expect("json");
    let refused = PendingEntry::verify(&forged, &trusting(&key), None).expect_err("refused");
    assert!(refused.contains("edited"), "{refused}");
}

#[test]
fn an_entry_of_another_log_or_already_placed_is_refused() {
    let key = SigningKey::generate().expect("key");
    let entry = PendingEntry::sign(&made_by("infra/a", &key), &key).expect("sign");
    let other_log = LogId {
        repository: "example.com/acme/other".into(),
        branch: "driftlog/audit".into(),
    };
    let refused = PendingEntry::verify(&entry.bytes, &trusting(&key), Some(&other_log));
    assert!(refused.expect_err("refused").contains("not this one"));

    // Signed by the key, but placed at seq 3: not as a pending record is made.
    let placed = made_by("infra/a", &key).rebased(ChainPosition {
        seq: 3,
        prev: "ab".repeat(32),
    });
    let json = String::from_utf8(store::encode(&placed).expect("encode")).expect("utf-8");
    let signature = key
        .sign(DRIFTLOG_NAMESPACE, &signed_message(&json))
        .expect("sign");
    let bytes = serde_json::to_vec(&EntryFile {
        format: PENDING_FORMAT.into(),
        record: json,
        signature,
    })
    .expect("json");
    let refused = PendingEntry::verify(&bytes, &trusting(&key), None).expect_err("refused");
    assert!(refused.contains("placed"), "{refused}");
}

#[test]
fn garbage_is_refused_not_a_panic() {
    let key = SigningKey::generate().expect("key");
    for bytes in [
        &b""[..],
        b"{}",
        b"[1,2]",
        b"{\"format\":\"driftlog-pending v1\",\"record\":\"{}\",\"signature\":\"x\"}",
        b"{\"format\":\"driftlog-spool v1\",\"record\":\"{}\",\"signature\":\"x\"}",
    ] {
        assert!(PendingEntry::verify(bytes, &trusting(&key), None).is_err());
    }
    let huge = vec![b' '; MAX_ENTRY_BYTES + 1];
    let refused = PendingEntry::verify(&huge, &trusting(&key), None).expect_err("refused");
    assert!(refused.contains("larger"), "{refused}");
}

#[test]
fn a_pending_commit_reads_back_its_entries_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = Repository::init_bare(dir.path()).expect("init");
    let key = SigningKey::generate().expect("key");
    let entries: Vec<PendingEntry> = ["infra/a", "infra/b", "infra/c"]
        .iter()
        .map(|path| PendingEntry::sign(&made_by(path, &key), &key).expect("sign"))
        .collect();
    let commit = write_commit(
        &repo,
        "driftlog/audit",
        &entries,
        &key,
        &committer(),
        1_800_000_000,
    )
    .expect("commit");
    let files = read_commit(&repo, commit).expect("read");
    let expected: Vec<Vec<u8>> = entries.iter().map(|e| e.bytes.clone()).collect();
    assert_eq!(files, expected);
    let commit = repo.find_commit(commit).expect("commit");
    assert_eq!(commit.parent_count(), 0);
    assert!(commit.header_field_bytes("gpgsig").is_ok(), "signed");
}

#[test]
fn a_pending_commit_holding_anything_else_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = Repository::init_bare(dir.path()).expect("init");
    let blob = repo.blob(b"{}").expect("blob");
    let signature = Signature::new("x", "x@example.com", &git2::Time::new(0, 0)).expect("sig");
    let commit_with = |names: &[&str]| {
        let mut builder = repo.treebuilder(None).expect("builder");
        for name in names {
            builder
                .insert(name, blob, FileMode::Blob.into())
                .expect("insert");
        }
        let tree = repo
            .find_tree(builder.write().expect("tree"))
            .expect("tree");
        repo.commit(None, &signature, &signature, "x", &tree, &[])
            .expect("commit")
    };
    for names in [
        &["README.md"][..],
        &["0001.json"],
        &["0000.json", "0002.json"],
        &[],
    ] {
        let commit = commit_with(names);
        assert!(read_commit(&repo, commit).is_err(), "{names:?}");
    }
    assert_eq!(
        read_commit(&repo, commit_with(&["0000.json"]))
            .expect("read")
            .len(),
        1
    );
}

#[test]
fn labels_are_ref_safe_and_unique() {
    let a = label(&["123", "1", "scan shard/1..2", "~^:?*[\\"]);
    let b = label(&["123", "1", "scan shard/1..2", "~^:?*[\\"]);
    assert_ne!(a, b, "random suffix");
    let refname = remote_ref("driftlog/audit", &a);
    assert!(git2::Reference::is_valid_name(&refname), "{refname}");
    assert!(a.starts_with("123.1.scan-shard-1--2."), "{a}");
}

#[test]
fn a_placed_record_is_recognised_and_another_is_not() {
    let made = sample_record("infra/a");
    let position = ChainPosition {
        seq: 7,
        prev: "cd".repeat(32),
    };
    let placed = made
        .rebased(position.clone())
        .joined_at("2026-11-24T01:00:00Z");
    let bytes = store::encode(&placed).expect("encode");
    assert!(is_placed(&made, 7, &bytes));
    assert!(!is_placed(&made, 8, &bytes));
    assert!(!is_placed(&sample_record("infra/b"), 7, &bytes));
    assert_eq!(placed.made.as_deref(), Some("2026-11-24T00:00:00Z"));
}

#[test]
fn a_re_encoded_copy_of_an_entry_is_refused() {
    let key = SigningKey::generate().expect("key");
    let entry = PendingEntry::sign(&made_by("infra/a", &key), &key).expect("sign");
    let file: EntryFile = serde_json::from_slice(&entry.bytes).expect("entry");
    // The same record and signature, spelled otherwise: another blob id, so it must not count
    // as a new entry to fold.
    let spaced = serde_json::to_vec_pretty(&file).expect("json");
    let rewrapped = serde_json::to_vec(&EntryFile {
        signature: file.signature.replace('\n', "\r\n"),
        ..EntryFile {
            format: file.format.clone(),
            record: file.record.clone(),
            signature: String::new(),
        }
    })
    .expect("json");
    for copy in [spaced, rewrapped] {
        let refused = PendingEntry::verify(&copy, &trusting(&key), None).expect_err("refused");
        assert!(refused.contains("re-encoded"), "{refused}");
    }
}

#[test]
fn an_entry_whose_record_names_another_signer_is_refused() {
    let key = SigningKey::generate().expect("key");
    let other = SigningKey::generate().expect("key");
    let entry = PendingEntry::sign(&made_by("infra/a", &other), &key).expect("sign");
    let refused = PendingEntry::verify(&entry.bytes, &trusting(&key), None).expect_err("refused");
    assert!(refused.contains("names the signing key"), "{refused}");
}
