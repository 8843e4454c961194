//! The PMU's cycle counter (PMCCNTR_EL0) and event counter 0 counting
//! instructions retired (PMEVCNTR0_EL0, event 0x08 INST_RETIRED):
//! counting on every core from boot, readable from EL0 only when the image
//! asks (`[kernel] cycle_counter`, docs/images.md), so a benchmark on
//! silicon can report cycles beside the virtual counter's time, and one
//! under `-icount` the instructions executed, which leave out the idle
//! time QEMU skips over (QEMU counts them for the whole machine there:
//! docs/measurements.md, *The block server sleeps on its device's
//! interrupt*). EL0 may read them and write nothing
//! (PMUSERENR_EL0.CR and .ER, not EN).

use core::arch::asm;

/// Whether this core has a PMU (ID_AA64DFR0_EL1.PMUVer neither 0, absent,
/// nor 0xf, IMPLEMENTATION DEFINED and not the architected one).
pub fn present() -> bool {
    let dfr0: u64;
    // Safety: reading an ID register touches no state.
    unsafe { asm!("mrs {0}, id_aa64dfr0_el1", out(reg) dfr0, options(nomem, nostack)) };
    !matches!((dfr0 >> 8) & 0xf, 0 | 0xf)
}

/// PMCR_EL0.E (enable), .C (reset the cycle counter), .LC (64-bit overflow).
const PMCR_E_C_LC: u64 = 1 | 1 << 2 | 1 << 6;
/// PMCR_EL0.P: reset the event counters.
const PMCR_P: u64 = 1 << 1;
/// PMCNTENSET_EL0.C and P0: the cycle counter and event counter 0 count.
const CNTEN_C_P0: u64 = 1 << 31 | 1;
/// PMEVTYPER0_EL0: INST_RETIRED (0x08), at EL1 and EL0, not EL2.
const INST_RETIRED: u64 = 0x08;
/// PMUSERENR_EL0.CR and .ER: EL0 may read PMCCNTR_EL0 and the event
/// counters (and write nothing).
const USERENR_CR_ER: u64 = 1 << 2 | 1 << 3;

/// Starts this core's cycle counter and instruction counter from 0,
/// counting at EL0 and EL1 (PMCCFILTR_EL0 = 0: every non-secure EL1/EL0
/// cycle, not EL2), and lets EL0 read them when `user_read`. Does nothing
/// on a core without a PMU.
pub fn init_this_core(user_read: bool) {
    if !present() {
        return;
    }
    let userenr = if user_read { USERENR_CR_ER } else { 0 };
    let pmcr: u64;
    // Safety: reading this core's PMCR_EL0 changes nothing.
    unsafe { asm!("mrs {0}, pmcr_el0", out(reg) pmcr, options(nomem, nostack)) };
    // PMCR_EL0.N: event counters implemented. Without one, only the cycle
    // counter counts (PMEVTYPER0_EL0 would be unpredictable).
    let cnten = if (pmcr >> 11) & 0x1f == 0 {
        CNTEN_C_P0 & !1
    } else {
        // Safety: event counter 0 exists (N > 0) and is this core's own;
        // nothing else in the kernel uses it.
        unsafe { asm!("msr pmevtyper0_el0, {0}", in(reg) INST_RETIRED, options(nostack)) };
        CNTEN_C_P0
    };
    // Safety: these writes configure this core's own PMU, which nothing
    // else in the kernel uses; boot.s has set MDCR_EL2 (when entered at
    // EL2) so that EL1 reaches every counter without trapping.
    unsafe {
        asm!(
            "msr pmccfiltr_el0, xzr",
            "msr pmcr_el0, {pmcr}",
            "msr pmcntenset_el0, {cnten}",
            "msr pmuserenr_el0, {userenr}",
            "isb",
            pmcr = in(reg) PMCR_E_C_LC | PMCR_P,
            cnten = in(reg) cnten,
            userenr = in(reg) userenr,
            options(nostack),
        )
    };
}
