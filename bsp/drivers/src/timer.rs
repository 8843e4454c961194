//! The ARM generic timer, EL1 virtual timer (CNTV_*): each core's own tick
//! source, delivered as the PPI the DTB names (INTID 27 on both boards).

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_TVAL_EL0};
use tock_registers::interfaces::{Readable, Writeable};

/// Counter frequency in Hz.
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

/// The virtual count (shared by all cores of the machine).
pub fn now() -> u64 {
    CNTVCT_EL0.get()
}

/// `ticks` of the counter in microseconds.
pub fn ticks_to_us(ticks: u64) -> u64 {
    crate::ticks::to_us(ticks, frequency())
}

/// Arms this core's virtual timer to fire in `us` microseconds.
pub fn arm_in_us(us: u64) {
    let ticks = crate::ticks::from_us(us, frequency());
    CNTV_TVAL_EL0.set(ticks.clamp(1, u32::MAX as u64));
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Whether this core's virtual timer is running.
pub fn is_armed() -> bool {
    CNTV_CTL_EL0.is_set(CNTV_CTL_EL0::ENABLE)
}

/// Stops this core's virtual timer (and so its interrupt).
pub fn stop() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR);
}
