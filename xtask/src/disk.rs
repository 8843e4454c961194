//! The disk a run gets. Images that grant `device:virtio-blk` or ask for
//! the kernel's in-kernel block driver (`block_in_kernel`) boot with a raw
//! virtio disk file, `target/disks/<image>-<board>.img` (1 MiB); images
//! that grant `device:sdhci` (Raspberry Pi 4) boot with an SD card image
//! at the same place, made as `cargo xtask flash` makes a card: the boot
//! partition (stand-in firmware, since QEMU does not run it; the real DTB,
//! `config.txt` and the image's `kernel8.img`) and a 1 MiB data partition,
//! padded to a power of two (QEMU's SD card needs one). A copy of
//! everything before the data partition is kept beside it
//! (`<image>-<board>.boot`), so a test can prove the run left it alone.
//! A disk is made fresh before each `cargo xtask qemu` run and test case
//! unless told to keep it (`--keep-disk`, or a case's `keep_disk`), so a
//! second boot can read what a first one wrote.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::target_dir;
use crate::cli::Board;
use crate::image::Image;

/// Bytes of a fresh virtio disk: 2048 sectors.
pub const DISK_BYTES: u64 = 1 << 20;
/// Sectors of the test card's data partition: the same 1 MiB as the virtio
/// disk, so the same block clients run on both.
pub const CARD_DATA_SECTORS: u64 = 2048;

/// What kind of disk, and what goes on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskKind {
    /// A zero-filled virtio-blk disk.
    Virtio,
    /// An SD card image with this kernel image and DTB in its boot
    /// partition.
    SdCard { kernel: PathBuf, dtb: PathBuf },
}

/// A run's disk file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    pub path: PathBuf,
    pub kind: DiskKind,
    /// Requests per second of host time QEMU lets through to a virtio
    /// disk (`throttling.iops-total`); `None`: as fast as the host. The
    /// storage benchmark's icount run sets it, so that every request stays
    /// in the device longer than the guest takes to reach its sleep
    /// (docs/benchmarks-services.md, *Storage*).
    pub iops_limit: Option<u32>,
}

/// The disk runs of `image` on `board` get, if any.
pub fn for_image(root: &Path, image: &Image, board: Board, kernel: &Path) -> Option<Disk> {
    let virtio =
        image.devices.iter().any(|d| d.name == "virtio-blk") || image.options.block_in_kernel;
    let card = image.devices.iter().any(|d| d.name == "sdhci");
    let kind = match (virtio, card) {
        (true, _) => DiskKind::Virtio,
        (false, true) => DiskKind::SdCard {
            kernel: kernel.to_path_buf(),
            dtb: root.join(crate::qemu::RPI4_DTB),
        },
        (false, false) => return None,
    };
    Some(Disk {
        path: path(root, &image.name, board),
        kind,
        iops_limit: None,
    })
}

/// Where the disk of `image` on `board` lives.
pub fn path(root: &Path, image: &str, board: Board) -> PathBuf {
    target_dir(root)
        .join("disks")
        .join(format!("{image}-{}.img", board.name()))
}

/// Where the copy of a card's bytes before its data partition is kept.
pub fn boot_copy(disk: &Path) -> PathBuf {
    disk.with_extension("boot")
}

/// Makes the disk file fresh, or, with `keep`, leaves an existing one as
/// it is.
pub fn prepare(disk: &Disk, keep: bool) -> Result<()> {
    let path = &disk.path;
    if keep && path.is_file() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    match &disk.kind {
        DiskKind::Virtio => {
            let f = std::fs::File::create(path).with_context(|| path.display().to_string())?;
            f.set_len(DISK_BYTES)
                .with_context(|| path.display().to_string())?;
        }
        DiskKind::SdCard { kernel, dtb } => {
            let card = card_image(kernel, dtb)?;
            let (_, data) = crate::sdimage::partitions(&card)?;
            let boot = (data.start * crate::sdimage::SECTOR) as usize;
            std::fs::write(boot_copy(path), &card[..boot])
                .with_context(|| boot_copy(path).display().to_string())?;
            std::fs::write(path, &card).with_context(|| path.display().to_string())?;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| path.display().to_string())?;
            f.set_len((card.len() as u64).next_power_of_two())
                .with_context(|| path.display().to_string())?;
        }
    }
    Ok(())
}

/// The test card: `flash`'s files and layout, stand-in firmware.
fn card_image(kernel: &Path, dtb: &Path) -> Result<Vec<u8>> {
    let fw = crate::firmware::Firmware {
        files: crate::firmware::FILES
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    format!("stand-in {n}: QEMU does not run the firmware\n").into_bytes(),
                )
            })
            .collect(),
        source: "stand-in".into(),
    };
    let kernel = std::fs::read(kernel).with_context(|| kernel.display().to_string())?;
    let dtb = std::fs::read(dtb).with_context(|| dtb.display().to_string())?;
    let files = crate::flash::boot_files(kernel, &fw, dtb);
    let card = crate::sdimage::build(&files, CARD_DATA_SECTORS)?;
    crate::sdimage::verify(&card, &files).context("verifying the test card")?;
    Ok(card)
}

/// QEMU's arguments for the disk: a virtio-mmio block device (the modern
/// transport, version 2, rather than QEMU's legacy default), or the SD
/// card (`if=sd`: the raspi4b machine's one card slot).
pub fn qemu_args(disk: &Disk) -> Vec<String> {
    let path = disk.path.display();
    match disk.kind {
        DiskKind::Virtio => vec![
            "-global".into(),
            "virtio-mmio.force-legacy=false".into(),
            "-drive".into(),
            match disk.iops_limit {
                Some(n) => {
                    format!("file={path},if=none,format=raw,id=blk0,throttling.iops-total={n}")
                }
                None => format!("file={path},if=none,format=raw,id=blk0"),
            },
            "-device".into(),
            "virtio-blk-device,drive=blk0".into(),
        ],
        DiskKind::SdCard { .. } => vec!["-drive".into(), format!("file={path},if=sd,format=raw")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virtio(path: PathBuf) -> Disk {
        Disk {
            path,
            kind: DiskKind::Virtio,
            iops_limit: None,
        }
    }

    #[test]
    fn fresh_unless_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}", std::process::id()));
        let disk = virtio(dir.join("d.img"));
        prepare(&disk, true).unwrap();
        assert_eq!(std::fs::metadata(&disk.path).unwrap().len(), DISK_BYTES);
        std::fs::write(&disk.path, b"data").unwrap();
        prepare(&disk, true).unwrap();
        assert_eq!(std::fs::read(&disk.path).unwrap(), b"data");
        prepare(&disk, false).unwrap();
        let bytes = std::fs::read(&disk.path).unwrap();
        assert!(bytes.len() as u64 == DISK_BYTES && bytes.iter().all(|&b| b == 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_test_card_is_flash_layout_padded_to_a_power_of_two() {
        let dir = std::env::temp_dir().join(format!("xtask-card-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (kernel, dtb) = (dir.join("kernel8.img"), dir.join("x.dtb"));
        std::fs::write(&kernel, vec![0x17; 5000]).unwrap();
        std::fs::write(&dtb, b"\xd0\x0d\xfe\xed").unwrap();
        let disk = Disk {
            path: dir.join("c.img"),
            kind: DiskKind::SdCard { kernel, dtb },
            iops_limit: None,
        };
        prepare(&disk, false).unwrap();
        let card = std::fs::read(&disk.path).unwrap();
        assert!(card.len().is_power_of_two(), "{}", card.len());
        let (boot, data) = crate::sdimage::partitions(&card).unwrap();
        assert_eq!(
            (boot.start, data.sectors, data.kind),
            (2048, CARD_DATA_SECTORS, 0xda)
        );
        let copy = std::fs::read(boot_copy(&disk.path)).unwrap();
        assert_eq!(copy[..], card[..(data.start * 512) as usize]);
        assert_eq!(
            qemu_args(&disk).join(" "),
            format!("-drive file={},if=sd,format=raw", disk.path.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn drive_arguments() {
        let a = qemu_args(&virtio("t/d.img".into())).join(" ");
        assert_eq!(
            a,
            "-global virtio-mmio.force-legacy=false -drive file=t/d.img,if=none,format=raw,id=blk0 -device virtio-blk-device,drive=blk0"
        );
        let limited = Disk {
            iops_limit: Some(100),
            ..virtio("t/d.img".into())
        };
        assert!(qemu_args(&limited)
            .join(" ")
            .contains("-drive file=t/d.img,if=none,format=raw,id=blk0,throttling.iops-total=100 "));
    }
}
