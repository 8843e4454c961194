//! ARM PrimeCell UART (PL011): the console on QEMU `virt` (0x0900_0000) and
//! the Raspberry Pi 4's UART0 (0xfe20_1000, GPIO 14/15).
//!
//! QEMU transmits without any set-up, but a real board needs the baud rate
//! and line settings, so [`Pl011::init`] programs them from the reference
//! clock (Pi 4 firmware: 48 MHz; QEMU `virt`: 24 MHz from the DTB).

use crate::SerialWrite;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_bitfields, register_structs, registers::ReadWrite};

register_bitfields! {u32,
    /// Flag register.
    FR [
        /// Transmit FIFO empty.
        TXFE OFFSET(7) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    /// Integer part of the baud rate divisor.
    IBRD [ DIVINT OFFSET(0) NUMBITS(16) [] ],
    /// Fractional part of the baud rate divisor (64ths).
    FBRD [ DIVFRAC OFFSET(0) NUMBITS(6) [] ],
    /// Line control.
    LCR_H [
        /// Word length.
        WLEN OFFSET(5) NUMBITS(2) [ EightBit = 0b11 ],
        /// FIFOs enabled.
        FEN OFFSET(4) NUMBITS(1) [],
        /// Two stop bits.
        STP2 OFFSET(3) NUMBITS(1) [],
        /// Parity enable.
        PEN OFFSET(1) NUMBITS(1) []
    ],
    /// Control.
    CR [
        /// Receive enable.
        RXE OFFSET(9) NUMBITS(1) [],
        /// Transmit enable.
        TXE OFFSET(8) NUMBITS(1) [],
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt mask set/clear (1: the interrupt is passed on).
    IMSC [
        /// Receive timeout.
        RTIM OFFSET(6) NUMBITS(1) [],
        /// Receive.
        RXIM OFFSET(4) NUMBITS(1) []
    ],
    /// Interrupt clear.
    ICR [
        /// Receive timeout.
        RTIC OFFSET(6) NUMBITS(1) [],
        /// Receive.
        RXIC OFFSET(4) NUMBITS(1) [],
        ALL OFFSET(0) NUMBITS(11) []
    ]
}

register_structs! {
    /// The PL011 register block.
    pub Registers {
        (0x00 => dr: ReadWrite<u32>),
        (0x04 => _rsr),
        (0x18 => fr: ReadWrite<u32, FR::Register>),
        (0x1c => _ilpr),
        (0x24 => ibrd: ReadWrite<u32, IBRD::Register>),
        (0x28 => fbrd: ReadWrite<u32, FBRD::Register>),
        (0x2c => lcr_h: ReadWrite<u32, LCR_H::Register>),
        (0x30 => cr: ReadWrite<u32, CR::Register>),
        (0x34 => _ifls),
        (0x38 => imsc: ReadWrite<u32, IMSC::Register>),
        (0x3c => _ris_mis),
        (0x44 => icr: ReadWrite<u32, ICR::Register>),
        (0x48 => @END),
    }
}

/// Baud rate divisor for `clock_hz` and `baud`: (integer, 64ths), rounded
/// to nearest as the PL011 manual prescribes.
pub const fn divisor(clock_hz: u32, baud: u32) -> (u32, u32) {
    // BAUDDIV = clock / (16 * baud); FBRD = round(frac * 64).
    let scaled = (clock_hz as u64 * 4 + baud as u64 / 2) / baud as u64; // 64 * BAUDDIV
    ((scaled / 64) as u32, (scaled % 64) as u32)
}

/// A PL011 at a mapped address.
pub struct Pl011 {
    regs: *const Registers,
}

// Safety: the registers are MMIO; accesses are single volatile loads and
// stores, and callers serialise multi-register sequences with their own lock.
unsafe impl Send for Pl011 {}
unsafe impl Sync for Pl011 {}

impl Pl011 {
    /// # Safety
    /// `base` must be the virtual address of a PL011 register block mapped
    /// as device memory for as long as the value lives.
    pub const unsafe fn new(base: usize) -> Self {
        Pl011 {
            regs: base as *const Registers,
        }
    }

    fn regs(&self) -> &Registers {
        // Safety: `new`'s caller guaranteed `regs` points at a live mapping.
        unsafe { &*self.regs }
    }

    /// Programs 8N1 at `baud` from a `clock_hz` reference clock, FIFOs on,
    /// transmit and receive enabled.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        let r = self.regs();
        r.cr.set(0);
        while r.fr.is_set(FR::BUSY) {
            crate::relax();
        }
        // Flush the transmit FIFO by disabling it.
        r.lcr_h.set(0);
        r.icr.write(ICR::ALL::SET);
        let (int, frac) = divisor(clock_hz, baud);
        r.ibrd.write(IBRD::DIVINT.val(int));
        r.fbrd.write(FBRD::DIVFRAC.val(frac));
        // LCR_H must be written after the divisor registers to latch them.
        r.lcr_h.write(LCR_H::WLEN::EightBit + LCR_H::FEN::SET);
        r.cr.write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        let r = self.regs();
        if r.fr.is_set(FR::RXFE) {
            None
        } else {
            Some(r.dr.get() as u8)
        }
    }

    /// Passes on the receive interrupts (a byte arrived, or waited): for a
    /// task the image delivers the UART's interrupt to.
    pub fn enable_rx_interrupt(&self) {
        self.regs().imsc.write(IMSC::RXIM::SET + IMSC::RTIM::SET);
    }

    /// Clears the receive interrupts (after draining the receive FIFO; a
    /// byte still there raises the receive interrupt again).
    pub fn clear_rx_interrupt(&self) {
        self.regs().icr.write(ICR::RXIC::SET + ICR::RTIC::SET);
    }

    /// Waits until every queued byte has left the shifter.
    pub fn flush(&self) {
        while self.regs().fr.is_set(FR::BUSY) {
            crate::relax();
        }
    }
}

/// Transmit FIFO depth of the smallest PL011 (r1p4 and before: 16 bytes;
/// r1p5, as in the BCM2711, has 32).
const TX_FIFO: usize = 16;

impl SerialWrite for Pl011 {
    fn write_byte(&self, b: u8) {
        let r = self.regs();
        while r.fr.is_set(FR::TXFF) {
            crate::relax();
        }
        r.dr.set(b as u32);
    }

    /// A whole FIFO when it is empty and enabled (LCR_H.FEN: the kernel's
    /// `init` sets it; without it the "FIFO" is one holding register),
    /// else one byte once it is not full. Inlined: a writer calls it once
    /// per FIFO's worth in its byte loop (the console server's line path),
    /// where a call cost the registers around it.
    #[inline]
    fn wait_room(&self) -> usize {
        let r = self.regs();
        loop {
            let fr = r.fr.extract();
            if fr.is_set(FR::TXFE) {
                return if r.lcr_h.is_set(LCR_H::FEN) {
                    TX_FIFO
                } else {
                    1
                };
            }
            if !fr.is_set(FR::TXFF) {
                return 1;
            }
            crate::relax();
        }
    }

    #[inline]
    fn put(&self, b: u8) {
        self.regs().dr.set(b as u32);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn divisors_match_the_manual() {
        // Raspberry Pi 4 UART0: 48 MHz, 115200 -> 26 + 3/64.
        assert_eq!(super::divisor(48_000_000, 115_200), (26, 3));
        // QEMU virt apb-pclk: 24 MHz -> 13 + 1/64.
        assert_eq!(super::divisor(24_000_000, 115_200), (13, 1));
    }
}
