//! Loom models of the connection protocol's two cross-core steps, over
//! the real [`Ctrl`] methods the client and the server call:
//!
//! - **the handshake**: a client connecting while its server's instance
//!   dies and a new one starts; once the client takes itself for
//!   connected at epoch *e*, the instance of epoch *e* has answered its
//!   `hello` (so that instance has cleared the rings before the client
//!   uses them). The control leaves out the second epoch read and fails.
//! - **the sleeping flag**: the client sets `sleeping`, polls once more
//!   and would block; the server publishes a response and looks at the
//!   flag. Either the client's poll sees the response or the server sees
//!   the flag, never neither (a client blocked for good). The control
//!   drops the two fences and fails.
//! - **the server's sleeping flag** (the same step the other way round):
//!   the server sets `server_sleeping`, makes one more pass over the
//!   client's ring and would block on its wake notification; the client
//!   publishes a request and looks at the flag. Either the server's pass
//!   sees the request or the client sees the flag and signals, never
//!   neither (a request left in the ring of a blocked server). The control
//!   drops the two fences and fails.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p conn --release --lib loom`.

use std::sync::Arc as StdArc;

use loom::sync::atomic::AtomicU64;
use loom::sync::Arc;
use loom::thread;

use crate::ctrl::Hello;
use crate::sync::Ordering::{Acquire, Relaxed, Release};
use crate::Ctrl;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    let runs = StdArc::new(std::sync::atomic::AtomicUsize::new(0));
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

/// Which instances (bit = epoch) answered each `hello` (1..=3).
struct Answers([AtomicU64; 4]);

/// One server instance of epoch `epoch`: answers new `hello`s for a few
/// turns, marking each it answers before it publishes the welcome.
fn instance(ctrl: &Ctrl, answers: &Answers, epoch: u64, turns: usize) {
    let mut answered = 0;
    for _ in 0..turns {
        if let Some(h) = ctrl.new_hello(answered) {
            if let Some(a) = answers.0.get(h as usize) {
                a.fetch_or(1 << epoch, Relaxed);
            }
            ctrl.welcome(h, 0);
            answered = h;
        }
        thread::yield_now();
    }
}

/// The client's connect: `Some(connection)` once connected, `None` if the
/// bounded tries ran out (no verdict then). `recheck`: the real protocol
/// (read the epoch again after the welcome); without it, the control.
fn connect(ctrl: &Ctrl, recheck: bool) -> Option<Hello> {
    for _ in 0..2 {
        let h = ctrl.send_hello();
        for _ in 0..3 {
            let answered = if recheck {
                ctrl.answered(h)
            } else {
                (ctrl.welcome.load(Acquire) == h.hello).then_some(true)
            };
            match answered {
                Some(true) => return Some(h),
                Some(false) => break,
                None => thread::yield_now(),
            }
        }
    }
    None
}

fn handshake(recheck: bool) {
    model(move || {
        let ctrl = Arc::new(Ctrl::fresh());
        let answers = Arc::new(Answers(core::array::from_fn(|_| AtomicU64::new(0))));
        // Instance 1 is running when the client starts.
        ctrl.epoch.store(1, Release);
        let server = {
            let (ctrl, answers) = (ctrl.clone(), answers.clone());
            thread::spawn(move || {
                // Instance 1 serves a little, then dies; instance 2 starts
                // (bumps the epoch) and serves.
                instance(&ctrl, &answers, 1, 1);
                ctrl.epoch.store(2, Release);
                instance(&ctrl, &answers, 2, 3);
            })
        };
        if let Some(h) = connect(&ctrl, recheck) {
            let by = answers.0[h.hello as usize].load(Relaxed);
            assert!(
                by & (1 << h.epoch) != 0,
                "connected at epoch {} but that instance never answered hello {}",
                h.epoch,
                h.hello
            );
        }
        server.join().unwrap();
    });
}

#[test]
fn loom_handshake_connects_to_the_instance_that_answered() {
    handshake(true);
}

#[test]
#[should_panic(expected = "never answered")]
fn loom_control_handshake_without_recheck_is_caught() {
    handshake(false);
}

/// The sleeping flag against a response: `fenced` is the real protocol.
fn sleeping(fenced: bool) {
    model(move || {
        let ctrl = Arc::new(Ctrl::fresh());
        // Stands for the response slot's sequence word.
        let response = Arc::new(AtomicU64::new(0));
        let server = {
            let (ctrl, response) = (ctrl.clone(), response.clone());
            thread::spawn(move || {
                response.store(1, Release);
                if fenced {
                    ctrl.take_sleeper()
                } else {
                    ctrl.sleeping.load(Relaxed) != 0
                }
            })
        };
        if fenced {
            ctrl.begin_sleep();
        } else {
            ctrl.sleeping.store(1, Relaxed);
        }
        let seen = response.load(Acquire) != 0;
        let signalled = server.join().unwrap();
        assert!(
            seen || signalled,
            "the client blocks and the server does not signal it"
        );
    });
}

#[test]
fn loom_sleeping_flag_or_response_is_seen() {
    sleeping(true);
}

#[test]
#[should_panic(expected = "does not signal")]
fn loom_control_sleeping_without_fences_is_caught() {
    sleeping(false);
}

/// The server's sleeping flag against a request: `fenced` is the real
/// protocol (`Ctrl::begin_server_sleep` / `Ctrl::server_sleeps`).
fn server_sleeping(fenced: bool) {
    model(move || {
        let ctrl = Arc::new(Ctrl::fresh());
        // Stands for the request slot's sequence word.
        let request = Arc::new(AtomicU64::new(0));
        let client = {
            let (ctrl, request) = (ctrl.clone(), request.clone());
            thread::spawn(move || {
                request.store(1, Release);
                if fenced {
                    ctrl.server_sleeps()
                } else {
                    ctrl.server_sleeping.load(Relaxed) != 0
                }
            })
        };
        if fenced {
            ctrl.begin_server_sleep();
        } else {
            ctrl.server_sleeping.store(1, Relaxed);
        }
        let seen = request.load(Acquire) != 0;
        let signalled = client.join().unwrap();
        assert!(
            seen || signalled,
            "the server blocks and the client does not signal it"
        );
    });
}

#[test]
fn loom_server_sleeping_flag_or_request_is_seen() {
    server_sleeping(true);
}

#[test]
#[should_panic(expected = "does not signal it")]
fn loom_control_server_sleeping_without_fences_is_caught() {
    server_sleeping(false);
}
