//! The server's side of the console UART: every line it writes (a client's
//! line, its own reports) goes out whole under the console lock it shares
//! with the kernel (`abi::console_lock`, in the page the image grants with
//! the UART as `console-lock`), so a kernel line (a fault report, a task's
//! `DebugPrint`) never lands inside one of its lines, nor one of its lines
//! inside a kernel line (docs/console.md, *One lock for every writer*).

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};
use drivers::uart::Uart;
use drivers::SerialWrite;
use ulib::console_lock;

/// The console UART and the lock word (none: the image grants no lock
/// page, and lines are written without it).
pub struct Out {
    uart: Uart,
    word: Option<&'static AtomicU64>,
    core: u32,
    seq: Cell<u32>,
}

impl Out {
    /// `word`: the lock word, mapped read/write for the rest of the run.
    pub fn new(uart: Uart, word: Option<&'static AtomicU64>, core: u32) -> Out {
        Out {
            uart,
            word,
            core,
            seq: Cell::new(0),
        }
    }

    /// Writes one line (`bytes` and a newline) under the lock.
    pub fn line(&self, bytes: &[u8]) {
        self.line_from(bytes.iter().copied());
    }

    /// Writes the bytes `bytes` yields and a newline, under the lock (a
    /// client's line goes from its buffer to the UART in one pass).
    pub fn line_from(&self, bytes: impl Iterator<Item = u8>) {
        let held = self.lock();
        // The UART's kind is matched once a line, not once a byte.
        match &self.uart {
            Uart::Pl011(u) => write_line(u, bytes),
            Uart::Imx(u) => write_line(u, bytes),
        }
        self.unlock(held);
    }

    /// Writes a formatted line under the lock.
    pub fn fmt(&self, args: core::fmt::Arguments) {
        let mut line = ulib::Line::new();
        let _ = core::fmt::write(&mut line, args);
        self.line(line.as_str().as_bytes());
    }

    /// A byte of input, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        self.uart.read_byte()
    }

    /// Takes the word (asleep in `wfe` while the kernel writes a line);
    /// returns the value it holds.
    fn lock(&self) -> u64 {
        let Some(word) = self.word else { return 0 };
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        let mine = console_lock::user(self.core, seq);
        loop {
            match word.compare_exchange(
                console_lock::FREE,
                mine,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return mine,
                Err(held) => {
                    ulib::wait::wait_while(word, held);
                }
            }
        }
    }

    fn unlock(&self, held: u64) {
        if let Some(word) = self.word {
            // Only if still ours: the kernel releases a hold only when this
            // task has stopped, so this always succeeds while it runs.
            let _ = word.compare_exchange(
                held,
                console_lock::FREE,
                Ordering::Release,
                Ordering::Relaxed,
            );
        }
    }
}

/// Writes `bytes` and a newline to `uart`.
fn write_line(uart: &impl SerialWrite, bytes: impl Iterator<Item = u8>) {
    bytes.for_each(|b| uart.write_byte(b));
    uart.write_byte(b'\n');
}
