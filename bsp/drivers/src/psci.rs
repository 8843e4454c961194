//! PSCI (Arm Power State Coordination Interface) calls through the conduit
//! the DTB names: `hvc` when the kernel was entered at EL1 under QEMU `virt`,
//! `smc` when it was entered at EL2 (`virtualization=on`), where an `hvc`
//! would trap to the kernel's own EL2 and hang.

use core::arch::asm;

/// Which instruction reaches the PSCI firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

/// PSCI return code `SUCCESS`.
pub const SUCCESS: i64 = 0;
/// PSCI `ALREADY_ON`.
pub const ALREADY_ON: i64 = -4;

/// Makes PSCI call `function` with three arguments; returns x0.
pub fn call(conduit: Conduit, function: u32, a1: u64, a2: u64, a3: u64) -> i64 {
    let mut x0 = function as u64;
    // Safety: PSCI calls follow the SMC calling convention (x0-x17 may be
    // clobbered); none of them touches this kernel's memory except as the
    // caller's arguments direct (CPU_ON's entry point).
    unsafe {
        match conduit {
            Conduit::Hvc => asm!("hvc #0", inout("x0") x0, inout("x1") a1 => _,
                inout("x2") a2 => _, inout("x3") a3 => _,
                out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("x12") _, out("x13") _, out("x14") _, out("x15") _,
                out("x16") _, out("x17") _),
            Conduit::Smc => asm!("smc #0", inout("x0") x0, inout("x1") a1 => _,
                inout("x2") a2 => _, inout("x3") a3 => _,
                out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("x12") _, out("x13") _, out("x14") _, out("x15") _,
                out("x16") _, out("x17") _),
        }
    }
    x0 as i64
}

/// Starts the core with `mpidr` at physical address `entry`, MMU off, at
/// the caller's exception level, with `context` in x0.
pub fn cpu_on(conduit: Conduit, function: u32, mpidr: u64, entry: u64, context: u64) -> i64 {
    call(conduit, function, mpidr, entry, context)
}

/// Powers the machine off (QEMU exits with status 0). Returns only if the
/// firmware refuses.
pub fn system_off(conduit: Conduit, function: u32) {
    call(conduit, function, 0, 0, 0);
}
