//! `virtio_drivers::Hal` over the server's DMA window: one physically
//! contiguous segment mapped at `server::DMA_VA`. Virtqueues come from the
//! window's allocator; `share` hands the device a buffer in place only when
//! it lies in the window (every frame buffer does: they are in the window's
//! owner area), and bounces small buffers from elsewhere through the
//! window's bounce slots. Client data never reaches `share`: the stack
//! copies it into frames in the window.

use core::ptr::NonNull;
use drivers::dma::Window;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// The DMA window, set once by `main` before the device is touched.
pub static WINDOW: Window = Window::new();

/// The server's `Hal`.
pub struct NetHal;

// Safety: `dma_alloc` returns page-aligned, zeroed runs of the window that
// the window's bitmap hands out once until `dma_dealloc`; the window is
// mapped read/write in this task for its whole life (main maps it before
// anything uses it and never unmaps it). `share` returns physical addresses
// of window memory only (the buffer itself, or a bounce slot), so the
// device never reaches memory outside the window.
unsafe impl Hal for NetHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // Safety: the window is mapped RW and its allocator pages are used
        // only through the runs it hands out.
        unsafe { WINDOW.hal_alloc(pages) }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        WINDOW.hal_free(paddr, pages)
    }

    unsafe fn mmio_phys_to_virt(_paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        // Only the PCI transport asks; this server uses virtio-mmio.
        panic!("net: no PCI BARs to map")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let fill = direction != BufferDirection::DeviceToDriver;
        let (ptr, len) = (buffer.as_ptr() as *const u8, buffer.len());
        // Safety: the driver passes a buffer valid for `len` bytes that
        // nothing else touches during the call (the trait's contract).
        match unsafe { WINDOW.share(ptr, len, fill, |_, _| None) } {
            Some(pa) => pa,
            None => panic!("net: a {} byte DMA buffer outside the window", len),
        }
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let back = direction != BufferDirection::DriverToDevice;
        // Safety: `paddr` came from `share` of this buffer, which is valid
        // and untouched by others for the call (the trait's contract).
        unsafe { WINDOW.unshare(paddr, buffer.as_ptr() as *mut u8, buffer.len(), back) };
    }
}
