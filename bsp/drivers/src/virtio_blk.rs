//! virtio-blk requests of the driver's own, over `virtio-drivers`' public
//! transport (`MmioTransport`) and virtqueue (`VirtQueue`): the driver of
//! the block server (servers/blk/server) and of the kernel's in-kernel
//! baseline (feature `virtio-blk`; each brings its own `Hal`).
//!
//! Why not the crate's `VirtIOBlk`: it starts reads and writes without
//! waiting (`read_blocks_nb`, `write_blocks_nb`), but its `flush` (0.13,
//! the newest release) puts the request in and spins until the device
//! answers. Under emulation that spin runs while the host syncs the disk
//! file, so every flush turned host time into guest instructions (up to
//! 58 772 per request in a write window: docs/measurements.md), and on a
//! board it would hold the server's core for the disk's whole sync. A
//! flush is only one more request type (`VIRTIO_BLK_T_FLUSH`, virtio 1.2
//! §5.2.6: a header and a status byte, no data), and the queue the crate
//! keeps private in `VirtIOBlk` is public as `VirtQueue`, so the driver
//! builds all three kinds itself, from the same pieces, and every request,
//! a flush too, finishes through the used ring and the device's
//! interrupt. What the crate still does: the transport's registers, the
//! descriptor, available and used rings, event-index notification
//! suppression, and the `Hal` calls for every buffer.

use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::MmioTransport;
use virtio_drivers::transport::{DeviceStatus, Transport};
use virtio_drivers::Hal;

/// The request queue (virtio-blk has one, queue 0, unless it offers
/// `VIRTIO_BLK_F_MQ`, which is not asked for).
const QUEUE: u16 = 0;
/// Descriptors in it: a request takes 2 (flush) or 3.
const QUEUE_SIZE: usize = 16;

/// Feature bits asked for (virtio 1.2 §5.2.3, §6), the ones `VirtIOBlk`
/// asks for but indirect descriptors (which need `alloc`).
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
const F_EVENT_IDX: u64 = 1 << 29;
const F_VERSION_1: u64 = 1 << 32;

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Sectors from the device into the data buffer.
    Read,
    /// Sectors from the data buffer to the device.
    Write,
    /// Every write the device completed before it made durable; no data.
    Flush,
}

/// A request the queue had no room for, or that the device's status
/// byte says failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFailed;

/// Request types (§5.2.6).
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
/// The status byte the device writes last: 0 = OK, 1 = IOERR, 2 = UNSUPP.
const S_OK: u8 = 0;
/// What the status byte holds until the device writes it.
const S_PENDING: u8 = 0xff;

/// A request's header (`struct virtio_blk_req`'s device-readable part):
/// type, reserved, sector, little-endian.
pub type Header = [u8; 16];

/// The device, its buffers shared through `H`.
pub struct VirtioBlk<H: Hal> {
    transport: MmioTransport<'static>,
    queue: VirtQueue<H, QUEUE_SIZE>,
    capacity: u64,
    read_only: bool,
    /// `VIRTIO_BLK_F_FLUSH` negotiated: the device may cache writes, and a
    /// flush goes to it. Without it every completed write is durable and
    /// a flush has nothing to do (§5.2.6.2).
    cache: bool,
}

impl<H: Hal> VirtioBlk<H> {
    /// Initialises the device (§3.1.1): reset, the features above that it
    /// offers, its capacity, the queue, `DRIVER_OK`.
    pub fn new(mut transport: MmioTransport<'static>) -> Result<Self, &'static str> {
        transport.set_status(DeviceStatus::empty());
        transport.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
        let features =
            transport.read_device_features() & (F_RO | F_FLUSH | F_EVENT_IDX | F_VERSION_1);
        transport.write_driver_features(features);
        let ok = DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK;
        transport.set_status(ok);
        if !transport.get_status().contains(DeviceStatus::FEATURES_OK) {
            transport.set_status(ok | DeviceStatus::FAILED);
            return Err("the device refused the features it offered");
        }
        transport.set_guest_page_size(crate::dma::PAGE as u32);
        let capacity = transport
            .read_consistent(|| {
                let low: u32 = transport.read_config_space(0)?;
                let high: u32 = transport.read_config_space(4)?;
                Ok(u64::from(low) | (u64::from(high) << 32))
            })
            .map_err(|_| "no capacity in the device's configuration")?;
        let queue = VirtQueue::new(&mut transport, QUEUE, false, features & F_EVENT_IDX != 0)
            .map_err(|_| "no request queue")?;
        transport.finish_init();
        Ok(VirtioBlk {
            transport,
            queue,
            capacity,
            read_only: features & F_RO != 0,
            cache: features & F_FLUSH != 0,
        })
    }

    /// Sectors on the disk.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether a flush has anything to do (the device caches writes).
    pub fn caches_writes(&self) -> bool {
        self.cache
    }

    /// Asks the device for an interrupt when it has used a request.
    pub fn enable_interrupts(&mut self) {
        self.queue.set_dev_notify(true);
    }

    /// Clears the device's interrupt status.
    pub fn ack_interrupt(&mut self) {
        let _ = self.transport.ack_interrupt();
    }

    /// Puts request `op` of `sector` in the queue and tells the device if
    /// it asked to be told; returns its token. `data` is the sectors (a
    /// flush has none: pass an empty slice).
    ///
    /// # Safety
    ///
    /// `header`, `data` and `status` must stay valid, and nothing may touch
    /// them, until [`VirtioBlk::complete`] of the token returned, which
    /// must be given the same three.
    pub unsafe fn start(
        &mut self,
        op: Op,
        sector: u64,
        header: &mut Header,
        data: &mut [u8],
        status: &mut u8,
    ) -> Result<u16, RequestFailed> {
        let kind = match op {
            Op::Read => T_IN,
            Op::Write => T_OUT,
            Op::Flush => T_FLUSH,
        };
        header[..4].copy_from_slice(&kind.to_le_bytes());
        header[4..8].copy_from_slice(&0u32.to_le_bytes());
        header[8..].copy_from_slice(&sector.to_le_bytes());
        *status = S_PENDING;
        let status = core::slice::from_mut(status);
        // Safety: the caller keeps the three buffers valid and untouched
        // until `complete` of this token (the contract of `add`).
        let token = unsafe {
            match op {
                Op::Read => self.queue.add(&[&header[..]], &mut [data, status]),
                Op::Write => self.queue.add(&[&header[..], &data[..]], &mut [status]),
                Op::Flush => self.queue.add(&[&header[..]], &mut [status]),
            }
        }
        .map_err(|_| RequestFailed)?;
        if self.queue.should_notify() {
            self.transport.notify(QUEUE);
        }
        Ok(token)
    }

    /// The token of the next request the device has used, if any.
    pub fn peek_used(&self) -> Option<u16> {
        self.queue.peek_used()
    }

    /// Takes request `token` (the next used one) off the queue: `Ok` if the
    /// device's status byte says OK.
    ///
    /// # Safety
    ///
    /// `op`, `header`, `data` and `status` must be those `token` was
    /// started with.
    pub unsafe fn complete(
        &mut self,
        token: u16,
        op: Op,
        header: &Header,
        data: &mut [u8],
        status: &mut u8,
    ) -> Result<(), RequestFailed> {
        let done = core::slice::from_mut(status);
        // Safety: the same buffers, in the same roles, as `start` added
        // (the caller's promise), as `pop_used` requires.
        unsafe {
            match op {
                Op::Read => self
                    .queue
                    .pop_used(token, &[&header[..]], &mut [data, done]),
                Op::Write => self
                    .queue
                    .pop_used(token, &[&header[..], &data[..]], &mut [done]),
                Op::Flush => self.queue.pop_used(token, &[&header[..]], &mut [done]),
            }
        }
        .map_err(|_| RequestFailed)?;
        if *status == S_OK {
            Ok(())
        } else {
            Err(RequestFailed)
        }
    }
}

impl<H: Hal> Drop for VirtioBlk<H> {
    /// The device forgets the queue before its pages go back.
    fn drop(&mut self) {
        self.transport.queue_unset(QUEUE);
    }
}
