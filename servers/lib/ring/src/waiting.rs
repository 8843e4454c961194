//! How a task waits without a system call: the one place that says what a
//! wait loop does on each turn, for every task (`ulib::wait` is this
//! module; it lives here, in the dependency-free crate under the rings,
//! so that the rings, their clients and ulib share it). The kernel's twin
//! is `kern::sync`.
//!
//! A wait loop must wait in a way both silicon and QEMU's single-threaded
//! TCG treat as waiting. `isb` (what `core::hint::spin_loop` emits on
//! aarch64) is neither: QEMU switches vCPU on `wfe`, `wfi` and `yield`
//! only, so a loop spinning with `isb` burns its vCPU's whole round-robin
//! slice, and under `-icount` those instructions land in some other core's
//! timed span. So:
//!
//! - a loop waiting for a word in memory to change calls [`wait_while`]:
//!   an exclusive load arms this core's monitor on the word's line, so the
//!   store that changes it (from any core) clears the monitor and generates
//!   the event that ends the `wfe`. Silicon sleeps until the store; TCG
//!   switches to another vCPU.
//! - a loop polling something else (a ring's several words, a deadline)
//!   calls [`relax`]: `yield`, a hint on silicon and a vCPU switch under
//!   TCG.
//!
//! The kernel turns on the generic timer's event stream (every ~16 us), so
//! a `wfe` whose event was missed ends soon anyway. Under
//! `-accel tcg,thread=multi` both instructions are no-ops: the spin is real
//! host spinning there. Off aarch64 (host tests) both fall back to a spin
//! hint.

use core::sync::atomic::{AtomicU64, Ordering};

/// One turn of a polling loop: `yield`.
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

/// Wakes every core sleeping in `wfe` (a server that sleeps unarmed, or
/// a waiter whose monitor was lost): `dsb ishst` first, so the stores the
/// sleeper will look for are visible before it wakes, then `sev`.
#[inline(always)]
pub fn wake() {
    #[cfg(target_arch = "aarch64")]
    // Safety: a store barrier and an event: no memory is written; not
    // `nomem`, so the compiler keeps the caller's stores before it.
    unsafe {
        core::arch::asm!("dsb ishst", "sev", options(nostack, preserves_flags))
    };
}

/// Sleeps in `wfe` until any event: only for a waiter whose wakers `sev`
/// (a server woken by its clients), since nothing else but an interrupt or
/// the event stream ends it.
#[inline(always)]
pub fn wfe() {
    #[cfg(target_arch = "aarch64")]
    // Safety: `wfe` only suspends the core until an event or interrupt; a
    // compiler barrier (not `nomem`), so the caller's loop reloads memory.
    unsafe {
        core::arch::asm!("wfe", options(nostack, preserves_flags))
    };
    #[cfg(not(target_arch = "aarch64"))]
    core::hint::spin_loop();
}

/// Sleeps in `wfe` unless `word` no longer holds `stale`; returns at the
/// next event (a store to the word's line, an `sev`, an interrupt, the
/// event stream), which may be spurious: callers check again.
#[inline(always)]
pub fn wfe_unless_changed(word: &AtomicU64, stale: u64) {
    #[cfg(target_arch = "aarch64")]
    {
        let addr = word.as_ptr();
        // Safety: `addr` comes from a live `&AtomicU64`, so it is valid and
        // 8-byte aligned for the whole asm block; `ldxr` is a single-copy
        // atomic 64-bit load of it (no write, consistent with the other
        // atomic accesses to the word), and it only arms this core's
        // exclusive monitor, which any later `ldxr`/`stxr` pair re-arms.
        // `cmp` clobbers the flags (not declared preserved), `wfe` only
        // suspends the core until an event or interrupt. No stack, no other
        // memory, and only the declared registers are touched.
        unsafe {
            core::arch::asm!(
                "ldxr {v}, [{a}]",
                "cmp {v}, {s}",
                "b.ne 2f",
                "wfe",
                "2:",
                a = in(reg) addr,
                s = in(reg) stale,
                v = out(reg) _,
                options(nostack, readonly),
            );
        }
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        let _ = (word, stale);
        core::hint::spin_loop();
    }
}

/// Waits while `word` holds `stale`; returns the new value (acquire).
#[inline]
pub fn wait_while(word: &AtomicU64, stale: u64) -> u64 {
    loop {
        let v = word.load(Ordering::Acquire);
        if v != stale {
            return v;
        }
        wfe_unless_changed(word, stale);
    }
}

/// As [`wait_while`], giving up (`None`) once `expired()`, which is
/// checked after every wake-up.
#[inline]
pub fn wait_while_until(
    word: &AtomicU64,
    stale: u64,
    mut expired: impl FnMut() -> bool,
) -> Option<u64> {
    loop {
        let v = word.load(Ordering::Acquire);
        if v != stale {
            return Some(v);
        }
        if expired() {
            return None;
        }
        wfe_unless_changed(word, stale);
    }
}
