//! The cross-core protocol: everything one core tells another, as one state
//! machine over a handful of atomic words, generic over those words so the
//! loom models (`loom_tests.rs`, run by `cargo xtask test`) check the code
//! the kernel runs.
//!
//! A core's tasks and its capability space are private to it: another core
//! never touches them. It posts a [`Request`] in the target core's mailbox
//! and wakes it ([`Cpu::wake`], an SGI); the target does the work itself
//! ([`CrossCore::take`] ... [`CrossCore::taken`]).
//!
//! Three things are built on the mailbox:
//!
//! - **Revoke-wait.** A capability copied into another space is an *import*
//!   whose `extra` names an export and its generation ([`ExportGens`]).
//!   Killing the export moves the generation on; the space holding the
//!   imports removes them in a *sweep*: this core's and the global space at
//!   once, another core's when that core takes a [`Request::Sweep`]. An
//!   operation that removes capabilities brackets its work in a
//!   [`Removal`]; when [`Removal::finish`] says so, the caller waits
//!   ([`CrossCore::wait_for`]) until [`CrossCore::settled`]: every sweep it
//!   asked for, and every sweep those asked for in turn, is done. Only then
//!   has every core that held a derived capability dropped it.
//! - **Quiescence.** `work`, `epoch` and `runnable` let core 0 tell
//!   "everything is idle for good" from "a request is in flight"
//!   ([`CrossCore::quiescent`]).
//! - **Shutdown.** Core 0 posts [`Request::ShutDown`] and waits for every
//!   core's [`CrossCore::shutdown_acked`].
//!
//! # Why every wait ends
//!
//! [`CrossCore::wait_for`] serves the waiter's own mailbox on every turn,
//! so two cores waiting for each other's sweeps both progress. A sweep
//! request is taken by its target within bounded time: at the wake SGI
//! if the target runs a task or idles, on its next turn of `wait_for` if
//! the target is itself waiting with interrupts masked, and when it starts
//! if it has not started yet (a post is never lost: it stays in the
//! mailbox). A sweep is bounded work over a bounded space, and the sweeps
//! one revoke causes form a finite chain: each asks only for the exports
//! it killed, an export is killed once, and a space has at most a fixed
//! number of exports. Nothing in a sweep waits for another core. The
//! kernel adds a watchdog on top (a wait longer than a second says so on
//! the console; the run's time limit ends a wait that never ends) so that
//! a broken argument is seen, not a silent hang.

mod word;
pub use word::Word;

#[cfg(all(loom, test))]
mod lifecycle_loom_tests;
#[cfg(all(loom, test))]
mod loom_tests;
#[cfg(test)]
mod tests;

use core::sync::atomic::AtomicU64;

/// Mailbox bits: `1 << slot` (slot below [`TASK_SLOTS`]) asks to restart
/// the task in that slot, `1 << (TASK_SLOTS + slot)` to stop it; the flags
/// above them ask for the rest (bit 62 is unused).
const NOTIFY: u64 = 1 << 60;
const SWEEP: u64 = 1 << 61;
const SHUT_DOWN: u64 = 1 << 63;
/// Task slots a mailbox can name in a restart or stop request.
pub const TASK_SLOTS: usize = 30;
const SLOTS: u64 = (1 << TASK_SLOTS) - 1;
const STOPS: u64 = SLOTS << TASK_SLOTS;
const _: () = assert!((SLOTS | STOPS) & (NOTIFY | SWEEP | SHUT_DOWN) == 0);
const _: () = assert!(NOTIFY.trailing_zeros() as usize == 2 * TASK_SLOTS);

/// What one core asks another to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Rebuild the stopped task in this slot from the image.
    Restart(usize),
    /// Stop the task in this slot.
    Stop(usize),
    /// A notification a task here waits on was signalled (or destroyed).
    Notify,
    /// Sweep killed imports out of this core's capability space (posted by
    /// [`CrossCore::ask_sweep`], which counts it).
    Sweep,
    /// Free every task here: the run is over.
    ShutDown,
}

/// A request that cannot be posted: its slot has no mailbox bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadSlot(pub usize);

impl Request {
    fn bits(self) -> Result<u64, BadSlot> {
        Ok(match self {
            Request::Restart(slot) if slot < TASK_SLOTS => 1 << slot,
            Request::Stop(slot) if slot < TASK_SLOTS => 1 << (TASK_SLOTS + slot),
            Request::Restart(slot) | Request::Stop(slot) => return Err(BadSlot(slot)),
            Request::Notify => NOTIFY,
            Request::Sweep => SWEEP,
            Request::ShutDown => SHUT_DOWN,
        })
    }
}

/// The requests one [`CrossCore::take`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "hand the count back with CrossCore::taken once the work is done"]
pub struct Taken {
    bits: u64,
    consumed: u64,
}

impl Taken {
    /// The slots to restart, lowest first.
    pub fn restarts(&self) -> impl Iterator<Item = usize> {
        let slots = self.bits & SLOTS;
        (0..TASK_SLOTS).filter(move |&i| slots & (1 << i) != 0)
    }

    /// The slots to stop, lowest first.
    pub fn stops(&self) -> impl Iterator<Item = usize> {
        let slots = (self.bits & STOPS) >> TASK_SLOTS;
        (0..TASK_SLOTS).filter(move |&i| slots & (1 << i) != 0)
    }

    pub fn sweep(&self) -> bool {
        self.bits & SWEEP != 0
    }

    pub fn notify(&self) -> bool {
        self.bits & NOTIFY != 0
    }

    pub fn shut_down(&self) -> bool {
        self.bits & SHUT_DOWN != 0
    }
}

/// What the protocol needs from the machine.
pub trait Cpu<A> {
    /// Interrupts `core` (never the caller's) so that it serves its
    /// mailbox soon (the wake SGI).
    fn wake(&self, core: usize);
    /// Ends every [`Cpu::wait`] under way or about to start on any core
    /// (`sev`: the event register latches it, so a waiter that checked
    /// before the signal and waits after it still returns).
    fn signal(&self);
    /// Waits a while for something to change: until `mailbox` (the
    /// caller's) may no longer hold `seen`, or a [`Cpu::signal`] since the
    /// caller last checked, or an interrupt. May return at any time. This
    /// must be a wait that both silicon and single-threaded emulation
    /// treat as waiting (`wfe` armed by an exclusive load of `mailbox`,
    /// or `yield`), not a spin.
    fn wait(&self, mailbox: &A, seen: u64);
}

/// Per-core words, a cache line each.
#[repr(align(64))]
struct PerCore<A> {
    mailbox: A,
    /// Requests posted to this core and not yet taken.
    requests: A,
    /// Sweeps asked of this core, and the count it had read when its last
    /// sweep began (so: sweeps done).
    sweeps_posted: A,
    sweeps_done: A,
}

/// The protocol's state for `N` cores.
pub struct CrossCore<A, const N: usize> {
    cores: [PerCore<A>; N],
    /// Requests posted anywhere and not yet taken.
    work: A,
    /// Moved by every post: lets core 0 see a post that raced its check.
    epoch: A,
    /// Bit per core that has a ready task (set by that core, or by a
    /// poster on its behalf before the request is taken).
    runnable: A,
    /// Cores that have loaded their tasks.
    started: A,
    shutdown_acks: A,
    /// [`Removal`]s between their first sweep of the global space and the
    /// end of their posts (see [`Removal::sweeping_global`]).
    global_sweeps: A,
}

const _: () = assert!(u64::BITS as usize >= 64);

impl<const N: usize> CrossCore<AtomicU64, N> {
    /// All zeros: no core started, nothing posted (a `static`).
    pub const fn new() -> Self {
        const { assert!(N <= 64, "runnable is a bit per core") };
        CrossCore {
            cores: [const {
                PerCore {
                    mailbox: AtomicU64::new(0),
                    requests: AtomicU64::new(0),
                    sweeps_posted: AtomicU64::new(0),
                    sweeps_done: AtomicU64::new(0),
                }
            }; N],
            work: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            runnable: AtomicU64::new(0),
            started: AtomicU64::new(0),
            shutdown_acks: AtomicU64::new(0),
            global_sweeps: AtomicU64::new(0),
        }
    }
}

impl<const N: usize> Default for CrossCore<AtomicU64, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Word, const N: usize> CrossCore<A, N> {
    /// All zeros, built at run time (any [`Word`]: the loom models).
    pub fn with_words() -> Self {
        assert!(N <= 64, "runnable is a bit per core");
        let z = || A::with(0);
        CrossCore {
            cores: core::array::from_fn(|_| PerCore {
                mailbox: z(),
                requests: z(),
                sweeps_posted: z(),
                sweeps_done: z(),
            }),
            work: z(),
            epoch: z(),
            runnable: z(),
            started: z(),
            shutdown_acks: z(),
            global_sweeps: z(),
        }
    }

    /// Posts `req` from core `me` to `core` and wakes it. In this order:
    ///
    /// 1. `work` (and `runnable` for a restart): a core that sees the bit
    ///    also sees the work it stands for.
    /// 2. `epoch`, after `work`: a post whose `work` [`CrossCore::quiescent`]
    ///    read too early moves `epoch` after that check's first read.
    /// 3. The mailbox bit, then the target's `requests` count: [`take`]
    ///    reads the count first, so it never consumes the count of a post
    ///    whose bit it has not taken (`work` would drop to 0 with the bit
    ///    still to do). It may take a bit whose count comes later; that
    ///    count stays in `work` until its next take, which the wake below
    ///    brings.
    ///
    /// The lifecycle loom model found both of the previous orders wrong
    /// (`epoch` before `work`; the count before the bit): core 0 ended a
    /// run with a stop still to do.
    ///
    /// [`take`]: CrossCore::take
    pub fn post(
        &self,
        me: usize,
        core: usize,
        req: Request,
        cpu: &impl Cpu<A>,
    ) -> Result<(), BadSlot> {
        let bits = req.bits()?;
        if let Request::Restart(_) = req {
            // The target has a task to run once it takes this: core 0 must
            // not find every core idle in between.
            self.runnable.fetch_or(1 << core);
        }
        self.work.fetch_add(1);
        self.epoch.fetch_add(1);
        self.cores[core].mailbox.fetch_or(bits);
        self.cores[core].requests.fetch_add(1);
        if core != me {
            cpu.wake(core);
        }
        cpu.signal();
        Ok(())
    }

    /// Whether core `me` has requests waiting: a mailbox bit, or the count
    /// of a request whose bit an earlier [`CrossCore::take`] took before
    /// the count arrived (see [`CrossCore::post`]); taking it again hands
    /// that count back, so `work` can reach 0.
    #[inline]
    pub fn pending(&self, me: usize) -> bool {
        self.cores[me].mailbox.load() != 0 || self.cores[me].requests.load() != 0
    }

    /// Core `me` takes every request waiting for it. Hand the result back
    /// to [`CrossCore::taken`] once the work is done and, if a task became
    /// ready, after [`CrossCore::mark_runnable`].
    pub fn take(&self, me: usize) -> Taken {
        // The count first: see `post`.
        let consumed = self.cores[me].requests.swap(0);
        let bits = self.cores[me].mailbox.swap(0);
        Taken { bits, consumed }
    }

    /// Core `me` finished the requests of `t`.
    pub fn taken(&self, me: usize, t: Taken, cpu: &impl Cpu<A>) {
        let left = self.work.fetch_sub(t.consumed) - t.consumed;
        if t.consumed != 0 && left == 0 && me != 0 {
            // Core 0 may be asleep having seen this request in flight (a
            // sweep or a notification sets no runnable bit): let it look
            // again.
            cpu.wake(0);
        }
    }

    /// `core` has a ready task.
    pub fn mark_runnable(&self, core: usize) {
        self.runnable.fetch_or(1 << core);
    }

    /// Core `me` has no ready task; whether it was marked as having one
    /// (then core 0 should look again, [`Cpu::wake`]).
    pub fn mark_idle(&self, me: usize) -> bool {
        self.runnable.fetch_and(!(1 << me)) & (1 << me) != 0
    }

    /// Core `me` has loaded its tasks (`ready`: one of them can run). It
    /// then waits for the others ([`CrossCore::all_started`]), which this
    /// signals: no core runs a task before every core has started, so no
    /// core's start-up (loading, its first pass of the idle loop, the wake
    /// it once sent core 0 here) runs beside another's tasks (issue 12:
    /// an idle core's start landed in a benchmark's timed span), and core 0
    /// cannot have found its tasks done before this core started.
    pub fn core_started(&self, me: usize, ready: bool, cpu: &impl Cpu<A>) {
        if ready {
            self.mark_runnable(me);
        }
        self.started.fetch_add(1);
        cpu.signal();
    }

    /// Whether all `n` cores have started ([`CrossCore::core_started`]).
    pub fn all_started(&self, n: usize) -> bool {
        self.started.load() as usize >= n
    }

    /// Every one of `n` cores started, none has a ready task and no request
    /// is in flight, stably (no post between the first and last read).
    pub fn quiescent(&self, n: usize) -> bool {
        if (self.started.load() as usize) < n {
            return false;
        }
        let e1 = self.epoch.load();
        let w = self.work.load();
        let r = self.runnable.load();
        let e2 = self.epoch.load();
        w == 0 && r == 0 && e1 == e2
    }

    /// This core freed its tasks at shutdown.
    pub fn shutdown_acked(&self, cpu: &impl Cpu<A>) {
        self.shutdown_acks.fetch_add(1);
        cpu.signal();
    }

    /// Cores that freed their tasks at shutdown.
    pub fn shutdown_acks(&self) -> usize {
        self.shutdown_acks.load() as usize
    }

    /// Core `me` asks `core` to sweep its space: counted first, so that
    /// [`CrossCore::settled`] waits for it from now on.
    pub fn ask_sweep(&self, me: usize, core: usize, cpu: &impl Cpu<A>) {
        self.cores[core].sweeps_posted.fetch_add(1);
        // A sweep request has no slot bit: it always posts.
        let _ = self.post(me, core, Request::Sweep, cpu);
    }

    /// Core `me` is about to sweep for the requests it took: every sweep
    /// asked of it until now is covered by this one.
    pub fn sweep_begin(&self, me: usize) -> SweepTicket {
        SweepTicket(self.cores[me].sweeps_posted.load())
    }

    /// Core `me` finished the sweep begun with `t` (and posted every sweep
    /// it caused: its [`Removal`] is finished).
    pub fn sweep_end(&self, me: usize, t: SweepTicket, cpu: &impl Cpu<A>) {
        self.cores[me].sweeps_done.store(t.0);
        cpu.signal();
    }

    /// Whether every sweep asked of cores `0..n` is done, and with it every
    /// sweep those sweeps asked for in turn (a capability passed on
    /// through further cores). A sweep posts the sweeps it causes before
    /// it counts itself done, so a chain still under way shows either as
    /// a sweep not yet done or as a posted count that moved while the done
    /// counts were read: the posted counts are read before and after, and
    /// must match. And first: no [`Removal`] is between sweeping the
    /// global space and posting the sweeps that caused (its posts would
    /// be missing from the counts).
    pub fn settled(&self, n: usize) -> bool {
        if self.global_sweeps.load() != 0 {
            return false;
        }
        let n = n.min(N);
        let before: [u64; N] = core::array::from_fn(|c| {
            if c < n {
                self.cores[c].sweeps_posted.load()
            } else {
                0
            }
        });
        (0..n).all(|c| self.cores[c].sweeps_done.load() >= before[c])
            && (0..n).all(|c| self.cores[c].sweeps_posted.load() == before[c])
    }

    /// Core `me` waits until `done()`, serving its own mailbox (`serve`)
    /// whenever it has requests, so that the cores it waits for may wait
    /// for it too. Between checks it waits with [`Cpu::wait`]. See the
    /// module doc for why the revoke wait ends; `done` may also give up
    /// (a deadline).
    pub fn wait_for(
        &self,
        me: usize,
        cpu: &impl Cpu<A>,
        mut done: impl FnMut() -> bool,
        mut serve: impl FnMut(),
    ) {
        loop {
            if self.pending(me) {
                serve();
            }
            if done() {
                return;
            }
            cpu.wait(&self.cores[me].mailbox, 0);
        }
    }
}

/// Proof that a sweep began: the count of sweeps it covers.
#[derive(Clone, Copy, Debug)]
#[must_use = "end the sweep with CrossCore::sweep_end"]
pub struct SweepTicket(u64);

/// One operation that removes capabilities (a delete, a revoke, a sweep),
/// from its first sweep to its last post. It decides whether the caller
/// must wait for other cores.
#[derive(Debug)]
#[must_use = "finish the removal: it may hold the global-sweep count"]
pub struct Removal {
    me: usize,
    swept_global: bool,
    asked: bool,
}

impl Removal {
    /// A removal on core `me`.
    pub fn new(me: usize) -> Removal {
        Removal {
            me,
            swept_global: false,
            asked: false,
        }
    }

    /// About to sweep the global space. Another core's concurrent sweep of
    /// it may already have removed the imports this removal came for, and
    /// not yet asked the cores they reach: such a removal is counted from
    /// its first global sweep to its last post, and [`CrossCore::settled`]
    /// waits for the count to be 0.
    pub fn sweeping_global<A: Word, const N: usize>(&mut self, x: &CrossCore<A, N>) {
        if !self.swept_global {
            self.swept_global = true;
            x.global_sweeps.fetch_add(1);
        }
    }

    /// Asks `core` to sweep (nothing for the removal's own core, which
    /// sweeps its space itself).
    pub fn ask<A: Word, const N: usize>(
        &mut self,
        x: &CrossCore<A, N>,
        core: usize,
        cpu: &impl Cpu<A>,
    ) {
        if core != self.me {
            x.ask_sweep(self.me, core, cpu);
            self.asked = true;
        }
    }

    /// The removal posted everything: whether its caller must wait until
    /// [`CrossCore::settled`] before it returns (it asked another core, or
    /// it swept the global space, where another core may have removed its
    /// imports first).
    pub fn finish<A: Word, const N: usize>(self, x: &CrossCore<A, N>, cpu: &impl Cpu<A>) -> bool {
        if self.swept_global {
            // After the posts: a waiter that sees 0 sees them. A waiter
            // may have seen it above 0: it waits for this signal.
            x.global_sweeps.fetch_sub(1);
            cpu.signal();
        }
        self.asked || self.swept_global
    }
}

/// Export generations and import-family sizes, by export index.
///
/// An import's `extra` is `generation << 32 | (index + 1)` (never 0: 0 is
/// "not an import"). Killing an export moves its generation on, so every
/// import naming the old one is dead at once, wherever it is; sweeps then
/// remove them. `live` counts the capabilities alive in each family, in
/// whatever space: at 0 the source space may reuse the entry.
pub struct ExportGens<A, const E: usize> {
    gen: [A; E],
    live: [A; E],
}

impl<const E: usize> ExportGens<AtomicU64, E> {
    pub const fn new() -> Self {
        ExportGens {
            gen: [const { AtomicU64::new(0) }; E],
            live: [const { AtomicU64::new(0) }; E],
        }
    }
}

impl<const E: usize> Default for ExportGens<AtomicU64, E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The export index an import's `extra` names (`None`: not an import, or
/// no such index).
pub fn export_index(extra: u64) -> Option<usize> {
    match (extra & 0xffff_ffff) as usize {
        0 => None,
        i => Some(i - 1),
    }
}

impl<A: Word, const E: usize> ExportGens<A, E> {
    /// All zeros, built at run time (any [`Word`]: the loom models).
    pub fn with_words() -> Self {
        ExportGens {
            gen: core::array::from_fn(|_| A::with(0)),
            live: core::array::from_fn(|_| A::with(0)),
        }
    }

    fn generation(&self, index: usize) -> u64 {
        self.gen[index].load() & 0xffff_ffff
    }

    /// The `extra` an import of export `index` carries.
    pub fn extra(&self, index: usize) -> u64 {
        self.generation(index) << 32 | (index as u64 + 1)
    }

    /// Export `index`'s first import is in place: its family has one
    /// member.
    pub fn born(&self, index: usize) {
        self.live[index].store(1);
    }

    /// `extra` names a killed export (or an index there is none of).
    pub fn is_dead(&self, extra: u64) -> bool {
        match export_index(extra) {
            None => false,
            Some(i) if i >= E => true,
            Some(i) => self.generation(i) != extra >> 32,
        }
    }

    /// Kills export `index`: every import of it is dead from now on.
    pub fn kill(&self, index: usize) {
        self.gen[index].fetch_add(1);
    }

    /// One more capability of the import family `extra` (0: not an import).
    pub fn grew(&self, extra: u64) {
        if let Some(i) = export_index(extra).filter(|_| !self.is_dead(extra)) {
            self.live[i].fetch_add(1);
        }
    }

    /// One capability of the import family `extra` fewer.
    pub fn shrank(&self, extra: u64) {
        if let Some(i) = export_index(extra).filter(|_| !self.is_dead(extra)) {
            self.live[i].fetch_sub(1);
        }
    }

    /// Export `index`'s family has no member left (the entry may be reused,
    /// after [`ExportGens::kill`]).
    pub fn gone(&self, index: usize) -> bool {
        self.live[index].load() == 0
    }
}
