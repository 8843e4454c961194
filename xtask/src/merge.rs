//! One terminal for two streams: the guest's console (bytes, as QEMU hands
//! them over, a line in several pieces) and the decoded defmt log (whole
//! lines), merged only at line boundaries, so that no line of either is
//! ever split by the other.
//!
//! [`Merger`] is the pure part: bytes and lines in, each with the time it
//! arrived, [`Piece`]s out. An unfinished console line is held until its
//! newline, so a log line arriving meanwhile goes before it; after
//! [`HOLD`] without its newline (a prompt, `(qemu)`, a line being
//! typed) it is shown anyway, and from then on its bytes pass straight
//! through. A log line that arrives while such a line is on screen either
//! waits for the line to end (`redraw` off: output that is not a terminal)
//! or, on a terminal, the shown part is erased, the log line printed, and
//! the shown part written again below it. [`Screen`] writes the pieces:
//! console to stdout, log lines to stderr.

use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long an unfinished console line is held back before it is shown.
pub const HOLD: Duration = Duration::from_millis(150);

/// What to write, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Console bytes, as they came.
    Console(Vec<u8>),
    /// One whole log line, without its line ending.
    Log(String),
    /// Erase the unfinished console line on screen (the cursor is on it),
    /// to write a log line in its place; it is written again after.
    Erase,
}

/// The merging state.
#[derive(Debug)]
pub struct Merger {
    hold: Duration,
    redraw: bool,
    /// The console line not yet ended by `\n`.
    partial: Vec<u8>,
    /// How many bytes of `partial` are on screen already.
    shown: usize,
    /// When the first unshown byte of `partial` arrived.
    since: Option<Instant>,
    /// Log lines waiting for the console line on screen to end.
    waiting: Vec<String>,
}

impl Merger {
    /// `hold`: how long an unfinished console line is held back; `redraw`:
    /// the output is a terminal, where a shown line can be erased.
    pub fn new(hold: Duration, redraw: bool) -> Merger {
        Merger {
            hold,
            redraw,
            partial: Vec::new(),
            shown: 0,
            since: None,
            waiting: Vec::new(),
        }
    }

    /// Console bytes that arrived at `now`.
    pub fn console(&mut self, bytes: &[u8], now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            out.push(Piece::Console(self.partial.split_off(self.shown)));
            self.partial.clear();
            self.shown = 0;
            self.since = None;
            out.extend(self.waiting.drain(..).map(Piece::Log));
        }
        if rest.is_empty() {
            return out;
        }
        self.partial.extend_from_slice(rest);
        if self.shown > 0 {
            // The line is on screen already: its next bytes follow at once.
            out.push(Piece::Console(rest.to_vec()));
            self.shown = self.partial.len();
        } else if self.since.is_none() {
            self.since = Some(now);
        }
        out
    }

    /// A decoded log line that arrived at `now`.
    pub fn log(&mut self, line: String, now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        if self.shown == 0 {
            // Nothing unfinished on screen: the line goes before a held
            // one, which is shown after it if its time has come.
            out.push(Piece::Log(line));
            out.extend(self.tick(now));
        } else if self.redraw {
            out.push(Piece::Erase);
            out.push(Piece::Log(line));
            out.push(Piece::Console(self.partial[..self.shown].to_vec()));
        } else {
            self.waiting.push(line);
        }
        out
    }

    /// Shows the held console line if it has waited its hold time.
    pub fn tick(&mut self, now: Instant) -> Vec<Piece> {
        match self.since {
            Some(since) if now.saturating_duration_since(since) >= self.hold => {
                self.since = None;
                let piece = Piece::Console(self.partial[self.shown..].to_vec());
                self.shown = self.partial.len();
                vec![piece]
            }
            _ => Vec::new(),
        }
    }

    /// When [`Merger::tick`] has something to show, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|since| since + self.hold)
    }

    /// Both streams have ended: whatever is left, the console's last
    /// unfinished line first, then the log lines that waited for it on
    /// lines of their own.
    pub fn finish(mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        if self.shown < self.partial.len() {
            out.push(Piece::Console(self.partial.split_off(self.shown)));
        }
        if !self.waiting.is_empty() {
            out.push(Piece::Console(b"\n".to_vec()));
            out.extend(self.waiting.drain(..).map(Piece::Log));
        }
        out
    }
}

/// What arrives for the screen.
#[derive(Debug)]
pub enum Input {
    Console(Vec<u8>),
    Log(String),
}

/// Feeds `merger` what arrives on `inputs`, each stamped with its arrival,
/// ticking at its deadlines, and writes the pieces to `screen`, until every
/// sender is gone; then writes what is left.
pub fn run<C: Write, L: Write>(
    inputs: Receiver<Input>,
    mut merger: Merger,
    screen: &mut Screen<C, L>,
) {
    loop {
        let input = match merger.deadline() {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                inputs.recv_timeout(wait)
            }
            None => inputs.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let now = Instant::now();
        let pieces = match input {
            Ok(Input::Console(bytes)) => merger.console(&bytes, now),
            Ok(Input::Log(line)) => merger.log(line, now),
            Err(RecvTimeoutError::Timeout) => merger.tick(now),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // A closed terminal is no reason to stop draining QEMU.
        let _ = screen.write(pieces);
    }
    let _ = screen.write(merger.finish());
}

/// Writes pieces: console bytes to `console`, log lines to `log`, each
/// flushed at once (they share a screen). `crlf`: end log lines with
/// `\r\n` (a terminal QEMU has put in raw mode).
pub struct Screen<C: Write, L: Write> {
    pub console: C,
    pub log: L,
    pub crlf: bool,
}

impl<C: Write, L: Write> Screen<C, L> {
    pub fn write(&mut self, pieces: Vec<Piece>) -> std::io::Result<()> {
        for piece in pieces {
            match piece {
                Piece::Console(bytes) => {
                    self.console.write_all(&bytes)?;
                    self.console.flush()?;
                }
                Piece::Erase => {
                    self.console.write_all(b"\r\x1b[K")?;
                    self.console.flush()?;
                }
                Piece::Log(line) => {
                    let end = if self.crlf { "\r\n" } else { "\n" };
                    write!(self.log, "{line}{end}")?;
                    self.log.flush()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
