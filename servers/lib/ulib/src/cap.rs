//! Capabilities, segments, address ranges, shares and notifications: safe
//! wrappers over their system calls. Slots are named by [`CPtr`]s.

use crate::sys::raw_syscall;
use abi::args::{self, Args};
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

/// Makes the call `A` is for with its arguments (`abi::args`: the same
/// structure the kernel decodes); the result registers.
fn invoke<A: Args>(a: A) -> Result<[u64; 4], Error> {
    call(A::CALL, a.encode())
}

/// Makes a segment of `pages` zeroed pages; its capability goes to `dst`.
pub fn segment_create(dst: CPtr, pages: u64) -> Result<(), Error> {
    let contiguous = false;
    invoke(args::SegmentCreate {
        dst,
        pages,
        contiguous,
    })
    .map(|_| ())
}

/// Makes a segment of `pages` physically contiguous zeroed pages (a DMA
/// buffer).
pub fn segment_create_contiguous(dst: CPtr, pages: u64) -> Result<(), Error> {
    let contiguous = true;
    invoke(args::SegmentCreate {
        dst,
        pages,
        contiguous,
    })
    .map(|_| ())
}

/// The physical address of page `page` of `segment`, and its page count.
pub fn segment_info(segment: CPtr, page: u64) -> Result<(u64, u64), Error> {
    invoke(args::SegmentInfo { segment, page }).map(|r| (r[1], r[2]))
}

/// How many cores are online.
pub fn core_count() -> usize {
    call(Syscall::CoreCount, [0; 6]).map_or(1, |r| r[1] as usize)
}

/// Makes a shared address range over `[base, base + size)`.
pub fn range_create(dst: CPtr, base: u64, size: u64) -> Result<(), Error> {
    let private = false;
    invoke(args::RangeCreate {
        dst,
        base,
        size,
        private,
    })
    .map(|_| ())
}

/// Makes a private range over `[base, base + size)`: this core's only
/// (linked into address spaces of this core, changed without a lock
/// another core takes, invalidated in this core's TLB only).
pub fn range_create_private(dst: CPtr, base: u64, size: u64) -> Result<(), Error> {
    let private = true;
    invoke(args::RangeCreate {
        dst,
        base,
        size,
        private,
    })
    .map(|_| ())
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
    let offset = seg_offset;
    invoke(args::Map {
        range,
        va,
        segment,
        offset,
        len,
        rights,
    })
    .map(|_| ())
}

/// Unmaps `len` bytes at `va` of `range`.
pub fn unmap(range: CPtr, va: u64, len: u64) -> Result<(), Error> {
    invoke(args::Unmap { range, va, len }).map(|_| ())
}

/// Links shared range `range` into this task's address space at its base.
pub fn link(range: CPtr) -> Result<(), Error> {
    invoke(args::Link { range }).map(|_| ())
}

/// Undoes [`link`].
pub fn unlink(range: CPtr) -> Result<(), Error> {
    invoke(args::Unlink { range }).map(|_| ())
}

/// Copies the capability in `src` to `dst` with only the rights in `mask`.
pub fn cap_copy(src: CPtr, dst: CPtr, mask: Rights) -> Result<(), Error> {
    invoke(args::CapCopy { src, dst, mask }).map(|_| ())
}

/// Deletes the capability in `at`.
pub fn cap_delete(at: CPtr) -> Result<(), Error> {
    invoke(args::CapDelete { at }).map(|_| ())
}

/// Removes every capability derived from the one in `at`, on every core.
pub fn cap_revoke(at: CPtr) -> Result<(), Error> {
    invoke(args::CapRevoke { at }).map(|_| ())
}

/// The kind and rights of the capability in `at`.
pub fn cap_info(at: CPtr) -> Result<(ObjectKind, Rights), Error> {
    let r = invoke(args::CapInfo { at })?;
    let kind = ObjectKind::from_u64(r[1]).ok_or(Error::InvalidArgument)?;
    Ok((kind, Rights::from_bits(r[2])?))
}

/// The highest empty slot of the root share (above the image's grants,
/// which fill slots from `slots::FIRST_GRANT` up), for an object this task
/// makes for itself; `None` when the root share is full.
pub fn free_slot() -> Option<CPtr> {
    (crate::slots::FIRST_GRANT..crate::slots::SHARE_SLOTS)
        .rev()
        .map(CPtr::root)
        .find(|&c| cap_info(c) == Err(Error::InvalidCapability))
}

/// Maps the first page of the device segment `device` (a `device:NAME`
/// grant) read/write at `va` of the task's own range: how a driver
/// server reaches its registers.
pub fn map_device_page(device: CPtr, va: u64) -> Result<(), Error> {
    let root = CPtr::root(crate::slots::ROOT_RANGE);
    map(root, va, device, 0, 4096, Rights::READ.union(Rights::WRITE))
}

/// Makes a physically contiguous zeroed segment of `pages` pages in a free
/// slot and maps it read/write at `va` of the task's own range (a DMA
/// window, a buffer a device or the firmware reads): its slot and physical
/// base. A segment that cannot be mapped is deleted again.
pub fn contiguous_at(va: u64, pages: u64) -> Result<(CPtr, u64), Error> {
    let slot = free_slot().ok_or(Error::OutOfMemory)?;
    segment_create_contiguous(slot, pages)?;
    let root = CPtr::root(crate::slots::ROOT_RANGE);
    let rw = Rights::READ.union(Rights::WRITE);
    if let Err(e) = map(root, va, slot, 0, pages * 4096, rw) {
        let _ = cap_delete(slot);
        return Err(e);
    }
    let (pa, _) = segment_info(slot, 0)?;
    Ok((slot, pa))
}

/// Makes a share: private to this core, or shared between cores.
pub fn share_create(dst: CPtr, shared: bool) -> Result<(), Error> {
    invoke(args::ShareCreate { dst, shared }).map(|_| ())
}

/// Makes a notification.
pub fn notify_create(dst: CPtr) -> Result<(), Error> {
    invoke(args::NotifyCreate { dst }).map(|_| ())
}

/// Sets `bits` of the notification in `at`, waking its waiter.
pub fn signal(at: CPtr, bits: u64) -> Result<(), Error> {
    invoke(args::Signal { at, bits }).map(|_| ())
}

/// Waits for bits of the notification in `at`; takes and returns them.
pub fn wait(at: CPtr) -> Result<u64, Error> {
    invoke(args::Wait { at, poll: false }).map(|r| r[1])
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
    invoke(args::Wait { at, poll: true }).map(|r| r[1])
}

/// Raw system call with unchecked arguments (for tests of the kernel's
/// argument checks): the status as an error code, 0 for success.
pub fn raw(n: Syscall, a: [u64; 6]) -> u64 {
    // Safety: as `call`: no argument is dereferenced as a pointer by the
    // calls this is used with (the caller picks calls that take none).
    let r = unsafe { raw_syscall(n as u64, a) };
    r[0]
}
