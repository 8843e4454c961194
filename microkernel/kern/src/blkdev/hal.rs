//! `virtio_drivers::Hal` for the kernel's baseline block driver. Virtqueues
//! and the bounce slots for the driver's own small buffers (request headers
//! on the kernel stack) come from a DMA window of contiguous frames; data
//! buffers are frames of the linear map, physically contiguous, handed to
//! the device in place.

use crate::mm;
use core::ptr::NonNull;
use drivers::dma::Window;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// The window, set once when the device is first used.
pub static WINDOW: Window = Window::new();

/// The kernel's `Hal`.
pub struct KernHal;

/// The physical address of `len` bytes at kernel address `va` when they
/// lie in the linear map of RAM (callers only pass physically contiguous
/// buffers there: runs from `frames_alloc_contiguous`).
fn linear(va: usize, len: usize) -> Option<u64> {
    let va = va as u64;
    let end = va.checked_add(len as u64)?;
    (va >= mm::PHYS_MAP_BASE && end <= mm::DEVICE_MAP_BASE).then(|| mm::virt_to_phys(va))
}

// Safety: `dma_alloc` returns page-aligned, zeroed runs of the window (its
// frames are the kernel's for good, reached through the linear map) handed
// out once until `dma_dealloc`; `share` returns the physical address of
// window memory, or of a linear-map buffer the driver's callers made
// physically contiguous, so the device reaches nothing else.
unsafe impl Hal for KernHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // Safety: the window is mapped RW (linear map) and its allocator
        // pages are used only through the runs it hands out.
        unsafe { WINDOW.hal_alloc(pages) }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        WINDOW.hal_free(paddr, pages)
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(mm::device_va(paddr) as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let fill = direction != BufferDirection::DeviceToDriver;
        let (ptr, len) = (buffer.as_ptr() as *const u8, buffer.len());
        // Safety: the driver passes a buffer valid for `len` bytes that
        // nothing else touches during the call (the trait's contract).
        match unsafe { WINDOW.share(ptr, len, fill, linear) } {
            Some(pa) => pa,
            None => panic!("blkdev: a {} byte DMA buffer it cannot place", len),
        }
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let back = direction != BufferDirection::DriverToDevice;
        // Safety: `paddr` came from `share` of this buffer, valid and
        // untouched by others for the call (the trait's contract).
        unsafe { WINDOW.unshare(paddr, buffer.as_ptr() as *mut u8, buffer.len(), back) };
    }
}
