//! A console UART of whichever kind the DTB names, so that the kernel and
//! the console server hold one type and never ask which board they are on.

use crate::imx_uart::ImxUart;
use crate::pl011::Pl011;
use crate::SerialWrite;

/// The kinds of UART a console can be. The numbers are the kind's code in
/// the console page the kernel shares with the console server
/// (`abi::console_lock::UART_KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Kind {
    /// ARM PL011 (QEMU `virt`, Raspberry Pi 4 UART0).
    Pl011 = 1,
    /// NXP i.MX UART (i.MX 8M Plus).
    Imx = 2,
}

impl Kind {
    /// The kind whose code is `code`, if any.
    pub const fn from_code(code: u64) -> Option<Kind> {
        match code {
            1 => Some(Kind::Pl011),
            2 => Some(Kind::Imx),
            _ => None,
        }
    }
}

/// A console UART.
pub enum Uart {
    Pl011(Pl011),
    Imx(ImxUart),
}

impl Uart {
    /// # Safety
    /// `base` must be the virtual address of a UART register block of
    /// kind `kind`, mapped as device memory for as long as the value lives.
    pub const unsafe fn new(kind: Kind, base: usize) -> Uart {
        // Safety: the caller's guarantee, passed on.
        unsafe {
            match kind {
                Kind::Pl011 => Uart::Pl011(Pl011::new(base)),
                Kind::Imx => Uart::Imx(ImxUart::new(base)),
            }
        }
    }

    /// Programs 8N1 at `baud` from a `clock_hz` reference clock.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        match self {
            Uart::Pl011(u) => u.init(clock_hz, baud),
            Uart::Imx(u) => u.init(clock_hz, baud),
        }
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        match self {
            Uart::Pl011(u) => u.read_byte(),
            Uart::Imx(u) => u.read_byte(),
        }
    }

    /// Waits until every queued byte has been sent.
    pub fn flush(&self) {
        match self {
            Uart::Pl011(u) => u.flush(),
            Uart::Imx(u) => u.flush(),
        }
    }
}

impl SerialWrite for Uart {
    fn write_byte(&self, b: u8) {
        match self {
            Uart::Pl011(u) => u.write_byte(b),
            Uart::Imx(u) => u.write_byte(b),
        }
    }
}
