//! Kernel stacks: every core runs on its own 64 KiB stack in the stack
//! region (mm.rs), with an unmapped 64 KiB guard below it. A stack that
//! runs into its guard faults, and the EL1 synchronous vector (vectors.s)
//! notices before it pushes the exception's frame onto the overflowed
//! stack: it moves to this core's emergency stack and calls
//! [`kernel_stack_overflow`], which panics with a readable message instead
//! of faulting again on every push.

use super::exception::{read_esr_far, FRAME_SIZE};
use crate::mm::{STACKS_BASE, STACK_SIZE, STACK_SLOT, WINDOW_BASE};
use crate::percore;
use aarch64_cpu::registers::ELR_EL1;
use core::arch::asm;
use platform::MAX_CPUS;
use tock_registers::interfaces::Readable;

/// Bytes of each core's emergency stack (in `.bss`, vectors.s): room for
/// the panic path only (formatting a message, printing it, powering off).
pub const OVERFLOW_STACK_SIZE: u64 = 8 * 1024;

/// Bytes of the stack region the guard check recognises: one slot per
/// possible core.
pub const STACKS_SPAN: u64 = MAX_CPUS as u64 * STACK_SLOT;

// The vector's test relies on this layout: each slot is a power of two,
// twice the stack, so "in the guard" is "bit log2(STACK_SIZE) of the
// address is clear"; the region is aligned to its (power-of-two) size, so
// "in the region" is one exclusive-or and one test of the high bits; and
// the region ends before the boot window.
const _: () = {
    assert!(STACK_SIZE.is_power_of_two());
    assert!(STACK_SLOT == 2 * STACK_SIZE);
    assert!(STACKS_SPAN.is_power_of_two());
    assert!(STACKS_BASE.is_multiple_of(STACKS_SPAN));
    assert!(STACKS_BASE + STACKS_SPAN <= WINDOW_BASE);
    assert!(OVERFLOW_STACK_SIZE.is_multiple_of(16));
    assert!((FRAME_SIZE as u64) < STACK_SIZE);
};

/// The constants vectors.s takes as `global_asm!` operands (mod.rs).
pub mod asm_consts {
    use super::*;
    /// The bit that is clear in a guard and set in a stack.
    pub const GUARD_BIT: u32 = STACK_SIZE.trailing_zeros();
    /// Bits below the slot number.
    pub const SLOT_SHIFT: u32 = STACK_SLOT.trailing_zeros();
    /// Bits of the slot number.
    pub const SLOT_BITS: u32 = (MAX_CPUS as u64).trailing_zeros();
    /// The bits an address in the region shares with [`STACKS_BASE`].
    pub const SPAN_MASK: u64 = !(STACKS_SPAN - 1);
}

/// Called by vectors.s, on this core's emergency stack with interrupts
/// masked (taking the exception masked them), when an EL1 synchronous
/// exception's frame would have gone into a stack guard: the kernel stack
/// has overflowed. `sp` is the stack pointer when the exception was taken.
#[no_mangle]
extern "C" fn kernel_stack_overflow(sp: u64) -> ! {
    let (_, far) = read_esr_far();
    panic!(
        "kernel stack overflow on core {} (sp {:#x}, far {:#x}, elr {:#x})",
        percore::id(),
        sp,
        far,
        ELR_EL1.get()
    )
}

/// Moves this core onto the stack that ends at `top` and calls `f` there.
/// Everything on the current stack is abandoned (nothing returns to it).
///
/// # Safety
///
/// `top` is the 16-byte-aligned top of a mapped stack that belongs to this
/// core and holds nothing live.
pub unsafe fn run_on_stack(top: u64, f: extern "C" fn() -> !) -> ! {
    // Safety: the caller vouches for the new stack; the frame pointer and
    // link register are zeroed so no unwinder walks into the old stack, and
    // `f` never returns, so nothing pops a frame that is not there.
    unsafe {
        asm!(
            "mov sp, x0",
            "mov x29, xzr",
            "mov x30, xzr",
            "br x1",
            in("x0") top,
            in("x1") f,
            options(noreturn)
        )
    }
}
