//! The user library: safe wrappers over the system calls of `abi`, the
//! `_start` entry every task gets, and a panic handler that reports and
//! exits. A task is a `#![no_std] #![no_main]` binary that calls
//! [`entry!`] with its `fn main(start: ulib::Start) -> i32`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub use abi::console_lock;
pub use abi::{esr, slots, CPtr, Error, Event, ObjectKind, Rights, Syscall, TaskId, TaskState};

pub mod bind;
#[cfg(target_arch = "aarch64")]
pub mod block;
#[cfg(target_arch = "aarch64")]
pub mod cap;
#[cfg(target_arch = "aarch64")]
pub mod checks;
#[cfg(target_arch = "aarch64")]
pub mod ends;
#[cfg(target_arch = "aarch64")]
pub mod pmu;
#[cfg(target_arch = "aarch64")]
mod sys;
/// How a task waits without a system call (`yield`, `wfe`): `ring::waiting`.
pub use ring::waiting as wait;
#[cfg(target_arch = "aarch64")]
pub use sys::*;

/// What the kernel tells a task at entry (x0, x1).
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// The core the task is bound to.
    pub core: usize,
    /// The task's slot among the tasks of its core (image order).
    pub slot: usize,
    /// How many times the supervisor restarted this task.
    pub restarts: usize,
}

/// Defines the task's entry point: `_start` calls `main(Start)` and exits
/// with its return value.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        #[link_section = ".text.start"]
        pub extern "C" fn _start(core: usize, slot: usize, restarts: usize) -> ! {
            let f: fn($crate::Start) -> i32 = $main;
            $crate::exit(f($crate::Start {
                core,
                slot,
                restarts,
            }) as u64)
        }
    };
}

/// Formats into a fixed buffer and prints it as one console line.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        let mut line = $crate::Line::new();
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!($($arg)*));
        let _ = $crate::debug_print(line.as_str());
    }};
}

/// A line of at most [`Line::CAPACITY`] bytes; longer output is cut.
pub struct Line {
    buf: [u8; Line::CAPACITY],
    len: usize,
}

impl Line {
    /// The kernel's limit for one `DebugPrint`.
    pub const CAPACITY: usize = 256;

    pub const fn new() -> Self {
        Line {
            buf: [0; Line::CAPACITY],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        let bytes = &self.buf[..self.len];
        // Safety: `write_str` is the only writer of `buf` and `len`, and it
        // appends a prefix of a `&str` cut at a character boundary, so
        // `buf[..len]` is always a concatenation of whole UTF-8 strings.
        // (Checking it again cost every printed line ~80 instructions.)
        unsafe { core::str::from_utf8_unchecked(bytes) }
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Write for Line {
    /// Appends as much of `s` as fits, cut at a character boundary (an
    /// error if not all of it fits): one copy, not one per character.
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut n = s.len().min(Line::CAPACITY - self.len);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n == s.len() {
            Ok(())
        } else {
            Err(core::fmt::Error)
        }
    }
}
