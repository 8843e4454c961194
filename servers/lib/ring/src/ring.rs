//! One direction of a ring pair: the producer's and the consumer's private
//! state. Each lives in its own side's memory, on a cache line of its own;
//! neither is ever written into the shared region.

use crate::slot::{Slot, PAYLOAD_WORDS};
use crate::sync::{fence, Ordering};
use crate::wait::Watch;

/// Message `k` (counting from 0) goes into slot `k mod n` with sequence word
/// `k + 1`, so 0 means "never written".
#[inline]
fn seq_of(k: u64) -> u64 {
    k.wrapping_add(1)
}

/// The value slot `k mod n` holds before message `k` is published: the
/// sequence word of message `k - n`, or 0 on the first lap.
#[inline]
fn previous_seq(k: u64, n: u64) -> u64 {
    if k >= n {
        seq_of(k - n)
    } else {
        0
    }
}

/// What the consumer found in its next slot (`N`: how many of the
/// payload's first words it copied out).
pub(crate) enum Peek<const N: usize = PAYLOAD_WORDS> {
    /// The previous lap's sequence word: nothing new.
    Empty,
    /// The expected sequence word; the payload as copied out once after it.
    Ready([u64; N]),
    /// Neither: the slot is garbage.
    Garbage {
        found: u64,
        expected: u64,
        payload: [u64; N],
    },
}

/// The producer's private state: which message it publishes next.
#[repr(C, align(64))]
pub(crate) struct Producer<'a> {
    slots: &'a [Slot],
    next: u64,
}

impl<'a> Producer<'a> {
    pub(crate) fn new(slots: &'a [Slot]) -> Self {
        debug_assert!(slots.len().is_power_of_two());
        Self { slots, next: 0 }
    }

    /// Slots in the ring.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Messages published so far.
    #[inline]
    pub(crate) fn published(&self) -> u64 {
        self.next
    }

    #[inline]
    fn slot(&self, k: u64) -> &'a Slot {
        // `len` is a power of two, so the mask keeps the index in bounds.
        &self.slots[(k as usize) & (self.slots.len() - 1)]
    }

    /// Publishes one message: payload first, then the sequence word with a
    /// release store. The caller has checked the credit.
    #[inline]
    pub(crate) fn push(&mut self, words: &[u64; PAYLOAD_WORDS]) {
        let k = self.next;
        let slot = self.slot(k);
        slot.write_payload(words);
        slot.store_seq(seq_of(k), Ordering::Release);
        self.next = k.wrapping_add(1);
    }

    /// Publishes `count` messages with one barrier: every payload, then a
    /// release fence, then the sequence words (relaxed; the fence orders the
    /// payloads before each of them). The caller has checked the credit.
    /// Each message may be the first `N` payload words only (the others
    /// keep what they held).
    pub(crate) fn push_batch<const N: usize>(
        &mut self,
        count: usize,
        mut words: impl FnMut(usize) -> [u64; N],
    ) {
        if count == 0 {
            return;
        }
        let first = self.next;
        for i in 0..count {
            self.slot(first.wrapping_add(i as u64))
                .write_words(&words(i));
        }
        fence(Ordering::Release);
        for i in 0..count {
            let k = first.wrapping_add(i as u64);
            self.slot(k).store_seq(seq_of(k), Ordering::Relaxed);
        }
        self.next = first.wrapping_add(count as u64);
    }
}

/// The consumer's private state: which message it expects next.
#[repr(C, align(64))]
pub(crate) struct Consumer<'a> {
    slots: &'a [Slot],
    next: u64,
}

impl<'a> Consumer<'a> {
    pub(crate) fn new(slots: &'a [Slot]) -> Self {
        debug_assert!(slots.len().is_power_of_two());
        Self { slots, next: 0 }
    }

    /// Slots in the ring.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Messages consumed so far.
    #[inline]
    pub(crate) fn consumed(&self) -> u64 {
        self.next
    }

    #[inline]
    fn slot(&self) -> &'a Slot {
        // `len` is a power of two, so the mask keeps the index in bounds.
        &self.slots[(self.next as usize) & (self.slots.len() - 1)]
    }

    /// Looks at the next slot without consuming it: one acquire load of the
    /// sequence word and, unless it is the previous lap's, one copy of the
    /// payload. Writes nothing.
    #[inline]
    pub(crate) fn peek(&self) -> Peek {
        self.peek_words()
    }

    /// [`Consumer::peek`], copying out only the payload's first `N` words.
    #[inline]
    pub(crate) fn peek_words<const N: usize>(&self) -> Peek<N> {
        let slot = self.slot();
        let found = slot.load_seq();
        let expected = seq_of(self.next);
        if found == expected {
            Peek::Ready(slot.read_words())
        } else if found == previous_seq(self.next, self.slots.len() as u64) {
            Peek::Empty
        } else {
            Peek::Garbage {
                found,
                expected,
                payload: slot.read_words(),
            }
        }
    }

    /// Whether the next slot still holds the previous lap's sequence word
    /// (one acquire load, no payload copy).
    #[inline]
    pub(crate) fn untouched(&self) -> bool {
        self.slot().load_seq() == previous_seq(self.next, self.slots.len() as u64)
    }

    /// Consumes the message [`Consumer::peek`] saw.
    #[inline]
    pub(crate) fn advance(&mut self) {
        self.next = self.next.wrapping_add(1);
    }

    /// What to wait on for the next message: its slot's sequence word and
    /// the value it holds until then.
    pub(crate) fn watch(&self) -> Watch<'a> {
        Watch::new(
            self.slot().seq_word(),
            previous_seq(self.next, self.slots.len() as u64),
        )
    }
}
