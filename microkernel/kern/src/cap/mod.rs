//! Capabilities in the kernel: where shares live, how a system call names a
//! slot, and what happens when a capability goes.
//!
//! - Each core has its own capability space (a `kerncore::cap::CapSpace`):
//!   its tasks' root shares and the private shares they make. Only that
//!   core touches it, so lookup, copy, delete and revoke there take no lock
//!   another core takes. Shared shares live in one global space behind one
//!   lock (each acquisition counted).
//! - Derivation trees are per space. A copy into another space (a root
//!   share to a shared share, or back) starts a new family there, an
//!   *import*, whose capabilities all carry an export id in `extra`; the
//!   source space records the export against the source slot. When the
//!   source goes (deleted without a parent, or revoked, or removed by a
//!   revoke of an ancestor), the export is killed: its generation moves on,
//!   and the space holding the import removes every capability of that
//!   family (at once for this core's space and the global one, through the
//!   target core's mailbox and a wake SGI for another core's).
//! - Every object counts its capabilities in all spaces; the one that drops
//!   the count to zero destroys it.
//! - Mappings are recorded against the capability that made them (in the
//!   caller's root share), and undone when that capability goes.

pub(crate) mod entry;
mod image;
mod interrupt;
mod mapping;
use mapping::SlotSet;
mod memory;
mod naming;
mod notify;
pub mod object;
mod ops;
mod remove;
mod segment;
pub mod task;

pub use image::{
    grant_task, make_boot_objects, notification_name, release_boot_objects, task_ended,
    task_ending, task_never_runs, task_stopped,
};
pub use interrupt::{awaits_interrupt, interrupt_taken};
pub use mapping::Maps;
pub use notify::{forget_waiter, notification_wait_state, wake_notified};
pub use ops::{query, retire_root, setup_root, Spaces};
pub use remove::sweep_here;

use crate::percore::Local;
use core::sync::atomic::AtomicU64;
use kerncore::cap::{CapSpace, SlotRef};
use kerncore::crosscore::ExportGens;
use object::SpaceId;
use platform::MAX_CPUS;

/// Shares one space holds at once (the one definition xtask checks images
/// against).
const MAX_SHARES: usize = kerncore::bootimage::MAX_SPACE_SHARES;
/// Exports one space can have alive.
const EXPORTS: usize = 64;

type Space = CapSpace<'static, MAX_SHARES>;

/// An export: the capability in `src` was copied into space `dst`.
#[derive(Clone, Copy)]
struct Export {
    /// In use (a free entry is all zeros, so the tables are .bss).
    live: bool,
    src: SlotRef,
    dst: SpaceId,
}

const NO_EXPORT: Export = Export {
    live: false,
    src: SlotRef::new(kerncore::cap::ShareId(0), 0),
    dst: SpaceId::Core(0),
};

/// Exports of one space; entry `i` is export index `base + i`.
struct Exports {
    base: usize,
    table: [Export; EXPORTS],
    /// Live entries: with none (the common case), a removal scans nothing.
    count: usize,
    /// The source slots that have an export, kept exact: removing a
    /// capability that was never exported scans nothing either.
    srcs: SlotSet,
}

/// Export generations and import-family sizes, by export index (part of
/// the cross-core protocol, `kerncore::crosscore`): a capability whose
/// `extra` names an export index with another generation belongs to a
/// killed export; when a family's size drops to 0 the source space may
/// reuse the entry (nobody can copy from a family that has no member).
static GENS: ExportGens<AtomicU64, { (MAX_CPUS + 1) * EXPORTS }> = ExportGens::new();

/// One more capability of the import family `extra` (0: not an import).
fn family_grew(extra: u64) {
    GENS.grew(extra);
}

/// One capability of the import family `extra` fewer.
fn family_shrank(extra: u64) {
    GENS.shrank(extra);
}

/// `extra` names a killed export.
fn is_dead_import(extra: u64) -> bool {
    GENS.is_dead(extra)
}

impl Exports {
    const fn new(base: usize) -> Exports {
        Exports {
            base,
            table: [NO_EXPORT; EXPORTS],
            count: 0,
            srcs: SlotSet::new(),
        }
    }

    /// Records an export; its index. An entry whose import family has no
    /// member left is reused (its generation moves on first).
    fn add(&mut self, e: Export) -> Option<usize> {
        let base = self.base;
        let gone = |i: usize| GENS.gone(base + i);
        let i = self
            .table
            .iter()
            .enumerate()
            .position(|(i, e)| !e.live || gone(i))?;
        if self.table[i].live {
            GENS.kill(base + i);
        } else {
            self.count += 1;
        }
        self.table[i] = Export { live: true, ..e };
        self.srcs.insert(e.src);
        Some(base + i)
    }

    fn remove(&mut self, index: usize) {
        let e = &mut self.table[index - self.base];
        if e.live {
            self.count -= 1;
        }
        *e = NO_EXPORT;
    }

    /// Whether the capability in `src` has an export (exact: two tests,
    /// no scan).
    #[inline(always)]
    fn has_from(&self, src: SlotRef) -> bool {
        self.count != 0 && self.srcs.contains(src)
    }

    /// Kills every export from `src`, noting where imports must go.
    #[inline(always)]
    fn kill_from(&mut self, src: SlotRef, marks: &mut Marks) {
        if self.has_from(src) {
            self.kill_from_slow(src, marks);
        }
    }

    /// [`Exports::kill_from`] when there is something to kill (out of line:
    /// every removal asks, few find any).
    #[inline(never)]
    fn kill_from_slow(&mut self, src: SlotRef, marks: &mut Marks) {
        let mut left = SlotSet::new();
        for (i, e) in self.table.iter_mut().enumerate() {
            if e.live && e.src == src {
                let dst = e.dst;
                *e = NO_EXPORT;
                self.count -= 1;
                GENS.kill(self.base + i);
                marks.dead_in(dst);
            } else if e.live {
                left.insert(e.src);
            }
        }
        self.srcs = left;
    }

    /// Moves every export from `from` to `to` (its parent, when `from` is
    /// deleted).
    fn reparent(&mut self, from: SlotRef, to: SlotRef) {
        if !self.has_from(from) {
            return;
        }
        let mut left = SlotSet::new();
        for e in self.table.iter_mut().filter(|e| e.live) {
            if e.src == from {
                e.src = to;
            }
            left.insert(e.src);
        }
        self.srcs = left;
    }
}

/// Work a removal leaves for later: spaces to sweep for killed imports,
/// shares to destroy.
struct Marks {
    me: usize,
    sweep_local: bool,
    sweep_global: bool,
    /// Cores to send a sweep request.
    remote: u64,
    /// Shares whose last capability went, to destroy: a bit per share id
    /// of this core's space and of the global one. Those are the only
    /// spaces a core removes capabilities from (a private share's
    /// capabilities never leave its core), and each share is marked at
    /// most once (its object is released once), so any number of shares
    /// freed by one operation fits: no work list to overflow.
    local_shares: u32,
    global_shares: u32,
    /// Something above was marked since `new`: without it, there is
    /// nothing to finish (one test on every capability call's way out).
    marked: bool,
    /// The operation (a `CapRevoke`) was cut short at a preemption point.
    cut: bool,
}

const _: () = assert!(MAX_SHARES <= 32);

impl Marks {
    fn new(me: usize) -> Marks {
        Marks {
            me,
            sweep_local: false,
            sweep_global: false,
            remote: 0,
            local_shares: 0,
            global_shares: 0,
            marked: false,
            cut: false,
        }
    }

    /// Share `id` of `space` is to be destroyed.
    fn share_freed(&mut self, space: SpaceId, id: kerncore::cap::ShareId) {
        let bit = 1u32 << (id.0 as usize % MAX_SHARES);
        self.marked = true;
        match space {
            SpaceId::Global => self.global_shares |= bit,
            SpaceId::Core(c) if c == self.me => self.local_shares |= bit,
            SpaceId::Core(c) => {
                // Unreachable: another core's private share has no
                // capability here to release.
                crate::kprintln!("capabilities: core {}'s share freed on core {}", c, self.me)
            }
        }
    }

    /// A share to destroy, lowest id first (this core's space first).
    fn next_share(&mut self) -> Option<(SpaceId, kerncore::cap::ShareId)> {
        let take = |set: &mut u32| {
            let id = set.trailing_zeros();
            *set &= !(1 << id);
            kerncore::cap::ShareId(id)
        };
        if self.local_shares != 0 {
            Some((SpaceId::Core(self.me), take(&mut self.local_shares)))
        } else if self.global_shares != 0 {
            Some((SpaceId::Global, take(&mut self.global_shares)))
        } else {
            None
        }
    }

    fn dead_in(&mut self, dst: SpaceId) {
        self.marked = true;
        match dst {
            SpaceId::Global => self.sweep_global = true,
            SpaceId::Core(c) if c == self.me => self.sweep_local = true,
            SpaceId::Core(c) => self.remote |= 1 << c,
        }
    }

    fn busy(&self) -> bool {
        self.sweep_local || self.sweep_global || self.local_shares | self.global_shares != 0
    }
}

/// A core's capability state: reached only by that core.
pub struct CoreCaps {
    /// This core's number (read here, not from the per-core block, on the
    /// system-call path).
    me: usize,
    space: Space,
    exports: Exports,
    maps: Maps,
    /// Its tasks' cut-short `SegmentCreate`s.
    creating: segment::Creating,
}

pub(crate) static CORE_CAPS: Local<CoreCaps> = Local::new();

impl crate::percore::Init for CoreCaps {
    fn init() -> CoreCaps {
        CoreCaps {
            me: crate::percore::id(),
            space: Space::new(),
            exports: Exports::new(crate::percore::id() * EXPORTS),
            maps: Maps::new(),
            creating: segment::Creating::new(),
        }
    }
}

/// The shared shares and their exports: one lock.
struct GlobalCaps {
    space: Space,
    exports: Exports,
}

static GLOBAL: crate::sync::Mutex<GlobalCaps> = crate::sync::Mutex::new(GlobalCaps {
    space: Space::new(),
    exports: Exports::new(MAX_CPUS * EXPORTS),
});

fn global() -> crate::sync::MutexGuard<'static, GlobalCaps> {
    crate::percore::count(|e| &e.shared_locks);
    GLOBAL.lock()
}
