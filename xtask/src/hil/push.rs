//! The host side of the chainloader protocol (`chainload`, shared with the
//! loader): wait for `KML:READY`, send the header, then the payload, and
//! retry on a NAK. A board that says nothing, or says garbage (wrong baud
//! rate), or says text that is not the loader's, is reported as such.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use chainload::{parse_reply, Header, Reply, READY};

use crate::serial::Port;

/// Attempts before giving up on NAKs.
pub const MAX_ATTEMPTS: u32 = 4;
/// How long the loader may take to answer a header.
const HEADER_REPLY: Duration = Duration::from_secs(5);
/// After a NAK the loader drains 300 ms, then announces itself again.
const RETRY_READY: Duration = Duration::from_secs(5);
/// Non-text bytes seen before calling it garbage without waiting longer.
const GARBAGE_EARLY: usize = 64;

/// The loader refused this image for good (size, placement): the board is
/// fine and waiting, only this image cannot be loaded.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Reads a serial line into lines, keeping what follows for the next reader.
pub struct LineReader<'a> {
    pub port: &'a Port,
    buf: Vec<u8>,
}

impl<'a> LineReader<'a> {
    pub fn new(port: &'a Port) -> LineReader<'a> {
        LineReader {
            port,
            buf: Vec::new(),
        }
    }

    /// Reads whatever arrives within `wait` into the buffer; returns the
    /// new bytes' count.
    pub fn fill(&mut self, wait: Duration) -> Result<usize> {
        let mut chunk = [0u8; 4096];
        let n = self.port.read_timeout(&mut chunk, wait)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The next complete line (without its `\r\n`), if one is buffered.
    pub fn line(&mut self) -> Option<String> {
        let end = self.buf.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.buf.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line);
        Some(text.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Everything buffered, taking it.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Takes the defmt frames a chainloaded kernel sends on the console
    /// line (each `ESC 'D'`, then the rzcobs frame up to its 0x00), and
    /// returns their bytes; the console text around them stays. A frame not
    /// yet complete stays too, and [`LineReader::console_line`] will not
    /// read past its start.
    pub fn take_frames(&mut self) -> Vec<u8> {
        split_frames(&mut self.buf)
    }

    /// Like [`LineReader::line`], but never into an unfinished log frame.
    pub fn console_line(&mut self) -> Option<String> {
        let limit = find_escape(&self.buf).unwrap_or(self.buf.len());
        let end = self.buf[..limit].iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.buf.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line);
        Some(text.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// The kernel's log-frame escape on a one-line board (kern/src/log.rs).
const FRAME_ESCAPE: [u8; 2] = [0x1b, b'D'];

fn find_escape(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == FRAME_ESCAPE)
}

/// Removes every complete escaped frame from `buf`; returns the frames'
/// bytes (terminators included, escapes dropped), in order. A frame is
/// never empty, so zeros right after the escape are skipped: defmt's
/// encoder starts its very first frame with a 0x00 to resynchronise.
pub fn split_frames(buf: &mut Vec<u8>) -> Vec<u8> {
    let mut frames = Vec::new();
    while let Some(at) = find_escape(buf) {
        let body = at + 2 + buf[at + 2..].iter().take_while(|&&b| b == 0).count();
        let Some(len) = buf[body..].iter().position(|&b| b == 0) else {
            break;
        };
        let end = body + len + 1;
        frames.extend_from_slice(&buf[body..end]);
        buf.drain(at..end);
    }
    frames
}

/// What the host sees while it waits for the loader.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Heard {
    pub bytes: usize,
    pub garbage: usize,
    /// The last line of text received (for the "not the loader" message).
    pub last_text: String,
}

/// Not printable ASCII (nor tab, CR, LF): what a wrong baud rate produces.
fn is_garbage(b: u8) -> bool {
    !(b.is_ascii_graphic() || b == b' ' || matches!(b, b'\r' | b'\n' | b'\t'))
}

impl Heard {
    pub fn add(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len();
        self.garbage += bytes.iter().filter(|&&b| is_garbage(b)).count();
        let text = String::from_utf8_lossy(bytes);
        if let Some(line) = text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
            if !line.chars().any(|c| c.is_control() || c == '\u{fffd}') {
                self.last_text = line.chars().take(80).collect();
            }
        }
    }

    /// Mostly garbage: more than a fifth of the bytes are not text.
    pub fn is_garbage(&self) -> bool {
        self.bytes > 0 && self.garbage * 5 > self.bytes
    }

    /// The error for a loader that never said `KML:READY`.
    pub fn error(&self, port: &Port, baud: u32, waited: Duration) -> anyhow::Error {
        let path = port.path().display();
        let secs = waited.as_secs_f64();
        if self.bytes == 0 {
            anyhow!(
                "no answer from the chainloader on {path} within {secs:.0} s: nothing was received \
                 (board off or not reset, RX/TX/GND not wired, or a card without --chainloader)"
            )
        } else if self.is_garbage() {
            anyhow!(
                "no chainloader banner at {baud} baud on {path}: received {} bytes of garbage \
                 — wrong baud rate? (the loader runs at 115200 unless the card was flashed with --baud)",
                self.bytes
            )
        } else {
            anyhow!(
                "no chainloader banner on {path} within {secs:.0} s: received {} bytes of text, \
                 last line {:?}: is the card's kernel8.img the chainloader (cargo xtask flash --chainloader)?",
                self.bytes,
                self.last_text
            )
        }
    }
}

/// Waits for `KML:READY`; leaves what follows it buffered.
pub fn wait_ready(r: &mut LineReader<'_>, baud: u32, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let mut heard = Heard::default();
    heard.add(&r.buf);
    loop {
        if let Some(at) = find(&r.buf, READY.as_bytes()) {
            let end = r.buf[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(r.buf.len(), |p| at + p + 1);
            r.buf.drain(..end);
            return Ok(());
        }
        if heard.garbage >= GARBAGE_EARLY && heard.is_garbage() || start.elapsed() >= timeout {
            return Err(heard.error(r.port, baud, timeout));
        }
        let before = r.buf.len();
        let wait = timeout
            .saturating_sub(start.elapsed())
            .min(Duration::from_millis(100));
        r.fill(wait)?;
        heard.add(&r.buf[before..]);
        // Keep the buffer small while garbage arrives (the token is short).
        if r.buf.len() > 64 * 1024 {
            r.buf.drain(..r.buf.len() - 64);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The loader's answer to a header or a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Go(u32),
    Ok(u32),
    Nak(String),
}

fn wait_answer(r: &mut LineReader<'_>, timeout: Duration, what: &str) -> Result<Answer> {
    let start = Instant::now();
    loop {
        while let Some(line) = r.line() {
            match parse_reply(&line) {
                Some(Reply::Go(n)) => return Ok(Answer::Go(n)),
                Some(Reply::Ok(crc)) => return Ok(Answer::Ok(crc)),
                Some(Reply::Nak(why)) => return Ok(Answer::Nak(why.to_string())),
                _ => {}
            }
        }
        if start.elapsed() >= timeout {
            bail!(
                "the chainloader on {} did not answer {what} within {:.0} s",
                r.port.path().display(),
                timeout.as_secs_f64()
            );
        }
        r.fill(Duration::from_millis(100))?;
    }
}

/// How a push went.
#[derive(Debug, Default, Clone)]
pub struct Pushed {
    pub attempts: u32,
    /// The NAK reasons, in order.
    pub naks: Vec<String>,
    pub seconds: f64,
}

/// Pushes `image` to the loader (which must be announcing `KML:READY` within
/// `ready`), retrying on NAKs. `corrupt_first` flips a payload byte on the
/// first attempt (a test-only option: the checksum must catch it).
pub fn push(
    r: &mut LineReader<'_>,
    image: &[u8],
    baud: u32,
    ready: Duration,
    corrupt_first: bool,
) -> Result<Pushed> {
    let start = Instant::now();
    let header = Header::for_payload(image);
    let mut pushed = Pushed::default();
    let line_time = Duration::from_secs_f64(image.len() as f64 * 10.0 / baud as f64);
    while pushed.attempts < MAX_ATTEMPTS {
        pushed.attempts += 1;
        let wait = if pushed.attempts == 1 {
            ready
        } else {
            RETRY_READY
        };
        wait_ready(r, baud, wait)?;
        r.port.write_all(&header.encode())?;
        match wait_answer(r, HEADER_REPLY, "the header")? {
            Answer::Go(n) if n == header.size => {}
            Answer::Go(n) => bail!(
                "the chainloader acknowledged {n} bytes, not {}",
                header.size
            ),
            Answer::Nak(why) => {
                if !retryable(&why) {
                    bail!(
                        "the chainloader refused the image ({} bytes): {why}",
                        image.len()
                    );
                }
                pushed.naks.push(why);
                continue;
            }
            Answer::Ok(_) => bail!("the chainloader answered OK before the payload"),
        }
        let mut payload = image.to_vec();
        if corrupt_first && pushed.attempts == 1 {
            let at = payload.len() / 2;
            payload[at] ^= 0xff;
        }
        send(r.port, &payload)?;
        match wait_answer(r, line_time + Duration::from_secs(10), "the payload")? {
            Answer::Ok(crc) if crc == header.crc => {
                pushed.seconds = start.elapsed().as_secs_f64();
                return Ok(pushed);
            }
            Answer::Ok(crc) => bail!(
                "the chainloader confirmed CRC {crc:#010x}, not {:#010x}",
                header.crc
            ),
            Answer::Nak(why) if retryable(&why) => pushed.naks.push(why),
            Answer::Nak(why) => bail!(Refused(format!("the chainloader refused the image: {why}"))),
            Answer::Go(_) => bail!("the chainloader answered GO to a payload"),
        }
    }
    bail!(
        "the chainloader on {} refused {MAX_ATTEMPTS} transfers: {}",
        r.port.path().display(),
        pushed.naks.join("; ")
    )
}

/// Line noise, a lost byte, a stall: worth another try. Size and placement
/// refusals are not.
fn retryable(why: &str) -> bool {
    ["bad-crc", "bad-header", "timeout"]
        .iter()
        .any(|t| why.starts_with(t))
}

/// Writes the payload in chunks, telling a waiting human how it goes.
fn send(port: &Port, payload: &[u8]) -> Result<()> {
    let start = Instant::now();
    let mut told = Instant::now();
    for (i, chunk) in payload.chunks(16 * 1024).enumerate() {
        port.write_all(chunk)?;
        if std::io::stderr().is_terminal() && told.elapsed() >= Duration::from_secs(10) {
            told = Instant::now();
            let done = (i + 1) * 16 * 1024;
            eprint!(
                "\rhil: sent {:.1} of {:.1} MiB ({:.0} s)  ",
                done as f64 / 1048576.0,
                payload.len() as f64 / 1048576.0,
                start.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    }
    if std::io::stderr().is_terminal() && start.elapsed() >= Duration::from_secs(10) {
        eprint!("\r{:60}\r", "");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
