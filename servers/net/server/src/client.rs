//! One client as the network server sees it is a `conn::server::Peer`
//! (its ring pair, control words, data buffer, counts); what is the
//! network service's own is the requests it holds for a client until they
//! can be answered (a receive until data arrives): [`Waiting`].

use net_api::{Checked, RING_SLOTS};

/// A network client.
pub type Client = conn::server::Peer<net_api::Op>;

/// A request the server holds until it can be answered.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    /// Arrival order, for answering in order.
    pub seq: u64,
    pub tag: u64,
    pub req: Checked,
}

/// One client's held requests (at most the ring's slots: the ring stops
/// giving requests while that many are unanswered).
pub struct Waiting {
    pub held: [Option<Held>; RING_SLOTS],
    next_seq: u64,
}

impl Waiting {
    pub const NONE: Waiting = Waiting {
        held: [None; RING_SLOTS],
        next_seq: 0,
    };

    /// Forgets every held request (a new connection, a disconnection).
    pub fn clear(&mut self) {
        self.held = [None; RING_SLOTS];
    }

    /// Holds a request until it can be answered. `false` if every place is
    /// taken (cannot happen: the ring gives at most its slots' worth of
    /// unanswered requests).
    pub fn hold(&mut self, tag: u64, req: Checked) -> bool {
        let Some(h) = self.held.iter_mut().find(|h| h.is_none()) else {
            return false;
        };
        *h = Some(Held {
            seq: self.next_seq,
            tag,
            req,
        });
        self.next_seq += 1;
        true
    }

    /// The held request that came first among those after `after` (by
    /// arrival): its place and the request.
    pub fn next_held(&self, after: Option<u64>) -> Option<(usize, Held)> {
        self.held
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|h| (i, h)))
            .filter(|(_, h)| after.is_none_or(|a| h.seq > a))
            .min_by_key(|(_, h)| h.seq)
    }
}
