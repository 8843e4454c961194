//! Building a task's address space from its ELF (from the image's task
//! archive). Nothing in the archive is trusted.

use super::{GUARD_START, USER_STACK_SIZE, USER_STACK_TOP};
use crate::mm;
use crate::uspace::{UserSpace, USER_TOP};
use abi::Error;
use abi::Rights;
use elf::endian::LittleEndian;
use elf::segment::SegmentTable;

/// Builds a task's address space from its ELF: each PT_LOAD segment in
/// fresh zeroed frames with the permissions its flags give (never W+X), and
/// a stack with a guard page below it.
pub fn load(bytes: &[u8], asid: u16) -> Result<(UserSpace, u64), &'static str> {
    let (entry, segments) = kerncore::elf::headers(bytes)?;
    let mut space = UserSpace::new(asid).map_err(|_| "out of memory")?;
    match populate(&mut space, segments, bytes) {
        Ok(()) => Ok((space, entry)),
        Err(why) => {
            space.destroy();
            Err(why)
        }
    }
}

/// Maps the `segments` of the ELF `bytes` and a stack into `space`.
fn populate(
    space: &mut UserSpace,
    segments: SegmentTable<'_, LittleEndian>,
    bytes: &[u8],
) -> Result<(), &'static str> {
    use elf::abi::{PF_W, PF_X, PT_LOAD};
    for ph in segments.iter().filter(|p| p.p_type == PT_LOAD) {
        let (w, x) = (ph.p_flags & PF_W != 0, ph.p_flags & PF_X != 0);
        if w && x {
            return Err("a segment is both writable and executable");
        }
        if ph.p_filesz > ph.p_memsz {
            return Err("a segment's file size exceeds its memory size");
        }
        let start = ph.p_vaddr & !(mm::PAGE - 1);
        let end = ph
            .p_vaddr
            .checked_add(ph.p_memsz)
            .filter(|&e| e <= USER_TOP)
            .ok_or("a segment lies outside the user half")?
            .next_multiple_of(mm::PAGE);
        if start < USER_STACK_TOP && end > GUARD_START {
            return Err("a segment overlaps the stack or its guard");
        }
        let data = bytes
            .get(ph.p_offset as usize..)
            .and_then(|b| b.get(..ph.p_filesz as usize))
            .ok_or("a segment's file bytes lie outside the file")?;
        // Page `page` of the segment gets the file bytes that fall in it.
        let fill = |page: u64, frame: *mut u8| {
            let lo = page.max(ph.p_vaddr);
            let hi = (page + mm::PAGE).min(ph.p_vaddr + ph.p_filesz);
            if lo < hi {
                let src = &data[(lo - ph.p_vaddr) as usize..(hi - ph.p_vaddr) as usize];
                // Safety: `frame` is a fresh zeroed page; `lo - page + len`
                // is at most one page.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        frame.add((lo - page) as usize),
                        src.len(),
                    )
                };
            }
            if x {
                // Code written as data: fetchable only once the data cache
                // is cleaned and the instruction caches hold no stale line.
                crate::arch::aarch64::sync_icache(frame as usize, mm::PAGE as usize);
            }
        };
        space
            .map_fresh(start, end - start, rights(w, x), fill)
            .map_err(|e| match e {
                Error::Overlap => "two segments overlap",
                Error::OutOfMemory => "out of memory",
                _ => "a segment cannot be mapped",
            })?;
    }
    let stack_attrs = rights(true, false);
    space
        .map_fresh(
            USER_STACK_TOP - USER_STACK_SIZE,
            USER_STACK_SIZE,
            stack_attrs,
            |_, _| {},
        )
        .map_err(|_| "out of memory for the stack")?;
    Ok(())
}

/// The rights of a segment: always readable; writable or executable.
fn rights(writable: bool, executable: bool) -> Rights {
    let mut r = Rights::READ;
    if writable {
        r = r.union(Rights::WRITE);
    }
    if executable {
        r = r.union(Rights::EXECUTE);
    }
    r
}
