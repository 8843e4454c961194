//! Bookkeeping for a DMA window: one physically contiguous, mapped piece of
//! memory that every address a virtio device is given must lie in.
//!
//! The window is cut into three parts:
//!
//! | pages | what |
//! | --- | --- |
//! | `0 .. ALLOC_PAGES` | handed out page by page by [`Window::alloc`] (virtqueues) |
//! | `ALLOC_PAGES` | [`BOUNCE_SLOTS`] small bounce slots of [`BOUNCE_SLOT`] bytes for buffers a driver passes from outside the window (request headers on its stack) |
//! | the rest | the owner's: [`Window::owner_area`] |
//!
//! The safe methods only compute addresses; the three `unsafe` ones
//! ([`Window::alloc_zeroed`], [`Window::share`], [`Window::unshare`]) are
//! the memory side of a `virtio_drivers::Hal`, shared by the server and the
//! kernel's baseline driver. Every state change is an atomic
//! read-modify-write, so a `static` window needs no lock.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Bytes in a page.
pub const PAGE: usize = 4096;
/// Pages the allocator hands out (a 16-entry virtqueue takes 2 or 3).
pub const ALLOC_PAGES: usize = 8;
/// Bytes of one small bounce slot.
pub const BOUNCE_SLOT: usize = 128;
/// Small bounce slots (one page).
pub const BOUNCE_SLOTS: usize = 32;
/// Bytes the window needs before its owner's area.
pub const RESERVED: usize = (ALLOC_PAGES + 1) * PAGE;

const _: () = assert!(BOUNCE_SLOT * BOUNCE_SLOTS == PAGE);

/// A DMA window: virtual and physical base, length, and which pages and
/// bounce slots are taken.
#[derive(Debug)]
pub struct Window {
    va: AtomicUsize,
    pa: AtomicU64,
    len: AtomicUsize,
    pages: AtomicU32,
    bounce: AtomicU32,
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

impl Window {
    /// An empty window: nothing inside it until [`Window::init`].
    pub const fn new() -> Window {
        Window {
            va: AtomicUsize::new(0),
            pa: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            pages: AtomicU32::new(0),
            bounce: AtomicU32::new(0),
        }
    }

    /// Sets the window to `len` bytes mapped at `va`, physically at `pa`
    /// (both page-aligned). `false` (and no change) if it is too small, not
    /// aligned, or already set.
    pub fn init(&self, va: usize, pa: u64, len: usize) -> bool {
        if len < RESERVED || !va.is_multiple_of(PAGE) || !pa.is_multiple_of(PAGE as u64) || va == 0
        {
            return false;
        }
        if self.len.load(Ordering::Acquire) != 0 {
            return false;
        }
        self.va.store(va, Ordering::Relaxed);
        self.pa.store(pa, Ordering::Relaxed);
        self.len.store(len, Ordering::Release);
        true
    }

    fn base(&self) -> Option<(usize, u64, usize)> {
        let len = self.len.load(Ordering::Acquire);
        (len != 0).then(|| {
            (
                self.va.load(Ordering::Relaxed),
                self.pa.load(Ordering::Relaxed),
                len,
            )
        })
    }

    /// `pages` contiguous pages of the allocator part: `(pa, va)` of the
    /// first. The memory is not zeroed here.
    pub fn alloc(&self, pages: usize) -> Option<(u64, usize)> {
        let (va, pa, _) = self.base()?;
        if pages == 0 || pages > ALLOC_PAGES {
            return None;
        }
        let run = (1u32 << pages) - 1;
        let mut taken = self.pages.load(Ordering::Relaxed);
        loop {
            let first = (0..=ALLOC_PAGES - pages).find(|&i| taken & (run << i) == 0)?;
            match self.pages.compare_exchange(
                taken,
                taken | (run << first),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some((pa + (first * PAGE) as u64, va + first * PAGE)),
                Err(now) => taken = now,
            }
        }
    }

    /// Gives back `pages` pages from `pa` (as [`Window::alloc`] returned
    /// them). `false` if they are not a taken run of the allocator part.
    pub fn free(&self, pa: u64, pages: usize) -> bool {
        let Some((_, base, _)) = self.base() else {
            return false;
        };
        let Some(off) = pa.checked_sub(base) else {
            return false;
        };
        let first = off as usize / PAGE;
        if off % PAGE as u64 != 0 || pages == 0 || first + pages > ALLOC_PAGES {
            return false;
        }
        let run = ((1u32 << pages) - 1) << first;
        let before = self.pages.fetch_and(!run, Ordering::AcqRel);
        before & run == run
    }

    /// The physical address of `va..va + len` if all of it lies in the
    /// window.
    pub fn translate(&self, va: usize, len: usize) -> Option<u64> {
        let (base_va, base_pa, size) = self.base()?;
        let off = va.checked_sub(base_va)?;
        (off.checked_add(len)? <= size).then(|| base_pa + off as u64)
    }

    /// A free bounce slot for a buffer of `len` bytes: `(va, pa)`.
    pub fn bounce_take(&self, len: usize) -> Option<(usize, u64)> {
        let (va, pa, _) = self.base()?;
        if len > BOUNCE_SLOT {
            return None;
        }
        let mut taken = self.bounce.load(Ordering::Relaxed);
        loop {
            let i = (!taken).trailing_zeros() as usize;
            if i >= BOUNCE_SLOTS {
                return None;
            }
            match self.bounce.compare_exchange(
                taken,
                taken | (1 << i),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let off = ALLOC_PAGES * PAGE + i * BOUNCE_SLOT;
                    return Some((va + off, pa + off as u64));
                }
                Err(now) => taken = now,
            }
        }
    }

    /// Frees the bounce slot at physical address `pa`; its virtual address
    /// if `pa` is a taken slot, `None` otherwise (not a bounce slot).
    pub fn bounce_release(&self, pa: u64) -> Option<usize> {
        let (va, base, _) = self.base()?;
        let off = (pa.checked_sub(base)? as usize).checked_sub(ALLOC_PAGES * PAGE)?;
        if off >= PAGE || off % BOUNCE_SLOT != 0 {
            return None;
        }
        let bit = 1u32 << (off / BOUNCE_SLOT);
        let before = self.bounce.fetch_and(!bit, Ordering::AcqRel);
        (before & bit != 0).then_some(va + ALLOC_PAGES * PAGE + off)
    }

    /// The owner's part: `(va, pa, len)`.
    pub fn owner_area(&self) -> Option<(usize, u64, usize)> {
        let (va, pa, len) = self.base()?;
        Some((va + RESERVED, pa + RESERVED as u64, len - RESERVED))
    }
}

impl Window {
    /// [`Window::alloc`], zeroed: what `Hal::dma_alloc` returns.
    ///
    /// # Safety
    ///
    /// The window must be mapped readable and writable at its virtual
    /// address, and nothing may use its allocator pages except through the
    /// runs this window hands out.
    pub unsafe fn alloc_zeroed(&self, pages: usize) -> Option<(u64, usize)> {
        let (pa, va) = self.alloc(pages)?;
        // Safety: a run of the allocator part just taken, so mapped and
        // used by nobody else (the caller's promise).
        unsafe { core::ptr::write_bytes(va as *mut u8, 0, pages * PAGE) };
        Some((pa, va))
    }

    /// `Hal::dma_alloc` itself: a zeroed run as (physical address,
    /// non-null pointer), or (0, dangling) when none is free — what the
    /// virtio driver takes as failure.
    ///
    /// # Safety
    ///
    /// As for [`Window::alloc_zeroed`].
    pub unsafe fn hal_alloc(&self, pages: usize) -> (u64, core::ptr::NonNull<u8>) {
        // Safety: the caller's promise, passed on.
        let run = unsafe { self.alloc_zeroed(pages) };
        run.and_then(|(pa, va)| Some((pa, core::ptr::NonNull::new(va as *mut u8)?)))
            .unwrap_or((0, core::ptr::NonNull::dangling()))
    }

    /// `Hal::dma_dealloc` itself: 0 when the run was the window's, -1 else.
    pub fn hal_free(&self, pa: u64, pages: usize) -> i32 {
        if self.free(pa, pages) {
            0
        } else {
            -1
        }
    }

    /// The physical address a device should use for `len` bytes at `buf`
    /// (`Hal::share`): `buf` itself when it lies in the window, else
    /// `direct(buf, len)` when the caller knows it is physically contiguous
    /// DMA-able memory, else a bounce slot, filled from `buf` when `fill`.
    /// `None` when none applies (too long to bounce, or no slot free).
    ///
    /// # Safety
    ///
    /// As for [`Window::alloc_zeroed`]; and `buf` must be valid for reads of
    /// `len` bytes when `fill` is set.
    pub unsafe fn share(
        &self,
        buf: *const u8,
        len: usize,
        fill: bool,
        direct: impl FnOnce(usize, usize) -> Option<u64>,
    ) -> Option<u64> {
        if let Some(pa) = self.translate(buf as usize, len) {
            return Some(pa);
        }
        if let Some(pa) = direct(buf as usize, len) {
            return Some(pa);
        }
        let (va, pa) = self.bounce_take(len)?;
        if fill {
            // Safety: the caller promises `buf` is readable for `len`
            // bytes; the slot (at least `len` bytes, just taken) is ours.
            unsafe { core::ptr::copy_nonoverlapping(buf, va as *mut u8, len) };
        }
        Some(pa)
    }

    /// Undoes [`Window::share`] (`Hal::unshare`): if `pa` is a bounce slot,
    /// copies it back into `buf` when `copy_back` and frees it.
    ///
    /// # Safety
    ///
    /// As for [`Window::alloc_zeroed`]; `pa` must come from
    /// [`Window::share`] for this `buf` and `len`, and `buf` must be valid
    /// for writes of `len` bytes when `copy_back` is set.
    pub unsafe fn unshare(&self, pa: u64, buf: *mut u8, len: usize, copy_back: bool) {
        if let Some(va) = self.bounce_release(pa) {
            if copy_back {
                // Safety: the slot held this buffer's `len` (at most
                // BOUNCE_SLOT) bytes; `buf` is writable (the caller's
                // promise).
                unsafe { core::ptr::copy_nonoverlapping(va as *const u8, buf, len) };
            }
        }
    }
}
