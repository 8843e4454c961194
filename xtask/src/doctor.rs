//! `cargo xtask doctor`: make sure the Rust toolchain has every target and
//! component `rust-toolchain.toml` lists (`crate::toolchain`), and that
//! `qemu-system-aarch64` >= 9.0 is installed (9.0 added the `raspi4b` machine).
//!
//! When it is missing or too old and we are root on Debian/Ubuntu, install it:
//! Debian bookworm's own QEMU is 7.2, so there we add bookworm-backports (on
//! the mirror the machine already uses) and install from it; newer releases
//! ship a new enough QEMU. Anywhere else, print the exact commands and fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// QEMU's binary name, looked up in `PATH`.
pub const QEMU: &str = "qemu-system-aarch64";
/// The oldest QEMU with `-M raspi4b`.
const MIN_VERSION: (u32, u32) = (9, 0);
const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/bookworm-backports.sources";
pub(crate) const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// What we found when we looked for QEMU.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Missing,
    Unreadable(String),
    Version(PathBuf, (u32, u32, u32)),
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn probe() -> Found {
    let Some(path) = find_in_path(QEMU) else {
        return Found::Missing;
    };
    match Command::new(&path).arg("--version").output() {
        Err(e) => Found::Unreadable(format!("{}: {e}", path.display())),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            match parse_version(&text) {
                Some(v) => Found::Version(path, v),
                None => Found::Unreadable(format!(
                    "{} --version printed {:?}",
                    path.display(),
                    text.lines().next().unwrap_or("")
                )),
            }
        }
    }
}

/// `QEMU emulator version 10.0.2 (Debian ...)` -> (10, 0, 2).
fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let rest = text.split("version ").nth(1)?;
    let word = rest.split_whitespace().next()?;
    let mut parts = word.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

fn new_enough(v: (u32, u32, u32)) -> bool {
    (v.0, v.1) >= MIN_VERSION
}

/// Checks QEMU and installs it when we can. `quiet`: print nothing on success
/// (used before `qemu` and `test`, which print their own one-line summary).
pub fn run(dry_run: bool, quiet: bool) -> Result<()> {
    crate::toolchain::ensure(&crate::build::workspace_root(), dry_run, quiet)?;
    qemu(dry_run, quiet)
}

/// The QEMU half of [`run`].
fn qemu(dry_run: bool, quiet: bool) -> Result<()> {
    let problem = match probe() {
        Found::Version(path, v) if new_enough(v) => {
            if !quiet {
                println!(
                    "doctor: {QEMU} {}.{}.{} at {}: ok (>= 9.0 needed for raspi4b)",
                    v.0,
                    v.1,
                    v.2,
                    path.display()
                );
            }
            return Ok(());
        }
        Found::Version(path, v) => format!(
            "{} is QEMU {}.{}.{}; 9.0 or newer is needed for -M raspi4b",
            path.display(),
            v.0,
            v.1,
            v.2
        ),
        Found::Missing => format!("{QEMU} not found in PATH"),
        Found::Unreadable(why) => format!("cannot read the QEMU version: {why}"),
    };
    eprintln!("doctor: {problem}");
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let plan = plan(&parse_os_release(&os), &read_apt_sources());
    let steps = match plan {
        Plan::Unsupported(why) => bail!("{problem}; {why}: install QEMU >= 9.0 yourself"),
        Plan::Steps(steps) => steps,
    };
    if dry_run || !is_root() {
        let sudo = if is_root() { "" } else { "sudo " };
        eprintln!("doctor: to install it, run:");
        for step in &steps {
            eprintln!("  {}", step.shell(sudo));
        }
        bail!("{problem} (install it with the commands above)");
    }
    for step in &steps {
        eprintln!("doctor: {}", step.shell(""));
        step.run()?;
    }
    match probe() {
        Found::Version(path, v) if new_enough(v) => {
            println!(
                "doctor: installed {QEMU} {}.{}.{} at {}",
                v.0,
                v.1,
                v.2,
                path.display()
            );
            Ok(())
        }
        Found::Version(path, v) => bail!(
            "after installing, {} is still QEMU {}.{}.{}: 9.0 or newer is needed for raspi4b",
            path.display(),
            v.0,
            v.1,
            v.2
        ),
        _ => bail!("installation finished but {QEMU} is still not usable"),
    }
}

fn is_root() -> bool {
    // Safety: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The fields of /etc/os-release we use.
#[derive(Debug, Default, PartialEq, Eq)]
struct OsRelease {
    id: String,
    id_like: Vec<String>,
    version_id: String,
    codename: String,
}

fn parse_os_release(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        match key.trim() {
            "ID" => os.id = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(String::from).collect(),
            "VERSION_ID" => os.version_id = value,
            "VERSION_CODENAME" => os.codename = value,
            _ => {}
        }
    }
    os
}

/// One APT source entry: a URI and a suite, with its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AptSource {
    pub(crate) uri: String,
    pub(crate) suite: String,
    pub(crate) components: Vec<String>,
}

/// Every enabled `deb` source on this machine, from sources.list and
/// sources.list.d (both the one-line and the deb822 format).
pub(crate) fn read_apt_sources() -> Vec<AptSource> {
    let mut files: Vec<PathBuf> = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut sources = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => sources.extend(parse_deb822(&text)),
            Some("list") => sources.extend(parse_one_line(&text)),
            _ if file == Path::new("/etc/apt/sources.list") => {
                sources.extend(parse_one_line(&text))
            }
            _ => {}
        }
    }
    sources
}

/// `deb [options] URI SUITE COMPONENT...` lines.
fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut sources = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim();
        if rest.starts_with('[') {
            rest = rest.split_once(']').map(|(_, r)| r.trim()).unwrap_or("");
        }
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            sources.push(AptSource {
                uri: uri.to_string(),
                suite: suite.to_string(),
                components: words.map(String::from).collect(),
            });
        }
    }
    sources
}

/// deb822 stanzas: `Types:`, `URIs:`, `Suites:`, `Components:`, `Enabled:`.
fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut sources = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Vec<String> {
            stanza
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split_once(':'))
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .flat_map(|(_, v)| v.split_whitespace().map(String::from).collect::<Vec<_>>())
                .collect()
        };
        let enabled = field("Enabled").first().is_none_or(|v| v != "no");
        if !enabled || !field("Types").iter().any(|t| t == "deb") {
            continue;
        }
        let components = field("Components");
        for uri in field("URIs") {
            for suite in field("Suites") {
                sources.push(AptSource {
                    uri: uri.clone(),
                    suite,
                    components: components.clone(),
                });
            }
        }
    }
    sources
}

/// One install step, runnable or printable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Write a file (an APT source).
    Write { path: String, text: String },
    /// Run a command with `DEBIAN_FRONTEND=noninteractive`.
    Run(Vec<String>),
}

impl Step {
    fn apt(args: &[&str]) -> Step {
        Step::Run(
            std::iter::once("apt-get")
                .chain(args.iter().copied())
                .map(String::from)
                .collect(),
        )
    }

    /// The step as a shell command line (prefixed with `sudo` if not root).
    fn shell(&self, sudo: &str) -> String {
        match self {
            Step::Write { path, text } => format!(
                "printf '{}' | {sudo}tee {path} >/dev/null",
                text.replace('\n', "\\n")
            ),
            Step::Run(argv) => {
                format!(
                    "{sudo}env DEBIAN_FRONTEND=noninteractive {}",
                    argv.join(" ")
                )
            }
        }
    }

    fn run(&self) -> Result<()> {
        match self {
            Step::Write { path, text } => std::fs::write(path, text).with_context(|| path.clone()),
            Step::Run(argv) => {
                let status = Command::new(&argv[0])
                    .args(&argv[1..])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status()
                    .with_context(|| format!("cannot run {}", argv[0]))?;
                if !status.success() {
                    bail!("`{}` failed ({status})", argv.join(" "));
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Steps(Vec<Step>),
    Unsupported(String),
}

/// Decides how to install QEMU >= 9.0 on this OS.
fn plan(os: &OsRelease, sources: &[AptSource]) -> Plan {
    let install = |target: Option<&str>| {
        let mut args = vec!["install", "-y"];
        if let Some(t) = target {
            args.extend(["-t", t]);
        }
        args.push("qemu-system-arm");
        Step::apt(&args)
    };
    match os.id.as_str() {
        "debian" if os.codename == "bookworm" => {
            let mut steps = Vec::new();
            let has_backports = sources.iter().any(|s| {
                s.suite == "bookworm-backports" && s.components.iter().any(|c| c == "main")
            });
            if !has_backports {
                let mirror = sources
                    .iter()
                    .find(|s| s.suite == "bookworm" && s.components.iter().any(|c| c == "main"))
                    .map_or(DEFAULT_MIRROR, |s| s.uri.as_str());
                steps.push(Step::Write {
                    path: BACKPORTS_FILE.to_string(),
                    text: format!(
                        "Types: deb\nURIs: {mirror}\nSuites: bookworm-backports\nComponents: main\n\
                         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
                    ),
                });
            }
            steps.push(Step::apt(&["update"]));
            steps.push(install(Some("bookworm-backports")));
            Plan::Steps(steps)
        }
        "debian" => {
            let old = ["buster", "bullseye", "stretch", "jessie"].contains(&os.codename.as_str())
                || os.version_id.parse::<u32>().is_ok_and(|v| v < 12);
            if old {
                Plan::Unsupported(format!(
                    "Debian {} ships a QEMU older than 9.0",
                    os.codename
                ))
            } else {
                Plan::Steps(vec![Step::apt(&["update"]), install(None)])
            }
        }
        "ubuntu" => {
            let mut parts = os
                .version_id
                .split('.')
                .map(|p| p.parse::<u32>().unwrap_or(0));
            let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
            if version >= (24, 10) {
                Plan::Steps(vec![Step::apt(&["update"]), install(None)])
            } else {
                Plan::Unsupported(format!(
                    "Ubuntu {} ships a QEMU older than 9.0",
                    os.version_id
                ))
            }
        }
        "" => Plan::Unsupported("unknown operating system (no /etc/os-release)".to_string()),
        other => Plan::Unsupported(format!("no install recipe for {other:?}")),
    }
}

#[cfg(test)]
mod tests;
