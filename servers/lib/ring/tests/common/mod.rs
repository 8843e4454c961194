//! Helpers shared by the host tests: a raw shared region the tests can also
//! scribble on (as a hostile peer would), a small deterministic PRNG and an
//! opcode type.
#![allow(dead_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU64, AtomicU8};

use ring::{Region, Request, Response, SharedBuf, Status};

/// Zeroed, 64-byte-aligned memory standing in for a shared mapping.
pub struct Shm {
    ptr: *mut u8,
    layout: Layout,
    pub slots: usize,
}

// Safety: the memory is only ever accessed atomically (through the crate or
// the atomic helpers below), so sharing it between threads is sound.
unsafe impl Sync for Shm {}
// Safety: as above; the allocation is not tied to a thread.
unsafe impl Send for Shm {}

impl Shm {
    pub fn new(slots: usize) -> Self {
        Self::with_len(Region::bytes_for(slots).unwrap(), slots)
    }

    pub fn with_len(len: usize, slots: usize) -> Self {
        let layout = Layout::from_size_align(len.max(64), 64).unwrap();
        // Safety: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Self { ptr, layout, slots }
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    pub fn base(&self) -> *mut u8 {
        self.ptr
    }

    pub fn region(&self) -> Region<'_> {
        // Safety: the allocation lives as long as `self`, is 64-byte aligned,
        // and is only accessed atomically.
        unsafe { Region::from_raw(self.ptr, self.len(), self.slots) }.unwrap()
    }

    /// Word `w` (0..8) of request slot `i`.
    pub fn req_word(&self, i: usize, w: usize) -> &AtomicU64 {
        self.word(i % self.slots, w)
    }

    /// Word `w` (0..8) of response slot `i`.
    pub fn resp_word(&self, i: usize, w: usize) -> &AtomicU64 {
        self.word(self.slots + i % self.slots, w)
    }

    fn word(&self, slot: usize, w: usize) -> &AtomicU64 {
        assert!(slot < 2 * self.slots && w < 8);
        // Safety: in bounds and 8-byte aligned (asserted above, base is
        // 64-byte aligned); the memory is only accessed atomically and lives
        // as long as `self`.
        unsafe { AtomicU64::from_ptr(self.ptr.add(slot * 64 + w * 8).cast()) }
    }

    /// Byte `b` (0..64) of request slot `i`; only for single-threaded tests
    /// (mixed-size atomics must not race).
    pub fn req_byte(&self, i: usize, b: usize) -> &AtomicU8 {
        assert!(i < self.slots && b < 64);
        // Safety: in bounds; the memory is only accessed atomically, and the
        // callers never access it from two threads at once.
        unsafe { AtomicU8::from_ptr(self.ptr.add(i * 64 + b)) }
    }

    /// Byte `b` (0..64) of response slot `i`; single-threaded tests only.
    pub fn resp_byte(&self, i: usize, b: usize) -> &AtomicU8 {
        assert!(i < self.slots && b < 64);
        // Safety: as for `req_byte`.
        unsafe { AtomicU8::from_ptr(self.ptr.add((self.slots + i) * 64 + b)) }
    }

    /// The whole allocation as a client data buffer.
    pub fn as_buf(&self) -> SharedBuf<'_> {
        // Safety: as for `region`.
        unsafe { SharedBuf::from_raw(self.ptr, self.len()) }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // Safety: allocated in `with_len` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// xorshift64*: small, deterministic, good enough to scribble with.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The opcodes of the test server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read = 1,
    Write = 2,
    Echo = 3,
}

impl TryFrom<u32> for Op {
    type Error = ();
    fn try_from(v: u32) -> Result<Self, ()> {
        match v {
            1 => Ok(Op::Read),
            2 => Ok(Op::Write),
            3 => Ok(Op::Echo),
            _ => Err(()),
        }
    }
}

/// A request whose every field derives from `tag`, so a receiver can check
/// the whole payload.
pub fn request(tag: u64) -> Request {
    Request {
        opcode: Op::Echo as u32,
        len: (tag % 64) as u32,
        tag,
        offset: tag % 1024,
        args: [tag, !tag, tag.rotate_left(17), tag ^ 0x5a5a],
    }
}

/// The response the test server gives to `request(tag)`.
pub fn response(tag: u64) -> Response {
    Response {
        status: Status::OK,
        len: (tag % 64) as u32,
        tag,
        values: [!tag, tag, tag.rotate_right(9), tag ^ 0xa5a5, 42],
    }
}
