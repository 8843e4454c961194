//! The Linux peer's guest: the workloads of `bench/linux/*.c` built as
//! static aarch64 programs with Debian's cross compiler, and the initramfs
//! (a newc cpio written here) holding busybox, the programs and `/init`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::debian::{run_or, tool_or};

/// The workload sources, relative to the workspace root.
pub const SOURCE_DIR: &str = "bench/linux";
const CC: &str = "aarch64-linux-gnu-gcc";
const CC_PACKAGES: [&str; 2] = ["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"];
const CFLAGS: [&str; 5] = ["-O2", "-static", "-pthread", "-Wall", "-Wextra"];

/// `/init`: mount proc, sys and dev; with `lp_net=1` on the kernel command
/// line, load the virtio-net modules (`/lib/net`, in order) and give
/// `eth0` QEMU user networking's guest address, 10.0.2.15/24 by 10.0.2.2,
/// as our network server does; run `/bench/NAME CORES PARAMS...` for
/// each `NAME:PARAM:...` of `lp_run=` (comma-separated) with `lp_cores=`
/// from the kernel command line, then power off.
pub const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
cores=1
run=
for a in $(cat /proc/cmdline); do
  case "$a" in
    lp_cores=*) cores="${a#lp_cores=}" ;;
    lp_run=*) run="${a#lp_run=}" ;;
  esac
done
echo "LINUXPEER BOOTED cpus=$(nproc) cores=$cores"
if grep -q lp_net=1 /proc/cmdline; then
  for m in /lib/net/*.ko; do insmod "$m" || echo "FAIL insmod $m"; done
  ip link set lo up
  ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 || echo "FAIL network setup"
  echo "LINUXPEER NET $(cat /sys/class/net/eth0/address)"
fi
for spec in $(echo "$run" | tr ',' ' '); do
  set -- $(echo "$spec" | tr ':' ' ')
  name="$1"
  shift
  "/bench/$name" "$cores" "$@" || echo "FAIL $name exited with status $?"
done
echo "LINUXPEER DONE"
poweroff -f
"#;

/// Finds the cross compiler; as root on Debian/Ubuntu, installs it.
pub fn cross_compiler() -> Result<PathBuf> {
    if let Ok(cc) = tool_or(CC, "") {
        return Ok(cc);
    }
    let install = format!("apt-get install -y {}", CC_PACKAGES.join(" "));
    // Safety: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || tool_or("apt-get", "").is_err() {
        bail!("{CC} not found: install it with `sudo {install}` (Debian/Ubuntu)");
    }
    eprintln!("linux-bench: {CC} not found; running `{install}`");
    for args in [
        vec!["update", "-q"],
        [&["install", "-y", "-q"][..], &CC_PACKAGES].concat(),
    ] {
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status})", args.join(" "));
        }
    }
    tool_or(CC, "installing the cross compiler did not provide it")
}

/// Builds `bench/linux/NAME.c` for each name into `out`, unless the binary
/// is newer than its source and `common.h`.
pub fn build_workloads(root: &Path, names: &[&str], out: &Path) -> Result<Vec<(String, PathBuf)>> {
    let src = root.join(SOURCE_DIR);
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut cc = None;
    let mut built = Vec::new();
    for name in names {
        let c = src.join(format!("{name}.c"));
        let bin = out.join(name);
        let newest = [mtime(&c), mtime(&src.join("common.h"))]
            .into_iter()
            .max()
            .flatten();
        if !c.is_file() {
            bail!("{} is missing", c.display());
        }
        if mtime(&bin).is_none() || mtime(&bin) < newest {
            let compiler = match &cc {
                Some(path) => path,
                None => cc.insert(cross_compiler()?),
            };
            run_or(
                Command::new(compiler)
                    .args(CFLAGS)
                    .arg("-o")
                    .arg(&bin)
                    .arg(&c),
                &format!("{CC} {}", c.display()),
                "fix the workload's source",
            )?;
        }
        built.push((name.to_string(), bin));
    }
    Ok(built)
}

/// A newc ("070701") cpio archive, as the kernel's initramfs unpacker reads it.
#[derive(Default)]
pub struct Cpio {
    bytes: Vec<u8>,
    inode: u32,
}

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.inode += 1;
        let nlink = if mode & S_IFDIR != 0 { 2 } else { 1 };
        let fields = [
            self.inode,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: fixed, so the archive is reproducible
            u32::try_from(data.len()).expect("cpio member under 4 GiB"),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).expect("short name"),
            0, // check
        ];
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, S_IFREG | mode, (0, 0), data);
    }

    pub fn char_dev(&mut self, name: &str, mode: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | mode, (major, minor), &[]);
    }

    /// The archive with its `TRAILER!!!` entry.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}

/// The initramfs: busybox, `/init`, `/dev/console` (the kernel opens it for
/// init before anything is mounted), the workloads under `/bench` and the
/// kernel modules `modules` under `/lib/net` (named so that their order is
/// the load order).
pub fn initramfs(
    busybox: &[u8],
    workloads: &[(String, Vec<u8>)],
    modules: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let mut cpio = Cpio::default();
    for dir in [
        "bin", "dev", "proc", "sys", "tmp", "bench", "lib", "lib/net",
    ] {
        cpio.dir(dir);
    }
    for (k, (name, data)) in modules.iter().enumerate() {
        cpio.file(&format!("lib/net/{k}-{name}"), 0o644, data);
    }
    cpio.char_dev("dev/console", 0o600, 5, 1);
    cpio.file("bin/busybox", 0o755, busybox);
    cpio.file("init", 0o755, INIT.as_bytes());
    for (name, data) in workloads {
        cpio.file(&format!("bench/{name}"), 0o755, data);
    }
    cpio.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(entry: &[u8], i: usize) -> u32 {
        let at = 6 + 8 * i;
        u32::from_str_radix(std::str::from_utf8(&entry[at..at + 8]).unwrap(), 16).unwrap()
    }

    #[test]
    fn newc_layout() {
        let mut c = Cpio::default();
        c.file("init", 0o755, b"hello");
        let bytes = c.finish();
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(field(&bytes, 1), S_IFREG | 0o755);
        assert_eq!(field(&bytes, 6), 5, "file size");
        assert_eq!(field(&bytes, 11), 5, "name size with NUL");
        // 110-byte header + "init\0" = 115, padded to 116; data 5 padded to 8.
        assert_eq!(&bytes[110..115], b"init\0");
        assert_eq!(&bytes[116..121], b"hello");
        let trailer = &bytes[124..];
        assert_eq!(&trailer[..6], b"070701");
        assert_eq!(&trailer[110..121], b"TRAILER!!!\0");
        assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn initramfs_has_console_and_init() {
        let img = initramfs(
            b"bb",
            &[("memclone".into(), b"elf".to_vec())],
            &[("virtio_net.ko".into(), b"ko".to_vec())],
        );
        let text = String::from_utf8_lossy(&img);
        for name in [
            "dev/console\0",
            "bin/busybox\0",
            "init\0",
            "bench/memclone\0",
            "lib/net/0-virtio_net.ko\0",
        ] {
            assert!(text.contains(name), "{name}");
        }
        assert!(text.contains("poweroff -f"));
    }
}
