//! The kernel's translation tables. Boot tables (boot.s) map only the
//! image; the boot core then builds the final TTBR1 tables, identical for
//! every core, from what the DTB says, and switches to them.

use crate::mm::{self, DEVICE_MAP_BASE, KERNEL_VA, PAGE, PHYS_MAP_BASE, WINDOW_BASE};
use core::arch::asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use kerncore::pagetable::{self, Attrs, MapError, TableMemory, ENTRIES};
use platform::Platform;

const BLOCK_2M: u64 = 2 * 1024 * 1024;
/// Tables for the final kernel map. The linear map uses 1 GiB / 2 MiB
/// blocks, so even 4 GiB of RAM and every device need only a handful.
const POOL_TABLES: usize = 64;

extern "C" {
    static mut __boot_l2_window: [u64; ENTRIES];
    static __text_end: u8;
    static __rodata_end: u8;
}

/// The boot window is an L2 table: slot `n` maps 2 MiB at
/// `WINDOW_BASE + n * 2 MiB`.
pub fn map_window(slot: usize, pa: u64, attrs: Attrs) -> u64 {
    let block = pa & !(BLOCK_2M - 1);
    // Safety: only the boot core runs, and the window table is live in the
    // boot tables; the slot was invalid, so no TLB entry can hold it.
    unsafe {
        let table = &raw mut __boot_l2_window;
        (*table)[slot] = pagetable::block_descriptor(block, attrs);
        asm!("dsb ishst", "isb", options(nostack));
    }
    WINDOW_BASE + slot as u64 * BLOCK_2M + (pa - block)
}

#[repr(C, align(4096))]
struct Pool(UnsafeCell<[[u64; ENTRIES]; POOL_TABLES]>);

// Safety: the pool is written only by the boot core while it builds the
// tables, before any other core starts; afterwards only the MMU reads it.
unsafe impl Sync for Pool {}

static POOL: Pool = Pool(UnsafeCell::new([[0; ENTRIES]; POOL_TABLES]));
static POOL_USED: AtomicUsize = AtomicUsize::new(0);

/// Table memory backed by [`POOL`], inside the kernel image (mapped by the
/// boot tables before the linear map exists).
struct PoolMemory;

impl TableMemory for PoolMemory {
    fn alloc_table(&mut self) -> Option<u64> {
        let n = POOL_USED.fetch_add(1, Ordering::Relaxed);
        if n >= POOL_TABLES {
            return None;
        }
        let va = POOL.0.get() as u64 + n as u64 * PAGE;
        Some(mm::kernel_va_to_pa(va))
    }

    #[inline(always)]
    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        let va = pa - mm::kernel_phys() + KERNEL_VA;
        // Safety: `pa` came from `alloc_table`, so it is a pool table; the
        // boot core is the only writer (see `Pool`).
        unsafe { &mut *(va as *mut [u64; ENTRIES]) }
    }
}

fn check(what: &str, r: Result<(), MapError>) {
    if let Err(e) = r {
        panic!("kernel map: {}: {:?}", what, e);
    }
}

/// Maps device registers `[pa, pa + size)` at `DEVICE_MAP_BASE + pa`. The
/// whole range goes in one `map` (2 MiB blocks where aligned: QEMU virt's
/// GICv3 redistributor region is 15.4 MiB, 3 936 pages one by one). Two
/// devices may share a page or a block; when the range meets one mapped
/// before, it is mapped again page by page, skipping what is there, which
/// is correct since the device map is a fixed offset.
fn map_device(root: u64, pa: u64, size: u64) {
    let start = pa & !(PAGE - 1);
    let end = (pa + size).next_multiple_of(PAGE);
    let map = |page: u64, len: u64| {
        pagetable::map(
            &mut PoolMemory,
            root,
            DEVICE_MAP_BASE + page,
            page,
            len,
            Attrs::DEVICE,
        )
    };
    let whole = map(start, end - start);
    if whole != Err(MapError::AlreadyMapped) {
        return check("device map", whole);
    }
    for page in (start..end).step_by(PAGE as usize) {
        match map(page, PAGE) {
            Ok(()) | Err(MapError::AlreadyMapped) => {}
            Err(e) => panic!("device map at {:#x}: {:?}", page, e),
        }
    }
}

/// Builds the final kernel tables and returns the root's physical address.
/// Every core's stack is mapped here too (fresh frames at
/// [`mm::stack_top`], the guard below left unmapped), core 0's included:
/// the boot core leaves its boot stack for it once these tables are live.
pub fn build_kernel_tables(p: &Platform) -> u64 {
    let m = &mut PoolMemory;
    let root = m.alloc_table().expect("page-table pool empty");
    let (start, end) = mm::kernel_span();
    // Linker symbols: only their addresses are taken.
    let (text_end, rodata_end) = (&raw const __text_end as u64, &raw const __rodata_end as u64);
    let pa = mm::kernel_va_to_pa;
    let text = (start, text_end, Attrs::KERNEL_TEXT);
    let ro = (text_end, rodata_end, Attrs::KERNEL_RO);
    let rw = (rodata_end, end.next_multiple_of(PAGE), Attrs::KERNEL_RW);
    for (s, e, attrs) in [text, ro, rw] {
        check("image", pagetable::map(m, root, s, pa(s), e - s, attrs));
    }
    for bank in &p.memory {
        let s = bank.base.next_multiple_of(PAGE);
        let e = bank.end() & !(PAGE - 1);
        check(
            "linear map",
            pagetable::map(m, root, PHYS_MAP_BASE + s, s, e - s, Attrs::KERNEL_RW),
        );
    }
    for (base, size) in devices(p) {
        map_device(root, base, size);
    }
    for id in 0..p.cpus.len() {
        let frames = mm::alloc_frames(mm::STACK_SIZE, PAGE).expect("no memory for stacks");
        let top = mm::stack_top(id);
        check(
            "stack",
            pagetable::map(
                m,
                root,
                top - mm::STACK_SIZE,
                frames,
                mm::STACK_SIZE,
                Attrs::KERNEL_RW,
            ),
        );
    }
    root
}

/// Every MMIO region the kernel touches, from the DTB.
fn devices(p: &Platform) -> impl Iterator<Item = (u64, u64)> + '_ {
    let gic = match p.gic {
        platform::Gic::V2 { dist, cpu } => [(dist.base, dist.size), (cpu.base, cpu.size)],
        platform::Gic::V3 { dist, redist } => [(dist.base, dist.size), (redist.base, redist.size)],
    };
    let console = [(p.console.base, p.console.size)];
    let log = p.log.iter().flat_map(|u| {
        let aux = match u.kind {
            platform::UartKind::MiniUart { aux_enables } => Some((aux_enables, 4)),
            platform::UartKind::Pl011 | platform::UartKind::Imx => None,
        };
        [(u.base, u.size)].into_iter().chain(aux)
    });
    let wdog = p.watchdog.iter().map(|r| (r.base, r.size));
    // The whole page: the BCM2711 pull registers lie past the DTB's size.
    let gpio = p.bcm_gpio.iter().map(|r| (r.base, r.size.max(PAGE)));
    let virtio = p.virtio_mmio.iter().map(|v| (v.region.base, v.region.size));
    let sdhci = p.sdhci.iter().map(|r| (r.base, r.size.max(PAGE)));
    gic.into_iter()
        .chain(console)
        .chain(log)
        .chain(wdog)
        .chain(gpio)
        .chain(virtio)
        .chain(sdhci)
}

/// Switches this core's TTBR1 to `root` (same VA->PA for everything the
/// kernel is executing, so the switch is seamless) and drops stale entries.
pub fn switch_kernel_tables(root: u64) {
    // Safety: `root` maps the running image at the same addresses as the
    // boot tables; the TLB is invalidated after the switch.
    unsafe {
        asm!(
            "dsb ishst",
            "msr ttbr1_el1, {0}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            in(reg) root,
            options(nostack)
        );
    }
}
