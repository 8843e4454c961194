//! The defmt global logger: frames go to the log UART (QEMU virt: the second
//! PL011; Raspberry Pi 4: the mini UART; i.MX 8M Plus: UART3), decoded on
//! the host by `cargo xtask` against this exact ELF. Each frame carries a timestamp and
//! the core number.
//!
//! `acquire` masks interrupts and takes a lock shared by all cores (the log
//! UART is one device); the write path cannot fail: with no log UART, bytes
//! are dropped.

use crate::arch::aarch64::{irq_restore, irq_save};
use crate::percore;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use drivers::imx_uart::ImxUart;
use drivers::mini_uart::MiniUart;
use drivers::pl011::Pl011;
use drivers::SerialWrite;

enum LogUart {
    Pl011(Pl011),
    Mini(MiniUart),
    Imx(ImxUart),
}

static UART: crate::sync::Once<LogUart> = crate::sync::Once::new();
/// Frames go to the console line, each behind [`FRAME_ESCAPE`]: a board on
/// one serial line (started by the chainloader) has no other way out.
static ON_CONSOLE: AtomicBool = AtomicBool::new(false);
/// Marks the start of a defmt frame on the console line; the frame itself
/// ends with its rzcobs terminator 0x00. Console text never contains ESC.
pub const FRAME_ESCAPE: [u8; 2] = [0x1b, b'D'];

/// Sends log frames over the console line instead of the log UART.
pub fn route_to_console() {
    ON_CONSOLE.store(true, Ordering::Relaxed);
}
static TAKEN: crate::sync::SpinLock = crate::sync::SpinLock::new();
/// Core holding the logger, plus one (0: nobody), to catch re-entry.
static OWNER: AtomicUsize = AtomicUsize::new(0);

struct State {
    encoder: defmt::Encoder,
    daif: u64,
}

struct Shared(UnsafeCell<State>);
// Safety: `State` is touched only between acquire and release, i.e. by the
// one core holding TAKEN.
unsafe impl Sync for Shared {}

static STATE: Shared = Shared(UnsafeCell::new(State {
    encoder: defmt::Encoder::new(),
    daif: 0,
}));

/// Starts the log stream on `uart` (virtual addresses already mapped).
pub fn init(uart: &platform::Uart, va: usize, aux_va: usize, uart_clock: u32, aux_clock: u32) {
    UART.call_once(|| match uart.kind {
        platform::UartKind::Pl011 => {
            // Safety: `va` is the device-mapped log PL011.
            let u = unsafe { Pl011::new(va) };
            u.init(uart.clock_hz.unwrap_or(uart_clock), 115_200);
            LogUart::Pl011(u)
        }
        platform::UartKind::Imx => {
            // Safety: `va` is the device-mapped log i.MX UART.
            let u = unsafe { ImxUart::new(va) };
            u.init(uart.clock_hz.unwrap_or(uart_clock), 115_200);
            LogUart::Imx(u)
        }
        platform::UartKind::MiniUart { .. } => {
            // Safety: `va` and `aux_va` are the device-mapped mini UART and
            // AUX_ENABLES registers.
            let u = unsafe { MiniUart::new(va, aux_va) };
            u.init(aux_clock, 115_200);
            LogUart::Mini(u)
        }
    });
}

/// Sends encoded frame bytes to the log UART (or the console). Out of
/// line: the encoder's three entries each inlined a copy with its three
/// UART loops (issue 12's size goal); the log is not on a measured path.
#[inline(never)]
fn emit(bytes: &[u8]) {
    if ON_CONSOLE.load(Ordering::Relaxed) {
        crate::console::write_raw(bytes);
        return;
    }
    match UART.get() {
        Some(LogUart::Pl011(u)) => bytes.iter().for_each(|&b| u.write_byte(b)),
        Some(LogUart::Mini(u)) => bytes.iter().for_each(|&b| u.write_byte(b)),
        Some(LogUart::Imx(u)) => bytes.iter().for_each(|&b| u.write_byte(b)),
        None => {}
    }
}

#[defmt::global_logger]
struct Logger;

// Safety: acquire/release bracket every frame, and `TAKEN` makes them a
// critical section across cores (interrupts masked within a core).
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        let daif = irq_save();
        let me = percore::id() + 1;
        if OWNER.load(Ordering::Relaxed) == me {
            panic!("defmt logger re-entered on one core");
        }
        percore::count(|e| &e.shared_locks);
        TAKEN.lock();
        OWNER.store(me, Ordering::Relaxed);
        if ON_CONSOLE.load(Ordering::Relaxed) {
            crate::console::lock();
            crate::console::write_raw(&FRAME_ESCAPE);
        }
        // Safety: we hold TAKEN.
        let s = unsafe { &mut *STATE.0.get() };
        s.daif = daif;
        s.encoder.start_frame(emit);
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // Safety: defmt calls release only after acquire: we hold TAKEN.
        let s = unsafe { &mut *STATE.0.get() };
        s.encoder.end_frame(emit);
        if ON_CONSOLE.load(Ordering::Relaxed) {
            crate::console::unlock();
        }
        let daif = s.daif;
        OWNER.store(0, Ordering::Relaxed);
        TAKEN.unlock();
        irq_restore(daif);
    }

    unsafe fn write(bytes: &[u8]) {
        // Safety: called between acquire and release: we hold TAKEN.
        let s = unsafe { &mut *STATE.0.get() };
        s.encoder.write(bytes, emit);
    }
}

defmt::timestamp!(
    "{=u64:us} core {=usize}",
    drivers::timer::ticks_to_us(drivers::timer::now()),
    percore::id()
);
