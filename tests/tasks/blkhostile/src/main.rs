//! A hostile block client (client index = its core; images/blk-hostile.toml).
//! While well-behaved clients on other cores write, flush and read back
//! their sectors, it sends the server, as fast as the ring takes them:
//!
//! 1. [`REQUESTS`] seeded random requests, up to a ring's worth in flight
//!    at once: random opcodes, windows, lengths, sectors and reserved
//!    arguments, biased to the edges the server checks. Each answer is
//!    checked against the status this file decides on its own (the ring's
//!    refusals, then the block protocol's), and a read's length. Valid
//!    writes land only in this client's own sectors; a valid `Close` is
//!    sent as `Info` instead, so the session goes on.
//! 2. Rounds of random bytes in every word of its request slots (and now
//!    and then in its `hello`), then a new connection: the server answers
//!    garbage with `BAD_SEQUENCE` or disconnects the client, and must serve
//!    it again once it connects.
//! 3. A flood beyond its credit: disconnected, connected again, served.
//!
//! Then it closes, so the server can end.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use blk_api::client::{Blk, Error};
use blk_api::{pattern, status, Op, DATA_LEN, MAX_TRANSFER, REGION_OFFSET, RING_SLOTS, SECTOR};
use core::sync::atomic::{AtomicU64, Ordering};
use ring::{Request, Status};

ulib::entry!(main);

/// Random requests sent in phase 1.
const REQUESTS: u64 = 4_000;
/// Rounds of random bytes in phase 2.
const ROUNDS: u64 = 64;
/// The disk xtask makes: 1 MiB.
const DISK_SECTORS: u64 = 2048;
/// This client's own sectors (the good clients' are elsewhere).
const OWN: u64 = 320;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick(&mut self, xs: &[u64]) -> u64 {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// The status the server must answer `r` with, decided here: the ring's
/// checks (opcode, window inside the buffer), then the block protocol's
/// (reserved arguments, lengths, alignment, sectors), in that order.
fn expected(r: &Request) -> Status {
    let Ok(op) = Op::try_from(r.opcode) else {
        return Status::UNKNOWN_OPCODE;
    };
    let end = r.offset.checked_add(r.len as u64);
    if end.is_none_or(|e| e > DATA_LEN as u64) {
        return Status::OUT_OF_BOUNDS;
    }
    let [sector, a1, a2, a3] = r.args;
    if a1 | a2 | a3 != 0 {
        return status::BAD_ARGUMENT;
    }
    let len = r.len as u64;
    match op {
        Op::Read | Op::Write => {
            if len == 0 || !len.is_multiple_of(SECTOR as u64) || len > MAX_TRANSFER as u64 {
                status::BAD_LENGTH
            } else if !r.offset.is_multiple_of(8) {
                status::MISALIGNED
            } else if sector
                .checked_add(len / SECTOR as u64)
                .is_none_or(|e| e > DISK_SECTORS)
            {
                status::BAD_SECTOR
            } else {
                Status::OK
            }
        }
        _ if len != 0 => status::BAD_LENGTH,
        _ if sector != 0 => status::BAD_ARGUMENT,
        _ => Status::OK,
    }
}

/// A random request, biased to the edges of every check.
fn random_request(x: &mut Rng, tag: u64, me: usize) -> Request {
    let opcode = match x.below(10) {
        0 => x.next() as u32,
        1 => x.pick(&[0, 6, 7, 0xff, u32::MAX as u64]) as u32,
        _ => 1 + x.below(5) as u32,
    };
    let len = match x.below(6) {
        0 => 0,
        1 => x.next() as u32,
        2 => x.pick(&[1, 511, 513, MAX_TRANSFER as u64, MAX_TRANSFER as u64 + 512]) as u32,
        _ => (SECTOR as u64 * (1 + x.below(128))) as u32,
    };
    let offset = match x.below(6) {
        0 => x.next(),
        1 => x.pick(&[DATA_LEN as u64, DATA_LEN as u64 - 512, u64::MAX - 100, 4]),
        2 => x.below(DATA_LEN as u64),
        _ => 8 * x.below((DATA_LEN - MAX_TRANSFER) as u64 / 8),
    };
    let first = pattern::client_first_sector(me);
    let sector = match x.below(6) {
        0 => x.next(),
        1 => x.pick(&[DISK_SECTORS, DISK_SECTORS - 1, u64::MAX, 0]),
        2 => x.below(DISK_SECTORS),
        _ => first + x.below(OWN),
    };
    let junk = if x.below(8) == 0 { x.next() } else { 0 };
    let mut r = Request {
        opcode,
        len,
        tag,
        offset,
        args: [sector, junk, 0, 0],
    };
    if expected(&r) == Status::OK {
        let sectors = len as u64 / SECTOR as u64;
        let mine = sector >= first && sector + sectors <= first + OWN;
        if r.opcode == Op::Write as u32 && !mine {
            r.opcode = Op::Read as u32;
        }
        if r.opcode == Op::Close as u32 {
            r.opcode = Op::Info as u32;
        }
    }
    r
}

/// Counts and the first few failures.
struct Tally {
    me: usize,
    checked: u64,
    failed: u64,
}

impl Tally {
    fn fail(&mut self, what: core::fmt::Arguments) {
        self.failed += 1;
        if self.failed <= 10 {
            ulib::println!("blkhostile {}: FAIL {}", self.me, what);
        }
    }
}

/// Phase 1: batches of up to a ring's worth of random requests, each
/// answer checked.
fn requests(blk: &mut Blk, x: &mut Rng, t: &mut Tally) -> Result<(), Error> {
    let mut tag = 1000;
    let mut sent = 0;
    while sent < REQUESTS {
        let batch = 1 + x.below(RING_SLOTS as u64);
        let mut want = [(0u64, Status::OK, 0u32, 0u32); RING_SLOTS];
        for w in want.iter_mut().take(batch as usize) {
            tag += 1;
            let r = random_request(x, tag, t.me);
            blk.send_raw(&r)?;
            *w = (tag, expected(&r), r.len, r.opcode);
        }
        for _ in 0..batch {
            let resp = blk.receive()?;
            t.checked += 1;
            let Some(&(_, st, len, op)) = want.iter().find(|w| w.0 == resp.tag) else {
                t.fail(format_args!("an answer with tag {} nobody sent", resp.tag));
                continue;
            };
            if resp.status != st {
                t.fail(format_args!(
                    "request {} (opcode {}) answered {:#x}, want {:#x}",
                    resp.tag, op, resp.status.0, st.0
                ));
            } else if st == Status::OK && op == Op::Read as u32 && resp.len != len {
                t.fail(format_args!(
                    "read {} answered {} bytes of {}",
                    resp.tag, resp.len, len
                ));
            } else if st == Status::OK && op == Op::Info as u32 && resp.values[0] != DISK_SECTORS {
                t.fail(format_args!("info says {} sectors", resp.values[0]));
            }
        }
        sent += batch;
    }
    Ok(())
}

/// Word `w` of request slot `k` of this client's ring.
fn word(k: u64, w: u64) -> &'static AtomicU64 {
    let at = Blk::range_base().expect("connected")
        + REGION_OFFSET
        + (k % RING_SLOTS as u64) * 64
        + w * 8;
    // Safety: the ring pair lies in this client's range, linked read/write
    // for the task's life; its slots are only ever accessed as atomic words.
    unsafe { &*(at as *const AtomicU64) }
}

/// The `hello` word of this client's control lines.
fn hello() -> &'static AtomicU64 {
    // Safety: as `word`: `Ctrl::hello` is the atomic word at offset 64.
    unsafe { &*((Blk::range_base().expect("connected") + 64) as *const AtomicU64) }
}

fn sev() {
    // Safety: `sev` only signals an event.
    unsafe { core::arch::asm!("sev", options(nomem, nostack)) };
}

/// After an attack: connect again and be served (an `Info`).
fn served_again(blk: &mut Blk, t: &mut Tally, what: &str) -> Result<(), Error> {
    blk.connect()?;
    t.checked += 1;
    match blk.info() {
        Ok(i) if i.sectors == DISK_SECTORS => Ok(()),
        other => {
            t.fail(format_args!("not served after {}: {:?}", what, other));
            Ok(())
        }
    }
}

fn attack(blk: &mut Blk, x: &mut Rng, t: &mut Tally) -> Result<(), Error> {
    requests(blk, x, t)?;
    ulib::println!(
        "blkhostile {}: {} random requests answered as decided",
        t.me,
        REQUESTS
    );
    for round in 0..ROUNDS {
        for k in 0..RING_SLOTS as u64 {
            for w in 0..8 {
                word(k, w).store(x.next(), Ordering::Release);
            }
        }
        if round % 8 == 7 {
            hello().store(x.next(), Ordering::Release);
        }
        sev();
        served_again(blk, t, "random bytes")?;
    }
    ulib::println!(
        "blkhostile {}: {} rounds of random bytes, served after each",
        t.me,
        ROUNDS
    );
    // A flood: a ring's worth of reads not waited for, then one more
    // slot written beyond the credit.
    for k in 0..RING_SLOTS as u64 {
        let r = Request {
            opcode: Op::Read as u32,
            len: SECTOR as u32,
            tag: 1 + k,
            offset: 0,
            args: [0; 4],
        };
        blk.send_raw(&r)?;
    }
    let mut k = 0;
    while blk.is_connected() && k < 1_000_000 {
        word(RING_SLOTS as u64 + k, 7).store(x.next(), Ordering::Release);
        sev();
        k += 1;
    }
    served_again(blk, t, "a flood")?;
    ulib::println!("blkhostile {}: flooded, served again", t.me);
    blk.close()
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    // Safety: images/blk-hostile.toml links client range `core` in this
    // task only (and the server), and nothing else here makes a Blk for it.
    let mut blk = match unsafe { Blk::attach() } {
        Ok(b) => b,
        Err(e) => {
            ulib::println!("blkhostile {}: FAIL attach: {:?}", me, e);
            return 1;
        }
    };
    let mut x = Rng(0xb10c_0000 + me as u64);
    let mut t = Tally {
        me,
        checked: 0,
        failed: 0,
    };
    if let Err(e) = attack(&mut blk, &mut x, &mut t) {
        t.fail(format_args!("{:?}", e));
    }
    ulib::println!(
        "blkhostile {}: {} answers checked, {} wrong",
        me,
        t.checked,
        t.failed
    );
    (t.failed != 0) as i32
}
