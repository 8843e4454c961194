//! Building the serial chainloader (`bsp/rpi4-chainloader`) into the
//! `kernel8.img` that goes on the SD card.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use chainload::{Config, RUN_LIMIT, UART_CLOCK_HZ};

use crate::build::{pack, target_dir, TARGET};

/// The built loader: its raw image (configuration patched in) and where it
/// was written.
pub struct Loader {
    pub raw: Vec<u8>,
    pub path: PathBuf,
}

/// Builds the loader for `baud` and writes
/// `target/images/chainloader/rpi4/kernel8.img`.
pub fn build(root: &Path, baud: u32) -> Result<Loader> {
    eprintln!("build: rpi4 serial chainloader ({baud} baud)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "rpi4-chainloader",
            "--target",
            TARGET,
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the chainloader failed");
    }
    let elf_path = target_dir(root)
        .join(TARGET)
        .join("release")
        .join("rpi4-chainloader");
    let elf = std::fs::read(&elf_path).with_context(|| elf_path.display().to_string())?;
    let mut raw = pack(&elf).context("packing the chainloader ELF")?;
    if raw.len() as u64 > RUN_LIMIT / 2 {
        bail!(
            "the chainloader is {} bytes: too large for its home",
            raw.len()
        );
    }
    Config {
        baud,
        clock_hz: UART_CLOCK_HZ,
    }
    .write(&mut raw)
    .map_err(anyhow::Error::msg)?;
    let dir = target_dir(root)
        .join("images")
        .join("chainloader")
        .join("rpi4");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let path = dir.join("kernel8.img");
    std::fs::write(&path, &raw).with_context(|| path.display().to_string())?;
    eprintln!(
        "pack: {} {} bytes (chainloader, UART0 {baud} 8N1)",
        path.strip_prefix(root).unwrap_or(&path).display(),
        raw.len()
    );
    Ok(Loader { raw, path })
}
