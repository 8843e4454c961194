//! QEMU `virt`: PL011 console, GICv2 or GICv3, PSCI through `hvc` (EL1
//! entry) or `smc` (EL2 entry), all read from the DTB. What is left for this
//! crate: the early console address and how a run ends.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

use drivers::board::{Board, PowerOff};
use drivers::uart::Kind;

/// The `virt` machine.
pub struct QemuVirt;

impl Board for QemuVirt {
    const NAME: &'static str = "virt";
    const EARLY_CONSOLE: u64 = 0x0900_0000;
    const EARLY_CONSOLE_KIND: Kind = Kind::Pl011;
    const UART_CLOCK_HZ: u32 = 24_000_000;
    const AUX_CLOCK_HZ: u32 = 0;

    /// Failure: semihosting `SYS_EXIT(code)` ends QEMU with that status.
    /// Success (or no semihosting): PSCI `SYSTEM_OFF` ends it with status 0.
    fn power_off(how: &PowerOff, code: u32) -> ! {
        drivers::board::semihosting_or_psci_off(how, code)
    }
}
