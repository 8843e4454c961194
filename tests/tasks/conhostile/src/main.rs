//! A hostile console client (client index = its core). It checks that the
//! server answers garbage with errors and keeps serving: an unknown opcode,
//! buffer windows outside its buffer, a sequence word out of order, a flood
//! beyond its credit, and rounds of random bytes in every request slot.
//! Then [`RANDOM`] seeded random requests (opcodes, windows and lengths
//! biased to the edges of the server's checks), each answer checked
//! against the status decided here; the valid ones print a short line of
//! dots. Then, once the good clients are quiet (a notification in root slot 2),
//! it dies on purpose; the supervisor restarts it and the new instance
//! connects again: the server drops the dead instance's state.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use console_api::{Op, BUF_LEN, BUF_OFFSET, SLOTS};
use core::sync::atomic::{AtomicU64, Ordering};
use ring::{Request, Status};
ulib::entry!(main);

ulib::bind! {
    /// Signalled by the restarted instance once connected again (a good
    /// client waits for it before it finishes: see that client's `BACK`).
    static BACK: Slot = "back";
}

ulib::bind! {
    /// The good clients say they are quiet here (`as = "quiet"`).
    static QUIET: Slot = "quiet";
}
/// The good clients' cores (their bits in the `quiet` notification).
const GOOD: u64 = 0b11;

fn say(con: &mut Console, me: usize, what: core::fmt::Arguments) {
    let mut l = ulib::Line::new();
    let _ = core::fmt::write(&mut l, format_args!("conhostile {}: {}", me, what));
    if con.write_line_sync(l.as_str()).is_err() {
        ulib::println!(
            "conhostile {}: FAIL the server did not print: {}",
            me,
            l.as_str()
        );
    }
}

/// Word `w` of request slot `k` (or response slot, `responses`).
fn word(responses: bool, k: u64, w: usize) -> &'static AtomicU64 {
    let base = Console::region_base().expect("connected")
        + if responses { (SLOTS * 64) as u64 } else { 0 };
    let at = base + (k % SLOTS as u64) * 64 + w as u64 * 8;
    // Safety: the ring pair lies in this client's range, linked read/write
    // for the task's life; slots are words accessed only atomically.
    unsafe { &*(at as *const AtomicU64) }
}

/// Waits for response `k` (raw) and returns its status.
fn raw_response(k: u64) -> Option<u32> {
    for _ in 0..50_000_000u64 {
        if word(true, k, 7).load(Ordering::Acquire) == k + 1 {
            return Some(word(true, k, 0).load(Ordering::Relaxed) as u32);
        }
        ulib::wait::relax();
    }
    None
}

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f)
    };
    (t, f)
}

/// The counter's frequency (ticks per second).
fn f_of_now() -> u64 {
    now().1
}

fn sev() {
    ulib::wait::wake();
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("conhostile {}: FAIL connect: {:?}", me, e);
            return 1;
        }
    };
    if start.restarts > 0 {
        if let Some(back) = BACK.get() {
            let _ = ulib::cap::signal(back, 1);
        }
        say(
            &mut con,
            me,
            format_args!("restarted; connected again, the server dropped my old state"),
        );
        return match con.done() {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("conhostile {}: FAIL done: {:?}", me, e);
                1
            }
        };
    }
    let req = |opcode: u32, offset: u64, len: u32| Request {
        opcode,
        len,
        tag: 7,
        offset,
        args: [0; 4],
    };
    let s = con.raw_call(&req(77, 0, 0));
    say(
        &mut con,
        me,
        format_args!("unknown opcode refused: {:?}", s),
    );
    let a = con.raw_call(&req(Op::Write as u32, BUF_LEN as u64 - 10, 100));
    let b = con.raw_call(&req(Op::Write as u32, u64::MAX - 5, 10));
    let c = con.raw_call(&req(Op::Write as u32, 0, u32::MAX));
    let all_oob = [a, b, c].iter().all(|s| *s == Ok(Status::OUT_OF_BOUNDS));
    say(
        &mut con,
        me,
        format_args!("windows outside the buffer refused: {}", all_oob),
    );
    // A line carried in its slot (`Line`) that says it is 100 bytes long
    // (its window inside the buffer): the server prints its 32 bytes, the
    // escape byte made `?`, and reads nothing past the slot's arguments.
    let mut text = [0u8; 32];
    text.copy_from_slice(b"slot \x1b[2J line cut at 32 bytes:)");
    let mut line = req(Op::Line as u32, 0, 100);
    for (w, chunk) in line.args.iter_mut().zip(text.chunks_exact(8)) {
        *w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    }
    let s = con.raw_call(&line);
    say(
        &mut con,
        me,
        format_args!("a slot line over 32 bytes printed cut: {:?}", s),
    );
    // A sequence word out of order in the next slot.
    let k = con.sent();
    word(false, k, 0).store(Op::Write as u64, Ordering::Relaxed);
    word(false, k, 7).store(0xdead_beef, Ordering::Release);
    sev();
    let s = raw_response(k);
    let _ = con.hello();
    say(
        &mut con,
        me,
        format_args!(
            "bad sequence word refused: {}",
            s == Some(Status::BAD_SEQUENCE.0)
        ),
    );
    // A flood: every slot held by a read, then one request beyond credit.
    // The server must have taken every read before that request lands, or
    // the request overwrites an unread slot and is refused as a bad
    // sequence word instead. The client cannot see what the server took
    // (neither side writes back to a ring), so it waits and, if the server
    // answered the overwrite instead of disconnecting, connects again and
    // retries with a wait twice as long: the test does not depend on how
    // fast the emulated server core runs.
    let mut held = 0;
    let mut wait = f_of_now() / 50;
    for _ in 0..8 {
        held = 0;
        for _ in 0..SLOTS {
            held += con.read_async(8).is_ok() as usize;
        }
        let (t0, _) = now();
        while now().0 - t0 < wait {
            ulib::wait::relax();
        }
        let k = con.sent();
        word(false, k, 0).store(Op::Write as u64, Ordering::Relaxed);
        word(false, k, 7).store(k + 1, Ordering::Release);
        sev();
        // The server disconnects this client (withdraws its welcome).
        let (t0, f) = now();
        while con.is_connected() && now().0 - t0 < f {
            ulib::wait::relax();
        }
        if !con.is_connected() {
            break;
        }
        // Not taken in time: start afresh, wait longer.
        let _ = con.hello();
        wait *= 2;
    }
    let _ = con.hello();
    let what = format_args!(
        "served again after a flood ({} reads held) and a new connection",
        held
    );
    say(&mut con, me, what);
    // Random bytes in every word of every request slot, many times over.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..64 {
        for k in 0..SLOTS as u64 {
            for w in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word(false, k, w).store(x, Ordering::Release);
            }
        }
        sev();
    }
    let _ = con.hello();
    say(
        &mut con,
        me,
        format_args!("the server survived 64 rounds of random slots"),
    );
    let wrong = random_requests(&mut con, me, &mut x);
    if wrong == 0 {
        say(
            &mut con,
            me,
            format_args!("{} random requests answered as decided", RANDOM),
        );
    }
    // Die once every good client is quiet; the supervisor restarts us.
    let _ = ulib::cap::wait_all(QUIET.get().expect("quiet granted"), GOOD);
    ulib::fault_on_purpose();
    1
}

/// Random requests in [`random_requests`].
const RANDOM: u64 = 400;

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Sends [`RANDOM`] random requests one after another and checks each
/// status: an unknown opcode is `UNKNOWN_OPCODE`, a window outside the
/// buffer `OUT_OF_BOUNDS`, and a `Write` inside it `OK` (it prints the
/// window: dots), a `Line` too (it prints its random arguments, cut at 32
/// bytes). A valid `Read` (held until input comes) or `Done` would
/// change the session, so those are sent as `Write`s. Returns how many
/// answers were wrong (each said).
fn random_requests(con: &mut Console, me: usize, x: &mut u64) -> u64 {
    let buf = (Console::range_base().expect("connected") + BUF_OFFSET) as *mut u8;
    for i in 0..BUF_LEN {
        // Safety: the data buffer lies in this client's range, linked
        // read/write for the task's life; the server only reads it for a
        // request's window, and none is in flight now.
        unsafe { buf.add(i).write_volatile(b'.') };
    }
    let mut wrong = 0;
    for k in 0..RANDOM {
        let mut opcode = match next(x) % 4 {
            0 => next(x) as u32,
            1 => [0, 4, 77, u32::MAX][(next(x) % 4) as usize],
            _ => 1 + (next(x) % 4) as u32,
        };
        let len = match next(x) % 4 {
            0 => next(x) as u32,
            1 => [0, 256, 257, BUF_LEN as u32][(next(x) % 4) as usize],
            _ => 1 + (next(x) % 40) as u32,
        };
        let offset = match next(x) % 4 {
            0 => next(x),
            1 => [BUF_LEN as u64, BUF_LEN as u64 - 1, u64::MAX - 3][(next(x) % 3) as usize],
            _ => next(x) % BUF_LEN as u64,
        };
        let inside = offset
            .checked_add(len as u64)
            .is_some_and(|end| end <= BUF_LEN as u64);
        let want = match Op::try_from(opcode) {
            Err(()) => Status::UNKNOWN_OPCODE,
            Ok(_) if !inside => Status::OUT_OF_BOUNDS,
            Ok(Op::Line) => Status::OK,
            Ok(_) => {
                opcode = Op::Write as u32;
                Status::OK
            }
        };
        // A `Line` prints its arguments: random 7-bit bytes, control
        // bytes and DEL among them (printed as `?`).
        let ascii = 0x7f7f_7f7f_7f7f_7f7f;
        let r = Request {
            opcode,
            len,
            tag: 9000 + k,
            offset,
            args: [
                next(x) & ascii,
                next(x) & ascii,
                next(x) & ascii,
                next(x) & ascii,
            ],
        };
        let got = con.raw_call(&r);
        if got != Ok(want) {
            wrong += 1;
            ulib::println!(
                "conhostile {}: FAIL opcode {} offset {:#x} len {}: {:?}, want {:?}",
                me,
                opcode,
                offset,
                len,
                got,
                want
            );
        }
    }
    wrong
}
