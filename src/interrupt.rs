//! Stopping cleanly on Ctrl-C or SIGTERM.
//!
//! Terraform runs in its own process group, so a terminal's Ctrl-C reaches only driftlog.
//! [`request`] (called from the binary's signal handler) then sends each running terraform
//! exactly one SIGINT: terraform stops gracefully and releases its state lock, its stream
//! ends, and the scan unwinds normally, removing its temp files. A second signal is
//! forwarded too, which makes terraform exit at once, as it would in a terminal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Asks every running terraform to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    let running = RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for pid in running.iter() {
        if let Ok(pid) = libc::pid_t::try_from(*pid) {
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

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
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
