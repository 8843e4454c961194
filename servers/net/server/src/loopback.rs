//! Frames the stack sends to itself (configuration 1): a client of this
//! server that connects to the server's own address (the in-guest load
//! generator, bench/tasks/webload, reaching the web workers) must be
//! answered by the same stack, without the frame ever reaching the card.
//! smoltcp has no loopback of its own on an Ethernet interface: to reach
//! 10.0.2.15 it asks ARP, then sends to the Ethernet address the answer
//! gave. So the device layer keeps these frames:
//!
//! - an ARP request for the server's own IPv4 address (the stack answers
//!   its own question, from its own Ethernet address), and
//! - every frame sent to the card's own Ethernet address
//!
//! are copied into one of [`SLOTS`] frame slots here and handed back to
//! the stack by the next `receive`, oldest first, instead of being given
//! to the card (which would put them on the wire, where nothing answers
//! the card's own address). A frame that finds every slot full is dropped
//! and counted (TCP sends it again). The slots are the server's own
//! memory; no client names them.

use crate::nic::MTU;

/// Frames waiting to be received again.
pub const SLOTS: usize = 8;

/// The frames, in this task's memory.
static mut FRAMES: [[u8; MTU]; SLOTS] = [[0; MTU]; SLOTS];

/// The loopback's queue (oldest first) and counts.
pub struct Loopback {
    mac: [u8; 6],
    ip: [u8; 4],
    frames: *mut [u8; MTU],
    len: [usize; SLOTS],
    head: usize,
    queued: usize,
    /// The slot last handed to the stack: not written until released.
    lent: Option<usize>,
    /// Frames looped back.
    pub looped: u64,
    /// Frames dropped: every slot was taken.
    pub dropped: u64,
}

impl Loopback {
    /// The loopback of the stack with Ethernet address `mac` and IPv4
    /// address `ip`.
    ///
    /// # Safety
    ///
    /// Called at most once in the task's life: the result is the only
    /// user of the frame slots.
    pub unsafe fn new(mac: [u8; 6], ip: [u8; 4]) -> Loopback {
        Loopback {
            mac,
            ip,
            frames: core::ptr::addr_of_mut!(FRAMES).cast(),
            len: [0; SLOTS],
            head: 0,
            queued: 0,
            lent: None,
            looped: 0,
            dropped: 0,
        }
    }

    /// Whether `frame` (an Ethernet frame the stack sends) is for the stack
    /// itself: sent to its own Ethernet address, or an ARP request for its
    /// own IPv4 address.
    pub fn wants(&self, frame: &[u8]) -> bool {
        if frame.get(0..6) == Some(&self.mac[..]) {
            return true;
        }
        // Ethertype ARP, operation 1 (request), target protocol address.
        frame.get(12..14) == Some(&[0x08, 0x06][..])
            && frame.get(20..22) == Some(&[0, 1][..])
            && frame.get(38..42) == Some(&self.ip[..])
    }

    /// Queues a copy of `frame` (at most [`MTU`] bytes); dropped and
    /// counted if every slot is taken.
    pub fn push(&mut self, frame: &[u8]) {
        let taken = self.queued + usize::from(self.lent.is_some());
        if taken >= SLOTS || frame.len() > MTU {
            self.dropped += 1;
            return;
        }
        let k = (self.head + self.queued) % SLOTS;
        // Safety: slot k < SLOTS of the static this Loopback alone uses
        // (`new`'s contract); it is neither queued nor lent (at most SLOTS
        // - 1 others are), so no slice of it is alive.
        let slot = unsafe { &mut *self.frames.add(k) };
        slot[..frame.len()].copy_from_slice(frame);
        self.len[k] = frame.len();
        self.queued += 1;
        self.looped += 1;
    }

    /// The oldest queued frame: its slot's address and length. The slot
    /// is not written again before [`Loopback::release`].
    pub fn next(&mut self) -> Option<(*const u8, usize)> {
        if self.queued == 0 {
            return None;
        }
        let k = self.head;
        self.head = (self.head + 1) % SLOTS;
        self.queued -= 1;
        self.lent = Some(k);
        // Safety: k < SLOTS: inside the static.
        Some((unsafe { self.frames.add(k) }.cast::<u8>(), self.len[k]))
    }

    /// Whether frames wait to be handed back to the stack.
    pub fn pending(&self) -> bool {
        self.queued > 0
    }

    /// The stack is done with the frame [`Loopback::next`] lent.
    pub fn release(&mut self) {
        self.lent = None;
    }
}
