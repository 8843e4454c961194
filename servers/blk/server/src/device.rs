//! The disk: virtio-blk (`drivers::virtio_blk`), driven without blocking: reads,
//! writes and flushes alike are put in the queue and finish through the
//! used ring. Up to [`SLOTS`] requests are in the device at once, each
//! with its own request header, status byte and data bounce buffer in the
//! DMA window's owner area:
//!
//! | owner-area offset | what |
//! | --- | --- |
//! | `0 + 64 k` | slot k's request header (16 bytes), its status byte at `+32` |
//! | `4 KiB + k × MAX_TRANSFER` | slot k's data bounce buffer |
//!
//! Completions are taken in the device's used-ring order
//! (`peek_used`), so requests may finish in any order.

use crate::hal::{BlkHal, WINDOW};
use blk_api::MAX_TRANSFER;
use blk_serve::{DeviceError, Pending, Transfer};
use core::ptr::NonNull;
use drivers::dma::PAGE;
use drivers::virtio_blk::{Header, Op, VirtioBlk};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

/// Requests in the device at once (each takes at most 3 of the queue's 16
/// descriptors).
pub const SLOTS: usize = 4;
/// Bytes of DMA window the server needs after the window's reserved part.
pub const OWNER_BYTES: usize = PAGE + SLOTS * MAX_TRANSFER;
/// virtio-mmio transport registers per slot.
const TRANSPORT: usize = 0x200;
/// The token of a flush the device had no need of (it caches no writes):
/// finished at once, taken by the next `poll`.
const DONE: u16 = u16::MAX;

/// The driver's request kind for a serving loop's transfer.
fn op(t: Transfer) -> Op {
    match t {
        Transfer::Read => Op::Read,
        Transfer::Write => Op::Write,
        Transfer::Flush => Op::Flush,
    }
}

/// The device and its in-flight requests.
pub struct Disk {
    blk: VirtioBlk<BlkHal>,
    slots: [Option<Pending>; SLOTS],
    area: usize,
    /// The device segment capability, if the image delivers the device's
    /// interrupt to this task (`InterruptAck` re-arms it).
    irq: Option<ulib::CPtr>,
}

/// The first virtio block transport in the device page mapped at `page`
/// (a virtio-mmio page holds 8 transports; the kernel granted the page of
/// the first block device, and this picks the same one, in address order).
pub fn find_transport(page: usize) -> Option<usize> {
    (0..PAGE / TRANSPORT)
        .map(|k| page + k * TRANSPORT)
        .find(|&t| {
            let r = t as *const u32;
            // Safety: `page` is the device segment mapped (uncached) by main;
            // magic (offset 0) and device id (offset 8) are read-only
            // identification registers of every transport in it.
            let (magic, id) = unsafe { (r.read_volatile(), r.add(2).read_volatile()) };
            magic == 0x7472_6976 && id == 2
        })
}

impl Disk {
    /// Initialises the device whose transport registers are at `regs`.
    /// [`WINDOW`] must be set and hold [`OWNER_BYTES`] of owner area.
    /// `device` is the device segment capability: if the image delivers
    /// the device's interrupt to this task, the first `InterruptAck`
    /// succeeds and the server blocks while the device works.
    pub fn new(regs: usize, device: ulib::CPtr) -> Result<Disk, &'static str> {
        let (area, _, len) = WINDOW.owner_area().ok_or("no DMA window")?;
        if len < OWNER_BYTES {
            return Err("DMA window too small");
        }
        let header = NonNull::new(regs as *mut VirtIOHeader).ok_or("no registers")?;
        // Safety: `regs` is a virtio-mmio transport (magic and device id
        // checked) of 0x200 bytes, mapped for the life of this task and
        // reached only through this transport from now on.
        let transport = unsafe { MmioTransport::new(header, TRANSPORT) }
            .map_err(|_| "not a virtio-mmio transport")?;
        let mut blk = VirtioBlk::new(transport)?;
        blk.enable_interrupts();
        // Refused (`InvalidArgument`) when the image delivers no interrupt.
        let irq = ulib::interrupt_ack(device).ok().map(|()| device);
        Ok(Disk {
            blk,
            slots: [None; SLOTS],
            area,
            irq,
        })
    }

    /// Slot k's request header and status byte.
    fn head(&self, k: usize) -> (*mut Header, *mut u8) {
        let head = self.area + k * 64;
        (head as *mut Header, (head + 32) as *mut u8)
    }

    /// Slot k's data bounce buffer.
    fn bounce(&self, k: usize) -> *mut u8 {
        (self.area + PAGE + k * MAX_TRANSFER) as *mut u8
    }
}

impl blk_serve::Device for Disk {
    /// Sectors on the disk.
    fn capacity(&self) -> u64 {
        self.blk.capacity()
    }

    fn read_only(&self) -> bool {
        self.blk.read_only()
    }

    /// A slot with nothing in it.
    fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    /// Requests in the device.
    fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Slot k's data bounce buffer: `len` bytes to fill before a write, or
    /// to read after a read completed.
    fn data(&mut self, k: usize, len: usize) -> &mut [u8] {
        let (k, len) = (k.min(SLOTS - 1), len.min(MAX_TRANSFER));
        // Safety: slot k's bounce buffer in the owner area (mapped RW for the
        // task's life, disjoint from every other slot's); callers use it only
        // while the slot's request is not in the device (filled before a
        // write starts, read after a read completed), borrowed via `&mut self`.
        unsafe { core::slice::from_raw_parts_mut(self.bounce(k), len) }
    }

    /// Starts slot k's request: `sector`, `p.buf.len()` bytes through its
    /// bounce buffer (already filled for a write), or a flush (no data).
    fn start(&mut self, k: usize, sector: u64, p: Pending) -> Result<(), DeviceError> {
        let len = p.buf.len();
        let bad_len = match p.op {
            Transfer::Flush => len != 0,
            _ => len == 0 || len > MAX_TRANSFER || !len.is_multiple_of(blk_api::SECTOR),
        };
        if k >= SLOTS || self.slots[k].is_some() || bad_len {
            return Err(DeviceError);
        }
        if p.op == Transfer::Flush && !self.blk.caches_writes() {
            self.slots[k] = Some(Pending { token: DONE, ..p });
            return Ok(());
        }
        let (header, status) = self.head(k);
        let data = self.bounce(k);
        // Safety: slot k's header, status byte and bounce buffer are
        // disjoint, aligned parts of the owner area (k < SLOTS, len <=
        // MAX_TRANSFER), mapped RW for the task's life; no reference to them
        // exists outside this block, and none is made again until `poll`
        // completes the token (the slot stays taken until then), as
        // `VirtioBlk::start` requires.
        let token = unsafe {
            let buf = core::slice::from_raw_parts_mut(data, len);
            self.blk
                .start(op(p.op), sector, &mut *header, buf, &mut *status)
        }
        .map_err(|_| DeviceError)?;
        self.slots[k] = Some(Pending { token, ..p });
        Ok(())
    }

    /// The next completed request, if the device has finished one: its
    /// slot, who waits for it, and how it went. The slot is free again
    /// (its bounce buffer keeps a read's data until the slot is reused).
    fn poll(&mut self) -> Option<(usize, Pending, Result<(), DeviceError>)> {
        let token = match self.slots.iter().flatten().any(|p| p.token == DONE) {
            true => DONE,
            false => self.blk.peek_used()?,
        };
        let k = self
            .slots
            .iter()
            .position(|s| s.is_some_and(|p| p.token == token))?;
        let p = self.slots[k].take()?;
        if token == DONE {
            return Some((k, p, Ok(())));
        }
        let (header, status) = self.head(k);
        let data = self.bounce(k);
        // Safety: the same header, status and buffer (computed from k and the
        // length alone) that slot k's request was started with, in the same
        // roles (`p.op`); the device has used them, and nothing else
        // references them.
        let r = unsafe {
            let buf = core::slice::from_raw_parts_mut(data, p.buf.len());
            self.blk
                .complete(token, op(p.op), &*header, buf, &mut *status)
        };
        Some((k, p, r.map_err(|_| DeviceError)))
    }

    fn interrupts(&self) -> bool {
        self.irq.is_some()
    }

    /// The device's interrupt status is cleared first, then the line
    /// unmasked: a completion after the clear raises it again.
    fn rearm(&mut self) {
        if let Some(device) = self.irq {
            self.blk.ack_interrupt();
            let _ = ulib::interrupt_ack(device);
        }
    }
}
