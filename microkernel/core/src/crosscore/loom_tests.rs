//! Loom models of the revoke-wait protocol: cores are threads, and a small
//! capability world stands in for the kernel's spaces (cap/remove.rs),
//! doing what the kernel does in the same order through the same
//! [`CrossCore`], [`Removal`] and [`ExportGens`]. Each model checks, under
//! every interleaving loom explores, that a revoke returns only after
//! every core that held a capability derived from the revoked one has
//! dropped it.
//!
//! A negative control revokes without waiting and must fail, which shows
//! the models see the bug they exclude.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p kerncore --release --lib loom`
//! (`cargo xtask test` runs them). Preemptions are bounded to 3 unless
//! `LOOM_MAX_PREEMPTIONS` is set.

extern crate std;

use std::vec::Vec;

use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use loom::sync::{Arc, Mutex, Notify};
use loom::thread;

use super::{Cpu, CrossCore, ExportGens, Removal};

/// Export indices in a model (each export gets its own; none is reused).
const E: usize = 4;

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f)
}

/// A model with at most `preemptions` preemptions per execution (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise).
pub(super) fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    std::eprintln!(
        "loom: {} executions",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// The machine, as core `me` sees it. Each core has an event (a loom
/// `Notify`: one latched permit, like the event register `wfe` waits on):
/// a wake sets the target's, a signal sets every core's (`sev`), and a
/// wait blocks until its own is set. A wake or signal the protocol forgot
/// leaves a core blocked for good, which loom reports as a deadlock: the
/// models check that every wait ends, too.
struct Machine<'a> {
    events: &'a [Notify],
    me: usize,
}

impl Cpu<AtomicU64> for Machine<'_> {
    fn wake(&self, core: usize) {
        self.events[core].notify();
    }
    fn signal(&self) {
        for e in self.events {
            e.notify();
        }
    }
    fn wait(&self, _mailbox: &AtomicU64, _seen: u64) {
        self.events[self.me].wait();
    }
}

/// A capability: a name, an import id (0: an original) and the original
/// it derives from.
#[derive(Clone, Copy, Debug)]
struct Cap {
    name: u8,
    extra: u64,
    root: u8,
}

/// An export: the capability `src` of this space was copied into space
/// `dst` as the import family `index`.
#[derive(Clone, Copy, Debug)]
struct Export {
    index: usize,
    src: u8,
    dst: usize,
}

#[derive(Default, Debug)]
struct Space {
    caps: Vec<Cap>,
    exports: Vec<Export>,
}

/// `N` cores' spaces and the global one (index `N`).
struct World<const N: usize> {
    x: CrossCore<AtomicU64, N>,
    gens: ExportGens<AtomicU64, E>,
    spaces: Vec<Mutex<Space>>,
    next_export: AtomicU64,
    events: Vec<Notify>,
    stop: AtomicBool,
}

/// What a removal leaves to do (the kernel's `Marks`).
#[derive(Default)]
struct Marks {
    sweep_local: bool,
    sweep_global: bool,
    remote: u64,
}

impl<const N: usize> World<N> {
    const GLOBAL: usize = N;

    fn cpu(&self, me: usize) -> Machine<'_> {
        Machine {
            events: &self.events,
            me,
        }
    }

    fn new() -> Arc<Self> {
        Arc::new(World {
            x: CrossCore::with_words(),
            gens: ExportGens::with_words(),
            spaces: (0..=N).map(|_| Mutex::new(Space::default())).collect(),
            next_export: AtomicU64::new(0),
            events: (0..N).map(|_| Notify::new()).collect(),
            stop: AtomicBool::new(false),
        })
    }

    /// Puts original `name` into `space` (set-up, single-threaded).
    fn original(&self, space: usize, name: u8) {
        let cap = Cap {
            name,
            extra: 0,
            root: name,
        };
        self.spaces[space].lock().unwrap().caps.push(cap);
    }

    /// Copies `src` of space `from` into space `to` as `name` (a new import
    /// family, the kernel's `export`). Fails if `src` is gone; a dead
    /// import may still be copied (its family's sweep removes the copy's
    /// source and so kills the copy's export too). Both spaces are locked
    /// (the kernel holds the global lock; a core's own space is its own).
    fn copy(&self, from: usize, src: u8, to: usize, name: u8) -> bool {
        let (a, b) = (from.min(to), from.max(to));
        let mut first = self.spaces[a].lock().unwrap();
        let mut second = self.spaces[b].lock().unwrap();
        let (f, t) = if from == a {
            (&mut *first, &mut *second)
        } else {
            (&mut *second, &mut *first)
        };
        let Some(cap) = f.caps.iter().find(|c| c.name == src).copied() else {
            return false;
        };
        let index = self.next_export.fetch_add(1, SeqCst) as usize;
        f.exports.push(Export {
            index,
            src,
            dst: to,
        });
        let extra = self.gens.extra(index);
        self.gens.born(index);
        t.caps.push(Cap {
            name,
            extra,
            root: cap.root,
        });
        true
    }

    /// Kills every export from `src` of `space` (the kernel's `kill_from`).
    fn kill_from(&self, me: usize, space: &mut Space, src: u8, marks: &mut Marks) {
        let mut i = 0;
        while i < space.exports.len() {
            let e = space.exports[i];
            if e.src == src {
                space.exports.swap_remove(i);
                self.gens.kill(e.index);
                match e.dst {
                    d if d == Self::GLOBAL => marks.sweep_global = true,
                    d if d == me => marks.sweep_local = true,
                    d => marks.remote |= 1 << d,
                }
            } else {
                i += 1;
            }
        }
    }

    /// Removes every dead import from space `sid`, killing what was
    /// exported from them (the kernel's `sweep`).
    fn sweep(&self, me: usize, sid: usize, marks: &mut Marks) {
        let mut space = self.spaces[sid].lock().unwrap();
        let mut i = 0;
        while i < space.caps.len() {
            let c = space.caps[i];
            if self.gens.is_dead(c.extra) {
                space.caps.swap_remove(i);
                self.kill_from(me, &mut space, c.name, marks);
            } else {
                i += 1;
            }
        }
    }

    /// The kernel's `finish`: sweeps this core's space and the global one
    /// until nothing is left, asks the other cores, and says whether the
    /// caller must wait.
    fn finish(&self, me: usize, marks: &mut Marks) -> bool {
        let mut removal = Removal::new(me);
        while marks.sweep_local || marks.sweep_global {
            if marks.sweep_local {
                marks.sweep_local = false;
                self.sweep(me, me, marks);
            }
            if marks.sweep_global {
                marks.sweep_global = false;
                removal.sweeping_global(&self.x);
                self.sweep(me, Self::GLOBAL, marks);
                marks.sweep_local = true;
            }
        }
        for core in (0..N).filter(|c| marks.remote & (1 << c) != 0) {
            removal.ask(&self.x, core, &self.cpu(me));
        }
        removal.finish(&self.x, &self.cpu(me))
    }

    /// Core `me` serves its mailbox (the kernel's `process`).
    fn process(&self, me: usize) {
        let t = self.x.take(me);
        if t.sweep() {
            let ticket = self.x.sweep_begin(me);
            let mut marks = Marks::default();
            self.sweep(me, me, &mut marks);
            self.finish(me, &mut marks);
            self.x.sweep_end(me, ticket, &self.cpu(me));
        }
        self.x.taken(me, t, &self.cpu(me));
    }

    /// Core `me` revokes its original `name`: kills its exports, sweeps,
    /// and (`wait`) waits as the kernel's `after_cap_op` does.
    fn revoke(&self, me: usize, name: u8, wait: bool) {
        let mut marks = Marks::default();
        {
            let mut space = self.spaces[me].lock().unwrap();
            self.kill_from(me, &mut space, name, &mut marks);
        }
        let must_wait = self.finish(me, &mut marks);
        if wait && (must_wait || self.x.pending(me)) {
            let n = N;
            let cpu = self.cpu(me);
            self.x
                .wait_for(me, &cpu, || self.x.settled(n), || self.process(me));
        }
    }

    /// No space holds an import derived from original `root`.
    fn assert_gone(&self, root: u8) {
        for (sid, space) in self.spaces.iter().enumerate() {
            let space = space.lock().unwrap();
            let left: Vec<_> = space
                .caps
                .iter()
                .filter(|c| c.root == root && c.extra != 0)
                .collect();
            assert!(
                left.is_empty(),
                "revoke of {root} returned with {left:?} still in space {sid}"
            );
        }
    }

    /// Core `me` serves its mailbox until the model ends, waiting for its
    /// event in between (the kernel's idle loop).
    fn serve(&self, me: usize) {
        let cpu = self.cpu(me);
        self.x
            .wait_for(me, &cpu, || self.stop.load(SeqCst), || self.process(me));
    }

    fn start(&self, me: usize) {
        self.x.core_started(me, false, &self.cpu(me));
    }

    /// Ends core `core`'s [`World::serve`].
    fn stop(&self, core: usize) {
        self.stop.store(true, SeqCst);
        self.events[core].notify();
    }
}

fn spawn<const N: usize>(
    w: &Arc<World<N>>,
    f: impl FnOnce(&World<N>) + Send + 'static,
) -> thread::JoinHandle<()> {
    let w = w.clone();
    thread::spawn(move || f(&w))
}

/// Core 0's original A is copied into the global space and from there into
/// core 1's. Core 0 revokes A: its global sweep finds core 1's import.
fn through_global(wait: bool) {
    let w = World::<2>::new();
    w.original(0, b'A');
    assert!(w.copy(0, b'A', World::<2>::GLOBAL, b'G'));
    assert!(w.copy(World::<2>::GLOBAL, b'G', 1, b'I'));
    w.start(0);
    w.start(1);
    let server = spawn(&w, |w| w.serve(1));
    let revoker = spawn(&w, move |w| {
        w.revoke(0, b'A', wait);
        w.assert_gone(b'A');
    });
    revoker.join().unwrap();
    w.stop(1);
    server.join().unwrap();
}

#[test]
fn loom_revoke_through_global_waits_for_the_holder() {
    model(|| through_global(true));
}

/// The negative control: a revoke that returns without waiting is caught.
#[test]
#[should_panic(expected = "still in space 1")]
fn loom_early_return_revoke_is_caught() {
    model(|| through_global(false));
}

/// Cores 0 (the model's main thread) and 1 revoke A and B at once; both
/// were copied into the global space, and A from there on to core 2.
/// Core 1's global sweep may remove A's global import and post the sweep
/// core 2 needs while core 0's own global sweep finds nothing left: core
/// 0 must still wait for that post and that sweep.
#[test]
fn loom_concurrent_revokes() {
    // Three cores with two preemptions already explore hundreds of
    // thousands of executions; three preemptions take hours.
    model_bounded(2, || {
        let w = World::<3>::new();
        const G: usize = World::<3>::GLOBAL;
        w.original(0, b'A');
        w.original(1, b'B');
        assert!(w.copy(0, b'A', G, b'a'));
        assert!(w.copy(1, b'B', G, b'b'));
        assert!(w.copy(G, b'a', 2, b'x'));
        for c in 0..3 {
            w.start(c);
        }
        let server = spawn(&w, |w| w.serve(2));
        let r1 = spawn(&w, |w| {
            w.revoke(1, b'B', true);
            w.assert_gone(b'B');
        });
        w.revoke(0, b'A', true);
        w.assert_gone(b'A');
        r1.join().unwrap();
        w.stop(2);
        server.join().unwrap();
    });
}

/// Core 1 starts while core 0 revokes: at start it copies the global
/// import into its own space (an image grant), then serves. However the
/// copy and the revoke interleave, core 1 ends without the capability,
/// and core 0's revoke returns only once it has.
#[test]
fn loom_late_starting_core() {
    model(|| {
        let w = World::<2>::new();
        const G: usize = World::<2>::GLOBAL;
        w.original(0, b'A');
        assert!(w.copy(0, b'A', G, b'G'));
        w.start(0);
        let late = spawn(&w, |w| {
            w.copy(G, b'G', 1, b'I');
            w.start(1);
            w.serve(1);
        });
        let revoker = spawn(&w, |w| {
            w.revoke(0, b'A', true);
            w.assert_gone(b'A');
        });
        revoker.join().unwrap();
        w.stop(1);
        late.join().unwrap();
        w.assert_gone(b'A');
        // A core may have taken a request's bit before its count arrived
        // (`CrossCore::post`): the post's wake brings it back to take the
        // count, as the kernel's cores do on the wake SGI. Here the cores'
        // threads are done, so that next turn is taken for them.
        for core in 0..2 {
            while w.x.pending(core) {
                w.process(core);
            }
        }
        // Every request was taken: nothing in flight.
        assert!(w.x.quiescent(2));
    });
}
