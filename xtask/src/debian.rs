//! Debian packages for the host side of the project, fetched with a
//! private apt state (nothing of the machine's apt is read or changed but
//! its mirror choice): the Raspberry Pi firmware (`firmware.rs`) and the
//! Linux peer's kernel and busybox (`linux/fetch.rs`) come through here.
//! Every package is checked against the sha256 of the signed index before
//! it is unpacked.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use std::process::Stdio;

use crate::doctor::{read_apt_sources, DEFAULT_MIRROR};

/// The suite every package comes from.
pub const SUITE: &str = "bookworm";

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

/// Lower-case hex of the sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A private apt state under `work`, its index fetched for one component.
pub struct PrivateApt {
    work: PathBuf,
    apt_get: PathBuf,
    apt_cache: PathBuf,
    dpkg_deb: PathBuf,
    opts: Vec<String>,
    help: &'static str,
}

impl PrivateApt {
    /// Makes the state under `work` for `component` of [`SUITE`] and
    /// fetches its index; errors end with `help` (what to do by hand).
    pub fn update(work: &Path, component: &str, help: &'static str) -> Result<PrivateApt> {
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
            "Types: deb\nURIs: {}\nSuites: {SUITE}\nComponents: {component}\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            mirror()
        );
        std::fs::write(work.join("sources.list.d/private.sources"), sources)?;
        let apt = PrivateApt {
            work: work.to_path_buf(),
            apt_get: tool_or("apt-get", help)?,
            apt_cache: tool_or("apt-cache", help)?,
            dpkg_deb: tool_or("dpkg-deb", help)?,
            opts: apt_options(work),
            help,
        };
        run_or(
            Command::new(&apt.apt_get).args(&apt.opts).arg("update"),
            "apt-get update",
            help,
        )?;
        let download = work.join("download");
        for old in std::fs::read_dir(&download)?.flatten() {
            let _ = std::fs::remove_file(old.path());
        }
        Ok(apt)
    }

    /// The index's entry for `package`.
    pub fn show(&self, package: &str) -> Result<Stanza> {
        let out = run_or(
            Command::new(&self.apt_cache)
                .args(&self.opts)
                .args(["show", package]),
            &format!("apt-cache show {package}"),
            self.help,
        )?;
        parse_stanza(&String::from_utf8_lossy(&out))
            .with_context(|| format!("no usable Packages entry for {package} (arm64, {SUITE})"))
    }

    /// Downloads `s`, checks it against the index and unpacks it into
    /// `into`; returns the `.deb`'s file name.
    pub fn unpack(&self, s: &Stanza, into: &Path) -> Result<String> {
        let dir = self.work.join("download");
        run_or(
            Command::new(&self.apt_get)
                .args(&self.opts)
                .arg("download")
                .arg(format!("{}={}", s.package, s.version))
                .current_dir(&dir),
            &format!("apt-get download {}", s.package),
            self.help,
        )?;
        let deb = std::fs::read_dir(&dir)?
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
        run_or(
            Command::new(&self.dpkg_deb).arg("-x").arg(&deb).arg(into),
            "dpkg-deb -x",
            self.help,
        )?;
        Ok(deb
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default())
    }
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
