//! `fake-cloudformation --scenario FILE.json [--port-file FILE]`: serves a scenario on
//! 127.0.0.1 at a free port until SIGTERM/SIGINT, or until standard input (when a pipe or
//! socket) closes. See the library's docs for the scenario format.

use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fake_cloudformation::{FakeCloudFormation, Scenario};

const USAGE: &str = "usage: fake-cloudformation [--scenario FILE.json] [--port-file FILE]";

struct Args {
    scenario: Option<PathBuf>,
    port_file: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: None,
        port_file: None,
    };
    let mut argv = std::env::args_os().skip(1);
    while let Some(arg) = argv.next() {
        let slot = match arg.to_str() {
            Some("--scenario") => &mut args.scenario,
            Some("--port-file") => &mut args.port_file,
            Some("-h" | "--help") => return Err(USAGE.to_owned()),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        };
        *slot = Some(
            argv.next()
                .ok_or_else(|| format!("{arg:?} needs a value\n{USAGE}"))?
                .into(),
        );
    }
    Ok(args)
}

fn load_scenario(path: Option<&Path>) -> Result<Scenario, String> {
    let Some(path) = path else {
        return Ok(Scenario::default());
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a scenario: {e}", path.display()))
}

/// Writes the URL beside the port file and renames it into place, so a reader polling for the
/// file never sees half of it.
fn write_port_file(path: &Path, url: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp.{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, url)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Sets `stop` when standard input reaches its end, if it is a pipe or socket: a parent that
/// holds the other end can stop the fake by exiting. /dev/null, files and terminals are not
/// watched (a background job's stdin is often /dev/null).
fn watch_stdin(stop: Arc<AtomicBool>) {
    let watched = std::fs::metadata("/dev/stdin")
        .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
        .unwrap_or(false);
    if !watched {
        return;
    }
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
        stop.store(true, Ordering::SeqCst);
    });
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let scenario = load_scenario(args.scenario.as_deref())?;
    let fake = FakeCloudFormation::start_with(scenario).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("installing a signal handler: {e}"))?;
    }
    watch_stdin(Arc::clone(&stop));
    if let Some(path) = &args.port_file {
        write_port_file(path, fake.url())?;
    }
    // Informational only (the port file is the interface): a closed stdout is no error.
    let _ = writeln!(std::io::stdout(), "{}", fake.url());
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-cloudformation: {message}");
            ExitCode::from(2)
        }
    }
}
