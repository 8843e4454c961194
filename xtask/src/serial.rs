//! Serial lines for `cargo xtask hil`: a USB-serial adapter (`/dev/ttyUSB0`)
//! or a pseudo-terminal (QEMU's `-serial pty`), in raw mode (8N1, no echo,
//! no flow control, no line editing) at a baud rate set with termios. On a
//! pty the rate is accepted and ignored; on an adapter it is the line speed.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, BaudRate, ControlFlags, FlushArg, SetArg, SpecialCharacterIndices};

/// Baud rates a Linux serial driver takes (termios `Bnnn` constants).
pub const BAUD_RATES: [u32; 18] = [
    9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 500_000, 576_000, 921_600, 1_000_000,
    1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000, 4_000_000,
];

/// The termios constant for a rate in [`BAUD_RATES`].
pub fn baud_rate(baud: u32) -> Option<BaudRate> {
    use BaudRate::*;
    let all = [
        B9600, B19200, B38400, B57600, B115200, B230400, B460800, B500000, B576000, B921600,
        B1000000, B1152000, B1500000, B2000000, B2500000, B3000000, B3500000, B4000000,
    ];
    BAUD_RATES.iter().position(|&b| b == baud).map(|i| all[i])
}

/// An open serial line.
pub struct Port {
    file: File,
    path: PathBuf,
}

impl Port {
    /// Opens `path` in raw mode at `baud` and discards anything already
    /// buffered. Errors name the path and suggest the likely fix.
    pub fn open(path: &Path, baud: u32) -> Result<Port> {
        let shown = path.display();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .map_err(|e| {
                let hint = match e.kind() {
                    ErrorKind::NotFound => " (is the USB-serial adapter plugged in? see `ls /dev/ttyUSB* /dev/ttyACM*`)",
                    ErrorKind::PermissionDenied => " (add yourself to the `dialout` group, or run as root)",
                    _ => "",
                };
                anyhow!("cannot open serial {shown}: {e}{hint}")
            })?;
        let port = Port {
            file,
            path: path.to_path_buf(),
        };
        port.set_baud(baud)?;
        termios::tcflush(port.file.as_fd(), FlushArg::TCIOFLUSH)
            .with_context(|| format!("serial {shown}: flushing"))?;
        Ok(port)
    }

    /// Drops whatever has been received and not read yet.
    pub fn discard_input(&self) -> Result<()> {
        termios::tcflush(self.file.as_fd(), FlushArg::TCIFLUSH)
            .with_context(|| format!("serial {}: flushing", self.path.display()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Raw 8N1 at `baud`, reads return what is there (VMIN = VTIME = 0;
    /// waiting is done with poll).
    pub fn set_baud(&self, baud: u32) -> Result<()> {
        let shown = self.path.display();
        let rate = baud_rate(baud).ok_or_else(|| anyhow!("{baud} baud: not a termios rate"))?;
        let fd = self.file.as_fd();
        let mut t =
            termios::tcgetattr(fd).with_context(|| format!("serial {shown} is not a terminal"))?;
        termios::cfmakeraw(&mut t);
        t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
        t.control_flags &= !(ControlFlags::CRTSCTS | ControlFlags::CSTOPB | ControlFlags::PARENB);
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::cfsetspeed(&mut t, rate)
            .with_context(|| format!("serial {shown}: {baud} baud"))?;
        termios::tcsetattr(fd, SetArg::TCSADRAIN, &t)
            .with_context(|| format!("serial {shown}: setting raw mode at {baud} baud"))?;
        Ok(())
    }

    /// Waits up to `timeout` for bytes; `Ok(0)` when none came. A line
    /// that went away (adapter unplugged, QEMU gone) is an error.
    pub fn read_timeout(&self, buf: &mut [u8], timeout: Duration) -> Result<usize> {
        let ms = timeout.as_millis().min(u16::MAX as u128) as u16;
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(0),
            Err(e) => bail!("serial {}: poll: {e}", self.path.display()),
        }
        match (&self.file).read(buf) {
            Ok(0) => Err(self.closed("end of file")),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                Ok(0)
            }
            Err(e) => Err(self.closed(&e.to_string())),
        }
    }

    fn closed(&self, why: &str) -> anyhow::Error {
        anyhow!(
            "serial {} closed ({why}): adapter unplugged, or the emulator exited",
            self.path.display()
        )
    }

    /// Writes every byte (blocking at the line's speed).
    pub fn write_all(&self, bytes: &[u8]) -> Result<()> {
        (&self.file)
            .write_all(bytes)
            .with_context(|| format!("writing to serial {}", self.path.display()))
    }
}

/// A second serial line read in the background into a buffer (the defmt
/// log UART): it must be drained all the time, and its bytes are taken per
/// test.
pub struct Collector {
    bytes: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Option<String>>>,
}

impl Collector {
    pub fn start(port: Port) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bytes.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                match port.read_timeout(&mut buf, Duration::from_millis(100)) {
                    Ok(n) => {
                        if let Ok(mut all) = b.lock() {
                            all.extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(e) => return Some(format!("{e:#}")),
                }
            }
            None
        });
        Collector {
            bytes,
            stop,
            handle: Some(handle),
        }
    }

    /// Everything received since the last call.
    pub fn take(&self) -> Vec<u8> {
        self.bytes
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }

    /// Waits until the line has been quiet for `quiet` (at most `limit`).
    pub fn settle(&self, quiet: Duration, limit: Duration) {
        let start = Instant::now();
        let len = || self.bytes.lock().map(|b| b.len()).unwrap_or(0);
        let mut last = (len(), Instant::now());
        while start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
            let now = len();
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= quiet {
                break;
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
