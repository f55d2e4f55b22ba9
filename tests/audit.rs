//! The audit log: `driftlog keygen`, and records appended to a git branch, checked with
//! real `git` and `ssh-keygen`.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn driftlog(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run driftlog")
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read_and_prints_the_allowed_signers_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = driftlog(
        &["keygen", "--output", "ci_key", "--principal", "drift@ci"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.path().join("ci_key");
    let mode = std::fs::metadata(&key)
        .expect("key written")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let private = std::fs::read_to_string(&key).expect("read key");
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"),
        "the key is never printed"
    );
    let line = stdout.trim();
    assert!(
        line.starts_with("drift@ci ") && line.contains("ssh-ed25519 "),
        "{line}"
    );

    // OpenSSH reads the key, and its signature verifies against the printed line.
    let public = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .expect("ssh-keygen (openssh-client) is installed");
    assert!(
        public.status.success(),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );
    let pub_file =
        std::fs::read_to_string(dir.path().join("ci_key.pub")).expect("public key written");
    assert_eq!(
        String::from_utf8_lossy(&public.stdout)
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>(),
        pub_file.split_whitespace().take(2).collect::<Vec<_>>()
    );
    std::fs::write(dir.path().join("allowed_signers"), format!("{line}\n")).expect("write");
    std::fs::write(dir.path().join("msg"), "hello").expect("write");
    let sign = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-f", "ci_key", "-n", "driftlog", "msg"])
        .current_dir(dir.path())
        .output()
        .expect("ssh-keygen");
    assert!(
        sign.status.success(),
        "{}",
        String::from_utf8_lossy(&sign.stderr)
    );
    let verify = Command::new("sh")
        .args([
            "-c",
            "ssh-keygen -Y verify -f allowed_signers -I drift@ci -n driftlog -s msg.sig < msg",
        ])
        .current_dir(dir.path())
        .output()
        .expect("sh");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let again = driftlog(&["keygen", "--output", "ci_key"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(&key).expect("read key"),
        private,
        "the old key is intact"
    );
}
