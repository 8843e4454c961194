//! The Linux peer's kernel and userland: Debian bookworm's arm64 kernel
//! (`linux-image-<abi>-arm64-unsigned`, the one `linux-image-arm64` points
//! at) and `busybox-static` (arm64), downloaded once into
//! `target/linux-peer/` with a private APT state (`crate::debian`, as for the
//! Pi firmware), each `.deb` checked against the SHA256 of Debian's Packages
//! index before `dpkg-deb -x`. `target/linux-peer/SOURCE` records the exact
//! packages; the cache is re-used as long as it is complete.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::target_dir;
use crate::debian::{PrivateApt, Stanza, SUITE};

const KERNEL_META: &str = "linux-image-arm64";
const BUSYBOX: &str = "busybox-static";
const HELP: &str =
    "the Linux peer needs apt-get and dpkg-deb (Debian or Ubuntu) and Debian's mirror";

/// The kernel modules the web benchmark's Linux guest loads for its
/// virtio-net card (Debian builds them as modules), in load order, under
/// `lib/modules/<abi>/` of the kernel package.
pub const NET_MODULES: [&str; 4] = [
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
];

/// The cached kernel and busybox, and where they came from.
pub struct Peer {
    /// The arm64 `Image` (Debian calls it `vmlinuz`; on arm64 it is not compressed).
    pub kernel: PathBuf,
    pub busybox: PathBuf,
    /// [`NET_MODULES`], in their order, copied out of the kernel package.
    pub modules: Vec<PathBuf>,
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
        modules: NET_MODULES.iter().map(|m| module_path(&cache, m)).collect(),
        source: String::new(),
    };
    let stamp = cache.join("SOURCE");
    let complete = stamp.is_file()
        && peer.kernel.is_file()
        && peer.busybox.is_file()
        && peer.modules.iter().all(|m| m.is_file());
    if !complete {
        fetch(&cache).context("fetching Debian's arm64 kernel and busybox-static")?;
    }
    let source = std::fs::read_to_string(&stamp).with_context(|| stamp.display().to_string())?;
    Ok(Peer { source, ..peer })
}

/// Where module `m` (a path of [`NET_MODULES`]) is cached.
fn module_path(cache: &Path, m: &str) -> PathBuf {
    let file = Path::new(m).file_name().unwrap_or_default();
    cache.join("modules").join(file)
}

/// The unsigned kernel package for the metapackage's dependency
/// `linux-image-6.1.0-NN-arm64`.
pub fn unsigned_kernel(meta: &Stanza) -> Option<String> {
    meta.depends
        .iter()
        .find(|d| d.starts_with("linux-image-") && d.ends_with("-arm64"))
        .map(|d| format!("{d}-unsigned"))
}

fn fetch(cache: &Path) -> Result<()> {
    eprintln!(
        "linux-bench: downloading Debian's arm64 kernel and {BUSYBOX} ({SUITE}) into {}",
        cache.display()
    );
    let apt = PrivateApt::update(&cache.join("apt"), "main", HELP)?;
    let meta = apt.show(KERNEL_META)?;
    let kernel_pkg = unsigned_kernel(&meta)
        .with_context(|| format!("{KERNEL_META} depends on no linux-image-*-arm64"))?;
    let kernel = apt.show(&kernel_pkg)?;
    let busybox = apt.show(BUSYBOX)?;
    let unpacked = cache.join("apt").join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    for s in [&kernel, &busybox] {
        apt.unpack(s, &unpacked)?;
    }
    let abi = kernel_pkg
        .trim_start_matches("linux-image-")
        .trim_end_matches("-unsigned");
    let image = unpacked.join(format!("boot/vmlinuz-{abi}"));
    std::fs::copy(&image, cache.join("vmlinuz"))
        .with_context(|| format!("{kernel_pkg} has no boot/vmlinuz-{abi}"))?;
    std::fs::copy(unpacked.join("bin/busybox"), cache.join("busybox"))
        .with_context(|| format!("{BUSYBOX} has no bin/busybox"))?;
    std::fs::create_dir_all(cache.join("modules"))?;
    for m in NET_MODULES {
        let from = unpacked.join(format!("lib/modules/{abi}/{m}"));
        std::fs::copy(&from, module_path(cache, m))
            .with_context(|| format!("{kernel_pkg} has no {}", from.display()))?;
    }
    let stamp: String = [&kernel, &busybox]
        .iter()
        .map(|s| format!("{} {} {}\n", s.package, s.version, s.sha256))
        .collect();
    std::fs::write(cache.join("SOURCE"), stamp)?;
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debian::{parse_stanza, sha256_hex};

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
