//! The server's loop (see the crate's documentation).

use crate::device::{self, Disk};
use crate::hal;
use blk_serve::Progress;
use drivers::dma;
use ulib::cap::{contiguous_at, map_device_page};

ulib::bind! {
    /// The virtio-blk device's registers (`device:virtio-blk`).
    static DEVICE: Slot = "virtio-blk";
}

/// Where the device page is mapped (uncached).
const DEVICE_VA: u64 = 0x3000_0000;
/// Where the DMA window is mapped.
pub const DMA_VA: u64 = 0x3100_0000;

/// Makes the DMA window: a physically contiguous segment, mapped at
/// [`DMA_VA`], its physical base from `SegmentInfo`.
fn setup_dma() -> Result<(), ulib::Error> {
    let bytes = dma::RESERVED + device::OWNER_BYTES;
    let pages = bytes.div_ceil(dma::PAGE) as u64;
    let (_, pa) = contiguous_at(DMA_VA, pages)?;
    if !hal::WINDOW.init(DMA_VA as usize, pa, (pages * 4096) as usize) {
        return Err(ulib::Error::InvalidArgument);
    }
    Ok(())
}

/// Runs the server until every client has sent `Close`; returns the exit
/// status.
pub fn run(start: ulib::Start) -> i32 {
    run_hooked(start, |_| {})
}

/// [`run`], calling `hook` once per serving loop: a test build injects
/// faults there (the supervisor's restart tests). Test builds only.
#[cfg(feature = "test-hooks")]
pub fn run_with_test_hook(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    run_hooked(start, hook)
}

fn run_hooked(start: ulib::Start, hook: impl FnMut(Progress)) -> i32 {
    let Some(device) = DEVICE.get() else {
        ulib::println!("blk: the image must grant device:virtio-blk");
        return 1;
    };
    if let Err(e) = map_device_page(device, DEVICE_VA) {
        ulib::println!("blk: cannot map the device grant: {:?}", e);
        return 1;
    }
    let Some(regs) = device::find_transport(DEVICE_VA as usize) else {
        ulib::println!("blk: no virtio block device in the granted page");
        return 1;
    };
    if let Err(e) = setup_dma() {
        ulib::println!("blk: no DMA window: {:?}", e);
        return 1;
    }
    let mut disk = match Disk::new(regs, device) {
        Ok(d) => d,
        Err(e) => {
            ulib::println!("blk: {}", e);
            return 1;
        }
    };
    let status = blk_serve::serve("blk", &start, &mut disk, hook);
    // Alone on its kernel core: this core's count is this server's.
    if let Ok(n) = ulib::read_event(ulib::Event::Interrupt) {
        ulib::println!("blk server: device interrupts taken: {}", n);
    }
    status
}
