//! Watching clients' ends: the kernel signals a task's exit signal (its
//! `on_exit` in the image) on a notification when the task ends. A server
//! granted that notification polls it off its fast path and learns which
//! clients ended without closing (bit `i` = client `i`, by the images'
//! convention).

use crate::cap::{cap_info, poll};
use crate::{CPtr, ObjectKind};

/// The notification the clients' ends are signalled on, and the ends seen
/// and not yet taken.
pub struct Ends {
    cap: Option<CPtr>,
    pending: u64,
}

impl Ends {
    /// The first notification among root slots `slots` (none: a server
    /// whose image gives its clients no exit signal never hears of ends).
    pub fn find(slots: core::ops::Range<u8>) -> Ends {
        let cap = slots
            .map(CPtr::root)
            .find(|&c| matches!(cap_info(c), Ok((ObjectKind::Notification, _))));
        Ends { cap, pending: 0 }
    }

    /// Takes what the kernel signalled since the last look (one system
    /// call; the caller keeps it off its fast path).
    pub fn poll(&mut self) {
        if let Some(c) = self.cap {
            self.pending |= poll(c).unwrap_or(0);
        }
    }

    /// Client `index` is connecting again: an end seen for it belongs to
    /// its earlier instance. The kernel signals a task's end before a
    /// supervisor can restart it, so after seeing the new instance's hello
    /// one more poll has that end, and it is discarded here, never taken
    /// for the new instance's.
    pub fn reconnecting(&mut self, index: usize) {
        self.poll();
        self.pending &= !(1 << index);
    }

    /// Whether any end was seen and not yet taken (one compare: the
    /// caller's loop checks this before looking at each client).
    pub fn any(&self) -> bool {
        self.pending != 0
    }

    /// Forgets every end not taken (bits of no client).
    pub fn clear(&mut self) {
        self.pending = 0;
    }

    /// Forgets the ends of every index outside `clients` (a bit mask of
    /// the clients there are).
    pub fn retain(&mut self, clients: u64) {
        self.pending &= clients;
    }

    /// Whether client `index` ended (and forgets it).
    pub fn take(&mut self, index: usize) -> bool {
        let bit = 1u64.checked_shl(index as u32).unwrap_or(0);
        let ended = self.pending & bit != 0;
        self.pending &= !bit;
        ended
    }
}
