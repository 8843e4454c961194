//! What the storage cases expect: the block service on virtio-blk and on
//! the Pi 4's SD card, and the in-kernel baseline (the table is cases.rs).

/// images/blk.toml: the block server on kernel core 3 and a client on
/// each of cores 0-2 (client i owns sectors 640 i .. 640 i + 320).
pub(crate) const BLK_WRITE: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: every malformed request refused",
    "[blktest@1] blktest client 1: every malformed request refused",
    "[blktest@2] blktest client 2: every malformed request refused",
    "[blktest@0] blktest client 0: InterruptAck without a device interrupt refused",
    "[blktest@1] blktest client 1: InterruptAck without a device interrupt refused",
    "[blktest@2] blktest client 2: InterruptAck without a device interrupt refused",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blktest@2] blktest client 2: wrote 320 sectors from 1280, flushed, read back: pattern intact",
    "device virtio-blk: interrupt",
    "task blk on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// The block server's count of device interrupts taken (it blocks while
/// the device works, so with none delivered it could not have finished;
/// the count says the interrupt path, not a poll, woke it).
pub(crate) fn interrupts_taken(lines: &[&str]) -> Vec<String> {
    const SAYS: &str = "blk server: device interrupts taken: ";
    let n = lines
        .iter()
        .find_map(|l| l.split_once(SAYS).map(|(_, n)| n.trim().parse::<u64>()));
    match n {
        Some(Ok(n)) if n > 0 => Vec::new(),
        Some(Ok(_)) => vec!["the block server took no device interrupt".to_string()],
        _ => vec![format!("no line {SAYS:?}N")],
    }
}

/// images/blk-hostile.toml: the good clients' refusals and data are
/// intact while the hostile client's random requests are each answered as
/// it decides, and it is served again after random bytes and a flood.
pub(crate) const BLK_HOSTILE: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: every malformed request refused",
    "[blktest@1] blktest client 1: every malformed request refused",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blkhostile@2] blkhostile 2: 4000 random requests answered as decided",
    "[blkhostile@2] blkhostile 2: 64 rounds of random bytes, served after each",
    "[blkhostile@2] blkhostile 2: flooded, served again",
    "task blkhostile on core 2 exited with status 0",
    "task blk on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The good clients' sectors in images/blk-hostile.toml.
pub(crate) const BLK_HOSTILE_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320)];

/// The second boot on the disk the first left: each client finds its
/// pattern.
pub(crate) const BLK_READ: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: read back 320 sectors from 0 written by an earlier boot: pattern intact",
    "[blktest@1] blktest client 1: read back 320 sectors from 640 written by an earlier boot: pattern intact",
    "[blktest@2] blktest client 2: read back 320 sectors from 1280 written by an earlier boot: pattern intact",
    "task blk on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// images/sd.toml on a fresh card: the SD server initialises QEMU's card
/// (128 MiB, standard capacity: byte addressing, CMD16) and serves its
/// 1 MiB data partition; the blk clients run unchanged.
pub(crate) const SD_WRITE: &[&str] = &[
    // The firmware's clock for the Arasan SDHCI (EMMC, clock 1): QEMU's
    // property mailbox answers 50 MHz (its capabilities say 52).
    "[sd@3] sd: base clock 50000000 Hz from the firmware (clock 1)",
    "[sd@3] sd: card ready: 262144 blocks, standard capacity",
    "[sd@3] sd: serving partition 2 (card blocks 133120..135168)",
    "[sd@3] sd server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: every malformed request refused",
    "[blktest@1] blktest client 1: every malformed request refused",
    "[blktest@2] blktest client 2: every malformed request refused",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blktest@2] blktest client 2: wrote 320 sectors from 1280, flushed, read back: pattern intact",
    "task sd on core 3 exited with status 0",
    "device sdhci: reset (the task granted it ended)",
    "memory: no frames leaked",
];

/// images/sd-nocard.toml booted with the card slot empty: the server
/// says why it cannot serve and exits; nothing hangs.
pub(crate) const SD_NOCARD: &[&str] = &[
    // images/sd-nocard.toml grants no mailbox.
    "[sd@3] sd: no device:mailbox: the base clock is the controller's capabilities'",
    "[sd@3] sd: card initialisation failed at controller reset: NoCard",
    "task sd on core 3 exited with status 1",
    "verdict: ok",
];

/// images/sd.toml again on the card the first run left.
pub(crate) const SD_READ: &[&str] = &[
    "[sd@3] sd server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: read back 320 sectors from 0 written by an earlier boot: pattern intact",
    "[blktest@1] blktest client 1: read back 320 sectors from 640 written by an earlier boot: pattern intact",
    "[blktest@2] blktest client 2: read back 320 sectors from 1280 written by an earlier boot: pattern intact",
    "task sd on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// images/blk-crash.toml: the block server's first instance crashes after
/// 8 answers, the supervisor restarts it, the clients get `Restarted` and
/// finish with the new instance; a client that dies with reads outstanding
/// is restarted, connects again and closes.
pub(crate) const BLK_CRASH: &[&str] = &[
    "[blk-crash@3] blk server: InterruptAck through a read-only device capability refused (MissingRights)",
    "[blk-crash@3] blk server: disk of 2048 sectors, 3 client(s) (instance 1",
    "[blk-crash@3] blk server: crashing on purpose (test build)",
    "task blk-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device virtio-blk: reset (the task granted it ended)",
    "task blk-crash on core 3 restarted (restart 1)",
    "[blk-crash@3] blk server: disk of 2048 sectors, 3 client(s) (instance 2",
    "task blkfault on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task blkfault on core 2 restarted (restart 1)",
    "[blktest@0] blktest client 0: the block server restarted: requests in flight lost, connected again",
    "[blktest@1] blktest client 1: the block server restarted: requests in flight lost, connected again",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blkfault@2] blkfault client 2: restarted; connected again, the server dropped my old state: wrote 16 sectors, read back, closed",
    "task blkfault on core 2 exited with status 0",
    "task blk-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/blk-prio.toml: the server crashes while the client at priority 2
/// on core 0 waits; the supervisor at priority 1 on the same core restarts
/// it, which it can only do because the waiting client blocks.
pub(crate) const BLK_PRIO: &[&str] = &[
    "[blk-crash@3] blk server: disk of 2048 sectors, 1 client(s) (instance 1",
    "[blk-crash@3] blk server: crashing on purpose (test build)",
    "task blk-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device virtio-blk: reset (the task granted it ended)",
    "task blk-crash on core 3 restarted (restart 1)",
    "[blk-crash@3] blk server: disk of 2048 sectors, 1 client(s) (instance 2",
    "[blktest@0] blktest client 0: the block server restarted: requests in flight lost, connected again",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "task blktest on core 0 exited with status 0",
    "task blk-crash on core 3 exited with status 0",
    "task supervisor on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/sd-prio.toml: blk-prio on the SD card server.
pub(crate) const SD_PRIO: &[&str] = &[
    "[sd-crash@3] sd server: disk of 2048 sectors, 1 client(s) (instance 1",
    "[sd-crash@3] sd server: crashing on purpose (test build)",
    "task sd-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device sdhci: reset (the task granted it ended)",
    "task sd-crash on core 3 restarted (restart 1)",
    "[sd-crash@3] sd server: disk of 2048 sectors, 1 client(s) (instance 2",
    "[blktest@0] blktest client 0: the block server restarted: requests in flight lost, connected again",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "task blktest on core 0 exited with status 0",
    "task sd-crash on core 3 exited with status 0",
    "task supervisor on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The sectors blk-prio's one client writes.
pub(crate) const BLK_PRIO_SECTORS: &[(u64, u64)] = &[(0, 320)];

/// images/sd-crash.toml: images/blk-crash.toml on the SD card server; the
/// kernel resets the SDHCI and the second instance initialises the card
/// again.
pub(crate) const SD_CRASH: &[&str] = &[
    "[sd-crash@3] sd server: disk of 2048 sectors, 3 client(s) (instance 1",
    "[sd-crash@3] sd server: crashing on purpose (test build)",
    "task sd-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device sdhci: reset (the task granted it ended)",
    "task sd-crash on core 3 restarted (restart 1)",
    "[sd-crash@3] sd: base clock 50000000 Hz from the firmware (clock 1)",
    "[sd-crash@3] sd: card ready: 262144 blocks, standard capacity",
    "[sd-crash@3] sd server: disk of 2048 sectors, 3 client(s) (instance 2",
    "task blkfault on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task blkfault on core 2 restarted (restart 1)",
    "[blktest@0] blktest client 0: the block server restarted: requests in flight lost, connected again",
    "[blktest@1] blktest client 1: the block server restarted: requests in flight lost, connected again",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blkfault@2] blkfault client 2: restarted; connected again, the server dropped my old state: wrote 16 sectors, read back, closed",
    "task blkfault on core 2 exited with status 0",
    "task sd-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/blk-gone.toml: a block client dies with four reads in flight
/// and is not restarted; the kernel's exit signal tells the server, which
/// drops it and ends once the other two have closed.
pub(crate) const BLK_GONE: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s) (instance 1",
    "task blkfault on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "[blk@3] blk server: client 2 ended without closing: connection dropped",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "task blktest on core 0 exited with status 0",
    "task blktest on core 1 exited with status 0",
    "task blk on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

pub(crate) const BLK_GONE_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320)];

pub(crate) const BLK_CRASH_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320), (1280, 16)];

/// images/blk-kernel.toml: the in-kernel baseline driver, a client on
/// each of cores 0-3 (core c owns sectors 512 c .. 512 c + 320).
pub(crate) const BLK_KERNEL: &[&str] = &[
    "blkdev: virtio-blk at 0xa003e00, 2048 sectors, in the kernel behind a lock",
    "[blkkern@0] blkkern core 0: every malformed call refused",
    "[blkkern@3] blkkern core 3: every malformed call refused",
    "[blkkern@0] blkkern core 0: wrote 320 sectors from 0 through the kernel, flushed, read back: pattern intact",
    "[blkkern@1] blkkern core 1: wrote 320 sectors from 512 through the kernel, flushed, read back: pattern intact",
    "[blkkern@2] blkkern core 2: wrote 320 sectors from 1024 through the kernel, flushed, read back: pattern intact",
    "[blkkern@3] blkkern core 3: wrote 320 sectors from 1536 through the kernel, flushed, read back: pattern intact",
    "memory: no frames leaked",
];

/// The sectors the in-kernel baseline's clients write.
pub(crate) const BLK_KERNEL_SECTORS: &[(u64, u64)] =
    &[(0, 320), (512, 320), (1024, 320), (1536, 320)];

/// The sectors the block clients write, checked in the disk file.
pub(crate) const BLK_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320), (1280, 320)];
