//! One running terraform command: registered for interrupts, held to a time limit, its
//! stdout read within bounds and the end of its stderr kept, never all of it.
//!
//! Whatever runs as terraform is not trusted to behave: a line without end, a document
//! without end, a process that never exits, or gigabytes of `TF_LOG` on stderr each end in
//! a clear error instead of exhausting memory or hanging the scan.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::interrupt::{self, Registration};

/// Longest line of a `-json` stream driftlog reads. Terraform's messages are small (values
/// never appear in the lines driftlog reads); a diagnostic with a long detail is the largest.
pub const MAX_STREAM_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Largest `terraform show -json` document driftlog reads: a plan of tens of thousands of
/// resources, with its state and configuration, stays well below it.
pub const MAX_SHOW_JSON_BYTES: usize = 1024 * 1024 * 1024;
/// Largest `terraform providers schema -json` document driftlog reads (the largest
/// providers' schemas are a few tens of MiB).
pub const MAX_SCHEMA_JSON_BYTES: usize = 256 * 1024 * 1024;
/// Largest output of `terraform workspace list` driftlog reads.
pub const MAX_WORKSPACE_LIST_BYTES: usize = 16 * 1024 * 1024;
/// How much of terraform's stderr is kept (its end, where the reason is), to show on the
/// terminal when a command fails without error diagnostics.
pub const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// Longest stretch of a line that was not JSON shown on the terminal.
pub const SHOWN_LINE_CHARS: usize = 2000;

/// Default time limit of each `terraform plan` and `terraform init` (which downloads
/// providers and modules).
pub const DEFAULT_PLAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default time limit of `terraform show -json`, `providers schema -json` and `workspace
/// list`: they refresh nothing, but start every provider.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long terraform may take to stop after the SIGINT a time limit sends (it releases its
/// state lock), before its process group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Time limits of the terraform commands a scan runs. `terraform apply` has none: stopping
/// an apply half way leaves infrastructure half changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Each plan, and init.
    pub plan: Duration,
    /// Each show, providers schema and workspace list.
    pub read: Duration,
    /// From the SIGINT at the limit to killing the process group.
    pub grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            plan: DEFAULT_PLAN_TIMEOUT,
            read: DEFAULT_READ_TIMEOUT,
            grace: STOP_GRACE,
        }
    }
}

impl Timeouts {
    /// The same limit for every command; terraform gets at most as long to stop as it had
    /// to run.
    pub fn all(limit: Duration) -> Self {
        Timeouts {
            plan: limit,
            read: limit,
            grace: STOP_GRACE.min(limit),
        }
    }
}

/// What a command wrote to stderr: its end, and how much there was in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StderrTail {
    /// The last [`STDERR_TAIL_BYTES`] (less, to start on a character), as text.
    pub text: String,
    pub bytes: u64,
    pub lines: u64,
}

/// Reads stderr to its end on a thread of its own, so neither pipe can fill up and
/// deadlock, keeping only its end.
pub(crate) fn drain_stderr(child: &mut Child) -> JoinHandle<StderrTail> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || match stderr {
        Some(stderr) => tail_of(stderr),
        None => StderrTail::default(),
    })
}

pub(crate) fn tail_of(mut reader: impl Read) -> StderrTail {
    let mut kept: VecDeque<u8> = VecDeque::with_capacity(STDERR_TAIL_BYTES);
    let mut chunk = [0u8; 8192];
    let (mut bytes, mut lines, mut last) = (0u64, 0u64, b'\n');
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &chunk[..read];
        bytes += read as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        last = chunk[read - 1];
        kept.extend(chunk);
        let excess = kept.len().saturating_sub(STDERR_TAIL_BYTES);
        kept.drain(..excess);
    }
    if last != b'\n' {
        lines += 1;
    }
    let kept: Vec<u8> = kept.into();
    StderrTail {
        text: text_from(&kept, bytes > kept.len() as u64),
        bytes,
        lines,
    }
}

/// Bytes as text; when they were cut from a longer output, without the pieces of a
/// character the cut left at the start.
fn text_from(bytes: &[u8], cut: bool) -> String {
    let start = if cut {
        bytes
            .iter()
            .take(3)
            .take_while(|b| (**b & 0b1100_0000) == 0b1000_0000)
            .count()
    } else {
        0
    };
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// A line of stdout, or why it is not one.
pub(crate) enum Line<'a> {
    /// 1-based number, trimmed text (empty lines are skipped).
    Text(usize, &'a str),
    /// Longer than [`MAX_STREAM_LINE_BYTES`]: read to its end and dropped.
    TooLong(usize),
}

/// Reads stdout line by line as it arrives, handing each non-empty line to `on_line`
/// until the end or `on_line`'s first error; returns the SHA-256 of every byte read. A line
/// longer than [`MAX_STREAM_LINE_BYTES`] is read on (hashed) without being kept.
pub(crate) fn read_lines<E>(
    stdout: impl Read,
    on_line: &mut dyn FnMut(Line<'_>) -> Result<(), E>,
) -> Result<Result<String, E>, io::Error> {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let (ended, too_long) = read_bounded_line(&mut reader, &mut line, &mut digest)?;
        if ended && line.is_empty() && !too_long {
            return Ok(Ok(super::hex(digest.finish().as_ref())));
        }
        number += 1;
        let result = if too_long {
            on_line(Line::TooLong(number))
        } else {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                Ok(())
            } else {
                on_line(Line::Text(number, text))
            }
        };
        if let Err(err) = result {
            return Ok(Err(err));
        }
        if ended {
            return Ok(Ok(super::hex(digest.finish().as_ref())));
        }
    }
}

/// Reads up to and including the next newline into `line`, keeping at most
/// [`MAX_STREAM_LINE_BYTES`] of it; (whether the input ended, whether the line was too long).
fn read_bounded_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    digest: &mut ring::digest::Context,
) -> io::Result<(bool, bool)> {
    let mut too_long = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buffer.is_empty() {
            return Ok((true, too_long));
        }
        let (piece, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..=at], true),
            None => (buffer, false),
        };
        digest.update(piece);
        if !too_long {
            if line.len() + piece.len() > MAX_STREAM_LINE_BYTES {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(piece);
            }
        }
        let used = piece.len();
        reader.consume(used);
        if done {
            return Ok((false, too_long));
        }
    }
}

/// Reads all of stdout, failing (`Ok(Err(()))`) once it is longer than `limit` bytes.
pub(crate) fn read_bounded(stdout: impl Read, limit: usize) -> io::Result<Result<Vec<u8>, ()>> {
    let mut bytes = Vec::new();
    let limit_plus_one = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    stdout.take(limit_plus_one).read_to_end(&mut bytes)?;
    Ok(if bytes.len() > limit {
        Err(())
    } else {
        Ok(bytes)
    })
}

/// A started terraform: registered so an interrupt reaches it, watched by its time limit.
pub(crate) struct Running {
    child: Child,
    registration: Option<Registration>,
    watchdog: Option<Watchdog>,
    stderr: Option<JoinHandle<StderrTail>>,
}

/// How a command ended.
pub(crate) struct Ended {
    pub status: ExitStatus,
    /// Whether its time limit stopped it.
    pub timed_out: bool,
    pub stderr: StderrTail,
}

impl Running {
    /// Watches `child` (started with piped stdout and stderr): after `limit` (when given) it
    /// gets one SIGINT, and `grace` later its process group is killed.
    pub(crate) fn new(mut child: Child, limit: Option<(Duration, Duration)>) -> Running {
        let registration = Registration::new(child.id());
        let watchdog = limit.map(|(limit, grace)| Watchdog::start(child.id(), limit, grace));
        let stderr = Some(drain_stderr(&mut child));
        Running {
            child,
            registration: Some(registration),
            watchdog,
            stderr,
        }
    }

    pub(crate) fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Ends the command's whole process group, plugins included: for output driftlog cannot
    /// read, where terraform is not in a state worth stopping gracefully.
    pub(crate) fn kill(&self) {
        interrupt::kill_process_group(self.child.id());
    }

    /// Waits for the command to exit.
    pub(crate) fn wait(mut self) -> io::Result<Ended> {
        // Before reaping: the watchdog signals the pid only while it is still our child.
        let timed_out = self.watchdog.take().is_some_and(Watchdog::finish);
        let status = self.child.wait()?;
        self.registration.take();
        let stderr = self
            .stderr
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        Ok(Ended {
            status,
            timed_out,
            stderr,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Left without `wait` (an error reading its output): no process outlives the scan.
        if self.registration.is_some() {
            self.kill();
            if let Some(watchdog) = self.watchdog.take() {
                watchdog.finish();
            }
            let _ = self.child.wait();
        }
    }
}

#[derive(Default)]
struct WatchState {
    finished: bool,
    timed_out: bool,
}

/// Stops a command at its time limit: SIGINT, then after the grace its process group killed.
struct Watchdog {
    state: Arc<(Mutex<WatchState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    fn start(pid: u32, limit: Duration, grace: Duration) -> Watchdog {
        let state = Arc::new((Mutex::new(WatchState::default()), Condvar::new()));
        let watched = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let (lock, finished) = &*watched;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (mut guard, _) = finished
                .wait_timeout_while(guard, limit, |s| !s.finished)
                .unwrap_or_else(|p| p.into_inner());
            if guard.finished {
                return;
            }
            // Signals are sent holding the lock: `finish` (before the child is reaped) takes
            // it, so the pid is still our child's.
            guard.timed_out = true;
            interrupt::interrupt_process(pid);
            let (guard, _) = finished
                .wait_timeout_while(guard, grace, |s| !s.finished)
                .unwrap_or_else(|p| p.into_inner());
            if !guard.finished {
                interrupt::kill_process_group(pid);
            }
        });
        Watchdog {
            state,
            thread: Some(thread),
        }
    }

    /// Stops watching; whether the limit was reached.
    fn finish(mut self) -> bool {
        let (lock, finished) = &*self.state;
        let timed_out = {
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            state.finished = true;
            state.timed_out
        };
        finished.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        timed_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_keeps_its_end_and_counts_all_of_it() {
        let mut text = "é".repeat(STDERR_TAIL_BYTES);
        text.push_str("\nthe reason\n");
        let tail = tail_of(text.as_bytes());
        assert_eq!(tail.bytes, text.len() as u64);
        assert_eq!(tail.lines, 2);
        assert!(tail.text.ends_with("\nthe reason\n"));
        assert!(tail.text.len() <= STDERR_TAIL_BYTES);
        // Cut on a character boundary: no replacement character at the start.
        assert!(tail.text.starts_with('é'), "{:?}", &tail.text[..4]);
        let short = tail_of(&b"no newline"[..]);
        assert_eq!((short.lines, short.text.as_str()), (1, "no newline"));
        assert_eq!(tail_of(&b""[..]), StderrTail::default());
    }

    #[test]
    fn an_overlong_line_is_dropped_but_hashed_and_the_next_read() {
        let mut stream = vec![b'x'; MAX_STREAM_LINE_BYTES + 10];
        stream.extend_from_slice(b"\n{\"a\":1}\n");
        let mut seen = Vec::new();
        let sha = read_lines::<()>(&stream[..], &mut |line| {
            seen.push(match line {
                Line::Text(n, text) => format!("{n}:{text}"),
                Line::TooLong(n) => format!("{n}:too long"),
            });
            Ok(())
        })
        .expect("read")
        .expect("no error");
        assert_eq!(seen, ["1:too long", "2:{\"a\":1}"]);
        assert_eq!(sha, super::super::sha256_hex(&stream));
        let exact = vec![b'y'; MAX_STREAM_LINE_BYTES];
        let mut lengths = Vec::new();
        read_lines::<()>(&exact[..], &mut |line| {
            if let Line::Text(_, text) = line {
                lengths.push(text.len());
            }
            Ok(())
        })
        .expect("read")
        .expect("no error");
        assert_eq!(lengths, [MAX_STREAM_LINE_BYTES]);
    }

    #[test]
    fn documents_longer_than_their_limit_are_refused() {
        assert_eq!(
            read_bounded(&b"12345"[..], 5).expect("read"),
            Ok(b"12345".to_vec())
        );
        assert_eq!(read_bounded(&b"123456"[..], 5).expect("read"), Err(()));
    }
}
