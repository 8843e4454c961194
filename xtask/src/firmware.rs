//! The Raspberry Pi 4 boot firmware (`start4.elf`, `fixup4.dat`): from
//! `--firmware DIR`, else from the cache `target/firmware/raspi-firmware/`,
//! else downloaded once into that cache from Debian's `raspi-firmware`
//! package (component non-free-firmware), through a private APT state under
//! `target/firmware/apt/` (`crate::debian`), checked against the index.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::build::target_dir;
use crate::debian::{PrivateApt, SUITE};

/// The firmware files the Pi 4 needs on the card.
pub const FILES: [&str; 2] = ["start4.elf", "fixup4.dat"];
const PACKAGE: &str = "raspi-firmware";
/// Where the package puts them.
const PACKAGE_DIR: &str = "usr/lib/raspi-firmware";
const HELP: &str = "get start4.elf and fixup4.dat from the Raspberry Pi firmware repository \
                    (its boot/ folder) and pass --firmware DIR";

/// The firmware files and where they came from.
pub struct Firmware {
    /// (name, bytes), in [`FILES`] order.
    pub files: Vec<(String, Vec<u8>)>,
    pub source: String,
}

fn read_dir_files(dir: &Path, what: &str) -> Result<Vec<(String, Vec<u8>)>> {
    FILES
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{what}: {} is missing or unreadable", path.display()))?;
            if bytes.is_empty() {
                bail!("{what}: {} is empty", path.display());
            }
            Ok((name.to_string(), bytes))
        })
        .collect()
}

/// The firmware, from `dir` if given, else cached or downloaded.
pub fn get(root: &Path, dir: Option<&Path>) -> Result<Firmware> {
    if let Some(dir) = dir {
        let files = read_dir_files(dir, "--firmware")?;
        return Ok(Firmware {
            files,
            source: dir.display().to_string(),
        });
    }
    let cache = target_dir(root).join("firmware").join(PACKAGE);
    let stamp = cache.join("SOURCE");
    if !stamp.is_file() || FILES.iter().any(|f| !cache.join(f).is_file()) {
        fetch(root, &cache).with_context(|| format!("fetching Debian's {PACKAGE}"))?;
    }
    let files = read_dir_files(&cache, "firmware cache")?;
    let source = std::fs::read_to_string(&stamp).unwrap_or_default();
    Ok(Firmware {
        files,
        source: source.trim().to_string(),
    })
}

fn fetch(root: &Path, cache: &Path) -> Result<()> {
    let work = target_dir(root).join("firmware").join("apt");
    eprintln!(
        "firmware: downloading Debian's {PACKAGE} ({SUITE}, non-free-firmware) into {}",
        cache.display()
    );
    let apt = PrivateApt::update(&work, "non-free-firmware", HELP)?;
    let package = apt.show(PACKAGE)?;
    let unpacked = work.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    let name = apt.unpack(&package, &unpacked)?;
    std::fs::create_dir_all(cache)?;
    for file in FILES {
        let from = unpacked.join(PACKAGE_DIR).join(file);
        std::fs::copy(&from, cache.join(file))
            .with_context(|| format!("{name} has no {PACKAGE_DIR}/{file}"))?;
    }
    std::fs::write(cache.join("SOURCE"), format!("Debian {name}\n"))?;
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(())
}
