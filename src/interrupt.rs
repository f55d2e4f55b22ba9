//! Stopping on Ctrl-C, SIGTERM or SIGHUP, at any stage of a run.
//!
//! Terraform runs in its own process group, so a terminal's Ctrl-C reaches only driftlog.
//! [`install`] sets handlers that only note the signal; a watcher thread then acts on it:
//!
//! - With [`Mode::Graceful`] (commands that have something to finish: a scan, an apply), the
//!   first signal sends each running terraform exactly one SIGINT (terraform stops gracefully
//!   and releases its state lock, its stream ends, and the scan unwinds, removing its temp
//!   files), and everything that waits on the network polls [`requested`] and gives up: a git
//!   push or fetch is abandoned with the record left in the spool, a GitHub request is dropped.
//!   A second signal is forwarded to terraform too, which makes it exit at once, as in a
//!   terminal; with no terraform running it ends driftlog at once. A third ends driftlog at
//!   once in any case, killing terraform's process groups.
//! - With [`Mode::Immediate`] (commands that only read), the first signal ends driftlog.
//!
//! Either way the exit status is 128 + the first signal's number ([`exit_code`]): 130 for
//! SIGINT, 143 for SIGTERM, 129 for SIGHUP.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Signals received so far.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
static MODE: AtomicU8 = AtomicU8::new(0);

/// The signals driftlog stops on.
pub const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// What a signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stop what runs, finish what must be finished (spool the record), then exit.
    Graceful,
    /// Exit at once: nothing is left to finish.
    Immediate,
}

/// Installs the handlers for [`SIGNALS`]. Call it once, early, before the threads and children
/// that should see a stop exist.
pub fn install(mode: Mode) -> std::io::Result<()> {
    MODE.store(mode as u8, Ordering::SeqCst);
    let mut signals = signal_hook::iterator::Signals::new(SIGNALS)?;
    std::thread::Builder::new()
        .name("driftlog-signals".into())
        .spawn(move || {
            // Each signal is acted on here, outside the handler, where locks are safe.
            for signal in signals.forever() {
                let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                act(RECEIVED.fetch_add(1, Ordering::SeqCst) + 1);
            }
        })?;
    Ok(())
}

/// What the `nth` signal does.
fn act(nth: usize) {
    let immediate = MODE.load(Ordering::SeqCst) == Mode::Immediate as u8;
    if immediate || nth >= 3 {
        exit_now();
    }
    let terraform_running = !running().is_empty();
    request();
    if nth == 1 {
        say(&format!(
            "driftlog: {} received: stopping (again to stop at once)\n",
            signal_name(SIGNAL.load(Ordering::SeqCst))
        ));
    } else if !terraform_running {
        exit_now();
    }
}

/// Ends driftlog now, with terraform's process groups.
fn exit_now() -> ! {
    for pid in running() {
        kill_process_group(pid);
    }
    say("driftlog: stopped at once\n");
    let code = exit_code().unwrap_or(130);
    // SAFETY: _exit(2) ends the process without running destructors that may wait on locks
    // other threads hold.
    unsafe { libc::_exit(i32::from(code)) }
}

/// Writes to standard error without taking Rust's lock on it (the main thread may hold it).
fn say(text: &str) {
    // SAFETY: write(2) of a valid buffer of its length; a short write only shortens a message.
    unsafe {
        libc::write(2, text.as_ptr().cast(), text.len());
    }
}

fn running() -> Vec<u32> {
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Asks every running terraform, and every stage that waits, to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    for pid in running() {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child,
            // registered while it runs and unregistered as soon as it is reaped.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
    }
}

/// Kills a child started as the leader of its own process group, and everything in it.
pub(crate) fn kill_process_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the
        // process group our child leads.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Sends one SIGINT to a child (a terraform whose time limit is up): it stops gracefully,
/// as it would on Ctrl-C.
pub(crate) fn interrupt_process(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions; the caller holds the child
        // unreaped, so the pid is still its.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

/// Waits `duration`, or less when a stop is requested meanwhile; whether it waited it out.
pub fn sleep(duration: std::time::Duration) -> bool {
    let until = std::time::Instant::now() + duration;
    loop {
        if requested() {
            return false;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The exit status a run stopped by a signal ends with: 128 + the first signal's number.
/// `None` when no signal came (a stop [`request`]ed otherwise exits as the run decides).
pub fn exit_code() -> Option<u8> {
    let signal = SIGNAL.load(Ordering::SeqCst);
    u8::try_from(128 + signal).ok().filter(|_| signal > 0)
}

/// The first signal received, by name (`SIGTERM`), for messages.
pub fn received() -> Option<&'static str> {
    let signal = SIGNAL.load(Ordering::SeqCst);
    (signal > 0).then(|| signal_name(signal))
}

fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Keeps a child's pid registered for [`request`] while it runs.
pub(crate) struct Registration(u32);

impl Registration {
    pub(crate) fn new(pid: u32) -> Self {
        RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(pid);
        if requested() {
            // A stop requested while this child was being started still applies to it.
            request();
        }
        Registration(pid)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        running.retain(|pid| *pid != self.0);
    }
}
