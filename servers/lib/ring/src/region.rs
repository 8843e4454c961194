//! The shared memory of one client/server pair, cut into its two rings.

use crate::slot::{Slot, SLOT_BYTES};

/// Why a piece of memory cannot hold a ring pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The slot count per ring is zero or not a power of two.
    BadSlotCount,
    /// The base is null or not 64-byte aligned.
    Misaligned,
    /// Fewer bytes than [`Region::bytes_for`] the slot count.
    TooSmall,
}

/// The memory shared by exactly one client and its server: `slots` request
/// slots followed by `slots` response slots (`2 × slots × 64` bytes; bytes
/// past that are not touched). Holds no other state: no head or tail index
/// lives here, so nothing but slots is ever written to shared memory.
///
/// Both sides must start from an all-zero region ([`Region::clear`], or
/// memory the kernel handed out zeroed) and both must agree on `slots`; a
/// side that finds anything else will see sequence errors, never unsafety.
#[derive(Clone, Copy, Debug)]
pub struct Region<'a> {
    requests: &'a [Slot],
    responses: &'a [Slot],
}

impl<'a> Region<'a> {
    /// Bytes needed for a ring pair of `slots` slots per ring, or `None` when
    /// `slots` is not a power of two or the size overflows.
    pub const fn bytes_for(slots: usize) -> Option<usize> {
        if !slots.is_power_of_two() {
            return None;
        }
        match slots.checked_mul(2 * SLOT_BYTES) {
            Some(n) => Some(n),
            None => None,
        }
    }

    /// A ring pair over `2 × n` slots: the first half is the request ring,
    /// the second the response ring (`n` must be a power of two).
    pub fn from_slots(slots: &'a [Slot]) -> Result<Self, LayoutError> {
        let n = slots.len() / 2;
        if !slots.len().is_multiple_of(2) || !n.is_power_of_two() {
            return Err(LayoutError::BadSlotCount);
        }
        let (requests, responses) = slots.split_at(n);
        Ok(Self {
            requests,
            responses,
        })
    }

    /// A ring pair of `slots` slots per ring over raw shared memory.
    ///
    /// The crate assumes nothing about what the other side writes into the
    /// memory: any bytes, at any time, are at worst protocol errors.
    ///
    /// # Safety
    ///
    /// For all of `'a`, `base..base + len` must be mapped readable and
    /// writable in this address space and must not be freed or unmapped, and
    /// nothing in this program may access the first
    /// [`Region::bytes_for`]`(slots)` bytes of it other than through this
    /// crate (or otherwise atomically): no `&mut` to it, no non-atomic reads
    /// or writes. Writes by the peer in its own address space are expected
    /// and fine.
    #[cfg(not(all(loom, test)))]
    pub unsafe fn from_raw(base: *mut u8, len: usize, slots: usize) -> Result<Self, LayoutError> {
        let Some(need) = Self::bytes_for(slots) else {
            return Err(LayoutError::BadSlotCount);
        };
        if !(base as usize).is_multiple_of(SLOT_BYTES) || base.is_null() {
            return Err(LayoutError::Misaligned);
        }
        if len < need {
            return Err(LayoutError::TooSmall);
        }
        // Safety: the caller guarantees `base..base + len` is valid for reads
        // and writes for 'a and only accessed atomically; we checked that it
        // is 64-byte aligned and holds `2 × slots` slots of 64 bytes. `Slot`
        // is made only of atomics, which have interior mutability, so shared
        // references to them may coexist with the peer's writes, and every
        // bit pattern is a valid `Slot`.
        let all = unsafe { core::slice::from_raw_parts(base.cast::<Slot>(), 2 * slots) };
        Self::from_slots(all)
    }

    /// Slots per ring.
    pub fn slots(&self) -> usize {
        self.requests.len()
    }

    /// Zeroes both rings. Only meaningful before either side starts (or
    /// while neither runs, to reconnect); it is always memory-safe.
    pub fn clear(&self) {
        for s in self.requests.iter().chain(self.responses) {
            s.clear();
        }
    }

    pub(crate) fn requests(&self) -> &'a [Slot] {
        self.requests
    }

    pub(crate) fn responses(&self) -> &'a [Slot] {
        self.responses
    }
}
