//! The kernel objects capabilities name, in one table of cells.
//!
//! The table is split by home: core `c` makes its objects in cells
//! `[c * PER_CORE, (c + 1) * PER_CORE)` with no lock (nobody else allocates
//! there), and objects the image makes at boot live in the last part. A
//! cell is written only while no capability names it: when it is made
//! (before its first capability exists) and when its count of capabilities
//! drops to zero (so nobody else can reach it). In between it is read-only,
//! except through what it holds that synchronises itself (a shared range's
//! lock, a notification's atomics).

use crate::mm;
use abi::{Error, ObjectKind};
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use kerncore::cap::ShareId;
use kerncore::range::AddressRange;
use platform::MAX_CPUS;

/// Objects each core can have alive at once.
pub const PER_CORE: usize = 64;
/// Cells for the objects the image makes at boot.
const BOOT_CELLS: usize = 96;
const CELLS: usize = MAX_CPUS * PER_CORE + BOOT_CELLS;
/// First cell of the boot objects.
pub const BOOT_BASE: usize = MAX_CPUS * PER_CORE;

/// Pages one segment can hold: 8 index frames of 512 frame addresses
/// (16 MiB).
pub const MAX_SEGMENT_PAGES: u64 = 8 * 512;
/// Pages a `SegmentCreate` takes and zeroes between two preemption
/// points (2 MiB, a `Map`'s piece).
pub const ZERO_PIECE: u64 = 512;

/// Which capability space a share lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceId {
    /// Core `n`'s private space: its tasks' root shares and private shares.
    Core(usize),
    /// The shared shares (one lock).
    Global,
}

/// Physical memory: zeroed frames of one core's pool, contiguous frames
/// for DMA, or device registers.
pub struct Segment {
    pub pages: u64,
    /// Device registers at this physical address (contiguous, uncached).
    pub device: Option<u64>,
    /// Contiguous RAM from this physical address (`index` unused).
    pub contiguous: Option<u64>,
    /// Kernel memory lent to tasks ([`Segment::new_pinned`]): not freed.
    pub pinned: bool,
    /// Frames holding the frame addresses, 512 each (RAM segments).
    index: [u64; 8],
}

impl Segment {
    /// The physical address of page `i` (< `pages`).
    pub fn frame(&self, i: u64) -> u64 {
        match self.device.or(self.contiguous) {
            Some(pa) => pa + i * mm::PAGE,
            None => {
                let table = mm::phys_to_virt(self.index[(i / 512) as usize]) as *const u64;
                // Safety: index frame `i / 512` holds 512 addresses, written
                // when the segment was made and never after.
                unsafe { table.add((i % 512) as usize).read() }
            }
        }
    }

    /// Frames the segment of `pages` RAM pages takes: the pages and
    /// their index frames.
    pub const fn frames_for(pages: u64) -> u64 {
        pages + pages.div_ceil(512)
    }

    /// A RAM segment with no frames yet, for [`Segment::grow`] to fill
    /// from this core's pool.
    pub const fn empty() -> Segment {
        Segment {
            pages: 0,
            device: None,
            contiguous: None,
            pinned: false,
            index: [0; 8],
        }
    }

    /// Makes pages `done..pages` (at most [`MAX_SEGMENT_PAGES`]) ready, one
    /// at a time: a RAM segment takes each frame from this core's pool (and
    /// an index frame every 512), a contiguous one has them all already;
    /// each is zeroed. Every [`ZERO_PIECE`] pages after the first piece it
    /// asks `pause` (a preemption point: an interrupt is pending) and, if
    /// so, stops there. Returns the pages ready. `OutOfMemory`: the pool
    /// and the global bitmap ran dry (another core took frames since the
    /// caller checked); the segment keeps the frames it has, for the
    /// caller to free.
    pub fn grow(
        &mut self,
        pages: u64,
        mut done: u64,
        pause: impl Fn() -> bool,
    ) -> Result<u64, Error> {
        let first = done;
        while done < pages {
            if done.is_multiple_of(ZERO_PIECE) && done > first && pause() {
                break;
            }
            if self.contiguous.is_none() {
                self.take_frame(done)?;
            }
            // Safety: a frame of this segment, reached by nobody else until
            // its capability exists (the segment is not in the object table
            // yet), through the linear map (Normal memory, page-aligned):
            // `dc zva`, 64 instructions a page on a Cortex-A72 where
            // `write_bytes` took 1 536 (a merge had put `write_bytes` back:
            // memclone 1.09M -> 504k pages/s).
            unsafe {
                let va = mm::phys_to_virt(self.frame(done)) as usize;
                crate::arch::aarch64::zero_pages(va, mm::PAGE as usize)
            };
            done += 1;
        }
        Ok(done)
    }

    /// Takes page `i` (the next one: `i == pages`) of a RAM segment from
    /// this core's pool, with its index frame if it starts one.
    fn take_frame(&mut self, i: u64) -> Result<(), Error> {
        let index = &mut self.index[(i / 512) as usize % 8];
        if i.is_multiple_of(512) {
            *index = mm::frame_alloc_zeroed().ok_or(Error::OutOfMemory)?;
        }
        let pa = mm::frame_alloc().ok_or(Error::OutOfMemory)?;
        let table = mm::phys_to_virt(*index) as *mut u64;
        // Safety: the index frame is ours, zeroed, 512 entries long.
        unsafe { table.add((i % 512) as usize).write(pa) };
        self.pages = i + 1;
        Ok(())
    }

    /// Device registers `[pa, pa + pages * 4 KiB)`.
    pub fn new_device(pa: u64, pages: u64) -> Segment {
        Segment {
            pages,
            device: Some(pa),
            contiguous: None,
            pinned: false,
            index: [0; 8],
        }
    }

    /// `pages` pages of kernel memory at `pa` (Normal memory, mapped like
    /// RAM) that the kernel keeps: never freed into a pool.
    pub fn new_pinned(pa: u64, pages: u64) -> Segment {
        Segment {
            pages,
            device: None,
            contiguous: Some(pa),
            pinned: true,
            index: [0; 8],
        }
    }

    /// `pages` physically contiguous frames (from the global allocator:
    /// contiguity cannot come from a per-core pool), not zeroed yet:
    /// [`Segment::grow`] zeroes them.
    pub fn new_contiguous(pages: u64) -> Result<Segment, Error> {
        if pages == 0 || pages > MAX_SEGMENT_PAGES {
            return Err(Error::InvalidArgument);
        }
        let pa = mm::frames_alloc_contiguous(pages).ok_or(Error::OutOfMemory)?;
        Ok(Segment {
            pages,
            device: None,
            contiguous: Some(pa),
            pinned: false,
            index: [0; 8],
        })
    }

    /// Gives the frames back (to this core's pool).
    pub fn free(&mut self) {
        if self.device.is_some() || self.pinned {
            return;
        }
        if let Some(pa) = self.contiguous.take() {
            for i in 0..self.pages {
                mm::frame_free(pa + i * mm::PAGE);
            }
            self.pages = 0;
            return;
        }
        for i in 0..self.pages {
            mm::frame_free(self.frame(i));
        }
        for pa in self.index.iter().filter(|&&pa| pa != 0) {
            mm::frame_free(*pa);
        }
        self.pages = 0;
        self.index = [0; 8];
    }
}

/// A notification: pending bits and the one task that waits on it.
pub struct Notification {
    pub pending: AtomicU64,
    /// `TaskId` encoding + 1 of the waiter, 0 if none.
    pub waiter: AtomicU64,
}

/// A task of the image, as an object: what capabilities to it reach. Its
/// core writes how it ended (before the task's exit signals go out); a
/// holder with READ reads it from any core.
pub struct TaskObj {
    /// Its archive entry.
    pub index: usize,
    /// Its core and slot there (`TaskId` encoding).
    pub id: u64,
    /// `abi::TaskState` as a number.
    pub state: AtomicU64,
    /// Exit status (exited) or ESR (faulted).
    pub value: AtomicU64,
    pub far: AtomicU64,
}

/// What a cell holds.
pub enum Obj {
    Segment(Segment),
    /// A task's own address space: task slot `slot` of core `core`.
    Root {
        core: usize,
        slot: usize,
    },
    /// An address range made at run time (its lock guards its table):
    /// shared (`home` None: any core may link it, its lock is shared) or
    /// private to core `home` (only that core reaches it: its capability
    /// never leaves that core's space, and only that core takes the lock).
    Range {
        home: Option<usize>,
        lock: crate::sync::Mutex<AddressRange>,
    },
    /// A shared range of the image (`crate::shared` index), never destroyed
    /// while tasks run.
    ImageRange(usize),
    Share {
        space: SpaceId,
        id: ShareId,
    },
    Notification(Notification),
    Task(TaskObj),
}

impl Obj {
    pub fn kind(&self) -> ObjectKind {
        match self {
            Obj::Segment(_) => ObjectKind::Segment,
            Obj::Root { .. } | Obj::Range { .. } | Obj::ImageRange(_) => ObjectKind::AddressRange,
            Obj::Share { .. } => ObjectKind::Share,
            Obj::Notification(_) => ObjectKind::Notification,
            Obj::Task(_) => ObjectKind::Task,
        }
    }
}

struct Cell {
    /// Valid while `used` (zero-initialised storage: the table is .bss).
    obj: UnsafeCell<MaybeUninit<Obj>>,
    /// Capabilities naming it, in every space.
    caps: AtomicU32,
    /// Bumped when the object is destroyed, so stale references (mapping
    /// records) can tell.
    gen: AtomicU32,
    /// The cell holds an object (cleared once it is taken out, so its home
    /// part may reuse it).
    used: AtomicBool,
}

// Safety: see the module docs: a cell's object is written only while no
// capability names it, which no other core can then reach; otherwise it is
// read-only or synchronises itself.
unsafe impl Sync for Cell {}

static CELLS_TABLE: [Cell; CELLS] = [const {
    Cell {
        obj: UnsafeCell::new(MaybeUninit::zeroed()),
        caps: AtomicU32::new(0),
        gen: AtomicU32::new(0),
        used: AtomicBool::new(false),
    }
}; CELLS];

/// Puts `obj` in a free cell of `home`'s part (a core, or the boot part
/// for `None`) with one capability counted; returns its id.
///
/// The boot part is filled only by the boot core before other cores run.
pub fn create(home: Option<usize>, obj: Obj) -> Result<u32, (Error, Obj)> {
    let (base, len) = match home {
        Some(c) => (c * PER_CORE, PER_CORE),
        None => (BOOT_BASE, BOOT_CELLS),
    };
    for (id, cell) in CELLS_TABLE.iter().enumerate().skip(base).take(len) {
        if !cell.used.load(SeqCst) {
            // Safety: an unused cell is reached by nobody else (its last
            // capability is gone and its object taken), and only its home
            // core allocates in this part.
            unsafe { (*cell.obj.get()).write(obj) };
            cell.caps.store(1, SeqCst);
            cell.used.store(true, SeqCst);
            return Ok(id as u32);
        }
    }
    Err((Error::OutOfMemory, obj))
}

/// Whether [`create`] for `home` would find a free cell (only `home`'s
/// core allocates in its part, so the answer holds until it creates).
pub fn has_room(home: Option<usize>) -> bool {
    free_cells(home, 1) == 1
}

/// How many of `want` [`create`]s for `home` would find a free cell (as
/// for [`has_room`], the answer holds until `home`'s core creates).
pub fn free_cells(home: Option<usize>, want: usize) -> usize {
    let (base, len) = match home {
        Some(c) => (c * PER_CORE, PER_CORE),
        None => (BOOT_BASE, BOOT_CELLS),
    };
    CELLS_TABLE
        .iter()
        .skip(base)
        .take(len)
        .filter(|cell| !cell.used.load(SeqCst))
        .take(want)
        .count()
}

/// The object `id`, which the caller holds a capability to (so it stays).
pub fn get(id: u32) -> Option<&'static Obj> {
    let cell = CELLS_TABLE.get(id as usize)?;
    if !cell.used.load(SeqCst) {
        return None;
    }
    // Safety: the cell is in use and the caller holds a capability to it,
    // so the object is initialised and not being made or destroyed; only
    // shared references are formed while it lives.
    Some(unsafe { (*cell.obj.get()).assume_init_ref() })
}

/// The generation of cell `id`.
pub fn generation(id: u32) -> u32 {
    CELLS_TABLE
        .get(id as usize)
        .map_or(u32::MAX, |c| c.gen.load(SeqCst))
}

/// One more capability names `id`.
pub fn retain(id: u32) {
    CELLS_TABLE[id as usize].caps.fetch_add(1, SeqCst);
}

/// One capability to `id` fewer. When it was the last, the object is taken
/// out of its cell and handed back for the caller to destroy.
pub fn release(id: u32) -> Option<Obj> {
    let cell = &CELLS_TABLE[id as usize];
    if cell.caps.fetch_sub(1, SeqCst) != 1 {
        return None;
    }
    cell.gen.fetch_add(1, SeqCst);
    if !cell.used.load(SeqCst) {
        return None;
    }
    // Safety: the cell is in use (so initialised) and no capability names
    // it any more, so no other core can reach it; its home part reuses it
    // only once `used` is cleared below, after the object is moved out.
    let obj = unsafe { (*cell.obj.get()).assume_init_read() };
    cell.used.store(false, SeqCst);
    Some(obj)
}

/// Live objects in every core's part (for the leak check).
pub fn live() -> usize {
    CELLS_TABLE[..BOOT_BASE]
        .iter()
        .filter(|c| c.caps.load(SeqCst) != 0)
        .count()
}
