//! The spin lock every kernel lock shared between cores is: a ticket lock
//! (first come, first served) whose waiters sleep until the lock's state
//! word changes, with one escape from strict order when the waiter whose
//! turn it is does not claim a free lock within the lock's *patience*.
//!
//! Generic over its atomic words and over how a core waits and tells time
//! ([`LockWord`], [`Waiter`]), so that the loom models (`loom_tests.rs`)
//! check the code the kernel runs (`kern::sync` instantiates it with
//! `AtomicU64`, `wfe` armed by an exclusive load, and the generic counter).
//!
//! # The words
//!
//! - `next`: the ticket the next arrival takes; only arrivals change it
//!   (an atomic increment).
//! - `state`: `served << 1 | held`. `served` counts releases (31 bits);
//!   `held` says a core holds the lock. Waiters set `held` by exchange,
//!   and only while it is clear; so while it is set only the holder
//!   writes the word, and the release is one plain store.
//!
//! Tickets and `served` count modulo 2^31; a ticket `t` is *due* when
//! `served - t` (mod 2^31) is below 2^30, i.e. at least `t` releases have
//! happened (fewer than 2^30 cores ever wait at once). A waiter decides
//! from `state` and its own ticket alone, so it sleeps armed on `state`
//! only, and every change that can let it in is a store to `state`.
//!
//! # The algorithm
//!
//! - **lock**: take ticket `t` (`next += 1`). If `state` shows the lock
//!   free with `served == t` (no one waits), set `held` by exchange and
//!   return: the uncontended path is two exchanges. Otherwise wait:
//!   whenever `state` shows `held` clear and `t` due, set `held` by
//!   exchange; in between, sleep until `state` changes (a wait may also
//!   end early).
//! - **unlock**: store `(served + 1) << 1` (`held` clear) with release
//!   ordering.
//!
//! Unless a waiter runs out of patience, exactly one waiter is due at a
//! time (ticket `t` is due after `t` releases, and releases come one at a
//! time), so the lock is handed over in ticket order: FIFO.
//!
//! **Patience.** A waiter that has seen the lock free, not its turn, and
//! still unclaimed at the same release count for longer than the lock's
//! patience takes it out of turn: the waiter whose turn it is is not
//! running. On silicon that does not happen: a kernel lock is taken with
//! interrupts masked and no core is descheduled, so the due waiter, asleep
//! in `wfe` on `state`, wakes at the release store and claims the lock
//! within a cache-line transfer or two, far below any patience (and the
//! others, asleep too, look again only at the next store or event-stream
//! tick). Under emulation a vCPU *is* descheduled by the host (QEMU's
//! multi-threaded TCG, four vCPUs on a loaded two-core host, where `wfe`
//! is a no-op): a pure ticket lock then hands the lock to a waiter that is
//! not running, and every waiter behind it spins until the host runs it
//! again (docs/measurements-waiting.md, *Fair locks*); patience bounds each such
//! stall. A release counts into `served` whoever held the lock, so a
//! waiter that was overtaken is due one release earlier: the count of
//! waiters due at once never exceeds the overtakings not yet made up.
//!
//! The lock orders memory as a lock must: the exchange that sets `held`
//! is an acquire, the store that clears it a release.

#[cfg(all(loom, test))]
mod loom_tests;
pub mod sleep;
#[cfg(test)]
mod sleep_tests;
#[cfg(test)]
mod tests;

use core::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};

/// Modulus of tickets and of `served`.
const COUNT_MASK: u64 = (1 << 31) - 1;
/// `state`'s `held` bit.
const HELD: u64 = 1;

/// The operations the lock needs of its words: `core`'s `AtomicU64` in
/// the kernel, loom's in the models.
pub trait LockWord: Sync {
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, v: u64, order: Ordering);
    fn fetch_add(&self, v: u64, order: Ordering) -> u64;
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;
}

macro_rules! lock_word {
    ($t:ty) => {
        impl LockWord for $t {
            #[inline(always)]
            fn load(&self, order: Ordering) -> u64 {
                <$t>::load(self, order)
            }
            #[inline(always)]
            fn store(&self, v: u64, order: Ordering) {
                <$t>::store(self, v, order)
            }
            #[inline(always)]
            fn fetch_add(&self, v: u64, order: Ordering) -> u64 {
                <$t>::fetch_add(self, v, order)
            }
            #[inline(always)]
            fn compare_exchange(
                &self,
                current: u64,
                new: u64,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u64, u64> {
                <$t>::compare_exchange(self, current, new, success, failure)
            }
        }
    };
}

lock_word!(core::sync::atomic::AtomicU64);
#[cfg(all(loom, test))]
lock_word!(loom::sync::atomic::AtomicU64);

/// How a waiting core waits and tells how long it has waited.
pub trait Waiter<W> {
    /// A moment: only compared by [`Waiter::waited_longer`].
    type Instant: Copy;
    fn now(&self) -> Self::Instant;
    /// Whether more than `patience` has passed since `since`.
    fn waited_longer(&self, since: Self::Instant, patience: u64) -> bool;
    /// Waits a while for `word` to change from `seen`: returns once it may
    /// no longer hold `seen` (any store to it ends the wait), or earlier.
    /// Must be a wait silicon and single-threaded emulation both treat as
    /// waiting (`wfe` armed by an exclusive load of `word`), not a spin.
    fn wait(&self, word: &W, seen: u64);
}

/// `served` in a `state` word.
#[inline(always)]
fn served(state: u64) -> u64 {
    (state >> 1) & COUNT_MASK
}

/// Whether ticket `t` is due in `state`: at least `t` releases happened.
#[inline(always)]
fn due(state: u64, t: u64) -> bool {
    served(state).wrapping_sub(t) & COUNT_MASK < 1 << 30
}

/// A ticket lock with patience (see the module), over words `W`.
pub struct FairLock<W> {
    next: W,
    state: W,
    /// In the units of [`Waiter::waited_longer`].
    patience: u64,
}

impl FairLock<core::sync::atomic::AtomicU64> {
    /// A free lock with patience `patience`.
    pub const fn new(patience: u64) -> Self {
        FairLock {
            next: core::sync::atomic::AtomicU64::new(0),
            state: core::sync::atomic::AtomicU64::new(0),
            patience,
        }
    }
}

impl<W: LockWord> FairLock<W> {
    /// A free lock over `next` and `state` (which must hold the same
    /// count: `state == next << 1`).
    pub fn with_words(next: W, state: W, patience: u64) -> Self {
        FairLock {
            next,
            state,
            patience,
        }
    }

    /// Takes the lock; returns the caller's ticket (modulo 2^31: the
    /// models check the order of acquisitions with it).
    #[inline]
    pub fn lock(&self, cpu: &impl Waiter<W>) -> u64 {
        let ticket = self.next.fetch_add(1, Relaxed) & COUNT_MASK;
        let free = ticket << 1;
        if self.state.load(Relaxed) != free
            || self
                .state
                .compare_exchange(free, free | HELD, Acquire, Relaxed)
                .is_err()
        {
            self.wait_turn(ticket, cpu);
        }
        ticket
    }

    /// The contended path: waits until `ticket` is due and the lock is
    /// free, then takes it; or takes it out of turn once it has seen the
    /// lock free and unclaimed for longer than the patience.
    #[inline(never)]
    fn wait_turn<C: Waiter<W>>(&self, ticket: u64, cpu: &C) {
        // The release count at which this waiter first saw the lock free
        // and not its turn, and when.
        let mut free_since: Option<(u64, C::Instant)> = None;
        let mut s = self.state.load(Relaxed);
        loop {
            let mut take = false;
            if s & HELD != 0 {
                free_since = None;
            } else if due(s, ticket) {
                take = true;
            } else {
                match free_since {
                    Some((count, since)) if count == served(s) => {
                        take = cpu.waited_longer(since, self.patience);
                    }
                    _ => free_since = Some((served(s), cpu.now())),
                }
            }
            if take {
                match self.state.compare_exchange(s, s | HELD, Acquire, Relaxed) {
                    Ok(_) => return,
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            cpu.wait(&self.state, s);
            s = self.state.load(Relaxed);
        }
    }

    /// Takes the lock if it is free and no one waits for it. (If a waiter
    /// that ran out of patience takes it between this call's two
    /// exchanges, which needs a core stalled in between, this call holds
    /// the next turn and waits for it: a ticket cannot be given back.)
    #[inline]
    pub fn try_lock(&self, cpu: &impl Waiter<W>) -> bool {
        let s = self.state.load(Relaxed);
        let n = self.next.load(Relaxed);
        if s & HELD != 0 || n & COUNT_MASK != served(s) {
            return false;
        }
        if self
            .next
            .compare_exchange(n, n.wrapping_add(1), Relaxed, Relaxed)
            .is_err()
        {
            return false;
        }
        if self
            .state
            .compare_exchange(s, s | HELD, Acquire, Relaxed)
            .is_err()
        {
            self.wait_turn(served(s), cpu);
        }
        true
    }

    /// Releases the lock; only its holder may call this. While `held` is
    /// set no other core writes `state`, so a store does it; it ends every
    /// waiter's wait on the word.
    #[inline]
    pub fn unlock(&self) {
        let s = self.state.load(Relaxed);
        debug_assert!(s & HELD != 0, "unlock of a free lock");
        // `served << 1 | 1` plus one is `(served + 1) << 1`: `held` clear.
        self.state
            .store((s + 1) & (COUNT_MASK << 1 | HELD), Release);
    }

    /// Whether a core holds the lock (a snapshot, for assertions).
    pub fn is_held(&self) -> bool {
        self.state.load(Relaxed) & HELD != 0
    }
}
