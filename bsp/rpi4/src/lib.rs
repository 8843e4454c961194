//! Raspberry Pi 4 (BCM2711): entered at EL2 at 0x80000 by the firmware (or
//! QEMU `raspi4b`), secondaries on the spin table, GIC-400, UART0 PL011
//! console, mini UART for the log. No PSCI: a run ends with semihosting on
//! QEMU and with a watchdog halt on a real board.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

use drivers::board::{Board, PowerOff};
use drivers::uart::Kind;

/// The Raspberry Pi 4 Model B.
pub struct RaspberryPi4;

impl Board for RaspberryPi4 {
    const NAME: &'static str = "rpi4";
    /// UART0 (PL011) in the "low peripheral" address map.
    const EARLY_CONSOLE: u64 = 0xfe20_1000;
    const EARLY_CONSOLE_KIND: Kind = Kind::Pl011;
    /// `init_uart_clock` default of the Pi 4 firmware.
    const UART_CLOCK_HZ: u32 = 48_000_000;
    /// `core_freq` default of the Pi 4 firmware.
    const AUX_CLOCK_HZ: u32 = 500_000_000;

    /// UART0 to GPIO 14 (TXD0) / 15 (RXD0), function ALT0, pull-up on RX so
    /// an unconnected line reads idle, and GPIO 32/33 (where the upstream
    /// DTB routes UART0, to Bluetooth) back to inputs. Same effect as
    /// `dtoverlay=disable-bt`.
    fn route_console(gpio: Option<usize>) {
        let Some(base) = gpio else { return };
        // Safety: `base` is the device-mapped GPIO page (kernel device map).
        unsafe { drivers::bcm_gpio::BcmGpio::new(base) }.route_uart0_to_header();
    }

    /// Semihosting `SYS_EXIT(code)` first: under QEMU that ends the run with
    /// the status. On a board it is an undefined instruction the kernel
    /// skips; then the watchdog resets the SoC into the firmware's halt
    /// partition (QEMU treats that as shutdown with status 0).
    ///
    /// Started by the serial chainloader (`how.reboot`): no semihosting, and
    /// a plain watchdog reset, which boots the chainloader again.
    fn power_off(how: &PowerOff, code: u32) -> ! {
        #[cfg(target_arch = "aarch64")]
        if !how.reboot {
            drivers::semihosting::exit(code);
        }
        if let Some(base) = how.watchdog {
            // Safety: `PowerOff::watchdog` is the mapped PM block.
            unsafe { drivers::bcm_watchdog::reset(base, !how.reboot) };
        }
        loop {
            drivers::relax();
        }
    }
}
