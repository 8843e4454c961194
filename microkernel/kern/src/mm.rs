//! The kernel's view of memory: its virtual layout (TTBR1, the same on every
//! core) and the boot-time frame allocator.
//!
//! | range                                  | what                            |
//! |----------------------------------------|---------------------------------|
//! | `0xffff_0000_0000_0000 + pa`           | linear map of RAM (RW, NX)      |
//! | `0xffff_8000_0000_0000 + pa`           | device map: MMIO the DTB names  |
//! | `0xffff_ffff_0000_0000 + 128 KiB * n`  | core n's stack, 64 KiB guard below |
//! | `0xffff_ffff_4000_0000`                | boot window (boot tables only)  |
//! | `0xffff_ffff_8000_0000`                | the kernel image                |

use crate::percore::{self, Local};
use core::sync::atomic::{AtomicU64, Ordering};
use kerncore::frames::FreeRanges;
use kerncore::pool::{FrameBitmap, FramePool};
use platform::{EnableMethod, Platform};

pub const PHYS_MAP_BASE: u64 = 0xffff_0000_0000_0000;
pub const DEVICE_MAP_BASE: u64 = 0xffff_8000_0000_0000;
pub const STACKS_BASE: u64 = 0xffff_ffff_0000_0000;
pub const WINDOW_BASE: u64 = 0xffff_ffff_4000_0000;
pub const KERNEL_VA: u64 = 0xffff_ffff_8000_0000;
/// A core's kernel stack.
pub const STACK_SIZE: u64 = 64 * 1024;
/// Stack plus the unmapped guard below it.
pub const STACK_SLOT: u64 = 2 * STACK_SIZE;
pub const PAGE: u64 = 4096;

/// Where the boot loader put the image (written once, by the boot core,
/// before any other core runs).
static KERNEL_PHYS: AtomicU64 = AtomicU64::new(0);

/// Free RAM at boot. Shared between cores by nature, used by the boot core
/// only while it brings the others up.
pub static FRAMES: crate::sync::Mutex<FreeRanges> = crate::sync::Mutex::new(FreeRanges::new());

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

pub fn set_kernel_phys(pa: u64) {
    KERNEL_PHYS.store(pa, Ordering::Relaxed);
}

/// Bytes of the payload boot.s moved to the end of the image.
static PAYLOAD_LEN: AtomicU64 = AtomicU64::new(0);

/// Longest payload boot.s moves (its `PAYLOAD_MAX`).
pub const PAYLOAD_MAX: u64 = 64 << 20;
/// Bytes of the payload's header (magic, length) before its bytes.
const PAYLOAD_HEADER: u64 = 16;

/// Records the payload's length (boot core, first thing).
pub fn set_payload_len(len: u64) {
    PAYLOAD_LEN.store(len.min(PAYLOAD_MAX), Ordering::Relaxed);
}

/// Physical span of the payload with its header: right after the image's
/// `.bss`, where boot.s moved it.
fn payload_span() -> (u64, u64) {
    let (start, end) = kernel_span();
    let len = PAYLOAD_LEN.load(Ordering::Relaxed);
    let size = if len == 0 { 0 } else { PAYLOAD_HEADER + len };
    (kernel_phys() + (end - start), size.next_multiple_of(PAGE))
}

/// The payload `cargo xtask` packed beside the kernel (the task archive):
/// empty when the image has none. Read through the linear map, so only
/// once the kernel tables are live.
pub fn payload() -> &'static [u8] {
    let (pa, size) = payload_span();
    if size == 0 {
        return &[];
    }
    let len = PAYLOAD_LEN.load(Ordering::Relaxed) as usize;
    let va = phys_to_virt(pa + PAYLOAD_HEADER);
    // Safety: boot.s moved `len` bytes here before anything else ran;
    // `init_frames` keeps these frames out of every allocator, so nothing
    // writes them for the rest of the run; the linear map covers all RAM.
    unsafe { core::slice::from_raw_parts(va as *const u8, len) }
}

/// Physical address of the first byte of the image.
#[inline(always)]
pub fn kernel_phys() -> u64 {
    KERNEL_PHYS.load(Ordering::Relaxed)
}

/// Virtual address range of the whole image, `.bss` included.
pub fn kernel_span() -> (u64, u64) {
    // Linker symbols: only their addresses are taken.
    (
        &raw const __kernel_start as u64,
        &raw const __kernel_end as u64,
    )
}

/// Physical address of something inside the kernel image.
#[inline(always)]
pub fn kernel_va_to_pa(va: u64) -> u64 {
    va - KERNEL_VA + kernel_phys()
}

/// Where RAM at `pa` is in the linear map.
pub const fn phys_to_virt(pa: u64) -> u64 {
    PHYS_MAP_BASE + pa
}

/// The physical address of a linear-map address.
pub const fn virt_to_phys(va: u64) -> u64 {
    va - PHYS_MAP_BASE
}

/// Where device registers at `pa` are in the device map.
pub const fn device_va(pa: u64) -> usize {
    (DEVICE_MAP_BASE + pa) as usize
}

/// Top of core `id`'s stack (the stack grows down from here).
pub const fn stack_top(id: usize) -> u64 {
    STACKS_BASE + id as u64 * STACK_SLOT + STACK_SLOT
}

/// Fills [`FRAMES`] with the RAM the DTB names, minus everything in use:
/// reserved regions, the kernel image, the DTB, and the pages holding
/// spin-table release addresses (the firmware's parking code lives there).
pub fn init_frames(p: &Platform, dtb_pa: u64, dtb_size: u64) {
    let mut f = FRAMES.lock();
    for bank in &p.memory {
        if !f.add(bank.base, bank.size) {
            defmt::warn!("too many memory banks: {=u64:#x} unused", bank.base);
        }
    }
    for r in &p.reserved {
        f.remove(r.base, r.size);
    }
    let (start, end) = kernel_span();
    f.remove(kernel_phys(), end - start);
    let (pa, size) = payload_span();
    f.remove(pa, size);
    f.remove(dtb_pa, dtb_size);
    for cpu in &p.cpus {
        if let EnableMethod::SpinTable { release_addr } = cpu.enable_method {
            f.remove(release_addr & !(PAGE - 1), PAGE);
        }
    }
}

/// Takes `size` bytes of free RAM (page multiple) aligned to `align`, from
/// the boot allocator: bring-up only, before [`init_pools`].
pub fn alloc_frames(size: u64, align: u64) -> Option<u64> {
    FRAMES.lock().take(size, align)
}

/// Every frame of RAM after boot. Shared by all cores; each core goes to it
/// only to refill or drain its own pool, a batch at a time.
static GLOBAL: crate::sync::Mutex<Option<FrameBitmap<'static>>> = crate::sync::Mutex::new(None);
/// Each core's own frames.
static POOLS: Local<FramePool> = Local::new();

impl crate::percore::Init for FramePool {
    fn init() -> FramePool {
        FramePool::new()
    }
}

fn global() -> crate::sync::MutexGuard<'static, Option<FrameBitmap<'static>>> {
    percore::count(|e| &e.shared_locks);
    GLOBAL.lock()
}

/// Moves what is left of the boot allocator into the global bitmap. The
/// bitmap's own storage comes from the boot allocator first. Called once,
/// by the boot core, before the other cores start.
pub fn init_pools() {
    let mut f = FRAMES.lock();
    let (Some(lo), Some(hi)) = (
        f.ranges().first().map(|r| r.0),
        f.ranges().last().map(|r| r.1),
    ) else {
        panic!("no free memory after boot");
    };
    let words = FrameBitmap::words_for(hi - lo);
    let bytes = (words as u64 * 8).next_multiple_of(PAGE);
    let store = f.take(bytes, PAGE).expect("no memory for the frame bitmap");
    // Safety: `bytes` of RAM just taken from the allocator, reached through
    // the linear map, used for nothing else for the kernel's lifetime.
    let slice = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(store) as *mut u64, words) };
    let mut bm = FrameBitmap::new(lo, slice);
    for &(s, e) in f.ranges() {
        bm.free_range(s, e);
    }
    *f = FreeRanges::new();
    *GLOBAL.lock() = Some(bm);
}

/// One frame (not zeroed) from this core's pool; the pool refills from the
/// global bitmap, a batch per lock acquisition, when it runs dry.
pub fn frame_alloc() -> Option<u64> {
    POOLS.with(|pool| {
        let pa = pool.take(|out| {
            percore::count(|e| &e.global_pool_takes);
            global().as_mut().map_or(0, |bm| bm.take(out))
        });
        percore::this()
            .pool_frames
            .store(pool.len(), Ordering::Relaxed);
        pa
    })
}

/// `pages` physically contiguous frames from the global bitmap (for DMA
/// buffers), not zeroed.
pub fn frames_alloc_contiguous(pages: u64) -> Option<u64> {
    percore::count(|e| &e.global_pool_takes);
    global().as_mut()?.take_contiguous(pages)
}

/// A zeroed frame.
pub fn frame_alloc_zeroed() -> Option<u64> {
    let pa = frame_alloc()?;
    // Safety: a frame just allocated, reached through the linear map
    // (Normal memory).
    unsafe { crate::arch::aarch64::zero_pages(phys_to_virt(pa) as usize, PAGE as usize) };
    Some(pa)
}

/// Gives a frame back to this core's pool (which drains a batch to the
/// global bitmap when full).
pub fn frame_free(pa: u64) {
    POOLS.with(|pool| {
        pool.give(pa, |batch| {
            if let Some(bm) = global().as_mut() {
                for &p in batch {
                    bm.free(p);
                }
            }
        });
        percore::this()
            .pool_frames
            .store(pool.len(), Ordering::Relaxed);
    })
}

/// Whether this core can take `n` frames now, from its pool and the
/// global bitmap: the check before a large allocation. The bitmap is
/// asked (one counted lock acquisition, as the refill would be) only when
/// the pool alone is short; another core may take from it meanwhile.
pub fn frames_available(n: u64) -> bool {
    let pool = POOLS.with(|pool| pool.len() as u64);
    pool >= n || pool + global().as_ref().map_or(0, |bm| bm.free_frames()) >= n
}

/// Free frames: the global bitmap plus every core's pool.
pub fn free_frames(ncores: usize) -> u64 {
    let pools: usize = (0..ncores)
        .map(|i| percore::get(i).pool_frames.load(Ordering::Relaxed))
        .sum();
    GLOBAL.lock().as_ref().map_or(0, |bm| bm.free_frames()) + pools as u64
}
