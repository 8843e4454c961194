//! NXP i.MX 8M Plus EVK (QEMU `imx8mp-evk`): entered at EL2 with the DTB in
//! x0, secondaries through PSCI over `smc`, GICv3, the i.MX UART2 console
//! (`/chosen/stdout-path`), all read from the DTB. What is left for this
//! crate: the early console, the UART clock the DTB does not state, and
//! how a run ends.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

use drivers::board::{Board, PowerOff};
use drivers::uart::Kind;

/// The i.MX 8M Plus EVK.
pub struct Imx8mpEvk;

impl Board for Imx8mpEvk {
    const NAME: &'static str = "imx8mp";
    /// UART2, the EVK's debug console (the USB-serial bridge's first port).
    const EARLY_CONSOLE: u64 = 0x3089_0000;
    const EARLY_CONSOLE_KIND: Kind = Kind::Imx;
    /// The UART clock roots' reset source, the 24 MHz oscillator: the DTB
    /// names the clock controller's `UARTn_ROOT`, whose rate it does not
    /// state.
    const UART_CLOCK_HZ: u32 = 24_000_000;
    const AUX_CLOCK_HZ: u32 = 0;

    /// Failure: semihosting `SYS_EXIT(code)` ends QEMU with that status.
    /// Success (or no semihosting): PSCI `SYSTEM_OFF` ends it with status 0
    /// (on the EVK, TF-A powers the SoC off).
    fn power_off(how: &PowerOff, code: u32) -> ! {
        drivers::board::semihosting_or_psci_off(how, code)
    }
}
