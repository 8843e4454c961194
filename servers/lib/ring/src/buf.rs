//! Buffer windows: `(offset, len)` pairs from requests, checked against the
//! buffer length the server knows on its own, and the only way this crate
//! turns them into slices.

use core::sync::atomic::{AtomicU8, Ordering};

/// A window `offset..offset + len` that was checked against a buffer length.
///
/// The slicing methods check again against the buffer they are given (with
/// `get`, never indexing), so no `BufRange` can yield a slice outside the
/// buffer it is applied to, whatever buffer that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct BufRange {
    offset: usize,
    len: usize,
}

impl BufRange {
    /// The window `offset..offset + len` if it lies inside a buffer of
    /// `buf_len` bytes (overflow-safe: an `offset + len` that overflows is
    /// outside). An empty window must still start inside or at the end.
    pub fn check(offset: u64, len: u32, buf_len: usize) -> Option<Self> {
        let end = offset.checked_add(u64::from(len))?;
        if end > u64::try_from(buf_len).ok()? {
            return None;
        }
        Some(Self {
            offset: usize::try_from(offset).ok()?,
            len: usize::try_from(len).ok()?,
        })
    }

    /// First byte of the window.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes in the window.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The window's part of `buf`, or `None` if it does not lie inside it.
    pub fn slice<'b, T>(&self, buf: &'b [T]) -> Option<&'b [T]> {
        buf.get(self.offset..self.offset.checked_add(self.len)?)
    }

    /// The window's part of `buf`, or `None` if it does not lie inside it.
    pub fn slice_mut<'b, T>(&self, buf: &'b mut [T]) -> Option<&'b mut [T]> {
        buf.get_mut(self.offset..self.offset.checked_add(self.len)?)
    }
}

/// A client's data buffer as the server sees it: memory the client may
/// write at any time, so only ever accessed byte-atomically (no `&[u8]` to
/// it can exist, which would be a data race).
#[derive(Clone, Copy, Debug)]
pub struct SharedBuf<'a> {
    bytes: &'a [AtomicU8],
}

impl<'a> SharedBuf<'a> {
    /// A buffer over atomics the caller already has.
    pub fn new(bytes: &'a [AtomicU8]) -> Self {
        Self { bytes }
    }

    /// A buffer over raw shared memory.
    ///
    /// # Safety
    ///
    /// `base` must be non-null, and for all of `'a`, `base..base + len` must
    /// be mapped readable and writable in this address space (and `len` at
    /// most `isize::MAX`), must not be freed or unmapped, and
    /// nothing in this program may access it other than atomically (no
    /// `&mut`, no non-atomic reads or writes). The peer's writes from its own
    /// address space are expected and fine.
    pub unsafe fn from_raw(base: *mut u8, len: usize) -> Self {
        // Safety: the caller guarantees a non-null base and memory valid for
        // 'a (at most isize::MAX bytes) that is only accessed atomically; `AtomicU8` has the size and alignment of `u8`,
        // every bit pattern is valid, and its interior mutability allows
        // shared references alongside the peer's writes.
        let bytes = unsafe { core::slice::from_raw_parts(base.cast::<AtomicU8>(), len) };
        Self { bytes }
    }

    /// The buffer's length: the one the server validates windows against.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The window's bytes, or `None` if it does not lie inside this buffer.
    pub fn get(&self, range: BufRange) -> Option<&'a [AtomicU8]> {
        range.slice(self.bytes)
    }

    /// Copies the window out into the start of `dst` (as much as fits) and
    /// returns the count, or `None` if the window is not inside this buffer.
    pub fn copy_out(&self, range: BufRange, dst: &mut [u8]) -> Option<usize> {
        let src = self.get(range)?;
        let n = src.len().min(dst.len());
        for (d, s) in dst.iter_mut().zip(&src[..n]) {
            *d = s.load(Ordering::Relaxed);
        }
        Some(n)
    }

    /// Copies the start of `src` (as much as fits) into the window and
    /// returns the count, or `None` if the window is not inside this buffer.
    pub fn copy_in(&self, range: BufRange, src: &[u8]) -> Option<usize> {
        let dst = self.get(range)?;
        let n = dst.len().min(src.len());
        for (d, &s) in dst[..n].iter().zip(src) {
            d.store(s, Ordering::Relaxed);
        }
        Some(n)
    }
}
