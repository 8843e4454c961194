//! A task's user address space: a private `kerncore::range::AddressRange`
//! over the whole user half (its own L0 table and ASID), built from frames
//! of its core's pool, plus the shared ranges it links. Also the only way
//! the kernel reads user memory: every page is checked in the task's own
//! tables first, so a bad pointer is an error code, never a kernel fault.

use crate::{mm, percore, shared};
use abi::{Error, Rights};
use core::arch::asm;
use kerncore::pagetable::{self, Entry, TableMemory, TablePool, ENTRIES};
use kerncore::range::{AddressRange, TlbInvalidation, TlbOp};

pub use kerncore::range::USER_TOP;

const PAGE: u64 = mm::PAGE;

/// Page-table memory: frames of this core's pool, through the linear map.
pub struct FrameTables;

impl TableMemory for FrameTables {
    fn alloc_table(&mut self) -> Option<u64> {
        mm::frame_alloc_zeroed()
    }

    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        // Safety: `pa` is a table this memory allocated, reached through the
        // linear map; a private space is touched only by its own core, a
        // shared range only under its lock.
        unsafe { &mut *(mm::phys_to_virt(pa) as *mut [u64; ENTRIES]) }
    }
}

impl TablePool for FrameTables {
    fn free_table(&mut self, pa: u64) {
        mm::frame_free(pa);
    }
}

/// Carries out a TLB invalidation plan (counting broadcast ones).
pub fn invalidate(inv: TlbInvalidation) {
    let broadcast = inv.is_broadcast();
    // Safety: TLB maintenance only; the barrier orders the table writes
    // before it.
    unsafe { asm!("dsb ishst", options(nostack)) };
    for op in inv.ops() {
        // Safety: TLB maintenance only.
        unsafe {
            match op {
                TlbOp::Vae1(x) => asm!("tlbi vae1, {0}", in(reg) x, options(nostack)),
                TlbOp::Aside1(x) => asm!("tlbi aside1, {0}", in(reg) x, options(nostack)),
                TlbOp::Vaae1is(x) => asm!("tlbi vaae1is, {0}", in(reg) x, options(nostack)),
                TlbOp::Vaae1(x) => asm!("tlbi vaae1, {0}", in(reg) x, options(nostack)),
                TlbOp::Vmalle1 => asm!("tlbi vmalle1", options(nostack)),
                TlbOp::Vmalle1is => asm!("tlbi vmalle1is", options(nostack)),
            }
        }
        if broadcast {
            percore::count(|e| &e.broadcast_tlbi);
        }
    }
    // Safety: barriers only.
    unsafe {
        if broadcast {
            asm!("dsb ish", "isb", options(nostack));
        } else {
            asm!("dsb nsh", "isb", options(nostack));
        }
    }
}

/// Most shared ranges one task links.
const MAX_LINKS: usize = 8;

/// One address space.
pub struct UserSpace {
    range: AddressRange,
    /// Indices (in `shared`) of the shared ranges linked into it.
    links: [Option<usize>; MAX_LINKS],
}

impl UserSpace {
    pub fn new(asid: u16) -> Result<UserSpace, Error> {
        let range = AddressRange::new_private(&mut FrameTables, asid, 0, USER_TOP)?;
        Ok(UserSpace {
            range,
            links: [None; MAX_LINKS],
        })
    }

    /// Maps `size` bytes at `va` to fresh zeroed frames of this core's pool,
    /// one page at a time, calling `fill(page_va, frame_kernel_va)` on each
    /// frame before it is mapped. The pages are the space's own
    /// (`map_owned_page`): `Unmap` refuses them, so a frame cannot drop out
    /// of the tables that `destroy` frees it from.
    pub fn map_fresh(
        &mut self,
        va: u64,
        size: u64,
        rights: Rights,
        mut fill: impl FnMut(u64, *mut u8),
    ) -> Result<(), Error> {
        for page in (va..va + size).step_by(PAGE as usize) {
            let pa = mm::frame_alloc_zeroed().ok_or(Error::OutOfMemory)?;
            fill(page, mm::phys_to_virt(pa) as *mut u8);
            // Owned by the space: the task cannot unmap it (its frame is
            // freed with the space, by `destroy`).
            if let Err(e) = self
                .range
                .map_owned_page(&mut FrameTables, page, pa, rights)
            {
                mm::frame_free(pa);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Links shared range `index` at its own address (one descriptor),
    /// with every right: the image links it, not a capability (the image
    /// format has no per-link rights yet).
    pub fn link_shared(&mut self, index: usize) -> Result<(), Error> {
        let slot = self
            .links
            .iter()
            .position(|l| l.is_none())
            .ok_or(Error::OutOfMemory)?;
        let range = &mut self.range;
        let all = Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE);
        shared::with(index, |sh| {
            range.map_range(&mut FrameTables, sh.base(), sh, all)
        })
        .ok_or(Error::InvalidArgument)??;
        self.links[slot] = Some(index);
        Ok(())
    }

    /// Frees every frame this space owns (not those of linked shared
    /// ranges), unlinks the shared ranges, frees every table, and drops the
    /// ASID's TLB entries on this core. The space must not be current.
    pub fn destroy(mut self) {
        free_leaves(self.range.table(), 0);
        for index in self.links.iter().flatten() {
            let range = &mut self.range;
            if let Some(Ok(inv)) =
                shared::with(*index, |sh| range.unlink(&mut FrameTables, sh.base(), sh))
            {
                invalidate(inv);
            }
        }
        match self.range.destroy(&mut FrameTables) {
            Ok(inv) => invalidate(inv),
            Err((_, e)) => crate::kprintln!("address space not freed: {:?}", e),
        }
    }

    /// The address range itself (for mapping through capabilities).
    pub fn range_mut(&mut self) -> &mut AddressRange {
        &mut self.range
    }

    /// The ASID this space's TLB entries are tagged with.
    pub fn asid(&self) -> u16 {
        self.range.asid().unwrap_or(0)
    }

    /// Makes this the current core's TTBR0.
    pub fn activate(&self) {
        let ttbr0 = self.range.ttbr0().unwrap_or(0);
        // Safety: the tables map only user memory of this task; kernel
        // mappings are in TTBR1 and unaffected.
        unsafe { asm!("msr ttbr0_el1, {0}", "isb", in(reg) ttbr0, options(nostack)) };
    }

    /// Copies `buf.len()` bytes from user address `va`, checking that each
    /// page is mapped readable for EL0 in this space and is RAM.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), Error> {
        let len = buf.len() as u64;
        self.each_page(va, len, Rights::READ, |pa, done, chunk| {
            // Safety: `pa..pa+chunk` is inside one mapped user page of RAM,
            // reachable through the linear map; `done + chunk <= buf.len()`.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    mm::phys_to_virt(pa) as *const u8,
                    buf[done as usize..].as_mut_ptr(),
                    chunk as usize,
                )
            }
        })
    }
}

// Used by the in-kernel block driver's system calls (the baseline).
#[cfg_attr(not(feature = "block-in-kernel"), allow(dead_code))]
impl UserSpace {
    /// Checks that every page of `va..va + len` is mapped writable for EL0
    /// in this space, and is RAM (not a device's registers).
    pub fn writable(&self, va: u64, len: u64) -> Result<(), Error> {
        self.each_page(va, len, Rights::READ.union(Rights::WRITE), |_, _, _| ())
    }

    /// Copies `data` to user address `va`, after checking that every page
    /// of it is mapped writable for EL0 (nothing is written otherwise).
    pub fn write(&self, va: u64, data: &[u8]) -> Result<(), Error> {
        let len = data.len() as u64;
        self.writable(va, len)?;
        let rw = Rights::READ.union(Rights::WRITE);
        self.each_page(va, len, rw, |pa, done, chunk| {
            // Safety: `pa..pa+chunk` is inside one mapped, writable user
            // page of RAM, reachable through the linear map; `done + chunk`
            // is at most `data.len()`.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data[done as usize..].as_ptr(),
                    mm::phys_to_virt(pa) as *mut u8,
                    chunk as usize,
                )
            }
        })
    }

    /// Calls `f(pa, done, chunk)` for each page-bounded piece of
    /// `va..va + len`, each mapped for EL0 with `need` rights and in RAM.
    fn each_page(
        &self,
        va: u64,
        len: u64,
        need: Rights,
        mut f: impl FnMut(u64, u64, u64),
    ) -> Result<(), Error> {
        if va.checked_add(len).is_none_or(|end| end > USER_TOP) {
            return Err(Error::OutOfRange);
        }
        let mut done = 0u64;
        while done < len {
            let at = va + done;
            let (pa, rights) = self
                .range
                .translate(&mut FrameTables, at)
                .ok_or(Error::OutOfRange)?;
            let chunk = (PAGE - at % PAGE).min(len - done);
            if !rights.contains(need) || !is_ram(pa, chunk) {
                return Err(Error::OutOfRange);
            }
            f(pa, done, chunk);
            done += chunk;
        }
        Ok(())
    }
}

/// Whether `pa..pa + len` is RAM the DTB names (so in the linear map): a
/// user mapping of a device's registers is never copied through.
fn is_ram(pa: u64, len: u64) -> bool {
    crate::boot::platform().is_some_and(|p| {
        p.memory.iter().any(|m| {
            pa >= m.base
                && pa
                    .checked_add(len)
                    .is_some_and(|end| end <= m.base + m.size)
        })
    })
}

/// Frees the pages mapped under the table at `pa` (at `level`), not
/// following links into shared ranges; tables stay (the range frees them).
/// The recursion is at most four levels deep.
pub fn free_leaves(pa: u64, level: usize) {
    let mut mem = FrameTables;
    let table: &[u64; ENTRIES] = mem.table(pa);
    for &d in table.iter() {
        match pagetable::decode(d, level) {
            Entry::Table(next) => free_leaves(next, level + 1),
            Entry::Page(frame) => mm::frame_free(frame),
            // Links belong to shared ranges; blocks are never mapped here.
            Entry::Invalid | Entry::Link(_) | Entry::Block(_) => {}
        }
    }
}

/// Drops this core's TLB entries tagged with `asid` (local: a private
/// address space was only ever live on this core).
pub fn flush_asid(asid: u16) {
    let arg = (asid as u64) << 48;
    // Safety: TLB maintenance only.
    unsafe {
        asm!("dsb ishst", "tlbi aside1, {0}", "dsb nsh", "isb", in(reg) arg, options(nostack))
    };
}

/// Points this core's TTBR0 at nothing and drops every TLB entry it has:
/// once per core at bring-up, so the boot identity map (global entries in
/// the low half) cannot shadow user addresses, and whenever a core frees the
/// space its TTBR0 still points at.
pub fn clear_ttbr0() {
    #[repr(C, align(4096))]
    struct Empty([u64; ENTRIES]);
    static EMPTY: Empty = Empty([0; ENTRIES]);
    let pa = mm::kernel_va_to_pa(&EMPTY as *const Empty as u64);
    // Safety: nothing the kernel runs is in the low half any more.
    unsafe {
        asm!(
            "msr ttbr0_el1, {0}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            in(reg) pa,
            options(nostack)
        )
    };
}
