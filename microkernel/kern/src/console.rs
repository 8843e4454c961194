//! The console: the DTB's first PL011. Lines are written under a lock with
//! interrupts masked, so lines from different cores never interleave.
//!
//! Before the DTB is read, an early console (the board's known UART0,
//! mapped through the boot window) serves the panic path.

use crate::arch::aarch64::{irq_restore, irq_save};
use crate::sync::SpinLock;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};
use drivers::pl011::Pl011;
use drivers::SerialWrite;

/// Virtual address of the console PL011 (0: none yet).
static CONSOLE_VA: AtomicUsize = AtomicUsize::new(0);
/// The console is shared by all cores by design; this is its lock (a bare
/// spin lock, because the defmt logger holds it from `acquire` to
/// `release` when log frames share the console line).
static LOCK: SpinLock = SpinLock::new();

/// Takes the console lock (the caller has masked interrupts).
pub fn lock() {
    crate::percore::count(|e| &e.shared_locks);
    LOCK.lock();
}

/// Releases the console lock taken with [`lock`].
pub fn unlock() {
    LOCK.unlock();
}

/// Writes raw bytes to the console UART (the caller holds the lock).
pub fn write_raw(bytes: &[u8]) {
    if let Some(uart) = uart_at(CONSOLE_VA.load(Ordering::Acquire)) {
        bytes.iter().for_each(|&b| uart.write_byte(b));
    }
}

/// Uses the already-running UART at `va` (no re-initialisation: the
/// firmware or QEMU set it up) until [`init`].
pub fn init_early(va: usize) {
    CONSOLE_VA.store(va, Ordering::Release);
}

/// Programs the console PL011 at `va` for 115200 8N1 and switches to it.
pub fn init(va: usize, clock_hz: u32) {
    // Safety: `va` is the device-mapped console PL011 (from the DTB).
    let uart = unsafe { Pl011::new(va) };
    uart.init(clock_hz, 115_200);
    CONSOLE_VA.store(va, Ordering::Release);
}

fn uart_at(va: usize) -> Option<Pl011> {
    // Safety: CONSOLE_VA only ever holds a mapped PL011 address (or 0).
    (va != 0).then(|| unsafe { Pl011::new(va) })
}

struct Writer(Pl011);

impl Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s);
        Ok(())
    }
}

/// Prints under the console lock.
pub fn print(args: fmt::Arguments) {
    let Some(uart) = uart_at(CONSOLE_VA.load(Ordering::Acquire)) else {
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
/// another core to finish its line, then keeps the lock so nothing else is
/// printed after the report. If the holder never lets go (it may have died
/// holding it), the report is printed anyway.
pub fn take_over() {
    let start = drivers::timer::now();
    loop {
        if LOCK.try_lock() {
            return;
        }
        let waited = drivers::timer::ticks_to_us(drivers::timer::now().wrapping_sub(start));
        if waited > TAKEOVER_WAIT_US {
            return;
        }
        crate::sync::relax();
    }
}

/// Prints without taking the lock: for the panic path after [`take_over`].
/// Returns false when there is no console at all.
pub fn print_unlocked(args: fmt::Arguments) -> bool {
    let Some(uart) = uart_at(CONSOLE_VA.load(Ordering::Acquire)) else {
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
