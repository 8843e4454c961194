//! Host tests of [`FairLock`]'s counting and of the lock under real
//! threads (the loom models, `loom_tests.rs`, check the protocol).

extern crate std;

use super::{due, FairLock, Node, Waiter, COUNT_MASK, HELD};
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::vec::Vec;

/// A host thread: waits by yielding, tells time by the host clock
/// (patience in microseconds); numbered `me` (nodes of its own test) or
/// not at all.
struct Host {
    me: Option<usize>,
    nodes: Arc<[Node<AtomicU64>; 4]>,
}

impl Host {
    fn anonymous() -> Self {
        Host {
            me: None,
            nodes: Arc::new(Default::default()),
        }
    }
}

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
    fn me(&self) -> Option<usize> {
        self.me
    }
    fn node(&self, core: usize) -> &Node<AtomicU64> {
        &self.nodes[core]
    }
}

/// A lock whose counts start at `count` (`state` free).
fn at(count: u64) -> FairLock<AtomicU64> {
    FairLock::with_words(AtomicU64::new(count), AtomicU64::new(count << 32), u64::MAX)
}

#[test]
fn due_counts_modulo() {
    let state = |served: u64| served << 32;
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
    let host = Host::anonymous();
    assert_eq!(lock.lock(&host), 0);
    assert!(lock.is_held());
    assert!(!lock.try_lock(&host));
    lock.unlock(&host);
    assert!(lock.try_lock(&host));
    lock.unlock(&host);
    assert_eq!(lock.lock(&host), 2);
    lock.unlock(&host);
    assert_eq!(lock.next.load(SeqCst), 3);
    assert_eq!(lock.state.load(SeqCst), 3 << 32);
}

#[test]
fn wraps_its_counts() {
    let lock = at(COUNT_MASK);
    let host = Host::anonymous();
    assert_eq!(lock.lock(&host), COUNT_MASK);
    lock.unlock(&host);
    assert_eq!(lock.state.load(SeqCst), 0);
    assert_eq!(lock.lock(&host), 0);
    lock.unlock(&host);
    assert_eq!(lock.state.load(SeqCst), 1 << 32);
}

#[test]
fn try_lock_refuses_while_someone_waits() {
    // Ticket 0 holds, ticket 1 waits: after the release the lock is free
    // but ticket 1 comes first.
    let lock = FairLock::with_words(AtomicU64::new(2), AtomicU64::new(HELD), u64::MAX);
    let host = Host::anonymous();
    lock.unlock(&host);
    assert!(!lock.is_held());
    assert!(!lock.try_lock(&host), "ticket 1 is waiting");
}

#[test]
fn release_wakes_only_the_new_next_waiter() {
    // Ticket 0 holds; ticket 1, the next, waits on `state` (no bit);
    // cores 1 and 2 sleep on their nodes with tickets 3 and 2.
    let host = Host::anonymous();
    let lock = FairLock::with_words(
        AtomicU64::new(4),
        AtomicU64::new(HELD | 2 << 1 | 2 << 2),
        u64::MAX,
    );
    host.nodes[1].ticket.store(3, SeqCst);
    host.nodes[2].ticket.store(2, SeqCst);
    lock.unlock(&host);
    assert_eq!(host.nodes[1].wake.load(SeqCst), 0, "ticket 3 is two behind");
    assert_eq!(host.nodes[2].wake.load(SeqCst), 1, "ticket 2 is the next");
    assert_eq!(lock.state.load(SeqCst), 1 << 32 | 2 << 1 | 2 << 2);
}

/// Four threads, many rounds each, a plain counter behind the lock.
#[test]
fn threads_exclude_each_other() {
    for patience in [u64::MAX, 0, 50] {
        let lock = Arc::new((FairLock::new(patience), AtomicU64::new(0)));
        let nodes: Arc<[Node<AtomicU64>; 4]> = Arc::new(Default::default());
        let threads: Vec<_> = (0..4)
            .map(|me| {
                let l = lock.clone();
                // Thread 3 has no number: it waits on the lock word.
                let host = Host {
                    me: Some(me).filter(|&m| m < 3),
                    nodes: nodes.clone(),
                };
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        l.0.lock(&host);
                        // Not an atomic increment: the lock must exclude.
                        let v = l.1.load(SeqCst);
                        l.1.store(v + 1, SeqCst);
                        l.0.unlock(&host);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(lock.1.load(SeqCst), 8000);
    }
}
