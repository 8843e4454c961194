//! The network device: virtio-net through `virtio-drivers`' raw driver,
//! driven without blocking, and its `smoltcp::phy::Device` face. Frame
//! buffers live in the DMA window's owner area:
//!
//! | owner-area offset | what |
//! | --- | --- |
//! | `k × FRAME` (k < `RX_BUFS`) | receive buffer k, posted to the device while it waits for a frame |
//! | `(RX_BUFS + k) × FRAME` (k < `TX_BUFS`) | transmit buffer k, in the device from `transmit_begin` until its completion is reaped |
//!
//! The device writes only into receive buffers the server posted, and
//! reads only transmit buffers it handed over; every one lies in the window.
//! This is the layer a GENET driver (Pi 4) would replace: the stack above
//! sees only `phy::Device`.

use crate::hal::{NetHal, WINDOW};
use crate::loopback::Loopback;
use core::ptr::NonNull;
use smoltcp::phy::{self, DeviceCapabilities};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

/// Entries of each virtqueue.
const QUEUE: usize = 16;
/// Receive buffers (all posted at once: at most the queue's entries).
pub const RX_BUFS: usize = 16;
/// Transmit buffers.
pub const TX_BUFS: usize = 8;
/// Bytes of one frame buffer: the virtio-net header (12 bytes) and an
/// Ethernet frame of at most [`MTU`] bytes.
const FRAME: usize = 2048;
/// Bytes of DMA window the device needs after the window's reserved part.
pub const OWNER_BYTES: usize = (RX_BUFS + TX_BUFS) * FRAME;
/// Largest Ethernet frame (without FCS): a 1500-byte IP MTU.
pub const MTU: usize = 1514;
/// virtio-mmio transport registers per slot.
const TRANSPORT: usize = 0x200;
/// virtio device id of a network card.
const VIRTIO_ID_NET: u32 = 1;

const _: () = assert!(RX_BUFS <= QUEUE && TX_BUFS <= QUEUE);
const _: () = assert!(MTU + 12 <= FRAME);

/// Frame counts since start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Frames handed to the stack.
    pub rx: u64,
    /// Frames sent.
    pub tx: u64,
    /// Completions the device reported with an error (the buffer is posted
    /// again).
    pub rx_errors: u64,
}

/// The first virtio network transport in the device page mapped at `page`
/// (a virtio-mmio page holds 8 transports; the kernel granted the page of
/// the first network device, and this picks the same one, in address
/// order).
pub fn find_transport(page: usize) -> Option<usize> {
    (0..drivers::dma::PAGE / TRANSPORT)
        .map(|k| page + k * TRANSPORT)
        .find(|&t| {
            let r = t as *const u32;
            // Safety: `page` is the device segment mapped (uncached) by the
            // server; magic (offset 0) and device id (offset 8) are
            // read-only identification registers of every transport in it.
            let (magic, id) = unsafe { (r.read_volatile(), r.add(2).read_volatile()) };
            magic == 0x7472_6976 && id == VIRTIO_ID_NET
        })
}

/// The device, its posted receive buffers and its transmit buffers.
pub struct Nic {
    dev: VirtIONetRaw<NetHal, MmioTransport<'static>, QUEUE>,
    area: usize,
    /// The device's token for each posted receive buffer.
    rx: [Option<u16>; RX_BUFS],
    /// The receive buffer last handed to the stack: posted again at the
    /// next call into the device (the stack is done with it by then).
    repost: Option<usize>,
    /// Token and length of each transmit buffer in the device.
    tx: [Option<(u16, usize)>; TX_BUFS],
    pub counts: Counts,
    /// Configuration 1: frames the stack sends to itself
    /// ([`Nic::loop_own`]).
    pub lo: Option<Loopback>,
    /// The device segment capability, if the image delivers the device's
    /// interrupt to this task (`InterruptAck` re-arms it).
    irq: Option<ulib::CPtr>,
}

impl Nic {
    /// Initialises the device whose transport registers are at `regs` and
    /// posts every receive buffer. [`WINDOW`] must be set and hold
    /// [`OWNER_BYTES`] of owner area. `device` is the device segment
    /// capability: if the image delivers the device's interrupt to this
    /// task, the first `InterruptAck` succeeds and the server may block.
    pub fn new(regs: usize, device: ulib::CPtr) -> Result<Nic, &'static str> {
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
        let mut dev = VirtIONetRaw::new(transport).map_err(|_| "virtio-net init failed")?;
        dev.enable_interrupts();
        // Refused (`InvalidArgument`) when the image delivers no interrupt.
        let irq = ulib::interrupt_ack(device).ok().map(|()| device);
        let mut nic = Nic {
            dev,
            area,
            rx: [None; RX_BUFS],
            repost: None,
            tx: [None; TX_BUFS],
            counts: Counts::default(),
            lo: None,
            irq,
        };
        for k in 0..RX_BUFS {
            nic.post(k)?;
        }
        Ok(nic)
    }

    /// The card's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.dev.mac_address()
    }

    fn buf(&self, k: usize) -> *mut u8 {
        (self.area + k * FRAME) as *mut u8
    }

    /// Posts receive buffer k to the device.
    fn post(&mut self, k: usize) -> Result<(), &'static str> {
        let k = k.min(RX_BUFS - 1);
        // Safety: receive buffer k is FRAME bytes of the owner area, mapped
        // RW for the task's life and disjoint from every other buffer; it
        // is not posted (rx[k] is None) and the stack is done with it, so
        // nothing references it until `receive` completes its token.
        let token = unsafe {
            let buf = core::slice::from_raw_parts_mut(self.buf(k), FRAME);
            self.dev.receive_begin(buf)
        }
        .map_err(|_| "cannot post a receive buffer")?;
        self.rx[k] = Some(token);
        Ok(())
    }

    /// From now on, frames the stack sends to its own Ethernet address, or
    /// ARP requests for `ip`, come back to it instead of going to the card
    /// (loopback.rs). Called once, in configuration 1.
    pub fn loop_own(&mut self, ip: [u8; 4]) {
        if self.lo.is_none() {
            // Safety: the only Loopback of this task (`lo` is set once).
            self.lo = Some(unsafe { Loopback::new(self.mac(), ip) });
        }
    }

    /// Posts the buffer the stack was given last, if any, and takes back
    /// the loopback frame it was lent.
    pub fn repost(&mut self) {
        if let Some(lo) = self.lo.as_mut() {
            lo.release();
        }
        if let Some(k) = self.repost.take() {
            // A failure leaves the buffer out: one fewer to receive into.
            let _ = self.post(k);
        }
    }

    /// Takes every completed transmission back.
    fn reap_tx(&mut self) {
        while let Some(token) = self.dev.poll_transmit() {
            let Some(k) = self.tx.iter().position(|t| t.is_some_and(|t| t.0 == token)) else {
                return; // not ours: leave it (a correct device never does this)
            };
            let len = self.tx[k].map_or(0, |t| t.1);
            // Safety: the same buffer (transmit buffer k, its first `len`
            // bytes, computed from k and the stored length alone) that
            // transmit_begin was given with this token.
            let _ = unsafe {
                let buf = core::slice::from_raw_parts(self.buf(RX_BUFS + k), len);
                self.dev.transmit_complete(token, buf)
            };
            self.tx[k] = None;
            self.counts.tx += 1;
        }
    }

    /// A free transmit buffer, after reaping completions.
    fn free_tx(&mut self) -> Option<usize> {
        self.reap_tx();
        self.tx.iter().position(Option::is_none)
    }
}

impl Nic {
    /// The next completed receive buffer: its index, header and frame
    /// lengths (hdr + len <= FRAME); it is posted again at the next call
    /// into the device.
    fn take_frame(&mut self) -> Option<(usize, usize, usize)> {
        loop {
            let token = self.dev.poll_receive()?;
            let k = self.rx.iter().position(|t| *t == Some(token))?;
            self.rx[k] = None;
            // Safety: the same buffer (receive buffer k, FRAME bytes) that
            // receive_begin was given with this token; the device is done
            // with it.
            let done = unsafe {
                let buf = core::slice::from_raw_parts_mut(self.buf(k), FRAME);
                self.dev.receive_complete(token, buf)
            };
            let Ok((hdr, len)) = done else {
                self.counts.rx_errors += 1;
                let _ = self.post(k);
                continue;
            };
            let (hdr, len) = (hdr.min(FRAME), len.min(FRAME - hdr.min(FRAME)));
            self.repost = Some(k);
            self.counts.rx += 1;
            return Some((k, hdr, len));
        }
    }

    /// Hands the next received frame to `f` (configuration 2: the server
    /// passes frames on); the buffer goes back to the device after.
    pub fn receive_frame<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.repost();
        let (k, hdr, len) = self.take_frame()?;
        // Safety: receive buffer k, no longer in the device, read here
        // only until it is posted again below; hdr + len <= FRAME.
        let frame = unsafe { core::slice::from_raw_parts(self.buf(k).add(hdr), len) };
        let r = f(frame);
        self.repost();
        Some(r)
    }

    /// Whether a transmit buffer is free.
    pub fn can_send(&mut self) -> bool {
        self.free_tx().is_some()
    }

    /// Sends a frame of `len` bytes that `f` writes; `false` if no
    /// transmit buffer is free.
    pub fn send_frame(&mut self, len: usize, f: impl FnOnce(&mut [u8])) -> bool {
        match phy::Device::transmit(self, Instant::ZERO) {
            Some(tx) => {
                phy::TxToken::consume(tx, len, f);
                true
            }
            None => false,
        }
    }
}

/// A received frame, lent to the stack.
pub struct Rx<'a> {
    frame: &'a [u8],
}

/// A transmit buffer, lent to the stack.
pub struct Tx<'a> {
    nic: &'a mut Nic,
    k: usize,
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let nic = self.nic;
        let p = nic.buf(RX_BUFS + self.k);
        // Safety: transmit buffer k (free: `transmit`/`receive` checked) is
        // FRAME bytes of the owner area, mapped RW and referenced by nothing
        // else until it is handed to the device below.
        let buf = unsafe { core::slice::from_raw_parts_mut(p, FRAME) };
        let hdr = nic.dev.fill_buffer_header(buf).unwrap_or(0);
        // The stack never asks for more than the MTU the capabilities give.
        let len = len.min(FRAME - hdr);
        let r = f(&mut buf[hdr..hdr + len]);
        if let Some(lo) = nic.lo.as_mut() {
            if lo.wants(&buf[hdr..hdr + len]) {
                // Back to the stack; the transmit buffer stays free.
                lo.push(&buf[hdr..hdr + len]);
                return r;
            }
        }
        let total = hdr + len;
        // Safety: the buffer stays untouched until `reap_tx` completes its
        // token (tx[k] is taken until then).
        if let Ok(token) = unsafe { nic.dev.transmit_begin(&buf[..total]) } {
            nic.tx[self.k] = Some((token, total));
        }
        r
    }
}

impl net_stack::Link for Nic {
    fn after_poll(&mut self) {
        self.repost();
    }

    /// Not while looped-back frames wait: no interrupt announces them.
    fn interrupts(&self) -> bool {
        self.irq.is_some() && !self.lo.as_ref().is_some_and(Loopback::pending)
    }

    /// The interrupt status is cleared first, then the line unmasked: a
    /// frame or completion after the clear raises it again.
    fn rearm(&mut self) {
        if let Some(device) = self.irq {
            self.dev.ack_interrupt();
            let _ = ulib::interrupt_ack(device);
        }
    }
}

impl phy::Device for Nic {
    type RxToken<'a>
        = Rx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        self.repost();
        let k_tx = self.free_tx()?;
        if let Some((p, len)) = self.lo.as_mut().and_then(Loopback::next) {
            // Safety: a loopback slot of `len` <= MTU bytes, not written
            // until it is released at the next call into this Nic
            // (`repost`), by which time the stack is done with it.
            let frame = unsafe { core::slice::from_raw_parts(p, len) };
            return Some((Rx { frame }, Tx { nic: self, k: k_tx }));
        }
        let (k, hdr, len) = self.take_frame()?;
        // Safety: receive buffer k, no longer in the device, is lent to
        // the stack read-only until the next call into this Nic (which
        // posts it again first); hdr + len <= FRAME.
        let frame = unsafe { core::slice::from_raw_parts(self.buf(k).add(hdr), len) };
        Some((Rx { frame }, Tx { nic: self, k: k_tx }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        self.repost();
        let k = self.free_tx()?;
        Some(Tx { nic: self, k })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        net_stack::ethernet(MTU, TX_BUFS)
    }
}
