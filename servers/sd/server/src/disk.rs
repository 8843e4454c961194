//! The clients' disk: one partition of the card, the MBR entry the image
//! names (`values = { partition = N }`, N = 1..4). The MBR (the card's
//! sector 0) must hold there a partition of type 0xda inside the
//! card (`cargo xtask flash` writes one as entry 2, after the boot
//! partition; the type check keeps an image that names the boot
//! partition from overwriting the firmware); its first sector is the
//! clients' sector 0, and no
//! request reaches a sector outside it (`blk_api::validate` refuses it with
//! `BAD_SECTOR` against [`Device::capacity`], and [`Disk::start`] checks
//! again before the card is addressed). The boot partition and the MBR are
//! never written.
//!
//! One request at a time, done to completion when it is started (polled
//! programmed I/O, no DMA), answered at the next [`Device::poll`].

use crate::card::Card;
use crate::mbr::{data_partition, MbrError, Partition};
use crate::sdhci::{Error, Sdhci, BLOCK};
use blk_api::MAX_TRANSFER;
use blk_serve::{Device, DeviceError, Pending, Transfer};

/// Why the card has no usable data partition.
#[derive(Clone, Copy, Debug)]
pub enum PartitionError {
    /// Reading the MBR failed.
    Read(Error),
    /// The MBR has none (`mbr::data_partition` says why).
    Mbr(MbrError),
}

/// The data bounce buffer: one request's bytes.
struct Bounce([u8; MAX_TRANSFER]);
static mut BOUNCE: Bounce = Bounce([0; MAX_TRANSFER]);

/// The card, its data partition and the one request slot.
pub struct Disk {
    host: Sdhci,
    card: Card,
    part: Partition,
    bounce: &'static mut [u8; MAX_TRANSFER],
    /// A request done in `start`, answered by the next `poll`.
    done: Option<(Pending, Result<(), DeviceError>)>,
    /// The last card error, for the server's report.
    pub last_error: Option<Error>,
}

impl Disk {
    /// Reads the MBR of the initialised `card` and takes its partition
    /// `number`. Call once: it takes the bounce buffer.
    pub fn new(host: Sdhci, card: Card, number: u64) -> Result<Disk, PartitionError> {
        // Safety: called once (by `run`), so this is the only reference to
        // BOUNCE for the task's life.
        let bounce = unsafe { &mut (*core::ptr::addr_of_mut!(BOUNCE)).0 };
        let mbr = &mut bounce[..BLOCK];
        let addr = card
            .address(0)
            .ok_or(PartitionError::Mbr(MbrError::NoMbr))?;
        host.read_blocks(addr, mbr).map_err(PartitionError::Read)?;
        let mut sector0 = [0u8; BLOCK];
        sector0.copy_from_slice(mbr);
        let part = data_partition(&sector0, number, card.blocks).map_err(PartitionError::Mbr)?;
        Ok(Disk {
            host,
            card,
            part,
            bounce,
            done: None,
            last_error: None,
        })
    }

    pub fn partition(&self) -> Partition {
        self.part
    }

    /// The card address of the clients' `sector .. sector + n`, if that
    /// lies inside the partition.
    fn address(&self, sector: u64, n: u64) -> Option<u32> {
        let end = sector.checked_add(n)?;
        if n == 0 || end > self.part.sectors {
            return None;
        }
        self.card.address(self.part.start + sector)
    }
}

impl Device for Disk {
    fn capacity(&self) -> u64 {
        self.part.sectors
    }

    fn read_only(&self) -> bool {
        false
    }

    fn free_slot(&self) -> Option<usize> {
        self.done.is_none().then_some(0)
    }

    fn in_flight(&self) -> usize {
        self.done.is_some() as usize
    }

    fn data(&mut self, _k: usize, len: usize) -> &mut [u8] {
        &mut self.bounce[..len.min(MAX_TRANSFER)]
    }

    fn start(&mut self, k: usize, sector: u64, p: Pending) -> Result<(), DeviceError> {
        let len = p.buf.len();
        if k != 0 || self.done.is_some() || len > MAX_TRANSFER || !len.is_multiple_of(BLOCK) {
            return Err(DeviceError);
        }
        if p.op == Transfer::Flush {
            self.done = Some((p, self.ready()));
            return Ok(());
        }
        let write = p.op == Transfer::Write;
        let addr = self
            .address(sector, (len / BLOCK) as u64)
            .ok_or(DeviceError)?;
        let r = if write {
            self.host.write_blocks(addr, &self.bounce[..len])
        } else {
            self.host.read_blocks(addr, &mut self.bounce[..len])
        };
        if let Err(e) = r {
            self.last_error = Some(e);
            ulib::println!(
                "sd server: {} of {} sector(s) at {} failed: {:?}",
                if write { "write" } else { "read" },
                len / BLOCK,
                sector,
                e
            );
        }
        self.done = Some((p, r.map_err(|_| DeviceError)));
        Ok(())
    }

    fn poll(&mut self) -> Option<(usize, Pending, Result<(), DeviceError>)> {
        let (p, r) = self.done.take()?;
        Some((0, p, r))
    }
}

impl Disk {
    /// A flush: the card has nothing volatile to write back.
    fn ready(&mut self) -> Result<(), DeviceError> {
        // Every write was complete when it was answered (Transfer Complete
        // follows the card's busy signal); the card must be ready again:
        // CMD13, READY_FOR_DATA.
        let r = self
            .host
            .command(13, self.card.rca << 16, crate::sdhci::Resp::R1)
            .map_err(|e| {
                self.last_error = Some(e);
                DeviceError
            })?;
        if r[0] & (1 << 8) == 0 {
            return Err(DeviceError);
        }
        Ok(())
    }
}
