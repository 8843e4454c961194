//! Single-threaded checks of the protocol's bookkeeping (the interleavings
//! are loom's: `loom_tests.rs`).

extern crate std;

use super::*;

/// Counts what the protocol asks of the machine.
#[derive(Default)]
struct Log {
    wakes: core::cell::Cell<u64>,
    signals: core::cell::Cell<u32>,
}

impl Cpu<AtomicU64> for Log {
    fn wake(&self, core: usize) {
        self.wakes.set(self.wakes.get() | 1 << core);
    }
    fn signal(&self) {
        self.signals.set(self.signals.get() + 1);
    }
    fn wait(&self, _: &AtomicU64, _: u64) {}
}

#[test]
fn mailbox_bits_round_trip() {
    let x = CrossCore::<AtomicU64, 4>::new();
    let log = Log::default();
    x.post(0, 2, Request::Restart(0), &log).unwrap();
    x.post(0, 2, Request::Restart(TASK_SLOTS - 1), &log)
        .unwrap();
    x.post(0, 2, Request::Stop(3), &log).unwrap();
    x.post(0, 2, Request::Notify, &log).unwrap();
    x.post(0, 2, Request::ShutDown, &log).unwrap();
    assert_eq!(log.wakes.get(), 1 << 2);
    assert!(x.pending(2) && !x.pending(0));
    let t = x.take(2);
    assert_eq!(
        t.restarts().collect::<std::vec::Vec<_>>(),
        [0, TASK_SLOTS - 1]
    );
    assert_eq!(t.stops().collect::<std::vec::Vec<_>>(), [3]);
    assert!(t.notify() && t.shut_down() && !t.sweep());
    assert!(!x.pending(2));
    assert!(!x.quiescent(0), "requests in flight until taken");
    x.taken(2, t, &log);
    x.mark_idle(2);
    assert!(x.quiescent(0));
}

#[test]
fn a_slot_without_a_bit_is_refused() {
    let x = CrossCore::<AtomicU64, 2>::new();
    let log = Log::default();
    assert_eq!(
        x.post(0, 1, Request::Restart(TASK_SLOTS), &log),
        Err(BadSlot(TASK_SLOTS))
    );
    assert_eq!(
        x.post(0, 1, Request::Stop(TASK_SLOTS), &log),
        Err(BadSlot(TASK_SLOTS))
    );
    assert_eq!(
        x.post(0, 1, Request::Restart(usize::MAX), &log),
        Err(BadSlot(usize::MAX))
    );
    assert!(!x.pending(1));
    assert!(x.quiescent(0));
}

#[test]
fn settled_waits_for_asked_sweeps_and_global_sweepers() {
    let x = CrossCore::<AtomicU64, 2>::new();
    let log = Log::default();
    assert!(x.settled(2));
    let mut r = Removal::new(0);
    r.sweeping_global(&x);
    assert!(!x.settled(2), "a global sweep is between sweep and posts");
    r.ask(&x, 1, &log);
    r.ask(&x, 0, &log); // its own core: nothing to ask
    assert!(r.finish(&x, &log));
    assert!(!x.settled(2), "core 1 has not swept");
    let t = x.take(1);
    assert!(t.sweep());
    let ticket = x.sweep_begin(1);
    assert!(!x.settled(2));
    x.sweep_end(1, ticket, &log);
    x.taken(1, t, &log);
    assert!(x.settled(2));
    assert!(x.quiescent(0));
}

#[test]
fn a_removal_that_reached_nobody_need_not_wait() {
    let x = CrossCore::<AtomicU64, 2>::new();
    let log = Log::default();
    let mut r = Removal::new(1);
    r.ask(&x, 1, &log);
    assert!(!r.finish(&x, &log));
}

#[test]
fn export_generations() {
    let g = ExportGens::<AtomicU64, 2>::new();
    let extra = g.extra(1);
    g.born(1);
    assert_eq!(export_index(extra), Some(1));
    assert_eq!(export_index(0), None);
    assert!(!g.is_dead(extra) && !g.is_dead(0) && !g.gone(1));
    g.grew(extra);
    g.shrank(extra);
    g.shrank(extra);
    assert!(g.gone(1));
    g.kill(1);
    assert!(g.is_dead(extra));
    assert!(!g.is_dead(g.extra(1)));
    assert!(g.is_dead(3), "an index past the table is dead");
}

#[test]
fn wait_for_serves_the_mailbox_first() {
    let x = CrossCore::<AtomicU64, 2>::new();
    let log = Log::default();
    x.post(1, 0, Request::Notify, &log).unwrap();
    let served = core::cell::Cell::new(0);
    x.wait_for(
        0,
        &log,
        || served.get() > 0,
        || {
            let t = x.take(0);
            served.set(served.get() + 1);
            x.taken(0, t, &log);
        },
    );
    assert_eq!(served.get(), 1);
}
