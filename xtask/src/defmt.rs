//! The log UART: a Unix socket QEMU connects its second serial port to, and
//! a thread that decodes the defmt frames arriving on it.
//!
//! We bind the socket before QEMU starts (`-serial unix:PATH` makes QEMU the
//! client), accept its connection and feed every byte to defmt-decoder's
//! stream decoder against the exact ELF that runs. With the default rzcobs
//! encoding the decoder skips junk and resynchronises at the next frame.

use std::io::{ErrorKind, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use defmt_decoder::{DecodeError, Frame, Table};
use qemu_tests::LogLine;

/// Unix socket paths are limited to 108 bytes (sun_path).
const MAX_SOCKET_PATH: usize = 100;
/// After QEMU is gone, how long we wait for the last bytes before giving up.
const DRAIN: Duration = Duration::from_secs(1);

/// A bound, not yet connected, log socket.
pub struct LogSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl LogSocket {
    /// Binds a fresh socket under `<target>/xtask/` (or the temp dir when
    /// that path would be too long for a socket).
    pub fn bind(target: &Path) -> Result<LogSocket> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "log-{}-{}.sock",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = target.join("xtask");
        let mut path = dir.join(&name);
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            path = std::env::temp_dir().join(format!("xtask-{name}"));
        } else {
            std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
            remove_stale(&dir);
        }
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("binding the log socket {}", path.display()))?;
        listener.set_nonblocking(true).context("log socket")?;
        Ok(LogSocket { path, listener })
    }

    /// Removes the socket without starting (QEMU did not start).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// The QEMU `-serial` argument that connects to this socket.
    pub fn qemu_serial(&self) -> String {
        format!("unix:{}", self.path.display())
    }

    /// Starts the decoding thread. `echo`: called with each line as it
    /// decodes (`cargo xtask qemu` shows it beside the console).
    pub fn start(self, table: Table, echo: Option<Echo>) -> LogReader {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let LogSocket { path, listener } = self;
        let handle = std::thread::spawn(move || {
            let mut log = DecodedLog::default();
            let mut echo = echo;
            if let Some(stream) = accept(&listener, &thread_stop) {
                log.connected = true;
                read_all(stream, &table, &mut echo, &thread_stop, &mut log);
            }
            log
        });
        LogReader { handle, stop, path }
    }
}

/// What is done with each decoded line as it arrives.
pub type Echo = Box<dyn FnMut(&LogLine) + Send>;

/// The running decoder.
pub struct LogReader {
    handle: JoinHandle<DecodedLog>,
    stop: Arc<AtomicBool>,
    path: PathBuf,
}

impl LogReader {
    /// Call once QEMU has exited: drains what is left and returns the log.
    pub fn finish(self) -> DecodedLog {
        self.stop.store(true, Ordering::Relaxed);
        let log = self.handle.join().unwrap_or_default();
        let _ = std::fs::remove_file(&self.path);
        log
    }
}

/// What arrived on the log UART.
#[derive(Debug, Default)]
pub struct DecodedLog {
    pub lines: Vec<LogLine>,
    /// Raw bytes received.
    pub bytes: usize,
    /// Frames the decoder rejected.
    pub malformed: usize,
    /// QEMU connected to the socket.
    pub connected: bool,
}

impl DecodedLog {
    /// A loud one-line warning when bytes arrived but nothing decoded.
    pub fn warning(&self) -> Option<String> {
        (self.bytes > 0 && self.lines.is_empty()).then(|| {
            format!(
                "defmt: {} bytes arrived on the log UART but no frame decoded \
                 ({} malformed): does the ELF match, is defmt.x linked, is the encoding rzcobs?",
                self.bytes, self.malformed
            )
        })
    }
}

/// Removes the sockets of xtask runs that were killed (their pid is gone).
fn remove_stale(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("log-")
            .and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid.filter(|p| p.bytes().all(|b| b.is_ascii_digit())) {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn accept(listener: &UnixListener, stop: &AtomicBool) -> Option<UnixStream> {
    loop {
        // Check the flag first: a connection made before QEMU exited is still
        // in the backlog, so one more accept after `stop` must be tried.
        let stopping = stop.load(Ordering::Relaxed);
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock && !stopping => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return None,
        }
    }
}

fn read_all(
    mut stream: UnixStream,
    table: &Table,
    echo: &mut Option<Echo>,
    stop: &AtomicBool,
    log: &mut DecodedLog,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut decoder = table.new_stream_decoder();
    let can_recover = table.encoding().can_recover();
    let mut broken = false;
    let mut buf = [0u8; 4096];
    let mut stopped_at: Option<Instant> = None;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                log.bytes += n;
                if broken {
                    continue;
                }
                decoder.received(&buf[..n]);
                loop {
                    match decoder.decode() {
                        Ok(frame) => {
                            let line = log_line(&frame);
                            if let Some(echo) = echo {
                                echo(&line);
                            }
                            log.lines.push(line);
                        }
                        Err(DecodeError::UnexpectedEof) => break,
                        Err(DecodeError::Malformed) => {
                            log.malformed += 1;
                            if !can_recover {
                                broken = true;
                                break;
                            }
                        }
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                if stop.load(Ordering::Relaxed) {
                    let since = *stopped_at.get_or_insert_with(Instant::now);
                    if since.elapsed() > DRAIN {
                        break;
                    }
                }
            }
            Err(_) => break,
        }
    }
}

/// One decoded frame as a line: timestamp as the kernel formats it, level,
/// message.
pub fn log_line(frame: &Frame<'_>) -> LogLine {
    LogLine {
        timestamp: frame
            .display_timestamp()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        level: frame
            .level()
            .map(|l| l.as_str().to_ascii_uppercase())
            .unwrap_or_default(),
        message: frame.display_message().to_string(),
    }
}

#[cfg(test)]
mod tests;
