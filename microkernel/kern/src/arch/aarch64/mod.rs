//! aarch64: boot assembly, exception vectors, and the few instructions the
//! rest of the kernel needs by name.

pub mod exception;
pub mod mmu;
pub mod pmu;
pub mod stack;

use aarch64_cpu::registers::{CurrentEL, MPIDR_EL1};
use core::arch::{asm, global_asm};
use tock_registers::interfaces::Readable;

global_asm!(include_str!("boot.s"));
global_asm!(
    include_str!("vectors.s"),
    FRAME_SIZE = const exception::FRAME_SIZE,
    STACK_GUARD_BIT = const stack::asm_consts::GUARD_BIT,
    STACK_SLOT_SHIFT = const stack::asm_consts::SLOT_SHIFT,
    STACK_SLOT_BITS = const stack::asm_consts::SLOT_BITS,
    STACKS_BASE = const crate::mm::STACKS_BASE,
    STACKS_SPAN_MASK = const stack::asm_consts::SPAN_MASK,
    OVERFLOW_STACK_SIZE = const stack::OVERFLOW_STACK_SIZE,
    MAX_CPUS = const platform::MAX_CPUS,
    SYSCALL_NULL = const abi::Syscall::Null as u64,
    SYSCALL_CALLS = const crate::task::SYSCALL_CALLS,
    SYSCALL_TABLE = sym crate::task::SYSCALL_TABLE,
);

// The interrupt-mask and wait instructions below are deliberately not
// `nomem`: each is a compiler barrier, so no memory access of the code
// they guard (a `percore::Local`, a flag checked before sleeping) is moved
// across them, as Linux's `local_irq_save` clobbers "memory".

/// Masks IRQ and FIQ on this core; returns the previous DAIF to restore.
#[inline]
pub fn irq_save() -> u64 {
    let daif: u64;
    // Safety: reading DAIF and masking interrupts touches no memory.
    unsafe { asm!("mrs {0}, daif", "msr daifset, #3", out(reg) daif, options(nostack)) };
    daif
}

/// Restores DAIF saved by [`irq_save`].
#[inline]
pub fn irq_restore(daif: u64) {
    // Safety: restores an interrupt mask this core had before.
    unsafe { asm!("msr daif, {0}", in(reg) daif, options(nostack)) };
}

/// Unmasks IRQs on this core.
#[inline]
pub fn irq_enable() {
    // Safety: the vector table and GIC are set up before any caller.
    unsafe { asm!("msr daifclr, #2", options(nostack)) };
}

/// Waits for an interrupt. It ends on a pending interrupt even while IRQs
/// are masked, so "mask, check, `wfi`, unmask" cannot miss one that
/// arrives after the check.
#[inline]
pub fn wfi() {
    // Safety: only waits.
    unsafe { asm!("wfi", options(nostack)) };
}

/// Waits for an event (`sev` from any core, the event stream, an
/// interrupt). The event register latches a `sev` sent after the caller's
/// check, so "check, `wfe`" cannot miss one.
#[inline]
pub fn wfe() {
    // Safety: only waits.
    unsafe { asm!("wfe", options(nostack)) };
}

/// Waits for an event unless `word` no longer holds `seen`: `ldxr` arms
/// this core's exclusive monitor on the word's cache line first, so a store
/// to it by another core (clearing the monitor) ends the `wfe`, as do a
/// `sev` from any core and an interrupt. QEMU's TCG treats `wfe` as a yield
/// of the vCPU, so a waiting core gives its slice to the others.
#[inline]
pub fn wait_word(word: &core::sync::atomic::AtomicU64, seen: u64) {
    let addr = word.as_ptr();
    // Safety: `addr` comes from a live `&AtomicU64`: valid and 8-byte
    // aligned for the whole block. `ldxr` is a single-copy atomic load of it
    // (no write) that only arms this core's exclusive monitor; `cmp`
    // clobbers the flags (not declared preserved); `wfe` only suspends the
    // core until an event or interrupt. No stack, no other memory.
    unsafe {
        asm!(
            "ldxr {v}, [{a}]",
            "cmp {v}, {s}",
            "b.ne 2f",
            "wfe",
            "2:",
            a = in(reg) addr,
            s = in(reg) seen,
            v = out(reg) _,
            options(nostack, readonly),
        );
    }
}

/// Whether an IRQ is pending at this core (ISR_EL1.I), masked or not:
/// a long system call's preemption point asks this between pieces.
#[inline]
pub fn irq_pending() -> bool {
    let isr: u64;
    // Safety: reads a register; no memory effect.
    unsafe { asm!("mrs {0}, isr_el1", out(reg) isr, options(nomem, nostack)) };
    isr & (1 << 7) != 0
}

/// Makes the system call being served return to its own `svc`, so the
/// task issues it again (with the registers the frame gives back: the
/// call's arguments, unchanged) once the pending interrupt has been taken
/// on the way to EL0. Only from a system call's handler: ELR_EL1 then
/// holds the address after the `svc` (every exception is masked during a
/// call, and vectors.s reads ELR_EL1 into the frame only after the
/// handler, for a call that completes its frame).
#[inline]
pub fn restart_syscall() {
    // Safety: in a system call ELR_EL1 is the caller's return address,
    // 4 bytes past its `svc` (an A64 instruction); moving it back makes the
    // `eret` re-run that `svc`. No memory effect.
    unsafe {
        asm!(
            "mrs {t}, elr_el1",
            "sub {t}, {t}, #4",
            "msr elr_el1, {t}",
            t = out(reg) _,
            options(nomem, nostack),
        )
    };
}

/// Signals an event to every core (wakes `wfe`).
#[inline]
pub fn sev() {
    // Safety: no memory effect.
    unsafe { asm!("dsb sy", "sev", options(nostack)) };
}

/// The running task's TPIDR_EL0 (its thread register, EL0 read/write).
#[inline]
pub fn tpidr_el0() -> u64 {
    let v: u64;
    // Safety: reads a register; no memory effect.
    unsafe { asm!("mrs {0}, tpidr_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Sets TPIDR_EL0 for the task about to run at EL0.
#[inline]
pub fn set_tpidr_el0(v: u64) {
    // Safety: the kernel does not use TPIDR_EL0 (its per-core pointer is
    // TPIDR_EL1); only EL0 code reads it.
    unsafe { asm!("msr tpidr_el0, {0}", in(reg) v, options(nomem, nostack)) };
}

/// This core's MPIDR affinity bits (Aff3..Aff0).
pub fn mpidr() -> u64 {
    MPIDR_EL1.get() & 0xff_00ff_ffff
}

/// The exception level the kernel runs at (1).
pub fn current_el() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

/// The `dc zva` block size in bytes, or 0 when `dc zva` is prohibited
/// (DCZID_EL0.DZP) or its block is larger than a page.
fn zva_block() -> usize {
    use core::sync::atomic::{AtomicUsize, Ordering};
    /// 0: not read yet; otherwise the block size, or 1 for "do not use".
    static BLOCK: AtomicUsize = AtomicUsize::new(0);
    let b = BLOCK.load(Ordering::Relaxed);
    if b != 0 {
        return if b == 1 { 0 } else { b };
    }
    let dczid: u64;
    // Safety: reading DCZID_EL0 (always readable at EL1).
    unsafe { asm!("mrs {0}, dczid_el0", out(reg) dczid, options(nomem, nostack, preserves_flags)) };
    // BS (bits 3:0) is log2 of the block size in 4-byte words; DZP (bit 4)
    // prohibits the instruction. Every core of a machine reads the same.
    let block = 4usize << (dczid & 0xf);
    let usable = dczid & 0x10 == 0 && block <= 4096;
    BLOCK.store(if usable { block } else { 1 }, Ordering::Relaxed);
    if usable {
        block
    } else {
        0
    }
}

/// Zeroes `len` bytes at `va` (Normal memory, both a multiple of 4 KiB):
/// one `dc zva` per block (64 bytes on a Cortex-A72: 64 instructions a page
/// against 1 536 for `write_bytes`' 3 per 8 bytes), or `write_bytes` when
/// DCZID_EL0 forbids it.
///
/// # Safety
/// `[va, va + len)` is mapped Normal memory the caller may overwrite.
pub unsafe fn zero_pages(va: usize, len: usize) {
    debug_assert!(va.is_multiple_of(4096) && len.is_multiple_of(4096));
    let block = zva_block();
    if block == 0 {
        // Safety: the caller's contract.
        unsafe { core::ptr::write_bytes(va as *mut u8, 0, len) };
        return;
    }
    let mut a = va;
    let end = va + len;
    while a < end {
        // Safety: `a` lies in the caller's range, aligned to the block (the
        // range is page-aligned, the block a power of two up to a page); `dc
        // zva` writes zeros to that block only, ordered like a store.
        unsafe { asm!("dc zva, {0}", in(reg) a, options(nostack, preserves_flags)) };
        a += block;
    }
}

/// Makes instructions the kernel wrote as data over `[start, start + len)`
/// (mapped Normal memory) safe to fetch, on every core: each data cache
/// line is cleaned to the point of unification, then every core's
/// instruction cache is invalidated (`ic ialluis`: no instruction-cache
/// alias of the page survives, whatever VA a task fetches it through).
/// For code loaded into a task and pages mapped executable; silicon needs
/// it (QEMU models no caches, so no test under QEMU can miss it).
pub fn sync_icache(start: usize, len: usize) {
    let ctr: u64;
    // Safety: reading CTR_EL0.
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let line = 4usize << ((ctr >> 16) & 0xf);
    let mut a = start & !(line - 1);
    while a < start + len {
        // Safety: cleaning a line of mapped memory changes no contents.
        unsafe { asm!("dc cvau, {0}", in(reg) a, options(nostack)) };
        a += line;
    }
    // Safety: barriers and an instruction-cache invalidation: no data
    // changes; the final `isb` only refetches this core's pipeline.
    unsafe { asm!("dsb ish", "ic ialluis", "dsb ish", "isb", options(nostack)) };
}

/// Cleans data cache lines over `[start, start + len)` to the point of
/// coherency, so a core running with its MMU off (caches off) sees them.
pub fn clean_to_poc(start: usize, len: usize) {
    let ctr: u64;
    // Safety: reading CTR_EL0.
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let line = 4usize << ((ctr >> 16) & 0xf);
    let mut a = start & !(line - 1);
    while a < start + len {
        // Safety: cleaning a line of mapped memory changes no contents.
        unsafe { asm!("dc cvac, {0}", in(reg) a, options(nostack)) };
        a += line;
    }
    // Safety: barrier only.
    unsafe { asm!("dsb sy", options(nostack)) };
}
