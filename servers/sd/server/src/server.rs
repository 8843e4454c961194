//! The server's start-up: map the controller, initialise the card, find
//! the data partition, then the block service's loop (`blk_serve`).

use crate::disk::Disk;
use crate::mbr::DATA_TYPE;
use crate::sdhci::Sdhci;
use crate::{card, mailbox, property};
use blk_serve::Progress;
use ulib::cap::{map_device_page, segment_info};
use ulib::CPtr;

ulib::bind! {
    /// The SDHCI controller holding the card (`device:sdhci`).
    static DEVICE: Slot = "sdhci";
    /// The MBR partition (1..4) to serve (`values = { partition = N }`).
    static PARTITION: Value = "partition";
    /// The firmware's mailbox (`device:mailbox`), for the base clock.
    static MAILBOX: Slot = "mailbox";
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

/// The rate of the firmware clock feeding the controller `device`
/// grants, asked through the mailbox if the image grants it; what
/// happened is one console line.
fn firmware_clock(device: CPtr) -> Option<u32> {
    let Some(mailbox) = MAILBOX.get() else {
        ulib::println!("sd: no device:mailbox: the base clock is the controller's capabilities'");
        return None;
    };
    let pa = match segment_info(device, 0) {
        Ok((pa, _)) => pa,
        Err(e) => {
            ulib::println!("sd: cannot locate the controller: {:?}", e);
            return None;
        }
    };
    let Some(clock) = property::clock_of_controller(pa) else {
        ulib::println!(
            "sd: no firmware clock known for the controller at {:#x}",
            pa
        );
        return None;
    };
    match mailbox::clock_rate(mailbox, clock) {
        Ok(hz) => {
            ulib::println!(
                "sd: base clock {} Hz from the firmware (clock {})",
                hz,
                clock
            );
            Some(hz)
        }
        Err(e) => {
            ulib::println!("sd: the firmware's clock {} not known: {:?}", clock, e);
            None
        }
    }
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
    if let Err(e) = map_device_page(device, DEVICE_VA) {
        ulib::println!("sd: cannot map the device grant: {:?}", e);
        return 1;
    }
    // Safety: the grant is the controller's register page, just mapped
    // uncached at DEVICE_VA for the task's life; this task alone drives it.
    let host = unsafe { Sdhci::new(DEVICE_VA as usize) };
    let card = match card::init(&host, firmware_clock(device)) {
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
