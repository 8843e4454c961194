//! The server's side of the console UART: every line it writes (a client's
//! line, its own reports) goes out whole under the console lock it shares
//! with the kernel (`abi::console_lock`, in the page the image grants with
//! the UART as `console-lock`), so a kernel line (a fault report, a task's
//! `DebugPrint`) never lands inside one of its lines, nor one of its lines
//! inside a kernel line (docs/console.md, *One lock for every writer*).

use crate::short::write_short;
use crate::text::{plain, printable};
use core::cell::Cell;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
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

    /// Writes a client's line, the bytes of its buffer window (at most
    /// `LINE`: the caller cuts it), and a newline, in one pass: each byte
    /// is read once (atomically: the client may change them meanwhile, and
    /// what is printed is what was read) and made [`printable`], no copy
    /// in between. The caller holds the lock ([`Out::lock`]).
    pub fn window(&self, bytes: &[AtomicU8]) {
        // The UART's kind is matched once a line, not once a byte.
        match &self.uart {
            Uart::Pl011(u) => write_window(u, bytes),
            Uart::Imx(u) => write_window(u, bytes),
        }
    }

    /// Writes a line carried in a request slot ([`console_api::Op::Line`]):
    /// the first `len` bytes (a longer `len` is cut to 32) of `words`,
    /// byte `i` in word `i / 8` from its least significant byte, made
    /// [`printable`], and a newline. The caller holds the lock
    /// ([`Out::lock`]).
    #[inline(always)]
    pub fn short(&self, words: [u64; 4], len: usize) {
        match &self.uart {
            Uart::Pl011(u) => write_short(u, words, len),
            Uart::Imx(u) => write_short(u, words, len),
        }
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
    /// returns the value it holds, for [`Out::unlock`]. A serving pass
    /// takes it once for all its clients' lines ([`Out::window`],
    /// [`Out::short`]) and writes no line through the other methods,
    /// which take it themselves, until it has let it go.
    pub fn lock(&self) -> u64 {
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

    /// Lets the word go (`held`: what [`Out::lock`] returned).
    pub fn unlock(&self, held: u64) {
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

/// Writes `bytes`, made printable, and a newline to `uart`: room in its
/// FIFO looked for once per FIFO's worth ([`SerialWrite::wait_room`]), and
/// eight bytes at a time where the window is 8-aligned and the FIFO has
/// room for them: one 64-bit load, one test for control bytes, and the
/// bytes stored as they are (~4 instructions a byte, against ~11 a byte
/// read, tested and stored with the FIFO looked at each time).
fn write_window(uart: &impl SerialWrite, bytes: &[AtomicU8]) {
    let mut room = 0;
    let mut at = 0;
    while let Some(first) = bytes.get(at) {
        if room == 0 {
            room = uart.wait_room();
        }
        if room >= 8 && at + 8 <= bytes.len() {
            let cell = (first as *const AtomicU8).cast::<AtomicU64>();
            if cell.is_aligned() {
                // Safety: `first` is byte `at` of `bytes` and `at + 8` is
                // within it, so the 8 bytes are in bounds of one live
                // slice, and the pointer is 8-aligned (checked): a valid
                // `AtomicU64` (same size, any bits valid, interior
                // mutability). This program touches a client's buffer only
                // atomically (`ring::SharedBuf`); its accesses of other
                // sizes to these bytes are sequenced with this load (one
                // thread), and the client's are another program's stores,
                // which no access here can make undefined.
                let mut w = u64::from_le(unsafe { &*cell }.load(Ordering::Relaxed));
                if plain(w) {
                    for _ in 0..8 {
                        uart.put(w as u8);
                        w >>= 8;
                    }
                    (at, room) = (at + 8, room - 8);
                    continue;
                }
            }
        }
        uart.put(printable(first.load(Ordering::Relaxed)));
        (at, room) = (at + 1, room - 1);
    }
    if room == 0 {
        uart.wait_room();
    }
    uart.put(b'\n');
}
