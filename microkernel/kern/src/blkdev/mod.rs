//! The conventional baseline of the block service (feature
//! `block-in-kernel`): a virtio-blk driver inside the kernel, behind one
//! lock, reached by the `BlockRead`/`BlockWrite`/`BlockFlush` system
//! calls from every core. Each call copies between the task and its core's
//! own 64 KiB bounce buffer (through the task's page tables, outside the
//! lock), then takes the lock (counted as a shared-lock acquisition) for
//! the device request and waits for it there, asleep in `wfi` until the
//! device's interrupt (routed to the waiting core for the request; see
//! [`wait_used`]). A caller that finds the lock held sleeps in `wfi` too,
//! until the release that serves it wakes it ([`lock`]), so no core
//! executes anything while the device works. The driver is the block
//! server's (`drivers::virtio_blk`): a flush, too, finishes through the
//! used ring and the interrupt. The device is set up by the first call.
//! The kernel-core server (servers/blk) is the design this is measured
//! against; docs/block.md compares them.

mod hal;
mod lock;

use crate::{kprintln, mm, percore};
use abi::Error;
use drivers::dma;
use drivers::virtio_blk::{Header, Op, VirtioBlk};

/// The baseline's sector: the virtio-blk sector, and the unit of every
/// `Block*` call's length and position.
const SECTOR: usize = 512;
/// The most one `BlockRead`/`BlockWrite` moves (the bounce buffer's size).
const MAX_TRANSFER: usize = 64 * 1024;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use hal::{KernHal, WINDOW};
use platform::MAX_CPUS;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

type Device = VirtioBlk<KernHal>;

/// The device, probed by the first call that needs it.
static DEVICE: lock::DeviceLock<State> = lock::DeviceLock::new(State::Untried);

// One static instance; the kernel has no heap to box the driver in.
#[allow(clippy::large_enum_variant)]
enum State {
    Untried,
    Absent,
    Ready(Device),
    /// The run is over; its memory went back ([`release`]).
    Released,
}

/// Frames of the DMA window.
const WINDOW_PAGES: u64 = (dma::RESERVED / dma::PAGE) as u64;
/// Frames of a core's bounce buffer.
const BOUNCE_PAGES: u64 = (MAX_TRANSFER / dma::PAGE) as u64;

/// The device's interrupt (its GIC INTID), once the device is up (0: none,
/// the driver polls).
static INTID: AtomicU32 = AtomicU32::new(0);

/// The disk's size in sectors, once the device is up (0 before).
static CAPACITY: AtomicU64 = AtomicU64::new(0);

/// Each core's bounce buffer (physical address of MAX_TRANSFER contiguous
/// bytes; 0 until the core's first call).
static BOUNCE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

fn lock() -> lock::Guard<'static, State> {
    percore::count(|e| &e.shared_locks);
    DEVICE.lock()
}

/// Finds and initialises the first virtio block device (the one the
/// kernel would grant as `device:virtio-blk`).
fn probe() -> State {
    let Some(p) = crate::boot::platform() else {
        return State::Absent;
    };
    let Some(v) = p.virtio_mmio.iter().find(|v| {
        let regs = mm::device_va(v.region.base) as *const u32;
        // Safety: every virtio-mmio region of the DTB is in the kernel's
        // device map; magic and device id are read-only registers.
        let (magic, id) = unsafe { (regs.read_volatile(), regs.add(2).read_volatile()) };
        magic == 0x7472_6976 && id == 2
    }) else {
        kprintln!("blkdev: no virtio block device");
        return State::Absent;
    };
    let Some(pa) = mm::frames_alloc_contiguous(WINDOW_PAGES) else {
        kprintln!("blkdev: no memory for the DMA window");
        return State::Absent;
    };
    if !WINDOW.init(mm::phys_to_virt(pa) as usize, pa, dma::RESERVED) {
        return State::Absent;
    }
    let Some(header) = NonNull::new(mm::device_va(v.region.base) as *mut VirtIOHeader) else {
        return State::Absent;
    };
    // Safety: a virtio-mmio transport (magic and id checked) in the
    // kernel's device map for good, used only through this driver, under
    // the lock.
    let transport = match unsafe { MmioTransport::new(header, v.region.size as usize) } {
        Ok(t) => t,
        Err(_) => return State::Absent,
    };
    match Device::new(transport) {
        Ok(mut d) => {
            d.enable_interrupts();
            INTID.store(v.intid, Ordering::Relaxed);
            kprintln!(
                "blkdev: virtio-blk at {:#x}, {} sectors, in the kernel behind a lock",
                v.region.base,
                d.capacity()
            );
            State::Ready(d)
        }
        Err(e) => {
            kprintln!("blkdev: virtio-blk init failed: {}", e);
            State::Absent
        }
    }
}

/// Runs `f` on the device under the lock (probing it on first use).
fn with_device<R>(f: impl FnOnce(&mut Device) -> Result<R, Error>) -> Result<R, Error> {
    let mut state = lock();
    if matches!(*state, State::Untried) {
        *state = probe();
    }
    match &mut *state {
        State::Ready(d) => f(d),
        _ => Err(Error::InvalidArgument),
    }
}

/// Checks a transfer: `len` a non-zero multiple of 512 of at most 64 KiB
/// (`InvalidArgument`), sectors on the disk (`OutOfRange`; `InvalidArgument`
/// without a disk).
pub fn check(sector: u64, len: u64) -> Result<usize, Error> {
    if len == 0 || !len.is_multiple_of(SECTOR as u64) || len > MAX_TRANSFER as u64 {
        return Err(Error::InvalidArgument);
    }
    let mut capacity = CAPACITY.load(Ordering::Relaxed);
    if capacity == 0 {
        capacity = with_device(|d| Ok(d.capacity()))?;
        CAPACITY.store(capacity, Ordering::Relaxed);
    }
    match sector.checked_add(len / SECTOR as u64) {
        Some(end) if end <= capacity => Ok(len as usize),
        _ => Err(Error::OutOfRange),
    }
}

/// This core's bounce buffer, `len` (at most 64 KiB) bytes of it.
///
/// The caller must not hold another slice from an earlier call: a core
/// runs one system call at a time and drops it before returning.
pub fn bounce(len: usize) -> Result<&'static mut [u8], Error> {
    let me = percore::id();
    let cell = BOUNCE.get(me).ok_or(Error::InvalidArgument)?;
    let mut pa = cell.load(Ordering::Relaxed);
    if pa == 0 {
        pa = mm::frames_alloc_contiguous(BOUNCE_PAGES).ok_or(Error::OutOfMemory)?;
        cell.store(pa, Ordering::Relaxed);
    }
    // Safety: MAX_TRANSFER contiguous bytes of RAM this core allocated for
    // good, in the linear map; only this core uses them, one system call
    // at a time, and the slice dies with the call.
    Ok(unsafe {
        core::slice::from_raw_parts_mut(mm::phys_to_virt(pa) as *mut u8, len.min(MAX_TRANSFER))
    })
}

/// Before a request: routes the device's interrupt to this core, more
/// urgent than any other, and lets only it reach the core
/// ([`crate::irq::only_urgent`]); whether there is one to sleep on.
fn arm() -> Option<u32> {
    let intid = Some(INTID.load(Ordering::Relaxed)).filter(|&i| i != 0)?;
    crate::irq::route_here_urgent(intid);
    crate::irq::only_urgent(crate::irq::Urgent::Device);
    Some(intid)
}

/// Waits (under the device lock) until the device has used request
/// `token`. With its interrupt ([`arm`]) the core sleeps in `wfi`, with
/// interrupts masked as in every system call: the device's interrupt ends
/// the `wfi` (a masked interrupt still does) and is never taken; the
/// device's status is cleared, which lowers its line, and the interrupt
/// disabled again. The timer, the wake SGI and any other interrupt stay
/// pending meanwhile (the priority mask keeps them from ending the
/// `wfi`, the lock's wake SGI too) and are taken when the system call
/// returns. So the core
/// executes nothing while the device works, and the instructions a
/// request costs are the same whatever the device's latency (issue 12).
/// Without an interrupt: `relax` between looks, not the `isb` spin of
/// virtio-drivers' blocking calls, which under single-threaded TCG burns
/// this vCPU's whole slice while QEMU's I/O thread completes the request.
fn wait_used(d: &mut Device, token: u16, irq: Option<u32>) {
    while d.peek_used() != Some(token) {
        match irq {
            Some(_) => crate::arch::aarch64::wfi(),
            None => crate::sync::relax(),
        }
    }
    if let Some(intid) = irq {
        d.ack_interrupt();
        crate::irq::set_enabled(intid, false);
        crate::irq::only_urgent(crate::irq::Urgent::Off);
    }
}

/// Runs request `op` of `sector` with `data` (a bounce buffer; empty for
/// a flush) on the device, asleep until it is done.
fn request(op: Op, sector: u64, data: &mut [u8]) -> Result<(), Error> {
    with_device(|d| {
        if op == Op::Flush && !d.caches_writes() {
            return Ok(());
        }
        let mut header: Header = [0; 16];
        let mut status = 0u8;
        // Safety: `header`, `data` and `status` are not touched until the
        // request completes below, before they go out of scope; one
        // request at a time (the device lock), so the next used token is
        // ours.
        let token = unsafe { d.start(op, sector, &mut header, data, &mut status) }
            .map_err(|_| Error::DeviceError)?;
        // After the request is in: a completion already there keeps the
        // (level) line up, and ends the first `wfi` at once.
        let irq = arm();
        wait_used(d, token, irq);
        // Safety: the same buffers, in the same roles, as `start` was given.
        unsafe { d.complete(token, op, &header, data, &mut status) }.map_err(|_| Error::DeviceError)
    })
}

/// Reads sectors from `sector` into `buf` (a bounce buffer).
pub fn read(sector: u64, buf: &mut [u8]) -> Result<(), Error> {
    request(Op::Read, sector, buf)
}

/// Writes `buf` (a bounce buffer) to sectors from `sector`.
pub fn write(sector: u64, buf: &mut [u8]) -> Result<(), Error> {
    request(Op::Write, sector, buf)
}

/// Makes every completed write durable (nothing to do when the device
/// does not cache writes); sleeps on the interrupt as a read does.
pub fn flush() -> Result<(), Error> {
    request(Op::Flush, 0, &mut [])
}

/// End of the run (every task gone): the device is reset and every frame
/// the driver took (window, bounce buffers) goes back, so the leak check
/// sees none.
pub fn release() {
    let mut state = lock();
    let was = core::mem::replace(&mut *state, State::Released);
    // Dropping the driver unsets its queue and frees it into the window.
    drop(was);
    if let Some((_, pa, _)) = WINDOW.owner_area() {
        let base = pa - dma::RESERVED as u64;
        for i in 0..WINDOW_PAGES {
            mm::frame_free(base + i * dma::PAGE as u64);
        }
    }
    for cell in &BOUNCE {
        let pa = cell.swap(0, Ordering::Relaxed);
        if pa != 0 {
            for i in 0..BOUNCE_PAGES {
                mm::frame_free(pa + i * dma::PAGE as u64);
            }
        }
    }
}
