//! Capabilities, segments, address ranges, shares and notifications: safe
//! wrappers over their system calls. Slots are named by [`CPtr`]s.

use crate::sys::raw_syscall;
use abi::{CPtr, Error, ObjectKind, Rights, Syscall};

fn call(n: Syscall, a: [u64; 6]) -> Result<[u64; 4], Error> {
    // Safety: none of these calls takes a pointer the kernel dereferences;
    // every argument is validated by the kernel.
    let r = unsafe { raw_syscall(n as u64, a) };
    match r[0] {
        0 => Ok(r),
        e => Err(Error::from_u64(e).unwrap_or(Error::InvalidArgument)),
    }
}

/// Makes a segment of `pages` zeroed pages; its capability goes to `dst`.
pub fn segment_create(dst: CPtr, pages: u64) -> Result<(), Error> {
    call(Syscall::SegmentCreate, [dst.0, pages, 0, 0, 0, 0]).map(|_| ())
}

/// Makes a segment of `pages` physically contiguous zeroed pages (a DMA
/// buffer).
pub fn segment_create_contiguous(dst: CPtr, pages: u64) -> Result<(), Error> {
    let flags = abi::SEGMENT_CONTIGUOUS;
    call(Syscall::SegmentCreate, [dst.0, pages, flags, 0, 0, 0]).map(|_| ())
}

/// The physical address of page `page` of `segment`, and its page count.
pub fn segment_info(segment: CPtr, page: u64) -> Result<(u64, u64), Error> {
    call(Syscall::SegmentInfo, [segment.0, page, 0, 0, 0, 0]).map(|r| (r[1], r[2]))
}

/// How many cores are online.
pub fn core_count() -> usize {
    call(Syscall::CoreCount, [0; 6]).map_or(1, |r| r[1] as usize)
}

/// Makes a shared address range over `[base, base + size)`.
pub fn range_create(dst: CPtr, base: u64, size: u64) -> Result<(), Error> {
    call(Syscall::RangeCreate, [dst.0, base, size, 0, 0, 0]).map(|_| ())
}

/// Makes a private range over `[base, base + size)`: this core's only
/// (linked into address spaces of this core, changed without a lock
/// another core takes, invalidated in this core's TLB only).
pub fn range_create_private(dst: CPtr, base: u64, size: u64) -> Result<(), Error> {
    let flags = abi::RANGE_PRIVATE;
    call(Syscall::RangeCreate, [dst.0, base, size, flags, 0, 0]).map(|_| ())
}

/// Maps `len` bytes of `segment` from `seg_offset` at `va` in `range`.
pub fn map(
    range: CPtr,
    va: u64,
    segment: CPtr,
    seg_offset: u64,
    len: u64,
    rights: Rights,
) -> Result<(), Error> {
    let a = [
        range.0,
        va,
        segment.0,
        seg_offset,
        len,
        rights.bits() as u64,
    ];
    call(Syscall::Map, a).map(|_| ())
}

/// Unmaps `len` bytes at `va` of `range`.
pub fn unmap(range: CPtr, va: u64, len: u64) -> Result<(), Error> {
    call(Syscall::Unmap, [range.0, va, len, 0, 0, 0]).map(|_| ())
}

/// Links shared range `range` into this task's address space at its base.
pub fn link(range: CPtr) -> Result<(), Error> {
    call(Syscall::Link, [range.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Undoes [`link`].
pub fn unlink(range: CPtr) -> Result<(), Error> {
    call(Syscall::Unlink, [range.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Copies the capability in `src` to `dst` with only the rights in `mask`.
pub fn cap_copy(src: CPtr, dst: CPtr, mask: Rights) -> Result<(), Error> {
    call(
        Syscall::CapCopy,
        [src.0, dst.0, mask.bits() as u64, 0, 0, 0],
    )
    .map(|_| ())
}

/// Deletes the capability in `at`.
pub fn cap_delete(at: CPtr) -> Result<(), Error> {
    call(Syscall::CapDelete, [at.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Removes every capability derived from the one in `at`, on every core.
pub fn cap_revoke(at: CPtr) -> Result<(), Error> {
    call(Syscall::CapRevoke, [at.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// The kind and rights of the capability in `at`.
pub fn cap_info(at: CPtr) -> Result<(ObjectKind, Rights), Error> {
    let r = call(Syscall::CapInfo, [at.0, 0, 0, 0, 0, 0])?;
    let kind = ObjectKind::from_u64(r[1]).ok_or(Error::InvalidArgument)?;
    Ok((kind, Rights::from_bits(r[2])?))
}

/// Makes a share: private to this core, or shared between cores.
pub fn share_create(dst: CPtr, shared: bool) -> Result<(), Error> {
    call(Syscall::ShareCreate, [dst.0, shared as u64, 0, 0, 0, 0]).map(|_| ())
}

/// Makes a notification.
pub fn notify_create(dst: CPtr) -> Result<(), Error> {
    call(Syscall::NotifyCreate, [dst.0, 0, 0, 0, 0, 0]).map(|_| ())
}

/// Sets `bits` of the notification in `at`, waking its waiter.
pub fn signal(at: CPtr, bits: u64) -> Result<(), Error> {
    call(Syscall::Signal, [at.0, bits, 0, 0, 0, 0]).map(|_| ())
}

/// Waits for bits of the notification in `at`; takes and returns them.
pub fn wait(at: CPtr) -> Result<u64, Error> {
    call(Syscall::Wait, [at.0, 0, 0, 0, 0, 0]).map(|r| r[1])
}

/// Waits until every bit of `want` has been signalled on the notification
/// in `at` (over as many waits as it takes); bits outside `want` are
/// dropped.
pub fn wait_all(at: CPtr, want: u64) -> Result<(), Error> {
    let mut got = 0;
    while got & want != want {
        got |= wait(at)?;
    }
    Ok(())
}

/// Takes the bits of the notification in `at` without waiting (0: none).
pub fn poll(at: CPtr) -> Result<u64, Error> {
    call(Syscall::Wait, [at.0, abi::WAIT_POLL, 0, 0, 0, 0]).map(|r| r[1])
}

/// Raw system call with unchecked arguments (for tests of the kernel's
/// argument checks): the status as an error code, 0 for success.
pub fn raw(n: Syscall, a: [u64; 6]) -> u64 {
    // Safety: as `call`: no argument is dereferenced as a pointer by the
    // calls this is used with (the caller picks calls that take none).
    let r = unsafe { raw_syscall(n as u64, a) };
    r[0]
}
