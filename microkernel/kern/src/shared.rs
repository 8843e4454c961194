//! Shared address ranges named by the image: created by the boot core
//! before any task runs, each filled with zeroed frames, and linked (one
//! table descriptor each) into the address space of every task that names
//! it. One update to a shared range's table is seen by every core that
//! links it. Shared by design, so every use takes their lock (counted).

use crate::uspace::{free_leaves, invalidate, FrameTables};
use crate::{kprintln, mm, percore};
use abi::{Error, Rights};
use kerncore::range::{AddressRange, RangeKind, SharedSize};

/// Most shared ranges an image declares.
pub const MAX_SHARED: usize = 8;

static SHARED: crate::sync::Mutex<[Option<AddressRange>; MAX_SHARED]> =
    crate::sync::Mutex::new([const { None }; MAX_SHARED]);

/// Runs `f` on shared range `index`, if it exists.
pub fn with<R>(index: usize, f: impl FnOnce(&mut AddressRange) -> R) -> Option<R> {
    percore::count(|e| &e.shared_locks);
    SHARED.lock().get_mut(index)?.as_mut().map(f)
}

/// Creates shared range `index` over `[base, base + size)`, every page
/// mapped read/write to a fresh zeroed frame.
pub fn create(index: usize, base: u64, size: u64) -> Result<(), Error> {
    let mut range = AddressRange::new_shared(&mut FrameTables, base, size)?;
    for off in (0..size).step_by(mm::PAGE as usize) {
        let filled = mm::frame_alloc_zeroed()
            .ok_or(Error::OutOfMemory)
            .and_then(|pa| {
                // The range's own page: no task can unmap it (its frame is
                // freed with the range, by `free`).
                let rw = Rights::READ.union(Rights::WRITE);
                range
                    .map_owned_page(&mut FrameTables, off, pa, rw)
                    .inspect_err(|_| mm::frame_free(pa))
            });
        if let Err(e) = filled {
            free(range);
            return Err(e);
        }
    }
    percore::count(|e| &e.shared_locks);
    let mut all = SHARED.lock();
    match all.get_mut(index) {
        Some(slot @ None) => *slot = Some(range),
        _ => {
            drop(all);
            free(range);
            return Err(Error::InvalidArgument);
        }
    }
    Ok(())
}

/// Frees a shared range's pages and table (it must be linked nowhere).
fn free(range: AddressRange) {
    let level = match range.kind() {
        RangeKind::Shared {
            size: SharedSize::Mib2,
        } => 3,
        _ => 2,
    };
    free_leaves(range.table(), level);
    match range.destroy(&mut FrameTables) {
        Ok(inv) => invalidate(inv),
        Err((_, e)) => kprintln!("shared range not freed: {:?}", e),
    }
}

/// At the end of a run, after every task is gone: frees every shared range.
pub fn destroy_all() {
    percore::count(|e| &e.shared_locks);
    let mut all = SHARED.lock();
    for slot in all.iter_mut() {
        if let Some(range) = slot.take() {
            free(range);
        }
    }
}
