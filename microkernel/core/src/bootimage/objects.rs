//! The archive's boot-time objects (shares, notifications, devices) and
//! the capabilities the image grants to them and to tasks.

use super::{name_at, u32_at, u64_at, Archive, ArchiveError, FIRST_GRANT_SLOT, SHARE_SLOTS};
use abi::{ObjectKind, Rights};

/// A share or a notification: only a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedEntry<'a> {
    pub name: &'a str,
}

/// What a device entry is; the kernel finds its registers (from the DTB or
/// the board) by kind.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// The console UART (a PL011 on both boards).
    Uart = 1,
    /// The first virtio-mmio block device.
    VirtioBlk = 2,
    /// Not a device: the page holding the console lock word
    /// (`abi::console_lock`), granted by xtask beside every `device:uart`
    /// grant with the write right.
    ConsoleLock = 3,
    /// The first virtio-mmio network device.
    VirtioNet = 4,
    /// The SDHCI controller holding the SD card (Raspberry Pi 4: EMMC2 on
    /// a real board, the Arasan SDHCI under QEMU `raspi4b`; docs/block.md).
    Sdhci = 5,
    /// The Raspberry Pi firmware's VideoCore mailbox (the page holding its
    /// registers), for the property channel (docs/block.md).
    Mailbox = 6,
}

impl DeviceKind {
    /// From the archive's value; `None` if unknown.
    pub const fn from_raw(raw: u32) -> Option<DeviceKind> {
        match raw {
            1 => Some(DeviceKind::Uart),
            2 => Some(DeviceKind::VirtioBlk),
            3 => Some(DeviceKind::ConsoleLock),
            4 => Some(DeviceKind::VirtioNet),
            5 => Some(DeviceKind::Sdhci),
            6 => Some(DeviceKind::Mailbox),
            _ => None,
        }
    }

    /// The archive's value.
    pub const fn raw(self) -> u32 {
        self as u32
    }
}

/// One device the image grants (a device segment over its registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceEntry<'a> {
    pub name: &'a str,
    pub kind: DeviceKind,
    /// Where its interrupt goes, if the image delivers it to a task.
    pub interrupt: Option<DeviceInterrupt>,
}

/// A device's interrupt, delivered to one task: each time it fires the
/// kernel masks it and signals `bits` on `notification`, on the core of
/// task `task`; the task re-arms it with `InterruptAck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInterrupt {
    /// Index of the task that holds it (its core takes the interrupt).
    pub task: u32,
    /// Index of the notification signalled.
    pub notification: u32,
    /// The bits signalled (non-zero).
    pub bits: u64,
}

/// Who holds a capability at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// Task `i`'s root share.
    Task(u32),
    /// Share `j` of the shares section.
    Share(u32),
}

/// What a boot capability names: an index into the archive's section of
/// that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageObject {
    Range(u32),
    Share(u32),
    Notification(u32),
    /// A device segment over device `j`'s registers.
    Device(u32),
    /// Task `j` of the tasks section.
    Task(u32),
}

impl ImageObject {
    /// The kernel object kind a capability to it has.
    pub const fn kind(self) -> ObjectKind {
        match self {
            ImageObject::Range(_) => ObjectKind::AddressRange,
            ImageObject::Share(_) => ObjectKind::Share,
            ImageObject::Notification(_) => ObjectKind::Notification,
            ImageObject::Device(_) => ObjectKind::Segment,
            ImageObject::Task(_) => ObjectKind::Task,
        }
    }
}

/// One capability the image grants at boot: `object` with `rights` goes to
/// slot `slot` of `holder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapEntry {
    pub holder: Holder,
    pub object: ImageObject,
    pub rights: Rights,
    pub slot: u32,
}

/// What is wrong with a capability entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapProblem {
    /// The holder kind is neither 1 (task) nor 2 (share).
    HolderKind,
    /// The holder index is past its section.
    HolderIndex,
    /// The object kind is not a range, share, notification, segment or
    /// task.
    ObjectKind,
    /// The object index is past its section.
    ObjectIndex,
    /// No rights, or an unknown right bit.
    Rights,
    /// A task's slot below [`FIRST_GRANT_SLOT`], or any slot at or past
    /// [`SHARE_SLOTS`].
    Slot,
    /// Not after the previous entry in (holder, slot) order: out of order,
    /// or a slot given twice.
    Order,
}

/// Holder kinds in the archive.
const HOLDER_TASK: u8 = 1;
const HOLDER_SHARE: u8 = 2;

impl<'a> Archive<'a> {
    fn shares_start(&self) -> usize {
        self.n.tasks + self.n.ranges
    }

    fn notifications_start(&self) -> usize {
        self.shares_start() + self.n.shares
    }

    fn devices_start(&self) -> usize {
        self.notifications_start() + self.n.notifications
    }

    fn caps_start(&self) -> usize {
        self.devices_start() + self.n.devices
    }

    /// Number of `[[share]]`s.
    pub fn share_count(&self) -> usize {
        self.n.shares
    }

    /// Share `j` (`None` past the end or with a bad name).
    pub fn share(&self, j: usize) -> Option<NamedEntry<'a>> {
        (j < self.n.shares).then_some(())?;
        Some(NamedEntry {
            name: name_at(self.bytes, self.at(self.shares_start() + j))?,
        })
    }

    /// Number of notifications.
    pub fn notification_count(&self) -> usize {
        self.n.notifications
    }

    /// Notification `j` (`None` past the end or with a bad name).
    pub fn notification(&self, j: usize) -> Option<NamedEntry<'a>> {
        (j < self.n.notifications).then_some(())?;
        Some(NamedEntry {
            name: name_at(self.bytes, self.at(self.notifications_start() + j))?,
        })
    }

    /// Number of devices.
    pub fn device_count(&self) -> usize {
        self.n.devices
    }

    /// Device `j` (`None` past the end, with a bad name or unknown kind).
    pub fn device(&self, j: usize) -> Option<DeviceEntry<'a>> {
        (j < self.n.devices).then_some(())?;
        let at = self.at(self.devices_start() + j);
        let task = u32_at(self.bytes, at + 28);
        let interrupt = (task != 0).then(|| DeviceInterrupt {
            task: task - 1,
            notification: u32_at(self.bytes, at + 32),
            bits: u64_at(self.bytes, at + 40),
        });
        Some(DeviceEntry {
            name: name_at(self.bytes, at)?,
            kind: DeviceKind::from_raw(u32_at(self.bytes, at + 24))?,
            interrupt,
        })
    }

    /// Number of capabilities.
    pub fn cap_count(&self) -> usize {
        self.n.caps
    }

    /// Capability `j`, decoded and checked on its own (the order of the
    /// section is checked by [`Archive::parse`]).
    pub fn cap(&self, j: usize) -> Result<CapEntry, ArchiveError> {
        if j >= self.n.caps {
            return Err(ArchiveError::NoSuchEntry(j));
        }
        let entry = self.caps_start() + j;
        let at = self.at(entry);
        let b = &self.bytes[at..at + super::ENTRY];
        let bad = |problem| ArchiveError::BadCap { entry, problem };
        if b[3] != 0 || b[16..].iter().any(|&x| x != 0) {
            return Err(ArchiveError::BadReserved(entry));
        }
        let (holder_index, object_index, slot) = (u32_at(b, 4), u32_at(b, 8), u32_at(b, 12));
        let below = |i: u32, n: usize| (i as usize) < n;
        let (holder, first_slot, holders) = match b[0] {
            HOLDER_TASK => (Holder::Task(holder_index), FIRST_GRANT_SLOT, self.n.tasks),
            HOLDER_SHARE => (Holder::Share(holder_index), 0, self.n.shares),
            _ => return Err(bad(CapProblem::HolderKind)),
        };
        if !below(holder_index, holders) {
            return Err(bad(CapProblem::HolderIndex));
        }
        const RANGE: u8 = ObjectKind::AddressRange as u8;
        const SHARE: u8 = ObjectKind::Share as u8;
        const NOTIFICATION: u8 = ObjectKind::Notification as u8;
        const SEGMENT: u8 = ObjectKind::Segment as u8;
        const TASK: u8 = ObjectKind::Task as u8;
        let (object, objects) = match b[1] {
            TASK => (ImageObject::Task(object_index), self.n.tasks),
            RANGE => (ImageObject::Range(object_index), self.n.ranges),
            SHARE => (ImageObject::Share(object_index), self.n.shares),
            NOTIFICATION => (
                ImageObject::Notification(object_index),
                self.n.notifications,
            ),
            SEGMENT => (ImageObject::Device(object_index), self.n.devices),
            _ => return Err(bad(CapProblem::ObjectKind)),
        };
        if !below(object_index, objects) {
            return Err(bad(CapProblem::ObjectIndex));
        }
        let rights = match Rights::from_bits(b[2] as u64) {
            Ok(r) if r != Rights::NONE => r,
            _ => return Err(bad(CapProblem::Rights)),
        };
        if slot < first_slot || slot >= SHARE_SLOTS {
            return Err(bad(CapProblem::Slot));
        }
        Ok(CapEntry {
            holder,
            object,
            rights,
            slot,
        })
    }

    /// Every capability, in archive order (holder, then slot).
    pub fn caps(&self) -> impl Iterator<Item = CapEntry> + '_ {
        (0..self.n.caps).filter_map(|j| self.cap(j).ok())
    }

    /// The reserved fields of ranges, the names of shares and notifications,
    /// and the names and kinds of devices.
    pub(super) fn check_objects(&self) -> Result<(), ArchiveError> {
        let zero_from = |entry: usize, from: usize| {
            let at = self.at(entry);
            if self.bytes[at + from..at + super::ENTRY]
                .iter()
                .all(|&x| x == 0)
            {
                Ok(())
            } else {
                Err(ArchiveError::BadReserved(entry))
            }
        };
        for j in 0..self.n.ranges {
            zero_from(self.n.tasks + j, 40)?;
        }
        for e in self.shares_start()..self.devices_start() {
            name_at(self.bytes, self.at(e)).ok_or(ArchiveError::BadName(e))?;
            zero_from(e, super::NAME_LEN)?;
        }
        for j in 0..self.n.devices {
            let e = self.devices_start() + j;
            name_at(self.bytes, self.at(e)).ok_or(ArchiveError::BadName(e))?;
            let d = self.device(j).ok_or(ArchiveError::BadDevice(e))?;
            match d.interrupt {
                None => zero_from(e, 28)?,
                Some(i) => {
                    let ok = (i.task as usize) < self.n.tasks
                        && (i.notification as usize) < self.n.notifications
                        && i.bits != 0
                        && matches!(
                            d.kind,
                            DeviceKind::VirtioBlk | DeviceKind::VirtioNet | DeviceKind::Uart
                        );
                    if !ok {
                        return Err(ArchiveError::BadDevice(e));
                    }
                    let at = self.at(e);
                    if self.bytes[at + 36..at + 40].iter().any(|&x| x != 0) {
                        return Err(ArchiveError::BadReserved(e));
                    }
                }
            }
        }
        Ok(())
    }

    fn exits_start(&self) -> usize {
        self.caps_start() + self.n.caps
    }

    /// Task `task`'s exit signals: for each, the notification (its index)
    /// and the bits the kernel signals on it when the task ends (one per
    /// notification; a client of two services has two).
    pub fn exit_signals(&self, task: usize) -> impl Iterator<Item = (u32, u64)> + '_ {
        (0..self.n.exits).filter_map(move |j| {
            let at = self.at(self.exits_start() + j);
            (u32_at(self.bytes, at) as usize == task)
                .then(|| (u32_at(self.bytes, at + 4), u64_at(self.bytes, at + 8)))
        })
    }

    /// Each exit signal names a task and a notification of the archive,
    /// has bits, zero reserved bytes, and comes after the previous one in
    /// (task, notification) order (so a task signals a notification at
    /// most once).
    pub(super) fn check_exits(&self) -> Result<(), ArchiveError> {
        let mut last = None;
        for j in 0..self.n.exits {
            let e = self.exits_start() + j;
            let at = self.at(e);
            let b = self.bytes;
            let (task, notification) = (u32_at(b, at) as usize, u32_at(b, at + 4) as usize);
            let ok = task < self.n.tasks
                && notification < self.n.notifications
                && u64_at(b, at + 8) != 0
                && last.is_none_or(|l| l < (task, notification));
            if !ok {
                return Err(ArchiveError::BadExitSignal(e));
            }
            if b[at + 16..at + super::ENTRY].iter().any(|&x| x != 0) {
                return Err(ArchiveError::BadReserved(e));
            }
            last = Some((task, notification));
        }
        Ok(())
    }

    /// Every capability on its own, then their order: strictly increasing
    /// (holder, slot), so no slot is given twice.
    pub(super) fn check_caps(&self) -> Result<(), ArchiveError> {
        let mut last: Option<(Holder, u32)> = None;
        for j in 0..self.n.caps {
            let c = self.cap(j)?;
            let key = (c.holder, c.slot);
            if last.is_some_and(|l| l >= key) {
                return Err(ArchiveError::BadCap {
                    entry: self.caps_start() + j,
                    problem: CapProblem::Order,
                });
            }
            last = Some(key);
        }
        Ok(())
    }
}
