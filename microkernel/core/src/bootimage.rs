//! The task archive `cargo xtask` packs into a kernel image: which task
//! ELF runs on which core, at which priority, which cores are kernel cores,
//! and the boot-time objects (shared ranges, shares, notifications, device
//! grants) with the capabilities the image hands out.
//!
//! Layout (all integers little-endian). The header is 48 bytes:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `KTASKS08` |
//! | 8 | 4 | task count |
//! | 12 | 4 | shared-range count |
//! | 16 | 4 | share count |
//! | 20 | 4 | notification count |
//! | 24 | 4 | device count |
//! | 28 | 4 | capability count |
//! | 32 | 8 | kernel-core mask: bit *n* = core *n* is a kernel core |
//! | 40 | 4 | exit-signal count |
//! | 44 | 4 | kernel options ([`KernelOptions`]) |
//!
//! Then 48-byte entries, one section after the other in this order: tasks,
//! ranges, shares, notifications, devices, capabilities, exit signals (in (task, notification) order: a task may signal several notifications, each once); then
//! the ELF bytes.
//! Every name is 1 to 24 bytes of [`name_byte_ok`] characters (letters,
//! digits, `-`, `_`, `.`), NUL-padded: a name is printed on the console, so
//! it can never carry a control character or forge a line. "rest 0" bytes
//! must be 0.
//!
//! | entry | bytes |
//! | --- | --- |
//! | task | name · core u32 @24 · priority u16 @28 (higher runs first) · flags u16 @30 · ELF offset u64 @32 (from the start of the archive) · ELF size u64 @40 |
//! | range | name · base u64 @24 (user virtual address) · size u64 @32 (2 MiB or 1 GiB) · reserved u64 @40 |
//! | share | name · rest 0 |
//! | notification | name · rest 0 |
//! | device | name · kind u32 @24 ([`DeviceKind`]) · interrupt: holder task index + 1 u32 @28 (0: the interrupt goes to no task, and the rest is 0) · notification index u32 @32 · pad u32 @36 · bits u64 @40 (non-zero) ([`DeviceInterrupt`]; only a virtio device's or the console UART's) |
//! | exit signal | task index u32 @0 · notification index u32 @4 · bits u64 @8 (non-zero) · rest 0 |
//! | capability | holder kind u8 @0 (1 = a task's root share, 2 = a share) · object kind u8 @1 ([`ObjectKind`]: 2 range, 3 share, 5 notification, 1 device segment, 4 task: object index = task index) · rights u8 @2 ([`Rights`] bits) · pad u8 @3 · holder index u32 @4 · object index u32 @8 · slot u32 @12 · rest 0 |
//!
//! An exit signal says: when that task ends (exits, faults or is stopped),
//! the kernel signals `bits` on that notification. Exit signals are sorted
//! by (task, notification), each pair at most once: a task may signal
//! several notifications (its clients' server and its supervisor, say).
//!
//! Task flags: bit 0 reserved (0; it was "supervisor" before tasks were
//! objects: a supervisor is now whoever holds task capabilities), bit 1 = server (the one task of a kernel core), bit 2 =
//! optional (not started, and no failure, when its core does not exist),
//! bits 3-4 = what the run expects of it ([`Expect`]: 0 exits with status
//! 0, 1 ends by a fault, 2 any end, or none); bits 8-15 = the shared ranges
//! it links at boot; every other bit 0. At most [`MAX_TASKS_PER_CORE`]
//! tasks name one core.
//!
//! A task's root share has [`SHARE_SLOTS`] slots: slot [`ROOT_SLOT_RANGE`]
//! holds its root address range, slot [`ROOT_SLOT_SHARE`] its root share,
//! and the image's grants to it take slots [`FIRST_GRANT_SLOT`], 3, ... A
//! `[[share]]`'s capabilities take slots 0, 1, ... Capabilities are sorted
//! by holder (tasks by index, then shares by index) and by slot within a
//! holder, each (holder, slot) once.
//!
//! Kernel options are the run-time choices only the kernel's test build
//! carries (docs/images.md, `[kernel]`): bits 0-7 = the fault-injection
//! hook ([`Hook`]: 0 none, 1 panic, 2 fault, 3 hang, 4 stack overflow),
//! bit 8 = the in-kernel block baseline (its experimental system calls are
//! accepted); every other bit 0. The standard build refuses an archive that
//! asks for either.
//!
//! The kernel trusts nothing here: [`Archive::parse`] checks every bound,
//! index, kind and flag, and never panics.

mod objects;
mod options;
#[cfg(test)]
mod tests;

pub use abi::{ObjectKind, Rights};
pub use objects::{
    CapEntry, CapProblem, DeviceEntry, DeviceInterrupt, DeviceKind, Holder, ImageObject, NamedEntry,
};
pub use options::{Hook, KernelOptions, OPTION_BLOCK_IN_KERNEL, OPTION_HOOK};

/// The magic.
pub const MAGIC: &[u8; 8] = b"KTASKS08";
/// Task flag: the task is its kernel core's server.
pub const FLAG_SERVER: u16 = 2;
/// Task flag: the task may be left out on a machine without its core.
pub const FLAG_OPTIONAL: u16 = 4;
/// Task flags: what the run expects of the task ([`Expect`]).
pub const FLAG_EXPECT: u16 = 0x18;
/// Shift of [`FLAG_EXPECT`].
pub const EXPECT_SHIFT: u16 = 3;
/// Most tasks one core runs.
pub const MAX_TASKS_PER_CORE: usize = 8;
/// Task objects the kernel makes, by archive index: the first this many
/// tasks of an image can be named by a task capability (xtask refuses the
/// rest).
pub const MAX_TASK_OBJECTS: usize = 64;
/// Shares a capability space holds at once; for the global space, the
/// image's `[[share]]`s and those tasks make shared at run time together
/// (xtask refuses an image with more).
pub const MAX_SPACE_SHARES: usize = 16;
/// Task flags: the shared ranges it links (bit 8 + *j* = range *j*).
pub const FLAG_LINKS: u16 = 0xff00;
/// Bytes of the header.
pub const HEADER: usize = 48;
/// Bytes of one entry.
pub const ENTRY: usize = 48;
/// Longest name.
pub const NAME_LEN: usize = 24;
/// A task's root share: the slot of its root address range.
pub const ROOT_SLOT_RANGE: u32 = 0;
/// A task's root share: the slot of the root share itself.
pub const ROOT_SLOT_SHARE: u32 = 1;
/// A task's root share: the first slot the image's grants take.
pub const FIRST_GRANT_SLOT: u32 = 2;
/// Slots of every share (a task's root share or a `[[share]]`).
pub const SHARE_SLOTS: u32 = 64;

/// One shared range of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeEntry<'a> {
    pub name: &'a str,
    pub base: u64,
    pub size: u64,
}

/// Why an archive is unusable. `n` in an entry variant counts entries
/// across all sections (tasks first, then ranges, shares, notifications,
/// devices, capabilities).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ArchiveError {
    /// Not an archive (wrong magic or shorter than its header).
    BadMagic,
    /// The header's kernel options have a bit or hook the kernel does not
    /// know.
    BadHeader,
    /// The entry table runs past the end.
    Truncated,
    /// Entry `n`'s name is empty or has a character names may not have.
    BadName(usize),
    /// Entry `n`'s ELF lies outside the archive.
    BadExtent(usize),
    /// Entry `n` has a nonzero reserved byte.
    BadReserved(usize),
    /// Task entry `n` has an unknown flag or links a range that is not there.
    BadFlags(usize),
    /// Task entry `n` is one more than [`MAX_TASKS_PER_CORE`] on its core.
    TooManyTasks(usize),
    /// Task entry `n` breaks the kernel-core rule: a server off a kernel
    /// core, another task on one, or a second task on one.
    BadKernelCore(usize),
    /// Device entry `n` has an unknown kind, or an interrupt naming no
    /// task or notification, without bits, or on a device without one.
    BadDevice(usize),
    /// Capability entry `n` is wrong in the way `problem` says.
    BadCap { entry: usize, problem: CapProblem },
    /// Exit-signal entry `n` names no task or notification, has no bits,
    /// or is not after the previous one in task order.
    BadExitSignal(usize),
    /// An accessor was asked for an entry past its section's end.
    NoSuchEntry(usize),
}

/// The text `#[derive(Debug)]` gives (`BadName(3)`, `BadCap { entry: 3,
/// problem: Rights }`; `{:#?}` the same, on one line), written out: the
/// derived form was the kernel's only user of core's `DebugTuple` and
/// `DebugStruct` builders: 1 900 bytes of kernel text with its own code
/// (issue 12's size goal).
impl core::fmt::Debug for ArchiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use ArchiveError::*;
        let (name, n) = match *self {
            BadMagic => ("BadMagic", None),
            BadHeader => ("BadHeader", None),
            Truncated => ("Truncated", None),
            BadName(n) => ("BadName", Some(n)),
            BadExtent(n) => ("BadExtent", Some(n)),
            BadReserved(n) => ("BadReserved", Some(n)),
            BadFlags(n) => ("BadFlags", Some(n)),
            TooManyTasks(n) => ("TooManyTasks", Some(n)),
            BadKernelCore(n) => ("BadKernelCore", Some(n)),
            BadDevice(n) => ("BadDevice", Some(n)),
            BadCap { entry, problem } => {
                return write!(f, "BadCap {{ entry: {entry}, problem: {problem:?} }}")
            }
            BadExitSignal(n) => ("BadExitSignal", Some(n)),
            NoSuchEntry(n) => ("NoSuchEntry", Some(n)),
        };
        match n {
            Some(n) => write!(f, "{name}({n})"),
            None => f.write_str(name),
        }
    }
}

/// One task of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskEntry<'a> {
    pub name: &'a str,
    pub core: u32,
    pub priority: u16,
    pub flags: u16,
    pub elf: &'a [u8],
}

impl TaskEntry<'_> {
    /// The one task of a kernel core.
    pub fn is_server(&self) -> bool {
        self.flags & FLAG_SERVER != 0
    }

    /// Bit `j`: links shared range `j`.
    pub fn links(&self) -> u8 {
        (self.flags >> 8) as u8
    }

    /// Left out, without failing the run, when its core does not exist.
    pub fn is_optional(&self) -> bool {
        self.flags & FLAG_OPTIONAL != 0
    }

    /// What the run expects of it.
    pub fn expect(&self) -> Expect {
        Expect::from_bits((self.flags & FLAG_EXPECT) >> EXPECT_SHIFT).unwrap_or(Expect::Exit0)
    }
}

/// What a run expects of a task: the image's success condition, judged by
/// the kernel at the end of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Its last instance exits with status 0 (the default).
    Exit0 = 0,
    /// Its last instance ends by a fault (a test of fault containment).
    Fault = 1,
    /// Any end, or none: it may still run or wait when the run ends.
    Any = 2,
}

impl Expect {
    /// The flag bits' value (`None` for the unused value 3).
    pub fn from_bits(bits: u16) -> Option<Expect> {
        match bits {
            0 => Some(Expect::Exit0),
            1 => Some(Expect::Fault),
            2 => Some(Expect::Any),
            _ => None,
        }
    }

    /// The task flags that say it.
    pub fn flags(self) -> u16 {
        (self as u16) << EXPECT_SHIFT
    }
}

/// Whether `b` may appear in a name: ASCII letters, digits, `-`, `_`, `.`.
pub const fn name_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Entries per section, in section order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    tasks: usize,
    ranges: usize,
    shares: usize,
    notifications: usize,
    devices: usize,
    caps: usize,
    exits: usize,
}

/// A checked archive.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a> {
    bytes: &'a [u8],
    n: Counts,
    kernel_cores: u64,
    options: KernelOptions,
}

// The readers below are out of line: the archive is read at boot and when
// tasks start and end, never on a measured path, and each inlined copy (a
// bounds check and its panic) cost the kernel about 100 bytes of text
// (issue 12's size goal).

#[inline(never)]
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline(never)]
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The NUL-padded name at `at`, if it is 1 to [`NAME_LEN`] bytes of
/// [`name_byte_ok`] characters followed only by NULs.
pub(crate) fn name_at(b: &[u8], at: usize) -> Option<&str> {
    let raw = &b[at..at + NAME_LEN];
    let len = raw.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
    let (name, pad) = raw.split_at(len);
    if len == 0 || !name.iter().all(|&c| name_byte_ok(c)) || pad.iter().any(|&c| c != 0) {
        return None;
    }
    core::str::from_utf8(name).ok()
}

impl<'a> Archive<'a> {
    /// An empty archive (no tasks): what a kernel built without one has.
    pub const fn empty() -> Archive<'static> {
        Archive {
            bytes: &[],
            n: Counts {
                tasks: 0,
                ranges: 0,
                shares: 0,
                notifications: 0,
                devices: 0,
                caps: 0,
                exits: 0,
            },
            kernel_cores: 0,
            options: KernelOptions::NONE,
        }
    }

    /// Checks `bytes`. An empty slice is an empty archive.
    pub fn parse(bytes: &'a [u8]) -> Result<Archive<'a>, ArchiveError> {
        if bytes.is_empty() {
            return Ok(Archive::empty());
        }
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(ArchiveError::BadMagic);
        }
        let options = KernelOptions::decode(u32_at(bytes, 44)).ok_or(ArchiveError::BadHeader)?;
        let count = |at| u32_at(bytes, at) as usize;
        let n = Counts {
            tasks: count(8),
            ranges: count(12),
            shares: count(16),
            notifications: count(20),
            devices: count(24),
            caps: count(28),
            exits: count(40),
        };
        let table_end = [
            n.ranges,
            n.shares,
            n.notifications,
            n.devices,
            n.caps,
            n.exits,
        ]
        .into_iter()
        .try_fold(n.tasks, usize::checked_add)
        .and_then(|e| e.checked_mul(ENTRY))
        .and_then(|t| t.checked_add(HEADER))
        .ok_or(ArchiveError::Truncated)?;
        if table_end > bytes.len() {
            return Err(ArchiveError::Truncated);
        }
        let a = Archive {
            bytes,
            n,
            kernel_cores: u64_at(bytes, 32),
            options,
        };
        for j in 0..n.ranges {
            a.range(j).ok_or(ArchiveError::BadName(n.tasks + j))?;
        }
        a.check_objects()?;
        let mut kernel_cores_taken = 0u64;
        for i in 0..n.tasks {
            let t = a.entry(i)?;
            let links_known = if n.ranges >= 8 {
                FLAG_LINKS
            } else {
                FLAG_LINKS & !(0xff00 << n.ranges)
            };
            let known = FLAG_SERVER | FLAG_OPTIONAL | FLAG_EXPECT | links_known;
            if t.flags & !known != 0
                || Expect::from_bits((t.flags & FLAG_EXPECT) >> EXPECT_SHIFT).is_none()
            {
                return Err(ArchiveError::BadFlags(i));
            }
            if (0..i)
                .filter(|&k| a.entry(k).is_ok_and(|x| x.core == t.core))
                .count()
                >= MAX_TASKS_PER_CORE
            {
                return Err(ArchiveError::TooManyTasks(i));
            }
            let bit = 1u64.checked_shl(t.core).unwrap_or(0);
            let on_kernel_core = a.kernel_cores & bit != 0;
            if t.is_server() != on_kernel_core || kernel_cores_taken & bit != 0 {
                return Err(ArchiveError::BadKernelCore(i));
            }
            if on_kernel_core {
                kernel_cores_taken |= bit;
            }
        }
        a.check_caps()?;
        a.check_exits()?;
        Ok(a)
    }

    /// Where entry `k` (counted across all sections) starts.
    fn at(&self, k: usize) -> usize {
        HEADER + k * ENTRY
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.n.tasks
    }

    pub fn is_empty(&self) -> bool {
        self.n.tasks == 0
    }

    /// The kernel-core mask: bit `n` = core `n` runs only its server.
    pub fn kernel_cores(&self) -> u64 {
        self.kernel_cores
    }

    /// What the run asks of the kernel's test build.
    pub fn options(&self) -> KernelOptions {
        self.options
    }

    /// Task `i` (an error past the end).
    pub fn entry(&self, i: usize) -> Result<TaskEntry<'a>, ArchiveError> {
        if i >= self.n.tasks {
            return Err(ArchiveError::NoSuchEntry(i));
        }
        let at = self.at(i);
        let b = self.bytes;
        let name = name_at(b, at).ok_or(ArchiveError::BadName(i))?;
        let off = u64_at(b, at + 32);
        let size = u64_at(b, at + 40);
        let end = off.checked_add(size).ok_or(ArchiveError::BadExtent(i))?;
        if end > b.len() as u64 || off < self.at(self.entries()) as u64 {
            return Err(ArchiveError::BadExtent(i));
        }
        Ok(TaskEntry {
            name,
            core: u32_at(b, at + 24),
            priority: u16_at(b, at + 28),
            flags: u16_at(b, at + 30),
            elf: &b[off as usize..end as usize],
        })
    }

    /// Number of shared ranges.
    pub fn range_count(&self) -> usize {
        self.n.ranges
    }

    /// Shared range `j` (`None` past the end or with a bad name).
    pub fn range(&self, j: usize) -> Option<RangeEntry<'a>> {
        if j >= self.n.ranges {
            return None;
        }
        let at = self.at(self.n.tasks + j);
        let b = self.bytes;
        Some(RangeEntry {
            name: name_at(b, at)?,
            base: u64_at(b, at + 24),
            size: u64_at(b, at + 32),
        })
    }

    /// Every task, in archive order.
    pub fn iter(&self) -> impl Iterator<Item = TaskEntry<'a>> + '_ {
        (0..self.n.tasks).filter_map(|i| self.entry(i).ok())
    }

    /// Entries in all sections.
    fn entries(&self) -> usize {
        let n = self.n;
        n.tasks + n.ranges + n.shares + n.notifications + n.devices + n.caps + n.exits
    }
}
