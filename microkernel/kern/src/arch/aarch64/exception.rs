//! Exception entry from vectors.s. IRQs go to the GIC; a fault at the
//! semihosting trap (no semihosting here) is skipped; anything else is
//! unexpected at this stage and ends the run with a readable dump.

use crate::panic;
use crate::percore;
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1};
use kerncore::esr;
use tock_registers::interfaces::Readable;

/// Registers saved by vectors.s, in its layout.
#[repr(C)]
pub struct Frame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    /// The interrupted task's stack pointer (EL0).
    pub sp_el0: u64,
}

/// Bytes of a [`Frame`] (vectors.s FRAME_SIZE).
pub const FRAME_SIZE: usize = 272;
const _: () = assert!(core::mem::size_of::<Frame>() == FRAME_SIZE);

impl Frame {
    pub const fn zeroed() -> Frame {
        Frame {
            x: [0; 31],
            elr: 0,
            spsr: 0,
            sp_el0: 0,
        }
    }
}

const KIND_NAMES: [&str; 16] = [
    "sync, EL1 with SP_EL0",
    "IRQ, EL1 with SP_EL0",
    "FIQ, EL1 with SP_EL0",
    "SError, EL1 with SP_EL0",
    "sync, EL1",
    "IRQ, EL1",
    "FIQ, EL1",
    "SError, EL1",
    "sync, from EL0 (AArch64)",
    "IRQ, from EL0 (AArch64)",
    "FIQ, from EL0 (AArch64)",
    "SError, from EL0 (AArch64)",
    "sync, from EL0 (AArch32)",
    "IRQ, from EL0 (AArch32)",
    "FIQ, from EL0 (AArch32)",
    "SError, from EL0 (AArch32)",
];

/// Every exception but a system call (vectors.s). What each kind needs is
/// out of line, so this function's own frame stays small.
#[no_mangle]
extern "C" fn exception_entry(kind: u64, frame: &mut Frame) {
    match kind {
        1 | 5 => crate::irq::handle(),
        9 => {
            crate::irq::handle();
            crate::task::preempt_if_needed(frame);
        }
        0 | 4 => synchronous(kind, frame),
        8 => crate::task::from_user(frame),
        _ => unexpected(kind, frame),
    }
}

/// The syndrome of the exception being handled.
#[inline(always)]
pub fn read_esr() -> u64 {
    ESR_EL1.get()
}

pub fn read_esr_far() -> (u64, u64) {
    (ESR_EL1.get(), FAR_EL1.get())
}

#[inline(never)]
fn synchronous(kind: u64, frame: &mut Frame) {
    let (esr, _) = read_esr_far();
    if esr::class(esr) == 0 && frame.elr as usize == drivers::semihosting::trap_address() {
        // No semihosting: skip the `hlt` and report failure to the caller.
        frame.elr += 4;
        frame.x[0] = u64::MAX;
        return;
    }
    unexpected(kind, frame)
}

#[cold]
#[inline(never)]
fn unexpected(kind: u64, frame: &Frame) -> ! {
    if !panic::claim() {
        panic::park();
    }
    let (esr, far) = read_esr_far();
    let ec = esr::class(esr);
    let detail = if esr::is_abort(ec) {
        esr::abort_status(esr)
    } else {
        ""
    };
    crate::console::print_unlocked(format_args!(
        "\nEXCEPTION on core {} at EL{}: {} (EC {:#04x}) {}\n  \
         kind: {}\n  ESR={:#018x} FAR={:#018x} ELR={:#018x} SPSR={:#010x}\n",
        percore::id(),
        crate::arch::aarch64::current_el(),
        esr::class_name(ec),
        ec,
        detail,
        KIND_NAMES[(kind & 15) as usize],
        esr,
        far,
        frame.elr,
        frame.spsr,
    ));
    for (i, pair) in frame.x.chunks(2).enumerate() {
        let r = i * 2;
        match pair {
            [a, b] => crate::console::print_unlocked(format_args!(
                "  x{:<2}={:#018x} x{:<2}={:#018x}\n",
                r,
                a,
                r + 1,
                b
            )),
            [a] => crate::console::print_unlocked(format_args!("  x{:<2}={:#018x}\n", r, a)),
            _ => true,
        };
    }
    panic::power_off(panic::EXCEPTION_STATUS)
}
