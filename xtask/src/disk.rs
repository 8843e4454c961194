//! The virtio block disk a run gets: images that grant `device:virtio-blk`
//! or ask for the kernel's in-kernel block driver (`block_in_kernel`) boot
//! with a raw disk file, `target/disks/<image>-<board>.img` (1 MiB). It is
//! made fresh (zero-filled) before each `cargo xtask qemu` run and test
//! case unless told to keep it (`--keep-disk`, or a case's `keep_disk`),
//! so a second boot can read what a first one wrote.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::target_dir;
use crate::cli::Board;
use crate::image::Image;

/// Bytes of a fresh disk: 2048 sectors.
pub const DISK_BYTES: u64 = 1 << 20;

/// Whether runs of `image` get a disk.
pub fn needs_disk(image: &Image) -> bool {
    image.devices.iter().any(|d| d.name == "virtio-blk") || image.options.block_in_kernel
}

/// Where the disk of `image` on `board` lives.
pub fn path(root: &Path, image: &str, board: Board) -> PathBuf {
    target_dir(root)
        .join("disks")
        .join(format!("{image}-{}.img", board.name()))
}

/// Makes the disk file fresh (zero-filled, [`DISK_BYTES`]), or, with
/// `keep`, leaves an existing one as it is.
pub fn prepare(disk: &Path, keep: bool) -> Result<()> {
    if keep && disk.is_file() {
        return Ok(());
    }
    if let Some(dir) = disk.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let f = std::fs::File::create(disk).with_context(|| disk.display().to_string())?;
    f.set_len(DISK_BYTES)
        .with_context(|| disk.display().to_string())?;
    Ok(())
}

/// QEMU's arguments for the disk: a virtio-mmio block device (the modern
/// transport, version 2, rather than QEMU's legacy default).
pub fn qemu_args(disk: &Path) -> Vec<String> {
    vec![
        "-global".into(),
        "virtio-mmio.force-legacy=false".into(),
        "-drive".into(),
        format!("file={},if=none,format=raw,id=blk0", disk.display()),
        "-device".into(),
        "virtio-blk-device,drive=blk0".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_unless_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}", std::process::id()));
        let disk = dir.join("d.img");
        prepare(&disk, true).unwrap();
        assert_eq!(std::fs::metadata(&disk).unwrap().len(), DISK_BYTES);
        std::fs::write(&disk, b"data").unwrap();
        prepare(&disk, true).unwrap();
        assert_eq!(std::fs::read(&disk).unwrap(), b"data");
        prepare(&disk, false).unwrap();
        let bytes = std::fs::read(&disk).unwrap();
        assert!(bytes.len() as u64 == DISK_BYTES && bytes.iter().all(|&b| b == 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn drive_arguments() {
        let a = qemu_args(Path::new("t/d.img")).join(" ");
        assert_eq!(
            a,
            "-global virtio-mmio.force-legacy=false -drive file=t/d.img,if=none,format=raw,id=blk0 -device virtio-blk-device,drive=blk0"
        );
    }
}
