//! A task's user address space (TTBR0): its own L0 table and ASID, built
//! from frames reached through the linear map. Also the only way the
//! kernel reads user memory: every page is checked in the task's own tables
//! first, so a bad pointer is an error code, never a kernel fault.

use crate::mm::{self, PAGE};
use abi::Error;
use core::arch::asm;
use kerncore::pagetable::{self, Attrs, MapError, MemType, TableMemory, ENTRIES};

/// First address above the user half (48-bit TTBR0 region).
pub const USER_TOP: u64 = 1 << 48;
/// AP[1]: EL0 may access.
const AP_EL0: u64 = 1 << 6;

/// Page-table memory from the boot frame allocator, through the linear map.
struct FrameTables;

impl TableMemory for FrameTables {
    fn alloc_table(&mut self) -> Option<u64> {
        mm::frame_alloc_zeroed()
    }

    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        // Safety: `pa` is a table this memory allocated; the owning core is
        // the only one that touches a private address space.
        unsafe { &mut *(mm::phys_to_virt(pa) as *mut [u64; ENTRIES]) }
    }
}

/// Attributes of a user mapping.
pub const fn user_attrs(writable: bool, executable: bool) -> Attrs {
    Attrs {
        mem: MemType::Normal,
        writable,
        kernel_exec: false,
        user: true,
        user_exec: executable,
        global: false,
    }
}

/// One address space.
pub struct UserSpace {
    root: u64,
    asid: u16,
}

impl UserSpace {
    pub fn new(asid: u16) -> Result<UserSpace, Error> {
        let root = FrameTables.alloc_table().ok_or(Error::OutOfMemory)?;
        Ok(UserSpace { root, asid })
    }

    /// Maps `[va, va+size)` to `[pa, pa+size)`.
    pub fn map(&mut self, va: u64, pa: u64, size: u64, attrs: Attrs) -> Result<(), Error> {
        if va.checked_add(size).is_none_or(|end| end > USER_TOP) {
            return Err(Error::OutOfRange);
        }
        pagetable::map(&mut FrameTables, self.root, va, pa, size, attrs).map_err(|e| match e {
            MapError::Misaligned => Error::Misaligned,
            MapError::AlreadyMapped => Error::Overlap,
            MapError::OutOfTables => Error::OutOfMemory,
        })
    }

    /// Maps `size` bytes at `va` to fresh zeroed frames of this core's pool,
    /// one page at a time, calling `fill(page_va, frame_kernel_va)` on each
    /// frame before it is mapped.
    pub fn map_fresh(
        &mut self,
        va: u64,
        size: u64,
        attrs: Attrs,
        mut fill: impl FnMut(u64, *mut u8),
    ) -> Result<(), Error> {
        for page in (va..va + size).step_by(PAGE as usize) {
            let pa = mm::frame_alloc_zeroed().ok_or(Error::OutOfMemory)?;
            fill(page, mm::phys_to_virt(pa) as *mut u8);
            if let Err(e) = self.map(page, pa, PAGE, attrs) {
                mm::frame_free(pa);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Frees every frame this space maps and every table it has: the space
    /// owns all of its pages (nothing else is mapped into a task yet).
    pub fn destroy(self) {
        free_table(self.root, 0);
    }

    /// The ASID this space's TLB entries are tagged with.
    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// Makes this the current core's TTBR0.
    pub fn activate(&self) {
        let ttbr0 = self.root | (self.asid as u64) << 48;
        // Safety: the tables map only user memory of this task; kernel
        // mappings are in TTBR1 and unaffected.
        unsafe { asm!("msr ttbr0_el1, {0}", "isb", in(reg) ttbr0, options(nostack)) };
    }

    /// Copies `buf.len()` bytes from user address `va`, checking that each
    /// page is mapped and EL0-accessible in this space.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), Error> {
        let len = buf.len() as u64;
        if va.checked_add(len).is_none_or(|end| end > USER_TOP) {
            return Err(Error::OutOfRange);
        }
        let mut done = 0u64;
        while done < len {
            let at = va + done;
            let (pa, desc) =
                pagetable::translate(&mut FrameTables, self.root, at).ok_or(Error::OutOfRange)?;
            if desc & AP_EL0 == 0 {
                return Err(Error::OutOfRange);
            }
            let chunk = (PAGE - at % PAGE).min(len - done);
            // Safety: `pa..pa+chunk` is inside one mapped user page of RAM,
            // reachable through the linear map.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    mm::phys_to_virt(pa) as *const u8,
                    buf[done as usize..].as_mut_ptr(),
                    chunk as usize,
                )
            };
            done += chunk;
        }
        Ok(())
    }
}

const VALID: u64 = 1;
const TABLE: u64 = 2;
const OA_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Frees the table at `pa` (at `level`) and everything below it. The
/// recursion is at most four levels deep.
fn free_table(pa: u64, level: usize) {
    let mut mem = FrameTables;
    let table: &[u64; ENTRIES] = mem.table(pa);
    for &d in table.iter() {
        if d & VALID == 0 {
            continue;
        }
        if level < 3 && d & TABLE != 0 {
            free_table(d & OA_MASK, level + 1);
        } else if level == 3 {
            mm::frame_free(d & OA_MASK);
        }
    }
    mm::frame_free(pa);
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
/// called once per core so the boot identity map (global entries in the low
/// half) cannot shadow user addresses.
pub fn drop_boot_identity_map() {
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
