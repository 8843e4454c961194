//! The Raspberry Pi 4 boot firmware (`start4.elf`, `fixup4.dat`): from
//! `--firmware DIR`, else from the cache `target/firmware/raspi-firmware/`,
//! else downloaded once into that cache from Debian's `raspi-firmware`
//! package (component non-free-firmware). The download uses a private APT
//! state under `target/firmware/apt/` (its own source list, lists and cache,
//! the arm64 index: the package is not in amd64's), so nothing in /etc/apt
//! changes and no root is needed; the mirror is the one the machine uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::build::target_dir;
use crate::doctor::{read_apt_sources, DEFAULT_MIRROR};

/// The firmware files the Pi 4 needs on the card.
pub const FILES: [&str; 2] = ["start4.elf", "fixup4.dat"];
const PACKAGE: &str = "raspi-firmware";
const SUITE: &str = "bookworm";
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

fn tool(name: &str) -> Result<PathBuf> {
    tool_or(name, HELP)
}

/// `name` in `PATH`; the error ends with `help` (what to do instead).
pub(crate) fn tool_or(name: &str, help: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not found (not a Debian-like system?): {help}"))
}

/// The machine's Debian mirror (as the doctor picks it for backports).
pub(crate) fn mirror() -> String {
    read_apt_sources()
        .into_iter()
        .find(|s| s.suite == SUITE && s.components.iter().any(|c| c == "main"))
        .map_or(DEFAULT_MIRROR.to_string(), |s| s.uri)
}

/// The `apt-get` options that make its state private to `dir`.
pub(crate) fn apt_options(dir: &Path) -> Vec<String> {
    let d = |sub: &str| dir.join(sub).display().to_string();
    let mut o = vec![
        "-q".to_string(),
        "-oAPT::Architecture=arm64".into(),
        "-oAPT::Architectures=arm64".into(),
        "-oDir::Etc::SourceList=/dev/null".into(),
        format!("-oDir::Etc::SourceParts={}", d("sources.list.d")),
        format!("-oDir::State::Lists={}", d("lists")),
        format!("-oDir::Cache={}", d("cache")),
        "-oDir::State::status=/dev/null".into(),
        "-oDebug::NoLocking=true".into(),
    ];
    // As root, apt would download as the `_apt` user, who cannot write here.
    // Safety: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        o.push("-oAPT::Sandbox::User=root".into());
    }
    o
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    run_or(cmd, what, HELP).map(drop)
}

/// Runs `cmd` and returns its stdout; on failure the error names `what`,
/// the last line of stderr and ends with `help`.
pub(crate) fn run_or(cmd: &mut Command, what: &str, help: &str) -> Result<Vec<u8>> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        bail!("`{what}` failed ({}): {last}; {help}", out.status);
    }
    Ok(out.stdout)
}

fn fetch(root: &Path, cache: &Path) -> Result<()> {
    let apt = tool("apt-get")?;
    let dpkg_deb = tool("dpkg-deb")?;
    let work = target_dir(root).join("firmware").join("apt");
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
        "Types: deb\nURIs: {}\nSuites: {SUITE}\nComponents: non-free-firmware\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        mirror()
    );
    std::fs::write(work.join("sources.list.d/raspi-firmware.sources"), sources)?;
    eprintln!(
        "firmware: downloading Debian's {PACKAGE} ({SUITE}, non-free-firmware) into {}",
        cache.display()
    );
    let opts = apt_options(&work);
    run(
        Command::new(&apt).args(&opts).arg("update"),
        "apt-get update",
    )?;
    let download = work.join("download");
    for old in std::fs::read_dir(&download)?.flatten() {
        let _ = std::fs::remove_file(old.path());
    }
    run(
        Command::new(&apt)
            .args(&opts)
            .args(["download", PACKAGE])
            .current_dir(&download),
        "apt-get download raspi-firmware",
    )?;
    let deb = std::fs::read_dir(&download)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb")?;
    let unpacked = work.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    run(
        Command::new(&dpkg_deb).arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb -x",
    )?;
    std::fs::create_dir_all(cache)?;
    for name in FILES {
        let from = unpacked.join(PACKAGE_DIR).join(name);
        std::fs::copy(&from, cache.join(name))
            .with_context(|| format!("{} has no {PACKAGE_DIR}/{name}", deb.display()))?;
    }
    let name = deb
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::write(cache.join("SOURCE"), format!("Debian {name}\n"))?;
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(())
}
