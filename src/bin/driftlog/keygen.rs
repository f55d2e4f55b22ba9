//! `driftlog keygen`: an Ed25519 key for signing the audit log.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftlog::audit::sshsig::{allowed_signers_line, check_principal, SigningKey};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the private key (OpenSSH format, mode 0600); the public key goes to
    /// FILE.pub. Existing files are never overwritten.
    #[arg(
        long,
        short,
        default_value = "driftlog_signing_key",
        value_name = "FILE"
    )]
    pub output: PathBuf,

    /// Who signs, as named in the allowed-signers line (a CI identity or an email).
    #[arg(long, default_value = "driftlog")]
    pub principal: String,

    /// Comment stored with the key.
    #[arg(long, default_value = "driftlog audit log")]
    pub comment: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before any file is written: a bad principal would leave a key without a usable line.
    check_principal(&args.principal).context("--principal")?;
    let public_path = PathBuf::from(format!("{}.pub", args.output.display()));
    for path in [&args.output, &public_path] {
        anyhow::ensure!(
            !path.exists(),
            "{} already exists; driftlog never overwrites a key (choose another --output)",
            path.display()
        );
    }
    let key = SigningKey::generate().context("generating a key")?;
    let private = key.to_openssh(&args.comment).context("encoding the key")?;
    write_new(&args.output, private.as_bytes(), 0o600)?;
    write_new(
        &public_path,
        format!("{}\n", key.public_key_openssh(&args.comment)).as_bytes(),
        0o644,
    )?;
    eprintln!(
        "Wrote the private key to {} and the public key to {} ({}).\n\
         Add this line to .driftlog/allowed_signers on your main branch, and in CI pass the \
         private key's contents as the secret DRIFTLOG_SIGNING_KEY:",
        args.output.display(),
        public_path.display(),
        key.fingerprint()
    );
    println!("{}", allowed_signers_line(&args.principal, &key));
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` with `mode` from the start, so a private key is never readable by others,
/// not even for a moment.
fn write_new(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}
