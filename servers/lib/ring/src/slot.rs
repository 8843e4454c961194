//! The 64-byte slot and the two messages that travel in it.

use crate::sync::{AtomicU64, Ordering};

/// Payload words in a slot: every word but the last, which is the sequence
/// word.
pub const PAYLOAD_WORDS: usize = 7;

/// Words of a response's head: `status` and `len`, then `tag` (the words
/// [`crate::Server::respond_heads_with`] writes and
/// [`crate::Client::poll_head`] reads).
pub const HEAD_WORDS: usize = 2;

/// Bytes in one slot: one cache line on every core this kernel runs on.
pub const SLOT_BYTES: usize = 64;

/// One slot of a ring: seven payload words and the sequence word, on one
/// 64-byte cache line.
///
/// | bytes  | word | request              | response             |
/// |--------|------|----------------------|----------------------|
/// | 0..4   | 0    | `opcode: u32`        | `status: u32`        |
/// | 4..8   | 0    | `len: u32`           | `len: u32`           |
/// | 8..16  | 1    | `tag: u64`           | `tag: u64`           |
/// | 16..24 | 2    | `offset: u64`        | `values[0]: u64`     |
/// | 24..56 | 3..7 | `args: [u64; 4]`     | `values[1..5]: u64`  |
/// | 56..64 | 7    | `seq: u64`           | `seq: u64`           |
///
/// (Byte offsets as on the little-endian targets this runs on; word 0 holds
/// the first `u32` in its low half.) The producer writes the payload words
/// with relaxed stores and then `seq` with a release store; the consumer
/// loads `seq` with acquire ordering and, only if it is the value it expects,
/// copies the payload words out once. Every access is atomic because the
/// other side may write any word at any time.
#[repr(C, align(64))]
pub struct Slot {
    payload: [AtomicU64; PAYLOAD_WORDS],
    seq: AtomicU64,
}

#[cfg(not(all(loom, test)))]
const _: () = {
    assert!(core::mem::size_of::<Slot>() == SLOT_BYTES);
    assert!(core::mem::align_of::<Slot>() == SLOT_BYTES);
    assert!(core::mem::offset_of!(Slot, seq) == 56);
};

impl Slot {
    /// An all-zero slot: "never written" for both rings.
    #[cfg(not(all(loom, test)))]
    pub const fn new() -> Self {
        Self {
            payload: [const { AtomicU64::new(0) }; PAYLOAD_WORDS],
            seq: AtomicU64::new(0),
        }
    }

    /// An all-zero slot: "never written" for both rings.
    #[cfg(all(loom, test))]
    pub fn new() -> Self {
        Self {
            payload: core::array::from_fn(|_| AtomicU64::new(0)),
            seq: AtomicU64::new(0),
        }
    }

    /// Writes the payload words (relaxed: `publish` orders them).
    #[inline]
    pub(crate) fn write_payload(&self, words: &[u64; PAYLOAD_WORDS]) {
        self.write_words(words);
    }

    /// Writes the first `N` payload words (relaxed: `publish` orders
    /// them); the others keep what they held.
    #[inline]
    pub(crate) fn write_words<const N: usize>(&self, words: &[u64; N]) {
        const { assert!(N <= PAYLOAD_WORDS) };
        for (cell, &w) in self.payload.iter().zip(words) {
            cell.store(w, Ordering::Relaxed);
        }
    }

    /// Copies the payload words out, once each.
    #[inline]
    pub(crate) fn read_payload(&self) -> [u64; PAYLOAD_WORDS] {
        self.read_words()
    }

    /// Copies the first `N` payload words out, once each.
    #[inline]
    pub(crate) fn read_words<const N: usize>(&self) -> [u64; N] {
        const { assert!(N <= PAYLOAD_WORDS) };
        let mut words = [0; N];
        for (w, cell) in words.iter_mut().zip(&self.payload) {
            *w = cell.load(Ordering::Relaxed);
        }
        words
    }

    /// Stores the sequence word with the given ordering (release, or relaxed
    /// after a release fence).
    #[inline]
    pub(crate) fn store_seq(&self, seq: u64, order: Ordering) {
        self.seq.store(seq, order);
    }

    /// The sequence word, loaded with acquire ordering.
    #[inline]
    pub(crate) fn load_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// The sequence word itself, for waiting on it.
    #[inline]
    pub(crate) fn seq_word(&self) -> &AtomicU64 {
        &self.seq
    }

    /// Zeroes every word (relaxed).
    pub(crate) fn clear(&self) {
        self.write_payload(&[0; PAYLOAD_WORDS]);
        self.seq.store(0, Ordering::Relaxed);
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slot")
            .field("payload", &self.read_payload())
            .field("seq", &self.seq.load(Ordering::Relaxed))
            .finish()
    }
}

/// A request, as the client fills it in and as it sits in a request slot
/// (see [`Slot`] for the byte layout; this struct has the same layout as the
/// slot's payload words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// What to do; the server's opcode type decides which values exist.
    pub opcode: u32,
    /// Length in bytes of the buffer window, `offset..offset + len` of the
    /// client's data buffer (0: no buffer).
    pub len: u32,
    /// The client's name for this request, copied into its response.
    pub tag: u64,
    /// Start of the buffer window in the client's data buffer.
    pub offset: u64,
    /// Inline arguments; their meaning is the opcode's.
    pub args: [u64; 4],
}

/// A response, as the server fills it in and as it sits in a response slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// [`Status::OK`], one of the ring's own error statuses, or an
    /// opcode-defined status.
    pub status: Status,
    /// Bytes the server produced into the request's buffer window.
    pub len: u32,
    /// The tag of the request this answers.
    pub tag: u64,
    /// Inline results; their meaning is the opcode's (the ring's own error
    /// replies say what they put here).
    pub values: [u64; 5],
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Request>() == PAYLOAD_WORDS * 8);
    assert!(offset_of!(Request, opcode) == 0);
    assert!(offset_of!(Request, len) == 4);
    assert!(offset_of!(Request, tag) == 8);
    assert!(offset_of!(Request, offset) == 16);
    assert!(offset_of!(Request, args) == 24);
    assert!(size_of::<Response>() == PAYLOAD_WORDS * 8);
    assert!(offset_of!(Response, status) == 0);
    assert!(offset_of!(Response, len) == 4);
    assert!(offset_of!(Response, tag) == 8);
    assert!(offset_of!(Response, values) == 16);
};

/// The status word of a response. Values below [`Status::USER`] belong to the
/// ring; a server's own statuses start at [`Status::USER`].
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status(pub u32);

impl Status {
    /// The request succeeded.
    pub const OK: Status = Status(0);
    /// The opcode is not one the server knows; `values[0]` is the opcode.
    pub const UNKNOWN_OPCODE: Status = Status(1);
    /// `offset..offset + len` is not inside the client's data buffer;
    /// `values[0]` and `values[1]` are the offset and the length.
    pub const OUT_OF_BOUNDS: Status = Status(2);
    /// The slot's sequence word was neither the expected value nor the
    /// previous one; `values[0]` is what the server found, `values[1]` what it
    /// expected. The tag is whatever the slot held.
    pub const BAD_SEQUENCE: Status = Status(3);
    /// The first status a server may define for itself.
    pub const USER: Status = Status(0x100);
}

fn split(w: u64) -> (u32, u32) {
    (w as u32, (w >> 32) as u32)
}

fn join(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

impl Request {
    pub(crate) fn to_words(self) -> [u64; PAYLOAD_WORDS] {
        let [a0, a1, a2, a3] = self.args;
        [
            join(self.opcode, self.len),
            self.tag,
            self.offset,
            a0,
            a1,
            a2,
            a3,
        ]
    }

    pub(crate) fn from_words(w: [u64; PAYLOAD_WORDS]) -> Self {
        let (opcode, len) = split(w[0]);
        Self {
            opcode,
            len,
            tag: w[1],
            offset: w[2],
            args: [w[3], w[4], w[5], w[6]],
        }
    }
}

impl Response {
    pub(crate) fn to_words(self) -> [u64; PAYLOAD_WORDS] {
        let [v0, v1, v2, v3, v4] = self.values;
        [join(self.status.0, self.len), self.tag, v0, v1, v2, v3, v4]
    }

    pub(crate) fn from_words(w: [u64; PAYLOAD_WORDS]) -> Self {
        let (status, len) = split(w[0]);
        Self {
            status: Status(status),
            len,
            tag: w[1],
            values: [w[2], w[3], w[4], w[5], w[6]],
        }
    }

    /// The response's head: its first [`HEAD_WORDS`] payload words.
    pub(crate) fn to_head(self) -> [u64; HEAD_WORDS] {
        [join(self.status.0, self.len), self.tag]
    }

    /// A response from its head alone; `values` are zero.
    pub(crate) fn from_head(w: [u64; HEAD_WORDS]) -> Self {
        let (status, len) = split(w[0]);
        Self {
            status: Status(status),
            len,
            tag: w[1],
            values: [0; 5],
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn words_match_the_repr_c_layout() {
        let r = Request {
            opcode: 0x1122_3344,
            len: 0x5566_7788,
            tag: 9,
            offset: 10,
            args: [11, 12, 13, 14],
        };
        let w = r.to_words();
        // Safety: Request is repr(C), 56 bytes, no padding (asserted above),
        // and every bit pattern of [u64; 7] is valid to read from it.
        let raw: [u64; PAYLOAD_WORDS] = unsafe { core::mem::transmute(r) };
        if cfg!(target_endian = "little") {
            assert_eq!(w, raw);
        }
        assert_eq!(Request::from_words(w), r);
        let s = Response {
            status: Status(7),
            len: 8,
            tag: 9,
            values: [1, 2, 3, 4, 5],
        };
        assert_eq!(Response::from_words(s.to_words()), s);
    }
}
