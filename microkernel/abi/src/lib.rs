//! The system-call ABI, shared by the kernel and every user program.
//!
//! A call is `svc #0` with the call number in `x8` and arguments in
//! `x0..x5`; it returns `x0` = 0 on success or an [`Error`] code, and results
//! in `x1..x3`. Nothing here depends on the kernel's internals: changing a
//! value here is an ABI break.
#![no_std]
#![forbid(unsafe_code)]

pub mod esr;

/// System call numbers (`x8`).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syscall {
    /// Does nothing; measures the round trip.
    Null = 0,
    /// Writes `x1` bytes at `x0` to the console as one line.
    DebugPrint = 1,
    /// Ends the calling task with status `x0`.
    Exit = 2,
    /// Supervisor only: waits for a fault report; returns `x1` = the
    /// faulting task's [`TaskId`], `x2` = its ESR, `x3` = its FAR.
    WaitFault = 3,
    /// Supervisor only: restarts the stopped task `x0` (a [`TaskId`]) on its
    /// core, from its program in the image.
    Restart = 4,
    /// Reads this core's count of event `x0` (an [`Event`]) into `x1`.
    ReadEvent = 5,
}

/// Events each core counts because they cost cross-core traffic; Corey's
/// claim is that private operations cause none of them.
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Acquisitions of a lock another core may take.
    SharedLock = 0,
    /// Broadcast (inner-shareable) TLB invalidations.
    BroadcastTlbi = 1,
    /// Inter-processor interrupts sent.
    Ipi = 2,
    /// Batches of frames taken from the global pool.
    GlobalPoolTake = 3,
}

impl Event {
    pub const ALL: [Event; 4] = [
        Event::SharedLock,
        Event::BroadcastTlbi,
        Event::Ipi,
        Event::GlobalPoolTake,
    ];

    pub const fn from_u64(n: u64) -> Option<Event> {
        match n {
            0 => Some(Event::SharedLock),
            1 => Some(Event::BroadcastTlbi),
            2 => Some(Event::Ipi),
            3 => Some(Event::GlobalPoolTake),
            _ => None,
        }
    }
}

impl Syscall {
    /// The call for number `n`, if there is one.
    pub const fn from_u64(n: u64) -> Option<Syscall> {
        match n {
            0 => Some(Syscall::Null),
            1 => Some(Syscall::DebugPrint),
            2 => Some(Syscall::Exit),
            3 => Some(Syscall::WaitFault),
            4 => Some(Syscall::Restart),
            5 => Some(Syscall::ReadEvent),
            _ => None,
        }
    }
}

/// Names a task: its core and its slot among that core's tasks (the
/// image's order). Encoded as `core << 8 | slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    pub core: u32,
    pub slot: u32,
}

impl TaskId {
    pub const fn encode(self) -> u64 {
        (self.core as u64) << 8 | (self.slot as u64 & 0xff)
    }

    pub const fn decode(v: u64) -> TaskId {
        TaskId {
            core: (v >> 8) as u32,
            slot: (v & 0xff) as u32,
        }
    }
}

/// Rights a capability carries. A copy can only drop rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u8);

impl Rights {
    pub const NONE: Rights = Rights(0);
    /// Read the object (map a segment readable, look up in a share).
    pub const READ: Rights = Rights(1 << 0);
    /// Modify the object (map writable, insert into a share).
    pub const WRITE: Rights = Rights(1 << 1);
    /// Map executable.
    pub const EXECUTE: Rights = Rights(1 << 2);
    /// Copy or move this capability into another share.
    pub const GRANT: Rights = Rights(1 << 3);
    pub const ALL: Rights = Rights(0b1111);

    /// From raw bits; unknown bits are an error.
    pub const fn from_bits(bits: u64) -> Result<Rights, Error> {
        if bits & !(Rights::ALL.0 as u64) != 0 {
            Err(Error::InvalidArgument)
        } else {
            Ok(Rights(bits as u8))
        }
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Both sets' rights.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// Only rights in both.
    pub const fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// Every right in `other` is in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Kinds of kernel object a capability can name.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// Physical memory (or device registers).
    Segment = 1,
    /// A mapping object over a span of virtual addresses.
    AddressRange = 2,
    /// A capability table.
    Share = 3,
    /// User code bound to one core.
    Task = 4,
    /// A doorbell that wakes a task.
    Notification = 5,
}

/// Every way a system call can fail. `x0` carries the code.
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// No such system call.
    UnknownSyscall = 1,
    /// A capability index outside the share, or an empty slot.
    InvalidCapability = 2,
    /// The capability names an object of another kind.
    WrongObjectKind = 3,
    /// The capability lacks a right the operation needs.
    MissingRights = 4,
    /// An address, size or offset is not aligned as the operation requires.
    Misaligned = 5,
    /// The span overlaps something already there.
    Overlap = 6,
    /// An address is outside the user half, or outside the object.
    OutOfRange = 7,
    /// No memory (frames, table slots, objects) is left.
    OutOfMemory = 8,
    /// The range or segment is too small for the request.
    TooSmall = 9,
    /// A shared address range that is not 2 MiB / 1 GiB aligned and sized.
    SharedRangeNotAligned = 10,
    /// The destination slot is not empty.
    SlotOccupied = 11,
    /// Any other malformed argument (unknown flag bits, bad length).
    InvalidArgument = 12,
    /// The share is private to another core: only that core may look up,
    /// insert, copy, move, delete or revoke through its slots.
    NotOwner = 13,
}

impl Error {
    /// The error for code `n`, if it is one.
    pub const fn from_u64(n: u64) -> Option<Error> {
        Some(match n {
            1 => Error::UnknownSyscall,
            2 => Error::InvalidCapability,
            3 => Error::WrongObjectKind,
            4 => Error::MissingRights,
            5 => Error::Misaligned,
            6 => Error::Overlap,
            7 => Error::OutOfRange,
            8 => Error::OutOfMemory,
            9 => Error::TooSmall,
            10 => Error::SharedRangeNotAligned,
            11 => Error::SlotOccupied,
            12 => Error::InvalidArgument,
            13 => Error::NotOwner,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for n in 0..20 {
            if let Some(e) = Error::from_u64(n) {
                assert_eq!(e as u64, n);
            }
        }
        assert_eq!(Error::from_u64(0), None);
    }

    #[test]
    fn rights_only_drop_by_intersection() {
        let rw = Rights::READ.union(Rights::WRITE);
        assert!(rw.contains(Rights::READ));
        assert!(!rw.intersect(Rights::READ).contains(Rights::WRITE));
        assert_eq!(Rights::from_bits(0x10), Err(Error::InvalidArgument));
        assert_eq!(Rights::from_bits(0xf), Ok(Rights::ALL));
    }
}
