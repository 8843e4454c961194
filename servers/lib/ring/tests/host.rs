//! Single-threaded tests of the protocol: filling, wrap-around, batching,
//! credit and back-pressure, and every kind of hostile request.

mod common;

use common::{request, response, Op, Rng, Shm};
use ring::{
    BufRange, Client, Full, LayoutError, Region, Request, RequestError, Response, ResponseError,
    Server, Slot, Status,
};

const BUF: usize = 4096;

fn pair(shm: &Shm) -> (Client<'_>, Server<'_, Op>) {
    (Client::new(shm.region()), Server::new(shm.region(), BUF))
}

/// Serves every ready request with `response(tag)`, checking the payload.
fn serve_all(server: &mut Server<'_, Op>) -> usize {
    let mut n = 0;
    while let Some(inc) = server.poll().expect("honest request") {
        let want = request(inc.tag);
        assert_eq!(inc.opcode, Op::Echo);
        assert_eq!(inc.args, want.args);
        assert_eq!(inc.buf.offset() as u64, want.offset);
        assert_eq!(inc.buf.len() as u32, want.len);
        server.respond(&response(inc.tag)).unwrap();
        n += 1;
    }
    n
}

#[test]
fn layout_checks() {
    assert_eq!(core::mem::size_of::<Slot>(), 64);
    assert_eq!(core::mem::align_of::<Slot>(), 64);
    assert_eq!(Region::bytes_for(8), Some(1024));
    assert_eq!(Region::bytes_for(3), None);
    assert_eq!(Region::bytes_for(0), None);
    assert_eq!(Region::bytes_for(usize::MAX / 2 + 1), None);
    let shm = Shm::new(8);
    // Safety: `shm` is 1024 valid bytes, alive here, only accessed
    // atomically; the call fails before making any reference anyway.
    let small = unsafe { Region::from_raw(shm.base(), 1023, 8) };
    assert_eq!(small.unwrap_err(), LayoutError::TooSmall);
    // Safety: as above (512 bytes from base + 8 are inside the 1024).
    let mis = unsafe { Region::from_raw(shm.base().wrapping_add(8), 512, 2) };
    assert_eq!(mis.unwrap_err(), LayoutError::Misaligned);
    // Safety: as above.
    let odd = unsafe { Region::from_raw(shm.base(), 1024, 6) };
    assert_eq!(odd.unwrap_err(), LayoutError::BadSlotCount);
    let slots: Vec<Slot> = (0..6).map(|_| Slot::new()).collect();
    assert_eq!(
        Region::from_slots(&slots).unwrap_err(),
        LayoutError::BadSlotCount
    );
    assert_eq!(Region::from_slots(&slots[..4]).unwrap().slots(), 2);
    assert_eq!(
        Region::from_slots(&slots[..3]).unwrap_err(),
        LayoutError::BadSlotCount
    );
}

#[test]
fn requests_and_responses_land_in_their_slots() {
    let shm = Shm::new(4);
    let (mut c, mut s) = pair(&shm);
    c.send(&request(7)).unwrap();
    // Request 0 is in request slot 0, sequence word 1, nothing else written.
    assert_eq!(
        shm.req_word(0, 7)
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        shm.req_word(0, 1)
            .load(std::sync::atomic::Ordering::Relaxed),
        7
    );
    for i in 1..4 {
        for w in 0..8 {
            assert_eq!(
                shm.req_word(i, w)
                    .load(std::sync::atomic::Ordering::Relaxed),
                0
            );
        }
    }
    for i in 0..4 {
        for w in 0..8 {
            assert_eq!(
                shm.resp_word(i, w)
                    .load(std::sync::atomic::Ordering::Relaxed),
                0
            );
        }
    }
    assert_eq!(serve_all(&mut s), 1);
    assert_eq!(
        shm.resp_word(0, 7)
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(c.poll(), Ok(Some(response(7))));
    assert_eq!(c.poll(), Ok(None));
}

#[test]
fn fill_then_full_then_credit_returns() {
    let shm = Shm::new(8);
    let (mut c, mut s) = pair(&shm);
    assert_eq!(c.credit(), 8);
    for t in 0..8 {
        c.send(&request(t)).unwrap();
    }
    assert_eq!(c.send(&request(99)), Err(Full));
    assert_eq!(c.outstanding(), 8);
    assert_eq!(c.credit(), 0);
    assert_eq!(c.poll(), Ok(None));
    // The server takes all eight, then sees nothing more.
    let mut got = Vec::new();
    while let Some(i) = s.poll().unwrap() {
        got.push(i.tag);
    }
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    assert_eq!(s.in_flight(), 8);
    // Still no credit: consuming a request gives none back, a response does.
    assert_eq!(c.send(&request(99)), Err(Full));
    s.respond(&response(0)).unwrap();
    assert_eq!(c.poll(), Ok(Some(response(0))));
    assert_eq!(c.credit(), 1);
    c.send(&request(8)).unwrap();
    assert_eq!(c.send(&request(99)), Err(Full));
    // The server is at its bound (8 in flight): back-pressure, not flood.
    assert_eq!(s.in_flight(), 7);
    assert_eq!(s.poll().unwrap().unwrap().tag, 8);
    assert_eq!(s.in_flight(), 8);
    assert_eq!(s.poll(), Ok(None));
    for t in 1..=8 {
        s.respond(&response(t)).unwrap();
    }
    assert_eq!(s.respond(&response(0)), Err(ring::NothingInFlight));
    for t in 1..=8 {
        assert_eq!(c.poll(), Ok(Some(response(t))));
    }
    assert_eq!(c.poll(), Ok(None));
    assert_eq!(c.credit(), 8);
}

#[test]
fn wraps_around_many_times() {
    for slots in [1, 2, 4, 16] {
        let shm = Shm::new(slots);
        let (mut c, mut s) = pair(&shm);
        let mut rng = Rng::new(slots as u64);
        let (mut sent, mut received) = (0u64, 0u64);
        while received < 10_000 {
            let k = rng.below(slots as u64 + 1);
            for _ in 0..k {
                if c.send(&request(sent)).is_ok() {
                    sent += 1;
                }
            }
            serve_all(&mut s);
            while let Some(r) = c.poll().unwrap() {
                assert_eq!(r, response(received));
                received += 1;
            }
            assert_eq!(sent, received);
        }
    }
}

#[test]
fn batches() {
    let shm = Shm::new(8);
    let (mut c, mut s) = pair(&shm);
    let reqs: Vec<Request> = (0..12).map(request).collect();
    let mut next = 0;
    for round in 0..50 {
        // Publish as many as the credit allows in one batch.
        let sent = c.send_batch(&reqs[..(round % 12) + 1]);
        assert!(sent <= 8);
        // The server drains the batch, then answers it in one batch, in
        // reverse order (responses may come in any order).
        let mut incoming = Vec::new();
        let n = s.drain(usize::MAX, |r| incoming.push(r.unwrap()));
        assert_eq!(n, sent);
        for (i, inc) in incoming.iter().enumerate() {
            assert_eq!(inc.tag, i as u64);
        }
        let resps: Vec<Response> = incoming.iter().rev().map(|i| response(i.tag)).collect();
        assert_eq!(s.respond_batch(&resps), sent);
        assert_eq!(s.respond_batch(&resps), 0, "no more in flight");
        let mut got = Vec::new();
        assert_eq!(c.drain(3, |r| got.push(r)), Ok(sent.min(3)));
        assert_eq!(
            c.drain(usize::MAX, |r| got.push(r)),
            Ok(sent.saturating_sub(3))
        );
        assert_eq!(got, resps);
        next += sent;
    }
    assert!(next > 50);
    // A batch larger than the credit is cut to the credit.
    assert_eq!(c.send_batch(&reqs), 8);
    assert_eq!(c.send_batch(&reqs), 0);
    assert_eq!(s.drain(5, |_| ()), 5);
    assert_eq!(s.drain(5, |_| ()), 3);
}

#[test]
fn unknown_opcode_is_answered() {
    let shm = Shm::new(4);
    let (mut c, mut s) = pair(&shm);
    for op in [0, 4, 99, u32::MAX] {
        c.send(&Request {
            opcode: op,
            tag: 5,
            ..Request::default()
        })
        .unwrap();
        assert_eq!(
            s.poll(),
            Err(RequestError::UnknownOpcode { tag: 5, opcode: op })
        );
        assert_eq!(s.in_flight(), 0);
        let r = c.poll().unwrap().unwrap();
        assert_eq!(r.status, Status::UNKNOWN_OPCODE);
        assert_eq!((r.tag, r.values[0]), (5, u64::from(op)));
        assert_eq!(c.credit(), 4);
    }
}

#[test]
fn out_of_bounds_windows_are_answered() {
    let shm = Shm::new(4);
    let (mut c, mut s) = pair(&shm);
    let bad: [(u64, u32); 8] = [
        (BUF as u64, 1),
        (BUF as u64 + 1, 0),
        (4000, 200),
        (0, BUF as u32 + 1),
        (u64::MAX, 1),
        (u64::MAX - 5, 10),
        (u64::MAX, u32::MAX),
        (1 << 63, 0),
    ];
    for (i, &(offset, len)) in bad.iter().enumerate() {
        c.send(&Request {
            opcode: Op::Read as u32,
            tag: i as u64,
            offset,
            len,
            args: [0; 4],
        })
        .unwrap();
        assert_eq!(
            s.poll(),
            Err(RequestError::OutOfBounds {
                tag: i as u64,
                offset,
                len
            })
        );
        let r = c.poll().unwrap().unwrap();
        assert_eq!(r.status, Status::OUT_OF_BOUNDS);
        assert_eq!(
            (r.tag, r.values[0], r.values[1]),
            (i as u64, offset, u64::from(len))
        );
    }
    let good: [(u64, u32); 4] = [(0, 0), (0, BUF as u32), (BUF as u64, 0), (4095, 1)];
    let buf = vec![0u8; BUF];
    for &(offset, len) in &good {
        c.send(&Request {
            opcode: Op::Write as u32,
            tag: 1,
            offset,
            len,
            args: [0; 4],
        })
        .unwrap();
        let inc = s.poll().unwrap().unwrap();
        assert_eq!(inc.opcode, Op::Write);
        assert_eq!(inc.buf.slice(&buf).unwrap().len(), len as usize);
        // The same window on a shorter buffer is refused, never out of
        // bounds.
        if len > 0 {
            assert_eq!(
                inc.buf.slice(&buf[..(offset as usize + len as usize - 1)]),
                None
            );
        }
        s.respond(&response(1)).unwrap();
        c.poll().unwrap().unwrap();
    }
}

#[test]
fn buf_range_never_leaves_the_buffer() {
    assert_eq!(BufRange::check(u64::MAX, u32::MAX, usize::MAX), None);
    assert_eq!(BufRange::check(10, 0, 9), None);
    let r = BufRange::check(10, 0, 10).unwrap();
    assert_eq!(r.slice(&[0u8; 10]).map(<[u8]>::len), Some(0));
    let r = BufRange::check(2, 3, 5).unwrap();
    let mut v = [1u8, 2, 3, 4, 5];
    assert_eq!(r.slice(&v), Some(&[3u8, 4, 5][..]));
    r.slice_mut(&mut v).unwrap().fill(0);
    assert_eq!(v, [1, 2, 0, 0, 0]);
    assert_eq!(r.slice(&v[..4]), None);
    assert_eq!(r.slice_mut(&mut v[..4]), None);
    // The shared-buffer view copies byte-atomically within the window only.
    let shm = Shm::new(1);
    let sb = shm.as_buf();
    assert_eq!(sb.len(), 128);
    let w = BufRange::check(120, 8, sb.len()).unwrap();
    assert_eq!(sb.copy_in(w, &[9; 20]), Some(8));
    let mut out = [0u8; 4];
    assert_eq!(sb.copy_out(w, &mut out), Some(4));
    assert_eq!(out, [9; 4]);
    let outside = BufRange::check(120, 9, 129).unwrap();
    assert!(sb.get(outside).is_none());
    assert_eq!(sb.copy_out(outside, &mut out), None);
    assert_eq!(sb.copy_in(outside, &out), None);
}

#[test]
fn bad_sequence_words_are_answered() {
    use std::sync::atomic::Ordering::Relaxed;
    let shm = Shm::new(4);
    let (mut c, mut s) = pair(&shm);
    // The client's request `k` has its sequence word overwritten: anything
    // but the expected or the previous value is garbage, including a client
    // that lapped its ring (2 + 4 - 1 = 5 in round 1).
    for (round, found) in [2u64, 5, u64::MAX, 0x8000_0000_0000_0001]
        .into_iter()
        .enumerate()
    {
        let k = round as u64;
        c.send(&request(k)).unwrap();
        shm.req_word(round, 1).store(77, Relaxed);
        shm.req_word(round, 7).store(found, Relaxed);
        assert_eq!(
            s.poll(),
            Err(RequestError::BadSequence {
                tag: 77,
                found,
                expected: k + 1
            })
        );
        assert_eq!(s.in_flight(), 0);
        let r = c.poll().unwrap().unwrap_or_else(|| panic!("reply {round}"));
        assert_eq!(r.status, Status::BAD_SEQUENCE);
        assert_eq!((r.tag, r.values[0], r.values[1]), (77, found, k + 1));
        assert_eq!(c.credit(), 4);
    }
}

#[test]
fn flood_is_detected_at_the_in_flight_bound() {
    use std::sync::atomic::Ordering::Relaxed;
    let shm = Shm::new(2);
    let (mut c, mut s) = pair(&shm);
    c.send(&request(0)).unwrap();
    c.send(&request(1)).unwrap();
    assert!(s.poll().unwrap().is_some());
    assert!(s.poll().unwrap().is_some());
    assert_eq!(s.in_flight(), 2);
    assert_eq!(s.poll(), Ok(None));
    // A cheating client publishes request 2 (slot 0, seq 3) with no credit.
    shm.req_word(0, 0)
        .store(u64::from(Op::Echo as u32), Relaxed);
    shm.req_word(0, 1).store(2, Relaxed);
    shm.req_word(0, 7).store(3, Relaxed);
    assert_eq!(s.poll(), Err(RequestError::Flood));
    assert_eq!(s.poll(), Err(RequestError::Flood), "nothing consumed");
    assert_eq!(s.drain(10, |r| assert_eq!(r, Err(RequestError::Flood))), 1);
    // Garbage there is a flood too.
    shm.req_word(0, 7).store(12345, Relaxed);
    assert_eq!(s.poll(), Err(RequestError::Flood));
    shm.req_word(0, 7).store(3, Relaxed);
    // Once a response frees a slot, the request is taken normally.
    s.respond(&response(0)).unwrap();
    let inc = s.poll().unwrap().unwrap();
    assert_eq!(inc.tag, 2);
    assert_eq!(c.poll().unwrap(), Some(response(0)));
}

#[test]
fn client_rejects_hostile_responses() {
    use std::sync::atomic::Ordering::Relaxed;
    let shm = Shm::new(2);
    let (mut c, _s) = pair(&shm);
    // A response with nothing outstanding.
    shm.resp_word(0, 7).store(1, Relaxed);
    assert_eq!(c.poll(), Err(ResponseError::Unsolicited));
    assert_eq!(
        c.wait(10, |_| panic!("no wait")),
        Err(ResponseError::NothingOutstanding)
    );
    c.send(&request(0)).unwrap();
    assert_eq!(c.poll().unwrap().unwrap().tag, 0);
    shm.resp_word(1, 7).store(9, Relaxed);
    assert_eq!(
        c.poll(),
        Err(ResponseError::BadSequence {
            found: 9,
            expected: 2
        })
    );
}

#[test]
fn wait_spins_then_falls_back() {
    let shm = Shm::new(2);
    let (mut c, mut s) = pair(&shm);
    c.send(&request(3)).unwrap();
    let mut fallbacks = 0;
    let r = c.wait(5, |w| {
        fallbacks += 1;
        assert!(!w.changed());
        assert_eq!(w.stale(), 0);
        assert_eq!(w.addr(), shm.resp_word(0, 7).as_ptr().cast_const());
        serve_all(&mut s);
        assert!(w.changed());
    });
    assert_eq!(r, Ok(response(3)));
    assert_eq!(fallbacks, 1);
    // Server-side watch: slot 1 of the request ring, holding 0 until sent.
    let w = s.watch();
    assert_eq!(w.stale(), 0);
    c.send(&request(4)).unwrap();
    assert!(w.changed());
    // The generic helper.
    let mut polls = 0;
    let mut falls = 0;
    let v: Result<u32, ()> = ring::spin_then(
        3,
        || {
            polls += 1;
            Ok((polls == 7).then_some(polls))
        },
        || falls += 1,
    );
    assert_eq!((v, falls), (Ok(7), 2));
}

#[test]
fn clear_resets_a_region() {
    let shm = Shm::new(2);
    {
        let (mut c, mut s) = pair(&shm);
        c.send(&request(1)).unwrap();
        serve_all(&mut s);
    }
    shm.region().clear();
    let (mut c, mut s) = pair(&shm);
    assert_eq!(s.poll(), Ok(None));
    assert_eq!(c.poll(), Ok(None));
    c.send(&request(2)).unwrap();
    serve_all(&mut s);
    assert_eq!(c.poll(), Ok(Some(response(2))));
}

/// A client that writes random bytes into every byte of its request slots,
/// over and over, sometimes with the sequence word the server expects (so
/// the payload reaches validation) or the previous one. The server must
/// never panic, and every window it accepts must be inside the buffer.
#[test]
fn random_garbage_in_every_byte() {
    use std::sync::atomic::Ordering::Relaxed;
    for slots in [1usize, 2, 8] {
        let shm = Shm::new(slots);
        let data = Shm::with_len(BUF, 1);
        let buf = data.as_buf();
        let mut s: Server<'_, Op> = Server::new(shm.region(), buf.len());
        let mut rng = Rng::new(0xdead_beef ^ slots as u64);
        let mut consumed = 0u64;
        let (mut accepted, mut rejected, mut floods) = (0, 0, 0);
        for _ in 0..20_000 {
            for i in 0..slots {
                for b in 0..64 {
                    shm.req_byte(i, b).store(rng.next() as u8, Relaxed);
                }
            }
            // Bias opcodes and windows towards the interesting edges.
            let i = consumed as usize % slots;
            if rng.below(2) == 0 {
                let offset = rng.below(BUF as u64 + 2);
                let len = rng.below((BUF as u64 + 2).saturating_sub(offset) + 1);
                shm.req_word(i, 0)
                    .store(rng.below(5) | (len << 32), Relaxed);
                shm.req_word(i, 2).store(offset, Relaxed);
            }
            match rng.below(4) {
                0 | 1 => shm.req_word(i, 7).store(consumed + 1, Relaxed),
                2 if consumed >= slots as u64 => shm
                    .req_word(i, 7)
                    .store(consumed + 1 - slots as u64, Relaxed),
                _ => {}
            }
            for _ in 0..3 {
                match s.poll() {
                    Ok(None) => {}
                    Ok(Some(inc)) => {
                        consumed += 1;
                        accepted += 1;
                        let w = buf.get(inc.buf).expect("accepted window is inside");
                        assert_eq!(w.len(), inc.buf.len());
                        assert!(inc.buf.offset() + inc.buf.len() <= BUF);
                        if rng.below(2) == 0 {
                            s.respond(&Response::default()).unwrap();
                        }
                    }
                    Err(RequestError::Flood) => {
                        floods += 1;
                        s.respond(&Response::default()).unwrap();
                    }
                    Err(e) => {
                        assert!(e.reply().is_some());
                        consumed += 1;
                        rejected += 1;
                    }
                }
                assert!(s.in_flight() <= slots);
            }
        }
        assert!(accepted > 100, "{accepted}");
        assert!(rejected > 1000, "{rejected}");
        if slots > 1 {
            assert!(floods > 0);
        }
    }
}

/// The same for a client facing a server that scribbles on the response
/// ring: never a panic, and nothing consumed without a request outstanding.
#[test]
fn client_survives_garbage_responses() {
    use std::sync::atomic::Ordering::Relaxed;
    let shm = Shm::new(4);
    let mut c = Client::new(shm.region());
    let mut rng = Rng::new(7);
    let mut received = 0u64;
    for _ in 0..20_000 {
        for i in 0..4 {
            for b in 0..64 {
                shm.resp_byte(i, b).store(rng.next() as u8, Relaxed);
            }
        }
        if rng.below(2) == 0 {
            shm.resp_word(received as usize, 7)
                .store(received + 1, Relaxed);
        }
        let _ = c.send(&request(0));
        let before = c.outstanding();
        match c.poll() {
            Ok(Some(_)) => {
                received += 1;
                assert_eq!(c.outstanding(), before - 1);
            }
            Ok(None) | Err(_) => assert_eq!(c.outstanding(), before),
        }
        assert!(c.outstanding() <= 4);
    }
    assert!(received > 1000);
}
