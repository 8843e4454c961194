//! Answers that carry only their head (`Server::respond_heads_with`, read
//! with `Client::poll_head`): status, len and tag arrive; the slot's other
//! words keep what the ring itself wrote there before.

mod common;

use common::{request, Op, Shm};
use ring::{Client, Response, Server, Status};

const BUF: usize = 4096;

#[test]
fn heads_carry_status_len_and_tag_around_the_ring() {
    let shm = Shm::new(4);
    let (mut c, mut s): (Client<'_>, Server<'_, Op>) =
        (Client::new(shm.region()), Server::new(shm.region(), BUF));
    for round in 0..10u64 {
        let sent = c.send_batch(&(0..3).map(|i| request(round * 3 + i)).collect::<Vec<_>>());
        assert_eq!(sent, 3);
        let mut tags = Vec::new();
        s.drain(usize::MAX, |r| tags.push(r.unwrap().tag));
        // A full answer first, values and all: its words stay in the slot.
        if round % 2 == 0 {
            let full = Response {
                status: Status(7),
                len: 1,
                tag: tags[0],
                values: [1, 2, 3, 4, 5],
            };
            s.respond(&full).unwrap();
            assert_eq!(c.poll(), Ok(Some(full)));
            tags.remove(0);
        }
        let head = |i: usize| Response {
            status: Status::OK,
            len: i as u32,
            tag: tags[i],
            values: [9; 5],
        };
        assert_eq!(s.respond_heads_with(tags.len(), head), tags.len());
        assert_eq!(s.respond_heads_with(1, head), 0, "none left in flight");
        for (i, &tag) in tags.iter().enumerate() {
            let got = c.poll_head().unwrap().expect("published");
            let want = Response {
                status: Status::OK,
                len: i as u32,
                tag,
                values: [0; 5],
            };
            assert_eq!(got, want, "round {round}");
        }
        assert_eq!(c.poll_head(), Ok(None));
        assert_eq!(c.outstanding(), 0);
    }
}
