//! `driftlog keygen`: an Ed25519 key for signing the audit log (`driftlog::audit::keygen`
//! writes it).

use anyhow::Context;
use driftlog::audit::keygen::{keygen, KeygenSettings};
use driftlog::audit::sshsig::check_principal;
use std::path::PathBuf;
use std::process::ExitCode;

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
    let settings = KeygenSettings {
        output: args.output,
        principal: args.principal,
        comment: args.comment,
    };
    let key = keygen(&settings)?;
    eprintln!("{}", key.instructions(&settings.output));
    println!("{}", key.allowed_signers_line);
    Ok(ExitCode::SUCCESS)
}
