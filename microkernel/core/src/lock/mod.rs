//! The spin lock every kernel lock shared between cores is: a ticket lock
//! (first come, first served) whose waiters each sleep on their own core's
//! cache line and are woken one by one, with one escape from strict order
//! when the waiter whose turn it is does not claim a free lock within the
//! lock's *patience*.
//!
//! Generic over its atomic words and over how a core waits and tells time
//! ([`LockWord`], [`Waiter`]), so that the loom models (`loom_tests.rs`)
//! check the code the kernel runs (`kern::sync` instantiates it with
//! `AtomicU64`, `wfe` armed by an exclusive load, the generic counter and
//! one [`Node`] per core).
//!
//! # The words
//!
//! - `next`: the ticket the next arrival takes; only arrivals change it
//!   (an atomic increment).
//! - `state`: `served << 32 | waiting << 1 | held`. `served` counts
//!   releases (32 bits); `waiting` has bit `c` set while core `c` waits
//!   for the lock (cores 0-30); `held` says a core holds the lock.
//! - one [`Node`] per core, a cache line of its own, outside the lock:
//!   `ticket`, the ticket the core waits with, and `wake`, a count that
//!   any core bumps to wake it. A core waits for one lock at a time (a
//!   kernel lock is taken with interrupts masked, and a core waiting for
//!   a lock does nothing else), so one node per core serves every lock.
//!
//! Tickets and `served` count modulo 2^32; a ticket `t` is *due* when
//! `served - t` (mod 2^32) is below 2^31, i.e. at least `t` releases have
//! happened (fewer than 2^31 cores ever wait at once).
//!
//! # The algorithm
//!
//! - **lock**: take ticket `t` (`next += 1`). If `state` shows the lock
//!   free with `served == t` and no one waiting, set `held` by exchange
//!   and return: the uncontended path is two exchanges. Otherwise wait,
//!   each turn: read the node's `wake` count, then `state`; whenever
//!   `state` shows `held` clear and `t` due, set `held` and clear this
//!   core's `waiting` bit in one exchange. Otherwise, if `t` is the *next*
//!   (due at the next release), sleep armed on `state`, as Linux's
//!   qspinlock head waits on the lock word: the release writes it. If not,
//!   write `t` into this core's node and set this core's `waiting` bit
//!   (one atomic OR, once), and sleep until `wake` changes from the count
//!   read (`wfe` armed on the node's line). With two cores the one waiter
//!   is always the next: no node is used.
//! - **unlock**: add to `state` what makes `served + 1` and clears `held`
//!   (one atomic add, acquire and release); if the old value had
//!   `waiting` bits, read those cores' nodes and bump `wake` of each whose
//!   ticket is now the next (or due): normally exactly one.
//!
//! Unless a waiter runs out of patience, exactly one waiter is due at a
//! time (ticket `t` is due after `t` releases, and releases come one at a
//! time), so the lock is handed over in ticket order: FIFO. A release
//! writes the line of the lock and the line of the one core it hands the
//! lock to; the other waiters sleep on undisturbed lines (the ticket lock
//! before this woke every waiter, all armed on `state`, at every release).
//!
//! **No lost wake-up.** A waiter reads `wake` (acquire) before it reads
//! `state`. If it saw `state` before a release R, then R's bump of its
//! `wake`, ordered after R, was not yet what it read either (had it read
//! the bump, the acquire would make R visible), so the bump changes `wake`
//! from the count it sleeps on and ends its `wfe`. R sees the waiter's bit
//! and ticket: the OR that set them comes before R on `state` (every write
//! to `state` is an atomic read-modify-write, so R reads after the OR), or
//! else the OR itself returned `state` after R. A core without a number
//! (before its per-core data exists) waits the old way, armed on `state`
//! itself, which every release writes.
//!
//! **Patience.** A waiter that has seen the lock free, not its turn, and
//! still unclaimed at the same release count for longer than the lock's
//! patience takes it out of turn: the waiter whose turn it is is not
//! running. On silicon that does not happen: a kernel lock is taken with
//! interrupts masked and no core is descheduled, so the due waiter, asleep
//! in `wfe` on its node, wakes at the release's bump and claims the lock
//! within a cache-line transfer or two, far below any patience (the
//! others, asleep on their own lines, look again only at the event-stream
//! tick, ~16 us apart). Under emulation a vCPU *is* descheduled by the host
//! (QEMU's multi-threaded TCG, four vCPUs on a loaded two-core host, where
//! `wfe` is a no-op): a pure ticket lock then hands the lock to a waiter
//! that is not running, and every waiter behind it spins until the host
//! runs it again (docs/measurements.md, *Fair locks*); patience bounds each
//! such stall. A release counts into `served` whoever held the lock, so a
//! waiter that was overtaken is due one release earlier (and is woken with
//! the due one): the count of waiters due at once never exceeds the
//! overtakings not yet made up.
//!
//! The lock orders memory as a lock must: the exchange that sets `held`
//! is an acquire, the add that clears it a release.

#[cfg(all(loom, test))]
mod loom_tests;
#[cfg(test)]
mod tests;

use core::sync::atomic::Ordering::{self, AcqRel, Acquire, Relaxed, Release};

/// Modulus of tickets and of `served`.
const COUNT_MASK: u64 = (1 << 32) - 1;
/// `state`'s `held` bit.
const HELD: u64 = 1;
/// `state`'s `waiting` bits.
const WAITING: u64 = COUNT_MASK & !HELD;
/// What a release adds to `state`: `served + 1`, `held` cleared.
const RELEASE: u64 = (1 << 32) - HELD;
/// Cores numbered below this wait on their own node.
pub const MAX_WAITERS: usize = 31;

/// The operations the lock needs of its words: `core`'s `AtomicU64` in
/// the kernel, loom's in the models.
pub trait LockWord: Sync {
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, v: u64, order: Ordering);
    fn fetch_add(&self, v: u64, order: Ordering) -> u64;
    fn fetch_or(&self, v: u64, order: Ordering) -> u64;
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
            fn fetch_or(&self, v: u64, order: Ordering) -> u64 {
                <$t>::fetch_or(self, v, order)
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

/// One core's place to wait for any lock: a cache line of its own, so a
/// release that wakes this core disturbs no other waiter.
#[repr(C, align(64))]
pub struct Node<W> {
    /// Bumped by a release that makes this core's ticket due.
    wake: W,
    /// The ticket this core waits with (meaningful while its `waiting`
    /// bit is set in the lock it waits for).
    ticket: W,
}

impl Node<core::sync::atomic::AtomicU64> {
    pub const fn new() -> Self {
        Node {
            wake: core::sync::atomic::AtomicU64::new(0),
            ticket: core::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Default for Node<core::sync::atomic::AtomicU64> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: LockWord> Node<W> {
    /// A node over two words (the models' words).
    pub fn with_words(wake: W, ticket: W) -> Self {
        Node { wake, ticket }
    }
}

/// How a waiting core waits, tells how long it has waited, and finds the
/// cores' nodes.
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
    /// This core's number, if it has one (then [`Waiter::node`] of it is
    /// this core's own node).
    fn me(&self) -> Option<usize>;
    /// Core `core`'s node (`core` below [`MAX_WAITERS`]).
    fn node(&self, core: usize) -> &Node<W>;
}

/// `served` in a `state` word.
#[inline(always)]
fn served(state: u64) -> u64 {
    state >> 32
}

/// Whether ticket `t` is due when `served` releases happened.
#[inline(always)]
fn due_at(served: u64, t: u64) -> bool {
    served.wrapping_sub(t) & COUNT_MASK < 1 << 31
}

/// Whether ticket `t` is due in `state`.
#[inline(always)]
fn due(state: u64, t: u64) -> bool {
    due_at(served(state), t)
}

/// A ticket lock with per-core wake-ups and patience (see the module),
/// over words `W`.
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
    /// count: `state == next << 32`).
    pub fn with_words(next: W, state: W, patience: u64) -> Self {
        FairLock {
            next,
            state,
            patience,
        }
    }

    /// Takes the lock; returns the caller's ticket (modulo 2^32: the
    /// models check the order of acquisitions with it).
    #[inline]
    pub fn lock(&self, cpu: &impl Waiter<W>) -> u64 {
        let ticket = self.next.fetch_add(1, Relaxed) & COUNT_MASK;
        let free = ticket << 32;
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
        let node = cpu
            .me()
            .filter(|&c| c < MAX_WAITERS)
            .map(|c| (c, cpu.node(c)));
        let bit = node.map_or(0, |(c, _)| 2 << c);
        if let Some((_, n)) = node {
            n.ticket.store(ticket, Relaxed);
        }
        let mut published = false;
        // The release count at which this waiter first saw the lock free
        // and not its turn, and when.
        let mut free_since: Option<(u64, C::Instant)> = None;
        loop {
            // The wake count first, then `state` (*No lost wake-up*).
            let seen = node.map(|(_, n)| n.wake.load(Acquire));
            let s = self.state.load(Relaxed);
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
                let taken = (s | HELD) & !bit;
                if self
                    .state
                    .compare_exchange(s, taken, Acquire, Relaxed)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            match (node, seen) {
                // Not the next: asleep on its own line until a release
                // makes it the next (or due).
                (Some((_, n)), Some(seen)) if !due_at(served(s).wrapping_add(1), ticket) => {
                    if !published {
                        published = true;
                        // Release: a releaser that sees the bit sees the
                        // ticket. A change since `s` is looked at first.
                        if self.state.fetch_or(bit, AcqRel) != s {
                            continue;
                        }
                    }
                    cpu.wait(&n.wake, seen)
                }
                // The next (or a core without a node): armed on `state`,
                // which the release writes.
                _ => cpu.wait(&self.state, s),
            }
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

    /// Releases the lock; only its holder may call this. One atomic add
    /// (waiters may set their bits meanwhile), then a wake-up for each
    /// waiting core whose ticket is now due.
    #[inline]
    pub fn unlock(&self, cpu: &impl Waiter<W>) {
        // Acquire too: the waiters' tickets, written before their bits.
        let old = self.state.fetch_add(RELEASE, AcqRel);
        debug_assert!(old & HELD != 0, "unlock of a free lock");
        if old & WAITING != 0 {
            self.wake(served(old.wrapping_add(RELEASE)), old & WAITING, cpu);
        }
    }

    /// Bumps the wake count of each core in `waiting` whose ticket is due
    /// after `served` releases or is the next: the next waits on `state`.
    #[inline(never)]
    fn wake(&self, served: u64, waiting: u64, cpu: &impl Waiter<W>) {
        let mut cores = waiting >> 1;
        while cores != 0 {
            let core = cores.trailing_zeros() as usize;
            cores &= cores - 1;
            let node = cpu.node(core);
            // A stale ticket (the core took this lock since and waits for
            // another) costs that core a spurious wake at most.
            if due_at(served.wrapping_add(1), node.ticket.load(Relaxed)) {
                node.wake.fetch_add(1, Release);
            }
        }
    }

    /// Whether a core holds the lock (a snapshot, for assertions).
    pub fn is_held(&self) -> bool {
        self.state.load(Relaxed) & HELD != 0
    }
}
