//! Property tests: the server's verdict on any request equals a reference
//! oracle, and any interleaving of client and server operations keeps the
//! protocol's counts exact.

mod common;

use common::{request, response, Op, Shm};
use proptest::prelude::*;
use ring::{BufRange, Client, Request, RequestError, Server, Status};

proptest! {
    #[test]
    fn verdict_matches_oracle(
        opcode in prop_oneof![0u32..6, any::<u32>()],
        offset in prop_oneof![0u64..5000, any::<u64>(), (u64::MAX - 5000)..=u64::MAX],
        len in prop_oneof![0u32..5000, any::<u32>()],
        tag in any::<u64>(),
        args in any::<[u64; 4]>(),
        buf_len in prop_oneof![0usize..5000, any::<usize>()],
    ) {
        let shm = Shm::new(2);
        let mut c = Client::new(shm.region());
        let mut s: Server<'_, Op> = Server::new(shm.region(), buf_len);
        c.send(&Request { opcode, len, tag, offset, args }).unwrap();
        let known = (1..=3).contains(&opcode);
        let inside = u128::from(offset) + u128::from(len) <= buf_len as u128;
        match s.poll() {
            Ok(Some(inc)) => {
                prop_assert!(known && inside);
                prop_assert_eq!(inc.opcode as u32, opcode);
                prop_assert_eq!((inc.tag, inc.args), (tag, args));
                prop_assert_eq!(inc.buf.offset() as u64, offset);
                prop_assert_eq!(inc.buf.len() as u64, u64::from(len));
                s.respond(&response(tag)).unwrap();
                prop_assert_eq!(c.poll().unwrap().unwrap().status, Status::OK);
            }
            Err(e @ RequestError::UnknownOpcode { .. }) => {
                prop_assert!(!known);
                prop_assert_eq!(e, RequestError::UnknownOpcode { tag, opcode });
                prop_assert_eq!(c.poll().unwrap().unwrap().status, Status::UNKNOWN_OPCODE);
            }
            Err(e @ RequestError::OutOfBounds { .. }) => {
                prop_assert!(known && !inside);
                prop_assert_eq!(e, RequestError::OutOfBounds { tag, offset, len });
                prop_assert_eq!(c.poll().unwrap().unwrap().status, Status::OUT_OF_BOUNDS);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert_eq!(c.credit(), 2);
    }

    #[test]
    fn buf_range_is_exact(offset in any::<u64>(), len in any::<u32>(), buf_len in 0usize..300,
                          small_offset in 0u64..300, small_len in 0u32..300) {
        let buf = vec![0u8; buf_len];
        for (o, l) in [(offset, len), (small_offset, small_len), (small_offset, len), (offset, small_len)] {
            let inside = u128::from(o) + u128::from(l) <= buf_len as u128;
            match BufRange::check(o, l, buf_len) {
                Some(r) => {
                    prop_assert!(inside);
                    let sl = r.slice(&buf).unwrap();
                    prop_assert_eq!(sl.len() as u64, u64::from(l));
                    let base = buf.as_ptr() as usize;
                    prop_assert_eq!(sl.as_ptr() as usize - base, o as usize);
                }
                None => prop_assert!(!inside),
            }
        }
    }

    /// Random interleavings of sends, batches, polls and responses on a
    /// small ring, against a model of the counts.
    #[test]
    fn interleavings_keep_counts(slots_log in 0u32..4, ops in prop::collection::vec(0u8..6, 0..400)) {
        let slots = 1usize << slots_log;
        let shm = Shm::new(slots);
        let mut c = Client::new(shm.region());
        let mut s: Server<'_, Op> = Server::new(shm.region(), 2048);
        let (mut sent, mut taken, mut answered, mut received) = (0u64, 0u64, 0u64, 0u64);
        let mut pending = Vec::new();
        for op in ops {
            match op {
                0 => match c.send(&request(sent)) {
                    Ok(()) => sent += 1,
                    Err(_) => prop_assert_eq!(sent - received, slots as u64),
                },
                1 => {
                    let batch: Vec<Request> = (sent..sent + 3).map(request).collect();
                    let n = c.send_batch(&batch) as u64;
                    prop_assert_eq!(n, 3.min(slots as u64 - (sent - received)));
                    sent += n;
                }
                2 => match s.poll().unwrap() {
                    Some(inc) => {
                        prop_assert_eq!(inc.tag, taken);
                        pending.push(inc.tag);
                        taken += 1;
                    }
                    None => prop_assert!(taken == sent || taken - answered == slots as u64),
                },
                3 => match pending.pop() {
                    Some(t) => {
                        s.respond(&response(t)).unwrap();
                        answered += 1;
                    }
                    None => prop_assert!(s.respond(&response(0)).is_err()),
                },
                4 => match c.poll().unwrap() {
                    Some(r) => {
                        prop_assert_eq!(r, response(r.tag));
                        received += 1;
                    }
                    None => prop_assert_eq!(received, answered),
                },
                _ => {
                    let n = s.drain(2, |r| {
                        pending.push(r.unwrap().tag);
                    }) as u64;
                    taken += n;
                }
            }
            prop_assert_eq!(c.outstanding() as u64, sent - received);
            prop_assert_eq!(s.in_flight() as u64, taken - answered);
            prop_assert!(sent - received <= slots as u64);
        }
    }
}
