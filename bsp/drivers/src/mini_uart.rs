//! BCM2835 AUX mini UART (UART1): the Raspberry Pi 4's second serial port,
//! which carries the defmt log stream. Register block at AUX base + 0x40.
//!
//! Its baud clock is the VPU core clock (`core_freq`, 500 MHz on a Pi 4 with
//! the firmware's defaults): baud = clock / (8 * (AUX_MU_BAUD + 1)).

use crate::SerialWrite;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_bitfields, register_structs, registers::ReadWrite};

register_bitfields! {u32,
    /// Line status.
    LSR [
        /// Transmitter can accept at least one byte.
        TX_EMPTY OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO holds at least one byte.
        DATA_READY OFFSET(0) NUMBITS(1) []
    ],
    /// Extra control: transmitter / receiver enable.
    CNTL [
        TX_EN OFFSET(1) NUMBITS(1) [],
        RX_EN OFFSET(0) NUMBITS(1) []
    ],
    /// Line control: data size.
    LCR [ DATA_SIZE OFFSET(0) NUMBITS(2) [ EightBit = 0b11 ] ]
}

register_structs! {
    /// The mini UART register block (AUX_MU_IO_REG onwards).
    pub Registers {
        (0x00 => io: ReadWrite<u32>),
        (0x04 => ier: ReadWrite<u32>),
        (0x08 => iir: ReadWrite<u32>),
        (0x0c => lcr: ReadWrite<u32, LCR::Register>),
        (0x10 => mcr: ReadWrite<u32>),
        (0x14 => lsr: ReadWrite<u32, LSR::Register>),
        (0x18 => _msr),
        (0x20 => cntl: ReadWrite<u32, CNTL::Register>),
        (0x24 => _stat),
        (0x28 => baud: ReadWrite<u32>),
        (0x2c => @END),
    }
}

/// AUX_ENABLES bit that turns the mini UART on.
const AUX_ENABLE_MINI_UART: u32 = 1;

/// A mini UART at a mapped address.
pub struct MiniUart {
    regs: *const Registers,
    aux_enables: *mut u32,
}

// Safety: MMIO accessed with single volatile operations; multi-register
// sequences are serialised by the caller's lock.
unsafe impl Send for MiniUart {}
unsafe impl Sync for MiniUart {}

impl MiniUart {
    /// # Safety
    /// `base` must be the mapped virtual address of AUX_MU_IO_REG and
    /// `aux_enables` that of AUX_ENABLES, both device memory, for as long as
    /// the value lives.
    pub const unsafe fn new(base: usize, aux_enables: usize) -> Self {
        MiniUart {
            regs: base as *const Registers,
            aux_enables: aux_enables as *mut u32,
        }
    }

    fn regs(&self) -> &Registers {
        // Safety: `new`'s caller guaranteed a live device mapping.
        unsafe { &*self.regs }
    }

    /// Enables the block and programs 8N1 at `baud` from `clock_hz`.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        // Safety: `aux_enables` is a mapped device register (see `new`).
        unsafe {
            let v = self.aux_enables.read_volatile();
            self.aux_enables.write_volatile(v | AUX_ENABLE_MINI_UART);
        }
        let r = self.regs();
        r.cntl.set(0);
        r.ier.set(0);
        r.lcr.write(LCR::DATA_SIZE::EightBit);
        r.mcr.set(0);
        r.iir.set(0xc6); // clear both FIFOs
        r.baud.set((clock_hz / (8 * baud)).saturating_sub(1));
        r.cntl.write(CNTL::TX_EN::SET + CNTL::RX_EN::SET);
    }
}

impl SerialWrite for MiniUart {
    fn write_byte(&self, b: u8) {
        let r = self.regs();
        while !r.lsr.is_set(LSR::TX_EMPTY) {
            crate::relax();
        }
        r.io.set(b as u32);
    }
}
