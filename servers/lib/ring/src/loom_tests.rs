//! Loom models of the memory ordering: one client thread and one server
//! thread exchanging a few messages over the real `Client` and `Server`,
//! with every payload word checked, so loom proves (within its bounds) that
//! a consumer that sees a slot's sequence word also sees its payload, and
//! that a producer never overwrites a slot its consumer is still copying.
//! Two negative controls weaken one side to relaxed and must fail, which
//! shows the models can see the bug they are there to exclude.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p ring --release --lib loom`.
//! Preemptions are bounded to 3 unless `LOOM_MAX_PREEMPTIONS` is set.

use std::boxed::Box;
use std::vec::Vec;

use loom::sync::Arc;
use loom::thread;

use crate::slot::PAYLOAD_WORDS;
use crate::sync::Ordering;
use crate::{Client, Region, Request, Response, Server, Slot, Status};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    // Count the executions loom explores (shown with `--nocapture`).
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

/// A zeroed ring pair for one model run (leaked: loom threads need
/// `'static`, and a run's few slots are small).
fn region(slots: usize) -> Region<'static> {
    let all: Vec<Slot> = (0..2 * slots).map(|_| Slot::new()).collect();
    Region::from_slots(Box::leak(all.into_boxed_slice())).unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op;

impl TryFrom<u32> for Op {
    type Error = ();
    fn try_from(v: u32) -> Result<Self, ()> {
        if v == 7 {
            Ok(Op)
        } else {
            Err(())
        }
    }
}

/// Request `i`: every word differs from every other request's and from 0.
fn req(i: u64) -> Request {
    Request {
        opcode: 7,
        len: 0,
        tag: 100 + i,
        offset: 0,
        args: [3 * i + 1, 5 * i + 2, 7 * i + 3, 11 * i + 4],
    }
}

fn resp(tag: u64) -> Response {
    Response {
        status: Status::OK,
        len: tag as u32,
        tag,
        values: [tag + 1, tag + 2, tag + 3, tag + 4, tag + 5],
    }
}

/// The client (this thread) sends `msgs` requests, keeping as many
/// outstanding as the credit allows; the server (another thread) answers
/// each in order. Both check every word they receive. `heads`: the answers
/// are their heads alone (`respond_heads_with`, read with `poll_head`).
fn round_trips(slots: usize, msgs: u64, batch: bool, heads: bool) {
    model(move || {
        let region = region(slots);
        let server = thread::spawn(move || {
            let mut s: Server<'static, Op> = Server::new(region, 0);
            let mut served = 0;
            while served < msgs {
                let mut got = Vec::new();
                if batch {
                    s.drain(usize::MAX, |r| got.push(r.expect("valid request")));
                } else if let Some(inc) = s.poll().expect("valid request") {
                    got.push(inc);
                }
                if got.is_empty() {
                    thread::yield_now();
                    continue;
                }
                let mut answers = Vec::new();
                for inc in got {
                    let want = req(served);
                    assert_eq!(inc.tag, want.tag);
                    assert_eq!(inc.args, want.args);
                    answers.push(resp(inc.tag));
                    served += 1;
                }
                if heads {
                    let n = answers.len();
                    assert_eq!(s.respond_heads_with(n, |i| answers[i]), n);
                } else if batch {
                    assert_eq!(s.respond_batch(&answers), answers.len());
                } else {
                    for a in &answers {
                        s.respond(a).unwrap();
                    }
                }
            }
        });
        let mut c = Client::new(region);
        let (mut sent, mut received) = (0, 0);
        while received < msgs {
            if batch {
                let reqs: Vec<Request> = (sent..msgs).map(req).collect();
                sent += c.send_batch(&reqs) as u64;
            } else {
                while sent < msgs && c.send(&req(sent)).is_ok() {
                    sent += 1;
                }
            }
            let polled = if heads { c.poll_head() } else { c.poll() };
            match polled.expect("valid response") {
                Some(r) => {
                    let mut want = resp(req(received).tag);
                    if heads {
                        want.values = [0; 5];
                    }
                    assert_eq!(r, want);
                    received += 1;
                }
                None => thread::yield_now(),
            }
        }
        assert_eq!(c.outstanding(), 0);
        server.join().unwrap();
    });
}

/// One slot per ring, three round trips: every message reuses the slot the
/// previous one left, so this also checks that the client never overwrites
/// a request the server is still copying out.
#[test]
fn loom_one_slot_three_round_trips() {
    round_trips(1, 3, false, false);
}

/// Two slots, five messages: two in flight, wrapping around twice.
#[test]
fn loom_two_slots_wrap() {
    round_trips(2, 5, false, false);
}

/// Batched publication (payloads, one release fence, relaxed sequence
/// words) and batched draining, both ways.
#[test]
fn loom_batches() {
    round_trips(2, 4, true, false);
}

/// Batched answers that are their heads alone (the console's), read with
/// `Client::poll_head`: two slots, wrapping twice.
#[test]
fn loom_batched_heads() {
    round_trips(2, 4, true, true);
}

/// `Client::wait` with its spin-then-fallback loop.
#[test]
fn loom_wait() {
    model(|| {
        let region = region(1);
        let server = thread::spawn(move || {
            let mut s: Server<'static, Op> = Server::new(region, 0);
            loop {
                if let Some(inc) = s.poll().unwrap() {
                    s.respond(&resp(inc.tag)).unwrap();
                    return;
                }
                thread::yield_now();
            }
        });
        let mut c = Client::new(region);
        c.send(&req(0)).unwrap();
        let r = c.wait(2, |w| {
            let _ = w.changed();
            thread::yield_now();
        });
        assert_eq!(r, Ok(resp(req(0).tag)));
        server.join().unwrap();
    });
}

/// One producer and one consumer on a bare slot, with the given orderings
/// for the sequence word's store and load.
fn bare_slot(store: Ordering, load: Ordering) {
    model(move || {
        let slot = Arc::new(Slot::new());
        let producer = {
            let slot = slot.clone();
            thread::spawn(move || {
                slot.write_payload(&[42; PAYLOAD_WORDS]);
                slot.store_seq(1, store);
            })
        };
        if slot.seq_word().load(load) == 1 {
            assert_eq!(slot.read_payload(), [42; PAYLOAD_WORDS], "stale payload");
        }
        producer.join().unwrap();
    });
}

/// The crate's orderings (release store, acquire load) on a bare slot.
#[test]
fn loom_release_acquire_publishes_the_payload() {
    bare_slot(Ordering::Release, Ordering::Acquire);
}

/// Negative control: a relaxed sequence store lets the consumer see the
/// sequence word before the payload, and loom finds it.
#[test]
#[should_panic(expected = "stale payload")]
fn loom_control_relaxed_store_is_caught() {
    bare_slot(Ordering::Relaxed, Ordering::Acquire);
}

/// Negative control: so does a relaxed sequence load.
#[test]
#[should_panic(expected = "stale payload")]
fn loom_control_relaxed_load_is_caught() {
    bare_slot(Ordering::Release, Ordering::Relaxed);
}
