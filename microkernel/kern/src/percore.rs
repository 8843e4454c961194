//! Per-core kernel data. Each core finds its own block through TPIDR_EL1 and
//! writes only that block; blocks are cache-line aligned so cores never
//! share a line. Other cores may read a block (atomics make that sound).

use aarch64_cpu::registers::TPIDR_EL1;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use platform::MAX_CPUS;
use tock_registers::interfaces::{Readable, Writeable};

/// One core's kernel state.
#[repr(C, align(64))]
pub struct PerCore {
    /// Logical core number (index in the DTB's `/cpus`).
    pub id: AtomicUsize,
    pub mpidr: AtomicU64,
    /// Timer interrupts taken.
    pub ticks: AtomicU64,
    /// GICv3: virtual address of this core's redistributor frame.
    pub redistributor: AtomicUsize,
    /// GICv2: this core's CPU interface bit, the SGI target that reaches it.
    pub gic_target: AtomicU64,
    /// The core reported its timer working.
    pub timer_ok: AtomicBool,
    /// Frames in this core's own pool (mirrors the pool, for accounting).
    pub pool_frames: AtomicUsize,
    /// The task this core runs: its archive index + 1 (0: none, the idle
    /// loop), written at every switch, read by the time-limit report.
    pub running: AtomicUsize,
    /// The root share of the task this core runs: its id + 1 (0: none),
    /// written at every switch with `running` (only by this core); the
    /// `CapInfo` path reads it here instead of through the scheduler.
    pub root_share: AtomicU32,
    /// Each task slot's state, for the time-limit report (`task::report`;
    /// written only by this core, when the state changes).
    pub tasks: [AtomicU64; kerncore::bootimage::MAX_TASKS_PER_CORE],
    /// Events Corey promises private operations never cause, counted on
    /// this core (written only by it).
    pub events: Events,
}

/// Per-core counts of the events that cost cross-core traffic.
pub struct Events {
    /// Acquisitions of a lock that another core may take.
    pub shared_locks: AtomicU64,
    /// Broadcast (inner-shareable) TLB invalidations issued.
    pub broadcast_tlbi: AtomicU64,
    /// Inter-processor interrupts sent.
    pub ipis: AtomicU64,
    /// Batches of frames taken from the global pool.
    pub global_pool_takes: AtomicU64,
    /// Device interrupts taken and delivered to a task (`cap::interrupt`).
    pub interrupts: AtomicU64,
}

impl Events {
    const fn new() -> Self {
        Events {
            shared_locks: AtomicU64::new(0),
            broadcast_tlbi: AtomicU64::new(0),
            ipis: AtomicU64::new(0),
            global_pool_takes: AtomicU64::new(0),
            interrupts: AtomicU64::new(0),
        }
    }
}

/// Counts one event on this core (a plain load and store: only this core
/// writes its counters).
pub fn count(event: impl Fn(&Events) -> &AtomicU64) {
    if let Some(me) = try_this() {
        let c = event(&me.events);
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

impl PerCore {
    const fn new() -> Self {
        PerCore {
            id: AtomicUsize::new(0),
            mpidr: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            redistributor: AtomicUsize::new(0),
            gic_target: AtomicU64::new(0),
            timer_ok: AtomicBool::new(false),
            pool_frames: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            root_share: AtomicU32::new(0),
            tasks: [const { AtomicU64::new(0) }; kerncore::bootimage::MAX_TASKS_PER_CORE],
            events: Events::new(),
        }
    }
}

static CORES: [PerCore; MAX_CPUS] = [const { PerCore::new() }; MAX_CPUS];

/// Points this core's TPIDR_EL1 at block `id`. Called once per core, first.
pub fn install(id: usize, mpidr: u64) {
    let me = &CORES[id];
    me.id.store(id, Ordering::Relaxed);
    me.mpidr.store(mpidr, Ordering::Relaxed);
    // TPIDR_EL1 is reserved for this pointer; nothing else uses it.
    TPIDR_EL1.set(me as *const PerCore as u64);
}

/// This core's block, or `None` before [`install`] ran on it.
pub fn try_this() -> Option<&'static PerCore> {
    let p = TPIDR_EL1.get() as *const PerCore;
    // Every core zeroes TPIDR_EL1 first thing at entry (boot.s), and only
    // `install` sets it, to this core's block.
    // Safety: non-zero, it is the address of this core's element of `CORES`.
    unsafe { p.as_ref() }
}

pub fn this() -> &'static PerCore {
    try_this().expect("per-core data not installed")
}

/// The root share of the task this core runs (`PerCore::root_share`).
#[inline(always)]
pub fn caller_root() -> Option<kerncore::cap::ShareId> {
    let id = try_this()?.root_share.load(Ordering::Relaxed);
    id.checked_sub(1).map(kerncore::cap::ShareId)
}

/// This core's number ([`id`]) and the root share of the task it runs
/// ([`caller_root`]), with one read of TPIDR_EL1 (a capability call's
/// entry needs both), on a path that runs only after [`install`] ran on
/// this core: no test for a missing block.
///
/// # Safety
/// [`install`] ran on this core (true of a system call: a task runs only
/// on a core that installed its block first).
#[inline(always)]
pub unsafe fn installed_id_and_caller_root() -> (usize, Option<kerncore::cap::ShareId>) {
    let p = TPIDR_EL1.get() as *const PerCore;
    debug_assert!(!p.is_null(), "per-core data not installed");
    // Safety: the caller guarantees `install` ran, which set TPIDR_EL1 to
    // this core's element of `CORES` (nothing else writes it).
    let c = unsafe { &*p };
    let root = c.root_share.load(Ordering::Relaxed);
    let root = root.checked_sub(1).map(kerncore::cap::ShareId);
    (c.id.load(Ordering::Relaxed), root)
}

/// Core `id`'s block, for reading its counters.
pub fn get(id: usize) -> &'static PerCore {
    &CORES[id]
}

/// This core's logical number (0 before per-core data is installed).
pub fn id() -> usize {
    try_this().map_or(0, |c| c.id.load(Ordering::Relaxed))
}

/// A value per core, each reached only by its own core: no lock, no
/// sharing. Access masks interrupts so an interrupt handler on the same core
/// cannot observe it half-changed.
///
/// Each core's value is made by `init` on that core's first access, so the
/// storage is zero-initialised (.bss), not a copy of the initial value in
/// the kernel image for every core.
pub struct Local<T> {
    cells: [core::cell::UnsafeCell<core::mem::MaybeUninit<T>>; MAX_CPUS],
    ready: [core::cell::UnsafeCell<bool>; MAX_CPUS],
}

/// How a [`Local`] makes a core's value (a trait, not a stored function
/// pointer, so the `Local` itself stays all zeros).
pub trait Init {
    fn init() -> Self;
}

// Safety: element `i` is only ever accessed by core `i` (see `with`), with
// interrupts masked, so there is never more than one reference to it.
unsafe impl<T: Send> Sync for Local<T> {}

impl<T: Init> Local<T> {
    pub const fn new() -> Self {
        Local {
            cells: [const { core::cell::UnsafeCell::new(core::mem::MaybeUninit::zeroed()) };
                MAX_CPUS],
            ready: [const { core::cell::UnsafeCell::new(false) }; MAX_CPUS],
        }
    }

    /// Runs `f` on this core's value. `f` must not call `with` on the same
    /// `Local` again.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let daif = crate::arch::aarch64::irq_save();
        // Safety: masked just above, restored only after it returns.
        let r = unsafe { self.with_masked(|_, t| f(t)) };
        crate::arch::aarch64::irq_restore(daif);
        r
    }

    /// [`Local::with`] for code that runs with interrupts masked already
    /// (a system call's handler: taking the exception masked them), so it
    /// does not mask them again; `f` gets this core's number too. `f` must
    /// not call `with` on the same `Local` again.
    ///
    /// # Safety
    /// IRQ and FIQ are masked on this core from before the call until
    /// after it returns (nothing in `f` unmasks them).
    #[inline(always)]
    pub unsafe fn with_masked<R>(&self, f: impl FnOnce(usize, &mut T) -> R) -> R {
        let me = id();
        // Safety: this core's element, reached only by this core, and no
        // interrupt can come in between (the caller keeps them masked);
        // `f` does not re-enter (documented), so the reference is unique.
        f(me, unsafe { self.get_mut(me) })
    }
}

impl<T: Init> Local<T> {
    /// Core `me`'s value, made on first use, for a path that enters it
    /// only if it turns out to need it (a capability call enters the
    /// scheduler's only for an address space): [`Local::with_masked`]
    /// without the closure.
    ///
    /// # Safety
    /// `me` is this core's number, IRQ and FIQ stay masked on this core
    /// for as long as the result lives, and no other reference to this
    /// core's value of `self` exists meanwhile (no `with` on it).
    // As `get_mut`.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn get_masked(&self, me: usize) -> &mut T {
        // Safety: the caller's guarantees are `get_mut`'s.
        unsafe { self.get_mut(me) }
    }

    /// Core `me`'s value, already made: [`Local::get_masked`] without the
    /// test for a first use, for a path that runs only after this core
    /// entered `self` once (a system call's entry and `CORE_CAPS`: a task
    /// runs only once its root share was made there).
    ///
    /// # Safety
    /// [`Local::get_masked`]'s, and this core's value of `self` was made
    /// (a `with` or `get_masked` on it ran on this core before).
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn get_made(&self, me: usize) -> &mut T {
        // Safety: `me` is this core's number, below `MAX_CPUS` (`install`
        // indexed `CORES` with it); the value was written (the caller
        // guarantees it) and this is the only reference to it (the caller
        // guarantees that too, as for `get_masked`).
        unsafe {
            debug_assert!(
                *self.ready[me].get(),
                "a per-core value used before it was made"
            );
            (*self.cells.get_unchecked(me).get()).assume_init_mut()
        }
    }

    /// Core `me`'s value, made on first use.
    ///
    /// # Safety
    /// `me` is this core's number, interrupts are masked, and no other
    /// reference to this core's value of `self` exists while the result
    /// lives.
    // A `&mut` from `&self` is what an `UnsafeCell` is for; the caller's
    // guarantee above is what makes it unique.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    unsafe fn get_mut(&self, me: usize) -> &mut T {
        // Safety: the caller guarantees that this core's element is reached
        // only through the returned reference; the value is written before
        // it is first read, and `ready` says so.
        unsafe {
            let ready = &mut *self.ready[me].get();
            let cell = &mut *self.cells[me].get();
            if !*ready {
                init_cell(cell);
                *ready = true;
            }
            cell.assume_init_mut()
        }
    }
}

/// Makes a core's value, once. Out of line: a value can be kilobytes
/// (`T::init` builds it on the stack), and every `with` inlined into a
/// hot path would otherwise carry that stack frame and its probes.
#[cold]
#[inline(never)]
fn init_cell<T: Init>(cell: &mut core::mem::MaybeUninit<T>) {
    cell.write(T::init());
}
