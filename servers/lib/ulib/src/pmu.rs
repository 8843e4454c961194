//! The PMU's event counter a task may read when its image asks
//! (`[kernel] cycle_counter`, and the task's `values = { cycle_counter =
//! 1 }`, which xtask refuses without it): the benchmarks' instruction
//! counts.

/// Instructions retired (PMEVCNTR0_EL0, the INST_RETIRED event) when
/// `readable` (pass whether the task's value `cycle_counter` is 1), else
/// `None`. Under `-icount` QEMU counts every vCPU's instructions and
/// leaves out the idle time it skips over while every core sleeps
/// (docs/measurements.md, *Repeatable block-request counts*); on silicon
/// they are this core's. Each core's count starts at its own moment, so
/// two cores' counts are not on one line.
pub fn instructions(readable: bool) -> Option<u64> {
    if !readable {
        return None;
    }
    let n: u64;
    // Safety: reading the counter touches no memory. With the image's
    // `cycle_counter` the kernel lets EL0 read the event counters
    // (PMUSERENR_EL0.ER); a caller that passed `readable` wrongly traps,
    // and the kernel stops it as a faulting task.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, pmevcntr0_el0", out(reg) n, options(nomem, nostack))
    };
    Some(n)
}
