//! BCM2835/BCM2711 power-management watchdog: the way a Raspberry Pi resets
//! or halts itself. QEMU `raspi4b` treats a watchdog reset into the "halt"
//! partition (63) as a shutdown.

const PM_PASSWORD: u32 = 0x5a00_0000;
const PM_RSTC: usize = 0x1c;
const PM_RSTS: usize = 0x20;
const PM_WDOG: usize = 0x24;
const PM_RSTC_WRCFG_FULL_RESET: u32 = 0x20;
/// Partition 63 spread over RSTS bits 0,2,4,6,8,10: the firmware's "halt".
const PM_RSTS_PARTITION_HALT: u32 = 0x555;
/// Watchdog ticks (~16 us each) before the reset fires.
const WDOG_TICKS: u32 = 10;

/// Resets the SoC through the watchdog. With `halt`, the firmware (and QEMU)
/// stays halted instead of booting again.
///
/// # Safety
/// `base` must be the mapped virtual address of the PM block (device memory).
pub unsafe fn reset(base: usize, halt: bool) -> ! {
    let reg = |off: usize| (base + off) as *mut u32;
    // Safety: the caller guarantees the PM block is mapped at `base`; these
    // are the three registers the BCM2835 manual names for a watchdog reset.
    unsafe {
        if halt {
            let rsts = reg(PM_RSTS).read_volatile() & !0xfff;
            reg(PM_RSTS).write_volatile(PM_PASSWORD | rsts | PM_RSTS_PARTITION_HALT);
        }
        reg(PM_WDOG).write_volatile(PM_PASSWORD | WDOG_TICKS);
        reg(PM_RSTC).write_volatile(PM_PASSWORD | PM_RSTC_WRCFG_FULL_RESET);
    }
    loop {
        crate::relax();
    }
}
