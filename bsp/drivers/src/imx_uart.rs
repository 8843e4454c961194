//! NXP i.MX UART (`fsl,imx6q-uart`, `fsl,imx21-uart`): the console of the
//! i.MX 8M Plus EVK (UART2, 0x3089_0000), polled.
//!
//! Register offsets and fields from the i.MX 8M Plus Applications Processor
//! Reference Manual, chapter UART. The reference clock after the divider in
//! UFCR is `clock_hz`; with UBIR = 15 the baud rate is
//! `clock_hz / (UBMR + 1)`. QEMU's model ignores the baud rate but needs
//! UARTEN and TXEN, which [`ImxUart::init`] sets, as a boot loader on a
//! real board would have.

use crate::SerialWrite;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_bitfields, register_structs, registers::ReadWrite};

register_bitfields! {u32,
    /// Receiver register.
    URXD [
        /// A character is ready (this word holds it).
        CHARRDY OFFSET(15) NUMBITS(1) [],
        /// The character had an error (overrun, frame, parity, break).
        ERR OFFSET(14) NUMBITS(1) [],
        /// The character was stored in the FIFO's last (32nd) place. It is
        /// still a good character.
        OVRRUN OFFSET(13) NUMBITS(1) [],
        /// Frame error: no stop bit.
        FRMERR OFFSET(12) NUMBITS(1) [],
        /// A break was received (not a character).
        BRK OFFSET(11) NUMBITS(1) [],
        /// Parity error.
        PRERR OFFSET(10) NUMBITS(1) [],
        /// The received character.
        RX_DATA OFFSET(0) NUMBITS(8) []
    ],
    /// Control register 1.
    UCR1 [
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Control register 2.
    UCR2 [
        /// Ignore the RTS pin.
        IRTS OFFSET(14) NUMBITS(1) [],
        /// Word size: 1 = 8 bits.
        WS OFFSET(5) NUMBITS(1) [],
        /// Transmitter enable.
        TXEN OFFSET(2) NUMBITS(1) [],
        /// Receiver enable.
        RXEN OFFSET(1) NUMBITS(1) [],
        /// Software reset, active low; reads 0 until the reset is done.
        SRST OFFSET(0) NUMBITS(1) []
    ],
    /// Control register 3.
    UCR3 [
        /// RXD muxed input selected (must be set on this SoC).
        RXDMUXSEL OFFSET(2) NUMBITS(1) []
    ],
    /// FIFO control register.
    UFCR [
        /// Transmitter trigger level.
        TXTL OFFSET(10) NUMBITS(6) [],
        /// Reference frequency divider: 0b101 divides by 1.
        RFDIV OFFSET(7) NUMBITS(3) [ DivBy1 = 0b101 ],
        /// Receiver trigger level.
        RXTL OFFSET(0) NUMBITS(6) []
    ],
    /// Status register 2.
    USR2 [
        /// Transmission complete: the FIFO and the shifter are empty.
        TXDC OFFSET(3) NUMBITS(1) [],
        /// Receive data ready.
        RDR OFFSET(0) NUMBITS(1) []
    ],
    /// Test register.
    UTS [
        /// Transmit FIFO empty.
        TXEMPTY OFFSET(6) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXEMPTY OFFSET(5) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFULL OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    /// The i.MX UART register block.
    pub Registers {
        (0x00 => urxd: ReadWrite<u32, URXD::Register>),
        (0x04 => _reserved0),
        (0x40 => utxd: ReadWrite<u32>),
        (0x44 => _reserved1),
        (0x80 => ucr1: ReadWrite<u32, UCR1::Register>),
        (0x84 => ucr2: ReadWrite<u32, UCR2::Register>),
        (0x88 => ucr3: ReadWrite<u32, UCR3::Register>),
        (0x8c => ucr4: ReadWrite<u32>),
        (0x90 => ufcr: ReadWrite<u32, UFCR::Register>),
        (0x94 => _usr1),
        (0x98 => usr2: ReadWrite<u32, USR2::Register>),
        (0x9c => _uesc),
        (0xa0 => _utim),
        (0xa4 => ubir: ReadWrite<u32>),
        (0xa8 => ubmr: ReadWrite<u32>),
        (0xac => _ubrc),
        (0xb0 => onems: ReadWrite<u32>),
        (0xb4 => uts: ReadWrite<u32, UTS::Register>),
        (0xb8 => @END),
    }
}

/// The binary rate multiplier for `baud` from `clock_hz` with UBIR = 15:
/// `round(clock_hz / baud) - 1` (the manual's formula,
/// `baud = clock / (16 * (UBMR + 1) / (UBIR + 1))`).
pub const fn ubmr(clock_hz: u32, baud: u32) -> u32 {
    let ratio = (clock_hz as u64 + baud as u64 / 2) / baud as u64;
    (if ratio == 0 { 0 } else { ratio - 1 }) as u32
}

/// Polls of a reset before giving up (the reset takes a few clocks).
const RESET_POLLS: u32 = 100_000;

/// An i.MX UART at a mapped address.
pub struct ImxUart {
    regs: *const Registers,
}

// Safety: the registers are MMIO; accesses are single volatile loads and
// stores, and callers serialise multi-register sequences with their own lock.
unsafe impl Send for ImxUart {}
unsafe impl Sync for ImxUart {}

impl ImxUart {
    /// # Safety
    /// `base` must be the virtual address of an i.MX UART register block
    /// mapped as device memory for as long as the value lives.
    pub const unsafe fn new(base: usize) -> Self {
        ImxUart {
            regs: base as *const Registers,
        }
    }

    fn regs(&self) -> &Registers {
        // Safety: `new`'s caller guaranteed `regs` points at a live mapping.
        unsafe { &*self.regs }
    }

    /// Programs 8N1 at `baud` from a `clock_hz` module clock (divided by
    /// 1), no interrupts, transmit and receive enabled. Waits for bytes a
    /// boot loader left in the FIFO to go out first. (Out of line: run
    /// once or twice a boot, it was inlined into the kernel's console and
    /// log set-up alike.)
    #[inline(never)]
    pub fn init(&self, clock_hz: u32, baud: u32) {
        let r = self.regs();
        self.flush();
        r.ucr1.set(0);
        r.ucr2.set(0);
        for _ in 0..RESET_POLLS {
            if r.ucr2.is_set(UCR2::SRST) {
                break;
            }
            crate::relax();
        }
        r.ucr3.write(UCR3::RXDMUXSEL::SET);
        r.ucr4.set(0);
        r.ufcr
            .write(UFCR::TXTL.val(2) + UFCR::RFDIV::DivBy1 + UFCR::RXTL.val(1));
        // UBIR must be written before UBMR.
        r.ubir.set(15);
        r.ubmr.set(ubmr(clock_hz, baud));
        r.onems.set(clock_hz / 1000);
        r.ucr2.write(
            UCR2::SRST::SET + UCR2::RXEN::SET + UCR2::TXEN::SET + UCR2::WS::SET + UCR2::IRTS::SET,
        );
        r.ucr1.write(UCR1::UARTEN::SET);
    }

    /// A received byte, if one is waiting. A break, or a byte with a frame
    /// or parity error, is dropped; ERR with only OVRRUN marks a good
    /// byte that filled the FIFO (QEMU's model flags every 32nd byte of a
    /// burst so), and is kept.
    pub fn read_byte(&self) -> Option<u8> {
        let r = self.regs();
        while r.usr2.is_set(USR2::RDR) {
            let rx = r.urxd.extract();
            let bad = rx.is_set(URXD::FRMERR) || rx.is_set(URXD::BRK) || rx.is_set(URXD::PRERR);
            if rx.is_set(URXD::CHARRDY) && !bad {
                return Some(rx.read(URXD::RX_DATA) as u8);
            }
        }
        None
    }

    /// Waits until every queued byte has left the shifter (bounded: a
    /// disabled transmitter never drains).
    pub fn flush(&self) {
        let r = self.regs();
        if !r.ucr1.is_set(UCR1::UARTEN) || !r.ucr2.is_set(UCR2::TXEN) {
            return;
        }
        for _ in 0..RESET_POLLS {
            if r.usr2.is_set(USR2::TXDC) {
                return;
            }
            crate::relax();
        }
    }
}

impl SerialWrite for ImxUart {
    fn write_byte(&self, b: u8) {
        let r = self.regs();
        while r.uts.is_set(UTS::TXFULL) {
            crate::relax();
        }
        r.utxd.set(b as u32);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rate_multiplier_matches_the_manual() {
        // 24 MHz UART root clock, 115200: 24e6 / 115200 = 208.3 -> 207,
        // 115384 baud (+0.16 %).
        assert_eq!(super::ubmr(24_000_000, 115_200), 207);
        // 48 MHz: 416.7 -> 416.
        assert_eq!(super::ubmr(48_000_000, 115_200), 416);
        assert_eq!(super::ubmr(1, 115_200), 0);
    }
}
