//! The small interface every board crate implements: what the DTB cannot
//! say (or cannot say before it is read). Everything else about a board,
//! from memory to the interrupt controller, comes from its DTB.

/// How a run can be ended on this machine, from what the DTB offered.
#[derive(Debug, Clone, Copy)]
pub struct PowerOff {
    /// PSCI conduit and `SYSTEM_OFF` function ID, if the board has PSCI.
    #[cfg(target_arch = "aarch64")]
    pub psci: Option<(crate::psci::Conduit, u32)>,
    /// Mapped virtual address of a BCM2835 PM/watchdog block, if any.
    pub watchdog: Option<usize>,
    /// Reboot instead of powering off (a chainloader is waiting for the
    /// next image).
    pub reboot: bool,
}

/// A board.
pub trait Board {
    /// Name used in logs and by `cargo xtask --board`.
    const NAME: &'static str;
    /// Physical address of the UART used before the DTB is read, like
    /// Linux's `earlycon=`: only the panic path of the first microseconds of
    /// boot uses it; afterwards the console is the one the DTB names.
    const EARLY_CONSOLE: u64;
    /// The kind of UART at [`Board::EARLY_CONSOLE`].
    const EARLY_CONSOLE_KIND: crate::uart::Kind;
    /// Console (and log) UART reference clock when the DTB gives none (the
    /// Pi firmware sets UART0's clock itself; the i.MX clock controller's
    /// rates are not in the DTB).
    const UART_CLOCK_HZ: u32;
    /// Clock of the BCM2835 mini UART's baud generator (VPU core clock).
    const AUX_CLOCK_HZ: u32;
    /// Routes the console UART to the pins a user connects to, given the
    /// mapped GPIO block if the DTB names one. Runs before the console is
    /// programmed.
    fn route_console(gpio: Option<usize>) {
        let _ = gpio;
    }
    /// Ends the run with `code` (0 = success) and never returns.
    fn power_off(how: &PowerOff, code: u32) -> !;
}

/// How a run ends on a machine with PSCI under QEMU (`virt`,
/// `imx8mp-evk`): a failure through semihosting `SYS_EXIT(code)`, which
/// ends QEMU with that status; success (or no semihosting) through PSCI
/// `SYSTEM_OFF`, which ends it with status 0 (and powers a board off).
pub fn semihosting_or_psci_off(how: &PowerOff, code: u32) -> ! {
    #[cfg(target_arch = "aarch64")]
    {
        if code != 0 {
            crate::semihosting::exit(code);
        }
        if let Some((conduit, system_off)) = how.psci {
            crate::psci::system_off(conduit, system_off);
        }
        crate::semihosting::exit(code);
    }
    // Neither ended the run (no semihosting, no PSCI): stop here.
    let _ = (how, code);
    loop {
        crate::relax();
    }
}
