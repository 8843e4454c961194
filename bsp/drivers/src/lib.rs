//! Drivers for the ARM IP blocks the boards share and the UARTs they add, written with
//! `tock-registers` (MMIO) and `aarch64-cpu` (system registers).
//!
//! Each MMIO driver is a thin typed view of a register block at a virtual
//! address the kernel has mapped as device memory; its `unsafe fn new`
//! states what the caller guarantees. Register layouts compile on the host
//! too; instructions that only exist on aarch64 are behind `cfg`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod bcm_gpio;
pub mod bcm_watchdog;
pub mod board;
pub mod dma;
#[cfg(test)]
mod dma_tests;
pub mod gicv2;
pub mod gicv3;
pub mod imx_uart;
pub mod mini_uart;
pub mod pl011;
#[cfg(target_arch = "aarch64")]
pub mod psci;
#[cfg(target_arch = "aarch64")]
pub mod semihosting;
pub mod ticks;
#[cfg(target_arch = "aarch64")]
pub mod timer;
pub mod uart;
#[cfg(feature = "virtio-blk")]
pub mod virtio_blk;

/// One turn of a loop polling a device register: `yield`, a hint on
/// silicon and a vCPU switch under QEMU's single-threaded TCG (which
/// switches on `wfe`, `wfi` and `yield`, not on the `isb` of
/// `core::hint::spin_loop`, so an `isb` loop burns its vCPU's whole slice).
/// The kernel's wait primitives (`kern::sync`) re-export it.
#[inline(always)]
pub fn relax() {
    #[cfg(target_arch = "aarch64")]
    // Safety: `yield` is a hint: no memory, register or flag effect.
    unsafe {
        core::arch::asm!("yield", options(nomem, nostack, preserves_flags))
    };
    #[cfg(not(target_arch = "aarch64"))]
    core::hint::spin_loop();
}

/// A byte sink that cannot fail: a UART's transmit path.
pub trait SerialWrite {
    /// Sends one byte, waiting for room in the transmit FIFO.
    fn write_byte(&self, b: u8);
    /// Waits until the transmit FIFO has room and returns how many bytes
    /// [`SerialWrite::put`] may now write without looking again (at least
    /// 1). A UART that can tell an empty FIFO says its depth then, so a
    /// writer looks once per FIFO's worth, not once a byte.
    fn wait_room(&self) -> usize {
        1
    }
    /// Sends one byte without looking for room: only as many as the last
    /// [`SerialWrite::wait_room`] allowed.
    fn put(&self, b: u8) {
        self.write_byte(b);
    }
    /// Sends `s`, turning `\n` into `\r\n` for terminals.
    fn write_str(&self, s: &str) {
        for b in s.bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
    }
}
