//! The system-call ABI, shared by the kernel and every user program.
//!
//! A call is `svc #0` with the call number in `x8` and arguments in
//! `x0..x5`; it returns `x0` = 0 on success or an [`Error`] code, and results
//! in `x1..x3`. Nothing here depends on the kernel's internals: changing a
//! value here is an ABI break.
#![no_std]
#![forbid(unsafe_code)]

/// A C-like enum with explicit numbers, and from it `ALL` (every value in
/// declaration order) and `from_u64` (the value with that number): one
/// list, so the table cannot drift from the enum.
macro_rules! numbered {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[repr($repr)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($value),*].len()] = [$($name::$variant),*];

            /// The value numbered `n`, if there is one.
            #[inline(always)]
            pub const fn from_u64(n: u64) -> Option<$name> {
                $( if n == $value { return Some($name::$variant); } )*
                None
            }
        }
    };
}

pub mod args;
pub mod esr;

numbered! {
/// System call numbers (`x8`). Numbers from [`EXPERIMENTAL_CALLS`] on are
/// not part of the stable ABI (see there).
pub enum Syscall: u64 {
    /// Does nothing; measures the round trip.
    Null = 0,
    /// Writes `x1` bytes at `x0` to the console as one line.
    DebugPrint = 1,
    /// Ends the calling task with status `x0`.
    Exit = 2,
    /// Reads the state of the task named by the task capability `x0`
    /// (right [`Rights::READ`]): `x1` bits 0-7 = its [`TaskState`], bits
    /// 8-23 = its [`TaskId`] encoding (other bits 0); `x2` = its exit
    /// status (exited) or ESR (faulted); `x3` = the FAR (faulted). A task's
    /// end is announced by the notifications the image names in its
    /// `on_exit`; this call then says how it ended.
    TaskReport = 3,
    /// Restarts the ended (exited, faulted, stopped or not restarted) task
    /// named by the task capability `x0` (right [`Rights::WRITE`]) on its
    /// core, from its program in the image.
    TaskRestart = 4,
    /// Reads this core's count of event `x0` (an [`Event`]) into `x1`.
    ReadEvent = 5,
    /// Makes a segment of `x1` pages of zeroed memory from this core's
    /// pool; its original capability (all rights) goes to the empty slot
    /// `x0` (a [`CPtr`]). `x2` flags: [`SEGMENT_CONTIGUOUS`] asks for
    /// physically contiguous pages (for device DMA).
    SegmentCreate = 6,
    /// Makes an address range over `[x1, x1 + x2)` (2 MiB or 1 GiB,
    /// aligned to its size), linkable into address spaces; its original
    /// capability goes to slot `x0`. `x3` flags: [`RANGE_PRIVATE`] makes it
    /// this core's (no lock another core takes, local TLB invalidation;
    /// its capability cannot leave the core), else it is shared.
    RangeCreate = 7,
    /// Maps `x4` bytes of segment `x2` from byte `x3` at address `x1` of
    /// address range `x0` with rights `x5` (a [`Rights`] set: R, RW or RX).
    Map = 8,
    /// Unmaps `x2` bytes at address `x1` of address range `x0`.
    Unmap = 9,
    /// Links shared address range `x0` into the caller's address space at
    /// the range's own base (one table descriptor).
    Link = 10,
    /// Removes the link made by [`Syscall::Link`] for range `x0`.
    Unlink = 11,
    /// Copies the capability in `x0` to the empty slot `x1`, keeping only
    /// the rights in `x2`.
    CapCopy = 12,
    /// Deletes the capability in `x0`.
    CapDelete = 13,
    /// Removes every capability derived from the one in `x0`, on every
    /// core, and undoes what they mapped; `x0` stays.
    CapRevoke = 14,
    /// Makes a share (64 slots); `x1` = 1 makes it shared between cores,
    /// 0 private to the caller's core. Its original capability goes to `x0`.
    ShareCreate = 15,
    /// Makes a notification; its original capability goes to `x0`.
    NotifyCreate = 16,
    /// Sets the bits `x1` (non-zero) of notification `x0` and wakes its
    /// waiter, on whatever core it runs.
    Signal = 17,
    /// Waits until notification `x0` has bits set, takes them all and
    /// returns them in `x1`. `x1` flags: [`WAIT_POLL`] returns at once,
    /// with the bits set (possibly none).
    Wait = 18,
    /// Returns in `x1` the kind ([`ObjectKind`]) and in `x2` the rights of
    /// the capability in `x0`: a capability lookup, nothing more.
    CapInfo = 19,
    /// Returns in `x1` the physical address of page `x1` of segment `x0`
    /// and in `x2` the segment's size in pages (for programming DMA).
    SegmentInfo = 20,
    /// Returns in `x1` how many cores are online.
    CoreCount = 21,
    /// Stops the task named by the task capability `x0` (right
    /// [`Rights::WRITE`]) on its core: it runs no more, everything it held
    /// is freed, its exit signals go out, and it reads as
    /// [`TaskState::Stopped`] until restarted. (22-24 were the block
    /// baseline's calls, now experimental.)
    TaskStop = 25,
    /// Re-arms the device interrupt the image delivers to the caller: the
    /// device segment capability `x0` needs [`Rights::WRITE`], its device's
    /// interrupt must be one the image routes to the calling core (each
    /// delivery masks the interrupt until this call).
    InterruptAck = 26,
    /// Experimental: the in-kernel block baseline
    /// ([`EXPERIMENTAL_CALLS`]). Reads `x2` bytes (a multiple of 512, at
    /// most 64 KiB) from sector `x0` into the caller's buffer at `x1`.
    BlockRead = 0x100,
    /// Experimental: writes `x2` bytes from the caller's buffer at `x1` to
    /// sector `x0`.
    BlockWrite = 0x101,
    /// Experimental: makes every completed block write durable.
    BlockFlush = 0x102,
}
}

/// The experimental range of call numbers: calls that are not part of the
/// stable ABI and that only the kernel's test build accepts, and only for
/// an image that asks for them (today the in-kernel block baseline,
/// docs/block.md; the image's `[kernel] block_in_kernel`). Any other
/// kernel answers them `UnknownSyscall`, as a number no call has.
pub const EXPERIMENTAL_CALLS: core::ops::Range<u64> = 0x100..0x200;

impl Syscall {
    /// In the experimental range ([`EXPERIMENTAL_CALLS`]).
    pub const fn is_experimental(self) -> bool {
        self as u64 >= EXPERIMENTAL_CALLS.start && (self as u64) < EXPERIMENTAL_CALLS.end
    }
}

/// `SegmentCreate` flag: physically contiguous pages.
pub const SEGMENT_CONTIGUOUS: u64 = 1;

/// `RangeCreate` flag: a private range, this core's only.
pub const RANGE_PRIVATE: u64 = 1;

/// `Wait` flag: do not block; take whatever bits are set (possibly none).
pub const WAIT_POLL: u64 = 1;

/// The console lock word: the first word of the page the kernel shares, as
/// the derived grant `device:console-lock`, with every task that writes
/// the console UART itself (docs/console.md, *One lock for every writer*).
/// Kernel and task take it per line with compare-and-swap from [`FREE`].
pub mod console_lock {
    /// Nobody is writing a line.
    pub const FREE: u64 = 0;
    /// A kernel core is writing a line.
    pub const KERNEL: u64 = 1;
    /// Set in every value a task writes.
    pub const USER: u64 = 1 << 63;
    /// Index (in 64-bit words) of the page's second word: the console
    /// UART's kind, written by the kernel before any task runs
    /// (`drivers::uart::Kind`: 1 PL011, 2 i.MX UART; 0 not known).
    pub const UART_KIND: usize = 1;

    /// What a task on `core` writes for its `seq`-th line: the kernel
    /// tells a new hold from one it stopped waiting for by `seq`, and does
    /// not wait for a holder that runs on its own core (it interrupted it).
    pub const fn user(core: u32, seq: u32) -> u64 {
        USER | ((core as u64 & 0x7fff_ffff) << 32) | seq as u64
    }

    /// The core of the task holding the word, if a task holds it.
    pub const fn user_core(v: u64) -> Option<u32> {
        if v & USER != 0 {
            Some(((v >> 32) & 0x7fff_ffff) as u32)
        } else {
            None
        }
    }
}

/// Names a capability slot for a system call.
///
/// `index` (bits 0-7) is a slot of the caller's root share when `via` (bits
/// 8-15) is 0; otherwise `via - 1` is a root-share slot holding a capability
/// to a share, and `index` is a slot of that share. Other bits must be 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CPtr(pub u64);

impl CPtr {
    /// Slot `index` of the caller's root share.
    pub const fn root(index: u8) -> CPtr {
        CPtr(index as u64)
    }

    /// Slot `index` of the share whose capability is in root slot `share`.
    pub const fn via(share: u8, index: u8) -> CPtr {
        CPtr(((share as u64) + 1) << 8 | index as u64)
    }

    /// `(via, index)`: the root slot of the share (if any) and the index.
    pub const fn decode(self) -> Result<(Option<u8>, u8), Error> {
        if self.0 >> 16 != 0 {
            return Err(Error::InvalidCapability);
        }
        let via = (self.0 >> 8) as u8;
        let index = self.0 as u8;
        Ok((if via == 0 { None } else { Some(via - 1) }, index))
    }
}

/// Slots every task's root share starts with.
pub mod slots {
    /// The task's own address space (a private address range).
    pub const ROOT_RANGE: u8 = 0;
    /// The root share itself.
    pub const ROOT_SHARE: u8 = 1;
    /// The image's grants start here, in the image file's order.
    pub const FIRST_GRANT: u8 = 2;
    /// Slots in every share.
    pub const SHARE_SLOTS: u8 = 64;
}

numbered! {
/// Events each core counts because they cost cross-core traffic; Corey's
/// claim is that private operations cause none of them.
pub enum Event: u64 {
    /// Acquisitions of a lock another core may take.
    SharedLock = 0,
    /// Broadcast (inner-shareable) TLB invalidations.
    BroadcastTlbi = 1,
    /// Inter-processor interrupts sent.
    Ipi = 2,
    /// Batches of frames taken from the global pool.
    GlobalPoolTake = 3,
    /// Device interrupts taken and delivered to a task's notification.
    Interrupt = 4,
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

    /// The task `v` names; bits above the 8-bit core and slot fields are
    /// an error (`InvalidArgument`), never dropped.
    pub const fn decode(v: u64) -> Result<TaskId, Error> {
        if v >> 16 != 0 {
            return Err(Error::InvalidArgument);
        }
        Ok(TaskId {
            core: (v >> 8) as u32,
            slot: (v & 0xff) as u32,
        })
    }
}

numbered! {
/// How a task stands, as [`Syscall::TaskReport`] says (`x1` bits 0-7).
pub enum TaskState: u64 {
    /// Loaded and not ended (running, ready or blocked), or a restart of it
    /// is under way.
    Running = 0,
    /// Ended by `Exit`; `x2` is its status.
    Exited = 1,
    /// Stopped by a fault; `x2` is the ESR, `x3` the FAR.
    Faulted = 2,
    /// Stopped by [`Syscall::TaskStop`].
    Stopped = 3,
    /// A [`Syscall::TaskRestart`] was accepted but its core could not
    /// rebuild the task (no memory for its program, address space or root
    /// share; the console says why): it holds nothing and does not run,
    /// its exit signals went out again, and it may be restarted again.
    /// `x2` and `x3` are 0.
    NotRestarted = 4,
    /// Never started: its core does not exist on this machine, or the
    /// kernel refused it at boot (too many tasks on its core, no memory
    /// for it; the console says why). Its exit signals went out at boot.
    /// It can be neither restarted nor stopped. `x2` and `x3` are 0.
    NotStarted = 5,
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

numbered! {
/// Kinds of kernel object a capability can name.
pub enum ObjectKind: u8 {
    /// Physical memory (or device registers).
    Segment = 1,
    /// A mapping object over a span of virtual addresses.
    AddressRange = 2,
    /// A capability table.
    Share = 3,
    /// User code bound to one core. Rights: [`Rights::READ`] reads its
    /// state and fault report ([`Syscall::TaskReport`]), [`Rights::WRITE`]
    /// restarts it ([`Syscall::TaskRestart`]) and stops it
    /// ([`Syscall::TaskStop`]).
    Task = 4,
    /// A doorbell that wakes a task.
    Notification = 5,
}
}

numbered! {
/// Every way a system call can fail. `x0` carries the code.
pub enum Error: u64 {
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
    /// The device reported an error.
    DeviceError = 14,
    /// The capability names a share, and the destination is that share or
    /// a share reachable from it: the copy would close a cycle of shares,
    /// which no deletion from outside could ever free.
    ShareCycle = 15,
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_numbers_round_trip() {
        for n in 0..40 {
            if let Some(c) = Syscall::from_u64(n) {
                assert_eq!(c as u64, n);
            }
        }
        assert_eq!(Syscall::from_u64(19), Some(Syscall::CapInfo));
        assert_eq!(Syscall::from_u64(21), Some(Syscall::CoreCount));
        assert_eq!(Syscall::from_u64(22), None, "the block calls left 22-24");
        assert_eq!(Syscall::from_u64(25), Some(Syscall::TaskStop));
        assert_eq!(Syscall::from_u64(26), Some(Syscall::InterruptAck));
        assert_eq!(Syscall::from_u64(27), None);
        assert_eq!(Syscall::from_u64(0x102), Some(Syscall::BlockFlush));
        for c in Syscall::ALL {
            assert_eq!(Syscall::from_u64(c as u64), Some(c));
            let block = matches!(
                c,
                Syscall::BlockRead | Syscall::BlockWrite | Syscall::BlockFlush
            );
            assert_eq!(c.is_experimental(), block, "{c:?}");
        }
    }

    #[test]
    fn every_table_is_the_enum() {
        for e in Event::ALL {
            assert_eq!(Event::from_u64(e as u64), Some(e));
        }
        assert_eq!(Event::from_u64(Event::ALL.len() as u64), None);
        for k in ObjectKind::ALL {
            assert_eq!(ObjectKind::from_u64(k as u64), Some(k));
        }
        assert_eq!(ObjectKind::from_u64(0), None);
        assert_eq!(
            ObjectKind::from_u64(1 << 8 | 1),
            None,
            "no truncation to u8"
        );
        for e in Error::ALL {
            assert_eq!(Error::from_u64(e as u64), Some(e));
        }
    }

    #[test]
    fn cptr_encoding() {
        assert_eq!(CPtr::root(5).decode(), Ok((None, 5)));
        assert_eq!(CPtr::via(3, 7).decode(), Ok((Some(3), 7)));
        assert_eq!(CPtr(1 << 16).decode(), Err(Error::InvalidCapability));
        assert_eq!(CPtr::via(254, 63).decode(), Ok((Some(254), 63)));
    }

    #[test]
    fn task_id_decode_refuses_unknown_bits() {
        let t = TaskId { core: 3, slot: 5 };
        assert_eq!(TaskId::decode(t.encode()), Ok(t));
        assert_eq!(TaskId::decode(1 << 40), Err(Error::InvalidArgument));
        assert_eq!(TaskId::decode(1 << 16), Err(Error::InvalidArgument));
        assert_eq!(TaskId::decode(0), Ok(TaskId { core: 0, slot: 0 }));
        for n in 0..7 {
            assert_eq!(
                TaskState::from_u64(n).map(|s| s as u64),
                (n < 6).then_some(n)
            );
        }
    }

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
