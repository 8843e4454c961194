//! Host test of [`SleepLock`] under real threads, and its loom models:
//! cores are threads running the lock's own code. Under every
//! interleaving loom explores the models check mutual exclusion, ticket
//! order, and that no wake-up is lost: a sleeping waiter is blocked on a
//! latched notification (the pending SGI) that only [`Sleeper::wake`]
//! gives, so a forgotten wake leaves it blocked for good, which loom
//! reports as a deadlock.
//!
//! Negative control (run by hand: loom aborts the process after it
//! reports the deadlock): a release that looks for sleepers before it
//! advances `served` misses a waiter that registered in between.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p kerncore --release --lib
//! loom_sleep` (`cargo xtask test` runs the loom models).

extern crate std;

use super::sleep::{SleepLock, Sleeper};

#[cfg(not(loom))]
mod host {
    use super::*;
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    use std::sync::Arc;
    use std::vec::Vec;

    /// A host thread as core `me`: sleeps by yielding until its latch is
    /// set (or a while passed: a sleep may end early).
    struct Host {
        me: usize,
        latch: Arc<[AtomicBool; 4]>,
    }

    impl Sleeper for Host {
        fn me(&self) -> usize {
            self.me
        }
        fn sleep(&self) {
            for _ in 0..1000 {
                if self.latch[self.me].swap(false, SeqCst) {
                    return;
                }
                std::thread::yield_now();
            }
        }
        fn wake(&self, core: usize) {
            self.latch[core].store(true, SeqCst);
        }
    }

    #[test]
    fn sleep_lock_excludes_under_threads() {
        let lock = Arc::new(SleepLock::<AtomicU64, 4>::new());
        let latch: Arc<[AtomicBool; 4]> = Arc::new([const { AtomicBool::new(false) }; 4]);
        let count = Arc::new(AtomicU64::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..4)
            .map(|me| {
                let (lock, latch, count, inside) =
                    (lock.clone(), latch.clone(), count.clone(), inside.clone());
                std::thread::spawn(move || {
                    let cpu = Host { me, latch };
                    for _ in 0..2000 {
                        lock.lock(&cpu);
                        assert!(!inside.swap(true, SeqCst), "two threads inside");
                        count.fetch_add(1, SeqCst);
                        inside.store(false, SeqCst);
                        lock.unlock(&cpu);
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(count.load(SeqCst), 8000);
        assert!(!lock.is_held());
    }
}

#[cfg(loom)]
mod models {
    use super::*;
    use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    use loom::sync::{Arc, Notify};
    use loom::thread;
    use std::vec::Vec;

    const CORES: usize = 3;

    /// The world of one execution: the lock, each core's latched wake,
    /// who is inside, how many have been inside.
    struct World {
        lock: SleepLock<AtomicU64, CORES>,
        wakes: Vec<Notify>,
        inside: AtomicBool,
        entries: AtomicU64,
        /// The negative control's broken release.
        broken: bool,
    }

    /// Core `me` of a world.
    struct Core<'a> {
        me: usize,
        world: &'a World,
    }

    impl Sleeper for Core<'_> {
        fn me(&self) -> usize {
            self.me
        }
        fn sleep(&self) {
            self.world.wakes[self.me].wait();
        }
        fn wake(&self, core: usize) {
            self.world.wakes[core].notify();
        }
    }

    /// A core that never wakes anyone (the negative control's release
    /// wakes by hand, in the wrong order).
    struct Mute;

    impl Sleeper for Mute {
        fn me(&self) -> usize {
            unreachable!()
        }
        fn sleep(&self) {
            unreachable!()
        }
        fn wake(&self, _core: usize) {}
    }

    impl World {
        fn new(broken: bool) -> Arc<Self> {
            Arc::new(World {
                lock: SleepLock::with_words(
                    AtomicU64::new(0),
                    AtomicU64::new(0),
                    AtomicU64::new(0),
                    core::array::from_fn(|_| AtomicU64::new(0)),
                ),
                wakes: (0..CORES).map(|_| Notify::new()).collect(),
                inside: AtomicBool::new(false),
                entries: AtomicU64::new(0),
                broken,
            })
        }

        /// One critical section: alone in it, entered in ticket order.
        fn enter(&self, me: usize) {
            let core = Core { me, world: self };
            let ticket = self.lock.lock(&core);
            assert!(!self.inside.swap(true, SeqCst), "two cores inside");
            let n = self.entries.fetch_add(1, SeqCst);
            assert_eq!(ticket, n, "entered out of ticket order");
            thread::yield_now();
            self.inside.store(false, SeqCst);
            if self.broken {
                // Wake every sleeper seen *before* the release: a waiter
                // registering after the look is never woken.
                let seen = self.lock.sleepers_for_control();
                self.lock.unlock(&Mute);
                for c in 0..CORES {
                    if seen & 1 << c != 0 {
                        self.wakes[c].notify();
                    }
                }
            } else {
                self.lock.unlock(&core);
            }
        }
    }

    /// `cores` cores each enter `rounds` times.
    fn run(cores: usize, rounds: usize, broken: bool) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(if cores > 2 { 2 } else { 3 });
        }
        builder.check(move || {
            let world = World::new(broken);
            let handles: Vec<_> = (1..cores)
                .map(|me| {
                    let world = world.clone();
                    thread::spawn(move || (0..rounds).for_each(|_| world.enter(me)))
                })
                .collect();
            (0..rounds).for_each(|_| world.enter(0));
            handles.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(world.entries.load(SeqCst), (cores * rounds) as u64);
            assert!(!world.lock.is_held());
        });
    }

    #[test]
    fn loom_sleep_lock_three_cores() {
        run(3, 1, false);
    }

    #[test]
    fn loom_sleep_lock_two_cores_three_times() {
        run(2, 3, false);
    }

    /// Negative control: the release looks for sleepers first; loom
    /// reports the waiter that is never woken ("deadlock"), then aborts
    /// the process while it unwinds, so `should_panic` cannot catch it:
    /// `RUSTFLAGS="--cfg loom" cargo test -p kerncore --release --lib
    /// loom_sleep_lock_negative -- --ignored`.
    #[test]
    #[ignore = "aborts the test process after loom reports the deadlock"]
    fn loom_sleep_lock_negative_look_first_hangs() {
        run(2, 2, true);
    }
}
