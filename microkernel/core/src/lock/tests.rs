//! Host tests of [`FairLock`]'s counting and of the lock under real
//! threads (the loom models, `loom_tests.rs`, check the protocol).

extern crate std;

use super::{due, FairLock, Waiter, COUNT_MASK, HELD};
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::vec::Vec;

/// A host thread: waits by yielding, tells time by the host clock
/// (patience in microseconds).
struct Host;

impl Waiter<AtomicU64> for Host {
    type Instant = Instant;
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn waited_longer(&self, since: Instant, patience: u64) -> bool {
        since.elapsed() > Duration::from_micros(patience)
    }
    fn wait(&self, _word: &AtomicU64, _seen: u64) {
        std::thread::yield_now();
    }
}

/// A lock whose counts start at `count` (`state` free).
fn at(count: u64) -> FairLock<AtomicU64> {
    FairLock::with_words(AtomicU64::new(count), AtomicU64::new(count << 1), u64::MAX)
}

#[test]
fn due_counts_modulo() {
    let state = |served: u64| served << 1;
    assert!(due(state(3), 3));
    assert!(due(state(4), 3), "overtaken: due one release early");
    assert!(!due(state(2), 3));
    // Across the wrap of the 31-bit counts.
    assert!(due(state(0), COUNT_MASK));
    assert!(!due(state(COUNT_MASK), 0));
}

#[test]
fn uncontended_lock_takes_a_ticket_and_serves_it() {
    let lock = FairLock::new(u64::MAX);
    assert_eq!(lock.lock(&Host), 0);
    assert!(lock.is_held());
    assert!(!lock.try_lock(&Host));
    lock.unlock();
    assert!(lock.try_lock(&Host));
    lock.unlock();
    assert_eq!(lock.lock(&Host), 2);
    lock.unlock();
    assert_eq!(lock.next.load(SeqCst), 3);
    assert_eq!(lock.state.load(SeqCst), 3 << 1);
}

#[test]
fn wraps_its_counts() {
    let lock = at(COUNT_MASK);
    assert_eq!(lock.lock(&Host), COUNT_MASK);
    lock.unlock();
    assert_eq!(lock.state.load(SeqCst), 0);
    assert_eq!(lock.lock(&Host), 0);
    lock.unlock();
    assert_eq!(lock.state.load(SeqCst), 1 << 1);
}

#[test]
fn try_lock_refuses_while_someone_waits() {
    // Ticket 0 holds, ticket 1 waits: after the release the lock is free
    // but ticket 1 comes first.
    let lock = FairLock::with_words(AtomicU64::new(2), AtomicU64::new(HELD), u64::MAX);
    lock.unlock();
    assert!(!lock.is_held());
    assert!(!lock.try_lock(&Host), "ticket 1 is waiting");
}

/// Four threads, many rounds each, a plain counter behind the lock.
#[test]
fn threads_exclude_each_other() {
    for patience in [u64::MAX, 0, 50] {
        let lock = Arc::new((FairLock::new(patience), AtomicU64::new(0)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        l.0.lock(&Host);
                        // Not an atomic increment: the lock must exclude.
                        let v = l.1.load(SeqCst);
                        l.1.store(v + 1, SeqCst);
                        l.0.unlock();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(lock.1.load(SeqCst), 8000);
    }
}
