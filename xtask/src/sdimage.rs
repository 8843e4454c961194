//! The SD card image: an MBR partition table with a FAT32 boot partition
//! (type 0x0c, FAT32 with LBA addressing) starting at 1 MiB, holding the
//! boot files in its root directory, and after it a data partition (type
//! 0xda, "non-FS data", zero-filled, starting on a MiB boundary) that the
//! SD block server serves (docs/block.md). Built in memory with the
//! `fatfs` crate and read back with it to verify. Reproducible: fixed
//! volume id, disk signature and (no clock) timestamps.

use std::io::{Cursor, Read, Write};

use anyhow::{bail, ensure, Context, Result};
use fatfs::{
    Date, DateTime, FatType, FileSystem, FormatVolumeOptions, FsOptions, Time, TimeProvider,
};

pub const SECTOR: u64 = 512;
/// The partition starts at 1 MiB, as card vendors and SD tools align it.
pub const PART_START: u64 = 2048;
/// Smallest partition: 64 MiB, FAT32 with 512-byte clusters (FAT32 needs
/// at least 65525 clusters, i.e. more than 32 MiB at that cluster size).
const MIN_PART_SECTORS: u64 = 64 * 1024 * 1024 / SECTOR;
pub const PART_TYPE_FAT32_LBA: u8 = 0x0c;
/// The data partition's type: "non-FS data" (what the SD server looks for
/// in MBR entry 2).
pub const PART_TYPE_DATA: u8 = 0xda;
/// The data partition's size unless `flash --data-size` says: 8 MiB.
pub const DEFAULT_DATA_SECTORS: u64 = 8 * 2048;
const DISK_SIGNATURE: u32 = 0x4b4d_4c31; // "KML1"
const VOLUME_ID: u32 = 0x4b4d_4c42;
const LABEL: [u8; 11] = *b"KMLBOOT    ";

/// Every timestamp is 1980-01-01 00:00 (the FAT epoch): reproducible images
/// (without it, `fatfs` built without a clock writes the invalid month 0).
#[derive(Debug)]
struct Epoch;

impl TimeProvider for Epoch {
    fn get_current_date(&self) -> Date {
        Date {
            year: 1980,
            month: 1,
            day: 1,
        }
    }
    fn get_current_date_time(&self) -> DateTime {
        DateTime {
            date: self.get_current_date(),
            time: Time {
                hour: 0,
                min: 0,
                sec: 0,
                millis: 0,
            },
        }
    }
}

static EPOCH: Epoch = Epoch;

/// A file in the boot partition's root directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A partition, as read from the MBR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: u8,
    pub start: u64,
    pub sectors: u64,
}

/// CHS for an LBA in the usual 255-head, 63-sector geometry (1023/254/63
/// past its end), as the MBR's legacy fields want it.
fn chs(lba: u64) -> [u8; 3] {
    let (c, h, s) = if lba >= 1024 * 255 * 63 {
        (1023, 254, 63)
    } else {
        (lba / (255 * 63), (lba / 63) % 255, lba % 63 + 1)
    };
    [h as u8, (s as u8 & 0x3f) | ((c >> 2) as u8 & 0xc0), c as u8]
}

fn mbr(parts: &[Partition]) -> [u8; 512] {
    let mut m = [0u8; 512];
    m[440..444].copy_from_slice(&DISK_SIGNATURE.to_le_bytes());
    for (i, part) in parts.iter().enumerate() {
        let e = &mut m[446 + 16 * i..446 + 16 * (i + 1)];
        e[0] = 0x00; // not "active": the Pi's boot ROM does not look
        e[1..4].copy_from_slice(&chs(part.start));
        e[4] = part.kind;
        e[5..8].copy_from_slice(&chs(part.start + part.sectors - 1));
        e[8..12].copy_from_slice(&(part.start as u32).to_le_bytes());
        e[12..16].copy_from_slice(&(part.sectors as u32).to_le_bytes());
    }
    m[510] = 0x55;
    m[511] = 0xaa;
    m
}

/// Builds the whole card image: the boot partition holding `files`, then
/// a zero-filled data partition of `data_sectors` (at least 1).
pub fn build(files: &[BootFile], data_sectors: u64) -> Result<Vec<u8>> {
    ensure!(
        data_sectors > 0,
        "the data partition needs at least one sector"
    );
    let payload: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    // Room for the files, twice over, and FAT metadata; whole MiBs.
    let need = (payload * 2 / SECTOR + 16 * 2048).next_multiple_of(2048);
    let sectors = need.max(MIN_PART_SECTORS);
    let part = Partition {
        kind: PART_TYPE_FAT32_LBA,
        start: PART_START,
        sectors,
    };
    let mut fat = vec![0u8; (sectors * SECTOR) as usize];
    let options = FormatVolumeOptions::new()
        .fat_type(FatType::Fat32)
        .bytes_per_cluster(SECTOR as u32)
        .volume_id(VOLUME_ID)
        .volume_label(LABEL);
    fatfs::format_volume(Cursor::new(&mut fat[..]), options).context("formatting FAT32")?;
    set_hidden_sectors(&mut fat, PART_START as u32);
    {
        let options = FsOptions::new().time_provider(&EPOCH);
        let fs = FileSystem::new(Cursor::new(&mut fat[..]), options)
            .context("mounting the new FAT32 volume")?;
        for f in files {
            let mut file = fs
                .root_dir()
                .create_file(&f.name)
                .with_context(|| format!("creating {}", f.name))?;
            file.truncate().with_context(|| f.name.clone())?;
            file.write_all(&f.bytes)
                .with_context(|| format!("writing {}", f.name))?;
            file.flush().with_context(|| f.name.clone())?;
        }
        // Counting the free clusters lets unmount record them in FSInfo.
        fs.stats().context("FAT32 statistics")?;
        fs.unmount().context("unmounting the FAT32 volume")?;
    }
    let data = Partition {
        kind: PART_TYPE_DATA,
        start: (PART_START + sectors).next_multiple_of(2048),
        sectors: data_sectors,
    };
    ensure!(
        data.start + data.sectors <= u32::MAX as u64,
        "the card would pass 2 TiB, the MBR's limit"
    );
    let mut image = vec![0u8; ((data.start + data.sectors) * SECTOR) as usize];
    image[..512].copy_from_slice(&mbr(&[part, data]));
    let boot = (PART_START * SECTOR) as usize;
    image[boot..boot + fat.len()].copy_from_slice(&fat);
    Ok(image)
}

/// BPB_HiddSec (sectors before the volume) in the boot sector and in its
/// FAT32 backup copy (sector BPB_BkBootSec): `fatfs` writes 0.
fn set_hidden_sectors(fat: &mut [u8], hidden: u32) {
    let backup = u16::from_le_bytes([fat[0x32], fat[0x33]]) as usize;
    for sector in [0, backup] {
        let at = sector * SECTOR as usize + 0x1c;
        fat[at..at + 4].copy_from_slice(&hidden.to_le_bytes());
    }
}

/// MBR entry `i` (0-based), whatever it holds.
fn entry(image: &[u8], i: usize) -> Partition {
    let e = &image[446 + 16 * i..446 + 16 * (i + 1)];
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
    Partition {
        kind: e[4],
        start: le32(&e[8..12]),
        sectors: le32(&e[12..16]),
    }
}

/// Reads the MBR: the boot partition (entry 1) and the data partition
/// (entry 2), entries 3 and 4 empty, each inside the image, in order.
pub fn partitions(image: &[u8]) -> Result<(Partition, Partition)> {
    ensure!(image.len() >= 512, "image shorter than one sector");
    ensure!(image[510..512] == [0x55, 0xaa], "no MBR signature (55 aa)");
    for i in 2..4 {
        ensure!(
            image[446 + 16 * i..446 + 16 * (i + 1)]
                .iter()
                .all(|&b| b == 0),
            "MBR entry {} is not empty",
            i + 1
        );
    }
    let (boot, data) = (entry(image, 0), entry(image, 1));
    for (i, part) in [boot, data].iter().enumerate() {
        ensure!(
            part.start > 0 && part.sectors > 0,
            "MBR entry {} is empty",
            i + 1
        );
        let end = (part.start + part.sectors) * SECTOR;
        ensure!(
            end <= image.len() as u64,
            "partition {} ends at byte {end}, past the image ({} bytes)",
            i + 1,
            image.len()
        );
    }
    ensure!(
        data.start >= boot.start + boot.sectors,
        "partition 2 starts inside partition 1"
    );
    Ok((boot, data))
}

/// Checks a card image: the partition table, a FAT32 volume that mounts,
/// exactly `files` in its root, byte for byte, and a data partition of
/// type 0xda. Returns the two partitions.
pub fn verify(image: &[u8], files: &[BootFile]) -> Result<(Partition, Partition)> {
    let (part, data) = partitions(image)?;
    if data.kind != PART_TYPE_DATA {
        bail!(
            "partition 2 has type {:#04x}, not 0xda (non-FS data)",
            data.kind
        );
    }
    if part.kind != PART_TYPE_FAT32_LBA {
        bail!(
            "partition 1 has type {:#04x}, not 0x0c (FAT32 LBA)",
            part.kind
        );
    }
    let from = (part.start * SECTOR) as usize;
    let to = from + (part.sectors * SECTOR) as usize;
    // fatfs wants a writable stream; it only reads here.
    let fs = FileSystem::new(Cursor::new(image[from..to].to_vec()), FsOptions::new())
        .context("partition 1 does not mount as FAT")?;
    ensure!(
        fs.fat_type() == FatType::Fat32,
        "partition 1 is {:?}, not FAT32",
        fs.fat_type()
    );
    let root = fs.root_dir();
    let mut names = Vec::new();
    for entry in root.iter() {
        let entry = entry.context("reading the root directory")?;
        names.push(entry.file_name());
    }
    for f in files {
        ensure!(names.contains(&f.name), "{} is missing", f.name);
        let mut bytes = Vec::new();
        root.open_file(&f.name)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", f.name))?;
        ensure!(
            bytes == f.bytes,
            "{} differs: {} bytes on the card, {} expected",
            f.name,
            bytes.len(),
            f.bytes.len()
        );
    }
    if let Some(extra) = names.iter().find(|n| !files.iter().any(|f| f.name == **n)) {
        bail!("unexpected file {extra} on the card");
    }
    Ok((part, data))
}

#[cfg(test)]
mod tests;
