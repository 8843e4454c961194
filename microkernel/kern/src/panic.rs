//! The end of a failed run: a panic (or an unexpected exception) on any
//! core prints where and why in plain text, straight to the console UART
//! (no defmt; works from the first Rust instruction on), then ends the run
//! with a failure status so a test fails in seconds. The console lock and
//! the word it shares with a console server are taken with bounded waits
//! (`console::take_over`) and kept: the report never lands inside another
//! line, and is printed even if a holder never lets go.

use crate::arch::aarch64::{irq_save, wfe};
use crate::board;
use crate::percore;
use core::sync::atomic::{AtomicBool, Ordering};
use drivers::board::{Board, PowerOff};

static PANICKING: AtomicBool = AtomicBool::new(false);

/// Exit status of a panic.
pub const PANIC_STATUS: u32 = 101;
/// Exit status of an unexpected exception.
pub const EXCEPTION_STATUS: u32 = 102;

/// Only the first failing core reports (and gets the console to itself);
/// the others stop here.
pub fn claim() -> bool {
    irq_save();
    let first = !PANICKING.swap(true, Ordering::AcqRel);
    if first {
        crate::console::take_over();
    }
    first
}

/// Stops this core for good.
pub fn park() -> ! {
    irq_save();
    loop {
        wfe();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !claim() {
        park();
    }
    let core = percore::id();
    match info.location() {
        Some(l) => crate::console::print_unlocked(format_args!(
            "\nPANIC on core {} at {}:{}:{}: {}\n",
            core,
            l.file(),
            l.line(),
            l.column(),
            info.message()
        )),
        None => crate::console::print_unlocked(format_args!(
            "\nPANIC on core {} at unknown location: {}\n",
            core,
            info.message()
        )),
    };
    power_off(PANIC_STATUS)
}

/// Ends the run with `code` through the board (0 = success). The last
/// console line, `exit status N`, carries the status to a host that reads
/// only the console (a board on a serial line).
pub fn power_off(code: u32) -> ! {
    crate::console::print_unlocked(format_args!("exit status {}\n", code));
    board::Current::power_off(&power_off_means(), code)
}

fn power_off_means() -> PowerOff {
    let p = crate::boot::platform();
    PowerOff {
        psci: p.and_then(|p| p.psci).and_then(|psci| {
            let conduit = match psci.conduit {
                platform::Conduit::Hvc => drivers::psci::Conduit::Hvc,
                platform::Conduit::Smc => drivers::psci::Conduit::Smc,
            };
            psci.system_off.map(|f| (conduit, f))
        }),
        watchdog: p
            .and_then(|p| p.watchdog)
            .filter(|_| crate::boot::kernel_tables_live())
            .map(|r| crate::mm::device_va(r.base)),
        reboot: crate::boot::chainloaded(),
    }
}
