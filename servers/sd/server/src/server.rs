//! The server's start-up: map the controller, initialise the card, find
//! the data partition, then the block service's loop (`blk_serve`).

use crate::card;
use crate::disk::Disk;
use crate::mbr::DATA_TYPE;
use crate::sdhci::Sdhci;
use blk_serve::Progress;
use ulib::cap::map;
use ulib::{slots, CPtr, Rights};

ulib::bind! {
    /// The SDHCI controller holding the card (`device:sdhci`).
    static DEVICE: Slot = "sdhci";
    /// The MBR partition (1..4) to serve (`values = { partition = N }`).
    static PARTITION: Value = "partition";
}

/// Where the controller's register page is mapped (uncached: a device
/// segment).
const DEVICE_VA: u64 = 0x3000_0000;

/// Runs the server until every client has sent `Close`; returns the exit
/// status (1: the image or the card is not usable, said on the console).
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
        ulib::println!("sd: the image must grant device:sdhci");
        return 1;
    };
    let Some(number) = PARTITION.get() else {
        ulib::println!("sd: the image must name the partition: values = {{ partition = N }}");
        return 1;
    };
    let rw = Rights::READ.union(Rights::WRITE);
    if let Err(e) = map(
        CPtr::root(slots::ROOT_RANGE),
        DEVICE_VA,
        device,
        0,
        4096,
        rw,
    ) {
        ulib::println!("sd: cannot map the device grant: {:?}", e);
        return 1;
    }
    // Safety: the grant is the controller's register page, just mapped
    // uncached at DEVICE_VA for the task's life; this task alone drives it.
    let host = unsafe { Sdhci::new(DEVICE_VA as usize) };
    let card = match card::init(&host) {
        Ok(c) => c,
        Err(e) => {
            ulib::println!(
                "sd: card initialisation failed at {}: {:?}",
                e.step,
                e.error
            );
            return 1;
        }
    };
    ulib::println!(
        "sd: card ready: {} blocks, {}, RCA {:#x}, 4-bit bus",
        card.blocks,
        if card.high_capacity {
            "high capacity"
        } else {
            "standard capacity"
        },
        card.rca
    );
    let mut disk = match Disk::new(host, card, number) {
        Ok(d) => d,
        Err(e) => {
            ulib::println!(
                "sd: no data partition (MBR entry {}, type {:#04x}): {:?}",
                number,
                DATA_TYPE,
                e
            );
            return 1;
        }
    };
    let p = disk.partition();
    ulib::println!(
        "sd: serving partition {} (card blocks {}..{})",
        number,
        p.start,
        p.start + p.sectors
    );
    blk_serve::serve("sd", &start, &mut disk, hook)
}
