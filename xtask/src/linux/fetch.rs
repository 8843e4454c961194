//! The Linux peer's kernel and userland: Debian bookworm's arm64 kernel
//! (`linux-image-<abi>-arm64-unsigned`, the one `linux-image-arm64` points
//! at) and `busybox-static` (arm64), downloaded once into
//! `target/linux-peer/` with a private APT state (as `firmware.rs` gets the
//! Pi firmware), each `.deb` checked against the SHA256 of Debian's Packages
//! index before `dpkg-deb -x`. `target/linux-peer/SOURCE` records the exact
//! packages; the cache is re-used as long as it is complete.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::build::target_dir;
use crate::firmware::{apt_options, mirror, run_or, tool_or};

const SUITE: &str = "bookworm";
const KERNEL_META: &str = "linux-image-arm64";
const BUSYBOX: &str = "busybox-static";
const HELP: &str =
    "the Linux peer needs apt-get and dpkg-deb (Debian or Ubuntu) and Debian's mirror";

/// The cached kernel and busybox, and where they came from.
pub struct Peer {
    /// The arm64 `Image` (Debian calls it `vmlinuz`; on arm64 it is not compressed).
    pub kernel: PathBuf,
    pub busybox: PathBuf,
    /// One line per package: `name version sha256`.
    pub source: String,
}

/// The cache directory, `target/linux-peer/`.
pub fn cache_dir(root: &Path) -> PathBuf {
    target_dir(root).join("linux-peer")
}

/// The kernel and busybox, from the cache or downloaded into it.
pub fn get(root: &Path) -> Result<Peer> {
    let cache = cache_dir(root);
    let peer = Peer {
        kernel: cache.join("vmlinuz"),
        busybox: cache.join("busybox"),
        source: String::new(),
    };
    let stamp = cache.join("SOURCE");
    if !(stamp.is_file() && peer.kernel.is_file() && peer.busybox.is_file()) {
        fetch(&cache).context("fetching Debian's arm64 kernel and busybox-static")?;
    }
    let source = std::fs::read_to_string(&stamp).with_context(|| stamp.display().to_string())?;
    Ok(Peer { source, ..peer })
}

/// The fields of one Packages stanza that we use.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stanza {
    pub package: String,
    pub version: String,
    pub sha256: String,
    pub depends: Vec<String>,
}

/// The first stanza of `apt-cache show` output (a Packages index excerpt).
pub fn parse_stanza(text: &str) -> Option<Stanza> {
    let mut s = Stanza::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Package" => s.package = value.to_string(),
            "Version" => s.version = value.to_string(),
            "SHA256" => s.sha256 = value.to_ascii_lowercase(),
            "Depends" => {
                s.depends = value
                    .split(',')
                    .filter_map(|d| d.split_whitespace().next())
                    .map(String::from)
                    .collect()
            }
            _ => {}
        }
    }
    (!s.package.is_empty() && s.sha256.len() == 64).then_some(s)
}

/// The unsigned kernel package for the metapackage's dependency
/// `linux-image-6.1.0-NN-arm64`.
pub fn unsigned_kernel(meta: &Stanza) -> Option<String> {
    meta.depends
        .iter()
        .find(|d| d.starts_with("linux-image-") && d.ends_with("-arm64"))
        .map(|d| format!("{d}-unsigned"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Apt {
    apt_get: PathBuf,
    apt_cache: PathBuf,
    opts: Vec<String>,
}

impl Apt {
    fn show(&self, package: &str) -> Result<Stanza> {
        let out = run_or(
            Command::new(&self.apt_cache)
                .args(&self.opts)
                .args(["show", package]),
            &format!("apt-cache show {package}"),
            HELP,
        )?;
        parse_stanza(&String::from_utf8_lossy(&out))
            .with_context(|| format!("no usable Packages entry for {package} (arm64, {SUITE})"))
    }

    /// Downloads `s` into `dir`, checks it against the index, returns it.
    fn download(&self, s: &Stanza, dir: &Path) -> Result<PathBuf> {
        run_or(
            Command::new(&self.apt_get)
                .args(&self.opts)
                .arg("download")
                .arg(format!("{}={}", s.package, s.version))
                .current_dir(dir),
            &format!("apt-get download {}", s.package),
            HELP,
        )?;
        let deb = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "deb")
                    && p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with(&format!("{}_", s.package))
                    })
            })
            .with_context(|| format!("apt-get download left no {} .deb", s.package))?;
        let bytes = std::fs::read(&deb).with_context(|| deb.display().to_string())?;
        let got = sha256_hex(&bytes);
        if got != s.sha256 {
            bail!(
                "{}: sha256 {got} does not match the Packages index ({})",
                deb.display(),
                s.sha256
            );
        }
        Ok(deb)
    }
}

fn fetch(cache: &Path) -> Result<()> {
    let work = cache.join("apt");
    for sub in [
        "sources.list.d",
        "lists/partial",
        "cache/archives/partial",
        "download",
    ] {
        std::fs::create_dir_all(work.join(sub))
            .with_context(|| work.join(sub).display().to_string())?;
    }
    let sources = format!(
        "Types: deb\nURIs: {}\nSuites: {SUITE}\nComponents: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        mirror()
    );
    std::fs::write(work.join("sources.list.d/linux-peer.sources"), sources)?;
    let apt = Apt {
        apt_get: tool_or("apt-get", HELP)?,
        apt_cache: tool_or("apt-cache", HELP)?,
        opts: apt_options(&work),
    };
    let dpkg_deb = tool_or("dpkg-deb", HELP)?;
    eprintln!(
        "linux-bench: downloading Debian's arm64 kernel and {BUSYBOX} ({SUITE}) into {}",
        cache.display()
    );
    run_or(
        Command::new(&apt.apt_get).args(&apt.opts).arg("update"),
        "apt-get update",
        HELP,
    )?;
    let meta = apt.show(KERNEL_META)?;
    let kernel_pkg = unsigned_kernel(&meta)
        .with_context(|| format!("{KERNEL_META} depends on no linux-image-*-arm64"))?;
    let kernel = apt.show(&kernel_pkg)?;
    let busybox = apt.show(BUSYBOX)?;
    let download = work.join("download");
    for old in std::fs::read_dir(&download)?.flatten() {
        let _ = std::fs::remove_file(old.path());
    }
    let unpacked = work.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    for s in [&kernel, &busybox] {
        let deb = apt.download(s, &download)?;
        run_or(
            Command::new(&dpkg_deb).arg("-x").arg(&deb).arg(&unpacked),
            "dpkg-deb -x",
            HELP,
        )?;
    }
    let abi = kernel_pkg
        .trim_start_matches("linux-image-")
        .trim_end_matches("-unsigned");
    let image = unpacked.join(format!("boot/vmlinuz-{abi}"));
    std::fs::copy(&image, cache.join("vmlinuz"))
        .with_context(|| format!("{kernel_pkg} has no boot/vmlinuz-{abi}"))?;
    std::fs::copy(unpacked.join("bin/busybox"), cache.join("busybox"))
        .with_context(|| format!("{BUSYBOX} has no bin/busybox"))?;
    let stamp: String = [&kernel, &busybox]
        .iter()
        .map(|s| format!("{} {} {}\n", s.package, s.version, s.sha256))
        .collect();
    std::fs::write(cache.join("SOURCE"), stamp)?;
    let _ = std::fs::remove_dir_all(&unpacked);
    let _ = std::fs::remove_dir_all(&download);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "Package: linux-image-arm64\nSource: linux-signed-arm64 (6.1.176+1)\n\
        Version: 6.1.176-1\nDepends: linux-image-6.1.0-50-arm64 (= 6.1.176-1)\n\
        SHA256: 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n\n\
        Package: other\nVersion: 1\n";

    #[test]
    fn parses_the_first_stanza() {
        let s = parse_stanza(META).expect("stanza");
        assert_eq!(s.package, "linux-image-arm64");
        assert_eq!(s.version, "6.1.176-1");
        assert_eq!(s.depends, ["linux-image-6.1.0-50-arm64"]);
        assert_eq!(&s.sha256[..16], "0123456789abcdef");
        assert_eq!(
            unsigned_kernel(&s).as_deref(),
            Some("linux-image-6.1.0-50-arm64-unsigned")
        );
        assert_eq!(parse_stanza("Package: x\nVersion: 1\n"), None, "no SHA256");
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
