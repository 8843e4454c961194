//! How the kernel waits: the one place that says what a wait loop does on
//! each turn, and the spin lock every lock shared between cores is.
//!
//! A wait loop must wait in a way both silicon and QEMU's single-threaded
//! TCG treat as waiting. `isb` (what `core::hint::spin_loop` emits on
//! aarch64) is neither: on silicon the core keeps running the loop, and
//! QEMU switches vCPU on `wfe`, `wfi` and `yield` only, so a loop spinning
//! with `isb` burns its vCPU's whole round-robin slice, and under `-icount`
//! those instructions land in another core's timed span
//! (docs/measurements.md, *Waiting*). So:
//!
//! - a loop waiting for a word in memory to change uses [`wait_u32`]: an
//!   exclusive load arms this core's monitor on the word's line, so the
//!   store that changes it (from any core) clears the monitor and
//!   generates the event that ends the `wfe`. Silicon sleeps until the
//!   store; TCG switches to another vCPU.
//! - a loop polling something no store of ours signals (a device register,
//!   the counter for a timeout) calls [`relax`]: `yield`, a hint on silicon
//!   and a vCPU switch under TCG. Under `-accel tcg,thread=multi` both are
//!   no-ops and the spin is real host spinning.
//!
//! The generic timer's event stream (CNTKCTL_EL1.EVNTEN, boot.rs) also
//! ends any `wfe` within ~16 us, so a missed event costs that much, never
//! a hang.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// One turn of a polling loop that no store signals (see the module): `yield`.
pub use drivers::relax;

/// Acquire-loads `word` and arms this core's exclusive monitor on it.
#[inline(always)]
fn load_exclusive_u32(word: &AtomicU32) -> u32 {
    let v: u32;
    // Safety: `word` is a live, aligned atomic; `ldaxr` is a single-copy
    // atomic acquire load of it that only arms the exclusive monitor (any
    // later `ldxr`/`stxr` pair re-arms it). Not `nomem`: it is an acquire.
    unsafe {
        core::arch::asm!("ldaxr {v:w}, [{a}]", a = in(reg) word.as_ptr(), v = out(reg) v,
            options(nostack, readonly, preserves_flags))
    };
    v
}

/// Waits for an event: a store to a word this core's monitor is armed on,
/// an `sev`, an interrupt, the event stream. Only after an exclusive load.
#[inline(always)]
fn wfe() {
    // Safety: `wfe` only suspends the core; a compiler barrier (not
    // `nomem`) so the loop reloads the word.
    unsafe { core::arch::asm!("wfe", options(nostack, preserves_flags)) };
}

/// Waits until `done(value of word)`; returns that value (acquire).
#[inline]
pub fn wait_u32(word: &AtomicU32, mut done: impl FnMut(u32) -> bool) -> u32 {
    loop {
        let v = load_exclusive_u32(word);
        if done(v) {
            return v;
        }
        wfe();
    }
}

/// Sleeps in `wfe` unless `word` no longer holds `stale`; returns at the
/// next event (a store to the word's line, an `sev`, an interrupt, the
/// event stream), possibly spurious: for a caller that polls again and
/// checks a deadline between turns.
#[inline]
pub fn wait_u64_once(word: &AtomicU64, stale: u64) {
    let v: u64;
    // Safety: `word` is a live, aligned atomic; `ldaxr` is a single-copy
    // atomic acquire load of it that only arms the exclusive monitor (any
    // later `ldxr`/`stxr` pair re-arms it). Not `nomem`: it is an acquire.
    unsafe {
        core::arch::asm!("ldaxr {v}, [{a}]", a = in(reg) word.as_ptr(), v = out(reg) v,
            options(nostack, readonly, preserves_flags))
    };
    if v == stale {
        wfe();
    }
}

/// The `spin` crate's relax strategy for what still uses it ([`Once`]).
pub struct Relax;

impl spin::RelaxStrategy for Relax {
    #[inline(always)]
    fn relax() {
        relax();
    }
}

/// A value initialised once (contended only while cores boot).
pub type Once<T> = spin::once::Once<T, Relax>;

/// A spin lock taken and released by hand: test and test-and-set, each
/// waiter asleep in `wfe` on the lock word until the holder's release store
/// wakes it. [`Mutex`] wraps one around a value; the console and the defmt
/// logger, which take and release theirs in different functions, use it
/// bare.
///
/// Not fair: a waiter can be overtaken. A ticket lock (fair, the same
/// `wfe` wait on its `owner` word) was tried and measured: under
/// multi-threaded TCG with 4 vCPUs on this 2-core host, a vCPU the host
/// descheduled while its ticket came up stalled every other waiter for a
/// host time slice, and the `corey-rpi4` case (4 cores, MTTCG) went from
/// seconds to a 120 s timeout (memclone private 9.0 s of wall time; shares
/// shared never finished). Linux's fair qspinlock shows the same collapse
/// there (benchmarks.md). On silicon a kernel lock's holder and waiters run
/// with interrupts masked and are never descheduled, so a fair lock is the
/// better one there; making it survive emulated oversubscription (or
/// running those cases under `-icount`) is left open (issue 12).
pub struct SpinLock {
    /// 1 while held.
    held: AtomicU32,
}

impl SpinLock {
    pub const fn new() -> Self {
        SpinLock {
            held: AtomicU32::new(0),
        }
    }

    /// Takes the lock, asleep in `wfe` while another core holds it.
    #[inline]
    pub fn lock(&self) {
        while self
            .held
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            wait_u32(&self.held, |v| v == 0);
        }
    }

    /// Takes the lock if nobody holds it.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.held
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases the lock; only its holder may call this. The store clears
    /// every waiter's exclusive monitor on the word: the event that ends
    /// their `wfe`.
    #[inline]
    pub fn unlock(&self) {
        self.held.store(0, Ordering::Release);
    }
}

impl Default for SpinLock {
    fn default() -> Self {
        Self::new()
    }
}

/// A value behind a [`SpinLock`]; the API of the `spin::Mutex` it
/// replaces.
pub struct Mutex<T: ?Sized> {
    raw: SpinLock,
    value: UnsafeCell<T>,
}

// Safety: the lock gives one core at a time access to the value, as a
// mutex does; `T: Send` is what moving access between cores needs.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// Safety: owning the lock is owning the value.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Access to a [`Mutex`]'s value; released on drop.
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex {
            raw: SpinLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, taking the lock apart (no other holder can exist).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { lock: self }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Safety: the guard is the lock's one holder.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Safety: the guard is the lock's one holder.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}
