//! A ticket lock whose waiters sleep until the release that serves them
//! wakes them: the in-kernel block baseline's device lock (kern's
//! `blkdev`), which is held for a whole device request.
//!
//! [`FairLock`](super::FairLock)'s waiters sleep in `wfe` armed on the
//! lock word; a lock held for microseconds wants exactly that. Held
//! across a device request, it does not: QEMU's single-threaded TCG runs
//! `wfe` as a yield, so a waiter loops for the device's whole latency and,
//! under `-icount`, its instructions are the device's host time, not work
//! (docs/block.md, *The in-kernel baseline*). Here a waiter sleeps until
//! it is sent a wake ([`Sleeper::wake`]: in the kernel an SGI above the
//! priority mask, ending a `wfi`), and the release sends one only to the
//! waiter it serves.
//!
//! # The words
//!
//! - `next`: the ticket the next arrival takes (an atomic increment).
//! - `served`: how many releases there were; ticket `t` holds the lock
//!   while `served == t` (both modulo 2^31). Only the holder advances it;
//!   a waiter reads it with a read-modify-write that adds 0 (below).
//! - `sleepers`: one bit per core that waits (or is about to sleep);
//!   set and cleared by that core only, by compare-exchange.
//! - `tickets[c]`: the ticket core `c` waits for while its bit is set.
//!
//! # The algorithm
//!
//! - **lock**: take ticket `t`. If `served == t`, the lock is the
//!   caller's (two atomic operations). Otherwise write `t` to
//!   `tickets[me]`, set `me`'s bit in `sleepers`, and loop: if `served ==
//!   t` (read by adding 0), clear the bit and return; else sleep.
//! - **unlock**: `served += 1`; then, if `sleepers` is not 0,
//!   wake the one core whose bit is set and whose ticket is the new
//!   `served`.
//!
//! No wake is lost, with acquire and release orderings alone: the
//! waiter's look at `served` and the release's advance are both
//! read-modify-writes of `served`, so one comes first in its order of
//! changes. If the release's comes first, the waiter reads the new
//! `served` and does not sleep. If the waiter's comes first, the
//! release's reads what it wrote and so synchronises with it: the
//! waiter's bit (and its ticket, written before the bit) happened before
//! the release reads `sleepers`, which sees them and wakes it. (A plain
//! store and load on each side would need sequential consistency, the
//! store-buffering pattern, which loom does not model: written so, the
//! models reported a lost wake.) A wake
//! latches (as a pending interrupt does), so one sent before the waiter
//! sleeps ends that sleep. A wake may be spurious (a waiter that
//! saw `served` itself before the release read its bit): the waiter only
//! looks again. First come, first served: ticket order, with no escape
//! (a waiter does not run, so none can take the lock out of turn).
//!
//! The lock orders memory as a lock must: the load that sees `served ==
//! t` is an acquire, the store that advances it a release.

use super::{LockWord, COUNT_MASK};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// How a core sleeps and wakes another (kern: `wfi` with only the wake's
/// interrupt above the priority mask, and an SGI; the models: a latched
/// notification per thread).
pub trait Sleeper {
    /// The caller's core, below the lock's `N`.
    fn me(&self) -> usize;
    /// Sleeps until a wake sent to this core, or returns earlier. A wake
    /// sent since this core's last sleep returned ends this one at once.
    fn sleep(&self);
    /// Wakes core `core` (or makes its next sleep return at once).
    fn wake(&self, core: usize);
}

/// A ticket lock for up to `N` (at most 64) cores whose waiters sleep
/// (see the module).
pub struct SleepLock<W, const N: usize> {
    next: W,
    served: W,
    sleepers: W,
    tickets: [W; N],
}

impl<const N: usize> SleepLock<core::sync::atomic::AtomicU64, N> {
    /// A free lock.
    pub const fn new() -> Self {
        use core::sync::atomic::AtomicU64;
        const { assert!(N <= 64, "one bit of `sleepers` per core") };
        SleepLock {
            next: AtomicU64::new(0),
            served: AtomicU64::new(0),
            sleepers: AtomicU64::new(0),
            tickets: [const { AtomicU64::new(0) }; N],
        }
    }
}

impl<const N: usize> Default for SleepLock<core::sync::atomic::AtomicU64, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: LockWord, const N: usize> SleepLock<W, N> {
    /// A free lock over the given words (all holding 0).
    pub fn with_words(next: W, served: W, sleepers: W, tickets: [W; N]) -> Self {
        SleepLock {
            next,
            served,
            sleepers,
            tickets,
        }
    }

    /// Takes the lock, asleep until its turn; returns the caller's ticket
    /// (modulo 2^31: the models check the order of acquisitions with it).
    #[inline]
    pub fn lock(&self, cpu: &impl Sleeper) -> u64 {
        let ticket = self.next.fetch_add(1, Relaxed) & COUNT_MASK;
        if self.served.load(Acquire) & COUNT_MASK != ticket {
            self.wait_turn(ticket, cpu);
        }
        ticket
    }

    /// The contended path: registers, then sleeps until `ticket` is served.
    #[inline(never)]
    fn wait_turn(&self, ticket: u64, cpu: &impl Sleeper) {
        let me = cpu.me();
        let bit = 1u64 << me;
        self.tickets[me].store(ticket, Relaxed);
        self.update_sleepers(|m| m | bit);
        while self.served.fetch_add(0, AcqRel) & COUNT_MASK != ticket {
            cpu.sleep();
        }
        self.update_sleepers(|m| m & !bit);
    }

    /// Sets or clears this core's bit (only this core writes it, but
    /// other cores write theirs).
    fn update_sleepers(&self, f: impl Fn(u64) -> u64) {
        let mut m = self.sleepers.load(Relaxed);
        while let Err(now) = self.sleepers.compare_exchange(m, f(m), AcqRel, Relaxed) {
            m = now;
        }
    }

    /// Releases the lock; only its holder may call this. Wakes the waiter
    /// whose turn it now is, if it sleeps.
    #[inline]
    pub fn unlock(&self, cpu: &impl Sleeper) {
        let s = self.served.fetch_add(1, AcqRel).wrapping_add(1) & COUNT_MASK;
        let mut m = self.sleepers.load(Acquire);
        while m != 0 {
            let c = m.trailing_zeros() as usize;
            m &= m - 1;
            if self.tickets[c].load(Relaxed) == s {
                cpu.wake(c);
                return;
            }
        }
    }

    /// The sleepers' bits (the loom models' negative control).
    #[cfg(all(loom, test))]
    pub(super) fn sleepers_for_control(&self) -> u64 {
        self.sleepers.load(Acquire)
    }

    /// Whether a core holds the lock (a snapshot, for assertions).
    pub fn is_held(&self) -> bool {
        (self.next.load(Relaxed) ^ self.served.load(Relaxed)) & COUNT_MASK != 0
    }
}
