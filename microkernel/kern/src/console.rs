//! The console: the UART the DTB names (a PL011, or an i.MX UART). Lines
//! are written under a lock with interrupts masked, so lines from different
//! cores never interleave.
//!
//! A task that writes the UART itself (the console server) takes the same
//! lock per line through a word in a page the kernel shares with it
//! (`abi::console_lock`, granted as `device:console-lock`): a kernel line
//! takes the kernel's spin lock (kernel cores among themselves), then that
//! word. The kernel never waits unboundedly for a task: not for a holder on
//! its own core (it interrupted it), at most [`SHARED_WAIT_US`] for any
//! other, and not again for a hold it gave up on; a holder that stops is
//! released when it ends ([`release_task_hold`]). The panic path takes both
//! the same bounded way and keeps them ([`take_over`]).
//!
//! Before the DTB is read, an early console (the board's known UART,
//! mapped through the boot window) serves the panic path.
//!
//! The shared page's second word says which kind of UART the console is
//! (`abi::console_lock::UART_KIND`, a `drivers::uart::Kind` code), so that
//! the console server drives it without knowing the board.

use crate::arch::aarch64::{irq_restore, irq_save};
use crate::sync::SpinLock;
use abi::console_lock::{self, FREE, KERNEL};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use drivers::uart::{Kind, Uart};
use drivers::SerialWrite;

/// Virtual address of the console UART (0: none yet).
static CONSOLE_VA: AtomicUsize = AtomicUsize::new(0);
/// Its kind, as a `Kind` code (written before `CONSOLE_VA`).
static CONSOLE_KIND: AtomicU64 = AtomicU64::new(Kind::Pl011 as u64);
/// The console is shared by all cores by design; this is its lock (a bare
/// spin lock, because the defmt logger holds it from `acquire` to
/// `release` when log frames share the console line).
static LOCK: SpinLock = SpinLock::new();

/// The page whose first word is the lock shared with tasks that write the
/// UART themselves and whose second says the UART's kind; nothing else is
/// in it, so a task may map all of it. (A task that overwrites the kind
/// misleads only itself: the kernel keeps its own, and writes it again
/// when the task stops.)
#[repr(C, align(4096))]
struct SharedPage {
    word: AtomicU64,
    uart_kind: AtomicU64,
    _rest: [u64; 510],
}

static SHARED_PAGE: SharedPage = SharedPage {
    word: AtomicU64::new(FREE),
    uart_kind: AtomicU64::new(0),
    _rest: [0; 510],
};
/// Whether a task may hold [`SHARED_PAGE`]'s word: set once the image
/// grants the page; until then kernel lines do not look at it.
static SHARED_GRANTED: AtomicBool = AtomicBool::new(false);
/// Whether the line in progress holds the shared word (under [`LOCK`]).
static HOLDS_SHARED: AtomicBool = AtomicBool::new(false);
/// A task's hold the kernel stopped waiting for (0: none): while the word
/// still holds this value, kernel lines go out without waiting.
static ABANDONED: AtomicU64 = AtomicU64::new(FREE);
/// The longest a kernel line waits for a task's line on another core
/// (a line of the console server takes microseconds; this bounds a
/// hostile or stopped holder, once per hold).
pub const SHARED_WAIT_US: u64 = 1_000_000;

/// The physical address of the shared lock page, for the image's
/// `device:console-lock` grant; from now on kernel lines take its word.
pub fn shared_lock_page() -> u64 {
    SHARED_GRANTED.store(true, Ordering::Release);
    crate::mm::kernel_va_to_pa(core::ptr::from_ref(&SHARED_PAGE) as u64)
}

/// Takes the shared word for a kernel line (the caller holds [`LOCK`]).
fn take_shared() {
    if !SHARED_GRANTED.load(Ordering::Acquire) {
        return;
    }
    let word = &SHARED_PAGE.word;
    let me = crate::percore::id() as u32;
    let start = drivers::timer::now();
    loop {
        let v = match word.compare_exchange(FREE, KERNEL, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => {
                HOLDS_SHARED.store(true, Ordering::Relaxed);
                return;
            }
            Err(v) => v,
        };
        if v == ABANDONED.load(Ordering::Relaxed) || console_lock::user_core(v) == Some(me) {
            return;
        }
        let waited = drivers::timer::ticks_to_us(drivers::timer::now().wrapping_sub(start));
        if waited > SHARED_WAIT_US {
            ABANDONED.store(v, Ordering::Relaxed);
            return;
        }
        crate::sync::wait_u64_once(word, v);
    }
}

/// Releases the shared word if the line in progress took it.
fn give_shared() {
    if HOLDS_SHARED.swap(false, Ordering::Relaxed) {
        // The store clears the monitor of a task waiting on the word.
        SHARED_PAGE.word.store(FREE, Ordering::Release);
    }
}

/// A task granted the shared lock page stopped (faulted or is ending):
/// a hold of a task's is released, since only the image's UART writer
/// holds it (xtask grants the page only with `device:uart`), and the
/// UART's kind is written again, so a restarted writer reads the truth
/// whatever the stopped one wrote there.
pub fn release_task_hold() {
    let word = &SHARED_PAGE.word;
    let v = word.load(Ordering::Relaxed);
    if console_lock::user_core(v).is_some() {
        let _ = word.compare_exchange(v, FREE, Ordering::Release, Ordering::Relaxed);
    }
    let kind = CONSOLE_KIND.load(Ordering::Relaxed);
    SHARED_PAGE.uart_kind.store(kind, Ordering::Relaxed);
}

/// Whether a task on this core holds the shared word: it is writing a line
/// that this core interrupted (the time limit puts its report off a little
/// so the line can finish: `deadline::expired`).
pub fn task_line_on_this_core() -> bool {
    SHARED_GRANTED.load(Ordering::Acquire)
        && console_lock::user_core(SHARED_PAGE.word.load(Ordering::Relaxed))
            == Some(crate::percore::id() as u32)
}

/// Takes the console lock (the caller has masked interrupts).
pub fn lock() {
    crate::percore::count(|e| &e.shared_locks);
    LOCK.lock();
    take_shared();
}

/// Releases the console lock taken with [`lock`].
pub fn unlock() {
    give_shared();
    LOCK.unlock();
}

/// Writes raw bytes to the console UART (the caller holds the lock).
pub fn write_raw(bytes: &[u8]) {
    if let Some(uart) = console_uart() {
        bytes.iter().for_each(|&b| uart.write_byte(b));
    }
}

/// Uses the already-running UART of `kind` at `va` (no re-initialisation:
/// the firmware or QEMU set it up) until [`init`].
pub fn init_early(va: usize, kind: Kind) {
    CONSOLE_KIND.store(kind as u64, Ordering::Relaxed);
    CONSOLE_VA.store(va, Ordering::Release);
}

/// Programs the console UART of `kind` at `va` for 115200 8N1 and switches
/// to it; the shared page says its kind from now on.
pub fn init(va: usize, kind: Kind, clock_hz: u32) {
    // Safety: `va` is the device-mapped console UART of this kind (from the
    // DTB).
    let uart = unsafe { Uart::new(kind, va) };
    uart.init(clock_hz, 115_200);
    SHARED_PAGE.uart_kind.store(kind as u64, Ordering::Relaxed);
    CONSOLE_KIND.store(kind as u64, Ordering::Relaxed);
    CONSOLE_VA.store(va, Ordering::Release);
}

fn console_uart() -> Option<Uart> {
    let va = CONSOLE_VA.load(Ordering::Acquire);
    let kind = Kind::from_code(CONSOLE_KIND.load(Ordering::Relaxed))?;
    // Safety: CONSOLE_VA only ever holds a mapped UART address (or 0), and
    // CONSOLE_KIND its kind (stored before it, read after it).
    (va != 0).then(|| unsafe { Uart::new(kind, va) })
}

struct Writer(Uart);

impl Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s);
        Ok(())
    }
}

/// Prints under the console lock.
pub fn print(args: fmt::Arguments) {
    let Some(uart) = console_uart() else {
        return;
    };
    let daif = irq_save();
    lock();
    let _ = Writer(uart).write_fmt(args);
    unlock();
    irq_restore(daif);
}

/// How long the panic path waits for a line in progress on another core.
const TAKEOVER_WAIT_US: u64 = 100_000;

/// Takes the console for good, for the panic path: waits (bounded) for
/// another core to finish its line, then for a task's line (the shared
/// word), and keeps both so nothing else is printed after the report. If a
/// holder never lets go (it may have died holding it), the report is
/// printed anyway.
pub fn take_over() {
    let start = drivers::timer::now();
    loop {
        if LOCK.try_lock() {
            break;
        }
        let waited = drivers::timer::ticks_to_us(drivers::timer::now().wrapping_sub(start));
        if waited > TAKEOVER_WAIT_US {
            break;
        }
        crate::sync::relax();
    }
    take_shared_for_good();
}

/// The panic path's hold of the shared word: as [`take_shared`], at most
/// [`SHARED_WAIT_US`] for a task's line on another core, but never given
/// back (the run is ending) and never waiting where waiting cannot help:
/// a kernel line holds it (the core that did not let go of [`LOCK`] in
/// time, or this one, if it panicked writing a line), a task on this core
/// holds it (this core interrupted it), or the kernel gave up on its hold
/// already.
fn take_shared_for_good() {
    if !SHARED_GRANTED.load(Ordering::Acquire) {
        return;
    }
    let word = &SHARED_PAGE.word;
    let me = crate::percore::id() as u32;
    let start = drivers::timer::now();
    loop {
        let v = match word.compare_exchange(FREE, KERNEL, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return,
            Err(v) => v,
        };
        if v == KERNEL
            || v == ABANDONED.load(Ordering::Relaxed)
            || console_lock::user_core(v) == Some(me)
        {
            return;
        }
        let waited = drivers::timer::ticks_to_us(drivers::timer::now().wrapping_sub(start));
        if waited > SHARED_WAIT_US {
            return;
        }
        crate::sync::wait_u64_once(word, v);
    }
}

/// Prints without taking the lock: for the panic path after [`take_over`].
/// Returns false when there is no console at all.
pub fn print_unlocked(args: fmt::Arguments) -> bool {
    let Some(uart) = console_uart() else {
        return false;
    };
    let _ = Writer(uart).write_fmt(args);
    true
}

/// Prints a line to the console.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
