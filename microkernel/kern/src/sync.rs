//! How the kernel waits: the one place that says what a wait loop does on
//! each turn, and the spin lock every lock shared between cores is.
//!
//! A wait loop must wait in a way both silicon and QEMU's single-threaded
//! TCG treat as waiting. `isb` (what `core::hint::spin_loop` emits on
//! aarch64) is neither: on silicon the core keeps running the loop, and
//! QEMU switches vCPU on `wfe`, `wfi` and `yield` only, so a loop spinning
//! with `isb` burns its vCPU's whole round-robin slice, and under `-icount`
//! those instructions land in another core's timed span
//! (docs/measurements-waiting.md, *Waiting*). So:
//!
//! - a loop waiting for a word in memory to change sleeps in `wfe` after
//!   an exclusive load of the word ([`SpinLock`]'s waiters,
//!   [`wait_u64_once`], `arch::aarch64::wait_word`): the load arms this
//!   core's monitor on the word's line, so the store that changes it (from
//!   any core) clears the monitor and generates the event that ends the
//!   `wfe`. Silicon sleeps until the store; TCG switches to another vCPU.
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
use core::sync::atomic::AtomicU64;

/// One turn of a polling loop that no store signals (see the module): `yield`.
pub use drivers::relax;

/// Waits for an event: a store to a word this core's monitor is armed on,
/// an `sev`, an interrupt, the event stream. Only after an exclusive load.
#[inline(always)]
fn wfe() {
    // Safety: `wfe` only suspends the core; a compiler barrier (not
    // `nomem`) so the loop reloads the word.
    unsafe { core::arch::asm!("wfe", options(nostack, preserves_flags)) };
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

/// How long a waiter for a kernel lock that sees the lock free, and not
/// its turn, lets the waiter whose turn it is claim it before taking it
/// itself (`kerncore::lock`, *Patience*). A design bound, not a
/// measurement: on silicon the due waiter claims a released lock within
/// a cache-line transfer or two (under a microsecond) and the others look
/// again only at the next store or event-stream tick (~16 us), so order is
/// kept; under emulation it bounds the stall a descheduled vCPU causes.
pub const PATIENCE_US: u64 = 10;

/// This core, as a lock waiter: it sleeps in `wfe` armed by an exclusive
/// load of the lock word and tells time by the generic counter.
struct Core;

impl kerncore::lock::Waiter<AtomicU64> for Core {
    type Instant = u64;

    #[inline]
    fn now(&self) -> u64 {
        drivers::timer::now()
    }

    #[inline]
    fn waited_longer(&self, since: u64, patience_us: u64) -> bool {
        let ticks = drivers::timer::now().wrapping_sub(since) as u128;
        ticks * 1_000_000 > patience_us as u128 * drivers::timer::frequency() as u128
    }

    #[inline]
    fn wait(&self, word: &AtomicU64, seen: u64) {
        crate::arch::aarch64::wait_word(word, seen);
    }
}

/// A spin lock taken and released by hand: a ticket lock (first come,
/// first served) whose waiters sleep in `wfe` on the lock's state word
/// until a store to it wakes them, and which a waiter may take out of turn
/// once it has seen it free and unclaimed for longer than [`PATIENCE_US`]
/// (`kerncore::lock`, where the algorithm and its loom models are).
/// [`Mutex`] wraps one around a value; the console and the defmt logger,
/// which take and release theirs in different functions, use it bare.
///
/// Why patience: a pure ticket lock was tried first and reverted: under
/// multi-threaded TCG with 4 vCPUs on this 2-core host (where `wfe` is a
/// no-op), a vCPU the host descheduled when its ticket came up stalled
/// every waiter behind it for a host time slice, and `corey-rpi4` went
/// from seconds to its 120 s timeout; measured again with this lock and an
/// infinite patience: 13-67 s against 2-5 s (docs/measurements-waiting.md, *Fair
/// locks*).
pub struct SpinLock(kerncore::lock::FairLock<AtomicU64>);

impl SpinLock {
    /// A free lock with patience [`PATIENCE_US`].
    pub const fn new() -> Self {
        SpinLock(kerncore::lock::FairLock::new(PATIENCE_US))
    }

    /// Takes the lock, asleep in `wfe` until this core's turn.
    #[inline]
    pub fn lock(&self) {
        self.0.lock(&Core);
    }

    /// Takes the lock if nobody holds it or waits for it.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.0.try_lock(&Core)
    }

    /// Releases the lock; only its holder may call this. The store clears
    /// every waiter's exclusive monitor on the word: the event that ends
    /// their `wfe`.
    #[inline]
    pub fn unlock(&self) {
        self.0.unlock();
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
