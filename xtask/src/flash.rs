//! `cargo xtask flash`: a bootable Raspberry Pi 4 SD card, as an image file
//! (`--out`) or written to a card (`--device`). A FAT32 partition with the
//! firmware, the Pi 4 device tree, `config.txt` and `kernel8.img` (a test
//! image, or with `--chainloader` the serial chainloader that `hil` talks
//! to), then a zero-filled data partition (`--data-size`) for the SD block
//! server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};

use crate::cli::{Board, UsageError};
use crate::device;
use crate::firmware;
use crate::qemu::RPI4_DTB;
use crate::sdimage::{self, BootFile, SECTOR};
use crate::serial::BAUD_RATES;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["out", "device"])))]
pub struct FlashArgs {
    /// Board: rpi4 (the only one that boots from an SD card) [default: rpi4].
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
    /// Write the card image to this file (then e.g. `dd` or an imager).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the card itself: a whole disk such as /dev/sdX or /dev/mmcblk0.
    #[arg(long, value_name = "PATH")]
    pub device: Option<PathBuf>,
    /// Put the serial chainloader on the card instead of a test image.
    #[arg(long, conflicts_with = "image")]
    pub chainloader: bool,
    /// The image to put on the card: images/NAME.toml [default: default].
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// Take start4.elf and fixup4.dat from this folder (no download).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// The chainloader's line speed [default: 115200].
    #[arg(long, value_name = "N", requires = "chainloader")]
    pub baud: Option<u32>,
    /// Size of the data partition after the boot partition (what the SD
    /// block server serves), e.g. 8M, 1G [default: 8M].
    #[arg(long, value_name = "SIZE")]
    pub data_size: Option<String>,
    /// Do not ask before erasing --device.
    #[arg(long)]
    pub yes: bool,
}

/// What `config.txt` says, and why (see docs/hil.md).
pub const CONFIG_TXT: &str = "\
# Written by `cargo xtask flash`.
# 64-bit kernel, entered at EL2 at 0x80000 (the kernel's arm64 header
# says text_offset 0x80000; newer firmware would otherwise pick 0x200000).
arm_64bit=1
kernel=kernel8.img
kernel_address=0x80000
# enable_uart=1 keeps the core clock fixed, so the mini UART (the defmt log)
# keeps its baud rate. UART0 (the PL011, the console) is routed to GPIO 14/15
# by the kernel and by the chainloader themselves, so no dtoverlay (whose
# file would have to be on the card under overlays/) is needed.
enable_uart=1
";

/// Checks the arguments before anything is built or touched.
pub fn validate(args: &FlashArgs) -> Result<(), UsageError> {
    if let Some(b) = args.board.as_deref().filter(|b| *b != "rpi4") {
        return Err(UsageError(format!(
            "--board {b}: only rpi4 boots from an SD card (virt runs in QEMU: cargo xtask qemu)"
        )));
    }
    if let Some(baud) = args.baud.filter(|b| !BAUD_RATES.contains(b)) {
        return Err(UsageError(format!(
            "--baud {baud}: not a standard serial rate (e.g. 115200, 230400, 460800, 921600)"
        )));
    }
    data_sectors(args)?;
    if let Some(out) = &args.out {
        if std::fs::metadata(out).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_block_device()
        }) {
            return Err(UsageError(format!(
                "--out {}: a block device; use --device {0} (checked and confirmed) to write a card",
                out.display()
            )));
        }
    }
    Ok(())
}

/// The data partition's sectors: `--data-size` (1 MiB to 1 TiB), else
/// [`sdimage::DEFAULT_DATA_SECTORS`].
pub fn data_sectors(args: &FlashArgs) -> Result<u64, UsageError> {
    let Some(text) = args.data_size.as_deref() else {
        return Ok(sdimage::DEFAULT_DATA_SECTORS);
    };
    let bad = || UsageError(format!("--data-size {text:?}: use 1M to 1T (e.g. 8M, 1G)"));
    let mib = crate::cli::parse_mem_mib(text).map_err(|_| bad())?;
    if !(1..=1 << 20).contains(&mib) {
        return Err(bad());
    }
    Ok(mib * 2048)
}

/// The files on the card, in the order they are written.
pub fn boot_files(kernel: Vec<u8>, fw: &firmware::Firmware, dtb: Vec<u8>) -> Vec<BootFile> {
    let mut files: Vec<BootFile> = fw
        .files
        .iter()
        .map(|(name, bytes)| BootFile {
            name: name.clone(),
            bytes: bytes.clone(),
        })
        .collect();
    files.push(BootFile {
        name: "bcm2711-rpi-4-b.dtb".into(),
        bytes: dtb,
    });
    files.push(BootFile {
        name: "config.txt".into(),
        bytes: CONFIG_TXT.as_bytes().to_vec(),
    });
    files.push(BootFile {
        name: "kernel8.img".into(),
        bytes: kernel,
    });
    files
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

pub fn run(root: &Path, args: &FlashArgs) -> Result<ExitCode> {
    validate(args)?;
    // A card that must not be written is refused before anything is built.
    let disk = match &args.device {
        Some(path) => Some(device::check(path)?),
        None => None,
    };
    let (kernel, what) = if args.chainloader {
        let baud = args.baud.unwrap_or(chainload::DEFAULT_BAUD);
        let loader = crate::loader::build(root, baud)?;
        (loader.raw, format!("serial chainloader, UART0 {baud} 8N1"))
    } else {
        let name = args.image.as_deref().unwrap_or("default");
        let image = crate::image::select(root, name, Board::Rpi4)?;
        let built = crate::build::build(root, &image, Board::Rpi4)?;
        let raw = std::fs::read(&built.raw).with_context(|| built.raw.display().to_string())?;
        (raw, format!("image {name}"))
    };
    let fw = firmware::get(root, args.firmware.as_deref())?;
    let dtb_path = root.join(RPI4_DTB);
    let dtb = std::fs::read(&dtb_path).with_context(|| dtb_path.display().to_string())?;
    let files = boot_files(kernel, &fw, dtb);
    let image = sdimage::build(&files, data_sectors(args)?)?;
    let (part, data) = sdimage::verify(&image, &files).context("verifying the card image")?;
    let dest = match (&args.out, &disk) {
        (Some(out), _) => {
            std::fs::write(out, &image).with_context(|| out.display().to_string())?;
            // Read the file back: what is on disk is what gets flashed.
            let back = std::fs::read(out).with_context(|| out.display().to_string())?;
            sdimage::verify(&back, &files)
                .with_context(|| format!("verifying {}", out.display()))?;
            out.display().to_string()
        }
        (None, Some(disk)) => {
            device::confirm(disk, args.yes)?;
            eprintln!(
                "flash: writing {} to {}",
                mib(image.len() as u64),
                disk.path.display()
            );
            device::write(disk, &image)?;
            disk.path.display().to_string()
        }
        (None, None) => unreachable!("clap requires --out or --device"),
    };
    println!(
        "flash: {dest}: {} card image, MBR with two partitions: FAT32 (type {:#04x}, LBA {}, {}), data (type {:#04x}, LBA {}, {})",
        mib(image.len() as u64),
        part.kind,
        part.start,
        mib(part.sectors * SECTOR),
        data.kind,
        data.start,
        mib(data.sectors * SECTOR)
    );
    for f in &files {
        let note = match f.name.as_str() {
            "kernel8.img" => what.clone(),
            "start4.elf" | "fixup4.dat" => fw.source.clone(),
            "bcm2711-rpi-4-b.dtb" => RPI4_DTB.to_string(),
            "config.txt" => "arm_64bit, kernel_address=0x80000, enable_uart".to_string(),
            _ => String::new(),
        };
        println!("  {:<20} {:>9} bytes  {note}", f.name, f.bytes.len());
    }
    println!(
        "flash: verified: partition table, FAT32 volume, {} files byte for byte, data partition",
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}
