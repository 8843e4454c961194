//! The doctor's Rust half: every target and component `rust-toolchain.toml`
//! lists must be installed in the toolchain that runs us.
//!
//! rustup installs a toolchain file's targets and components only when it
//! installs the toolchain itself; a machine that already had that toolchain
//! (a CI image, an earlier project) keeps it as it was, and every kernel
//! build then fails with "can't find crate for `core`". So we look: the
//! active toolchain's sysroot (`rustc --print sysroot`) holds
//! `lib/rustlib/<target>/lib/libcore-*.rlib` for each installed target and
//! `bin/rustfmt`, `bin/cargo-clippy` for those components. What is missing
//! is added with `rustup target add` / `rustup component add`; without
//! rustup, the exact missing pieces are named and we fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// What `rust-toolchain.toml` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub channel: String,
    pub targets: Vec<String>,
    pub components: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    toolchain: Section,
}

#[derive(Deserialize)]
struct Section {
    channel: String,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    components: Vec<String>,
}

/// Parses the text of a `rust-toolchain.toml`.
pub fn parse(text: &str) -> Result<Wanted> {
    let file: File = toml::from_str(text)?;
    Ok(Wanted {
        channel: file.toolchain.channel,
        targets: file.toolchain.targets,
        components: file.toolchain.components,
    })
}

/// What the sysroot lacks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Missing {
    pub targets: Vec<String>,
    pub components: Vec<String>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.components.is_empty()
    }

    /// The rustup commands that install what is missing into `toolchain`.
    pub fn commands(&self, toolchain: &str) -> Vec<Vec<String>> {
        let mut commands = Vec::new();
        let mut add = |what: &str, names: &[String]| {
            if !names.is_empty() {
                let mut cmd: Vec<String> = ["rustup", what, "add", "--toolchain", toolchain]
                    .map(str::to_string)
                    .to_vec();
                cmd.extend(names.iter().cloned());
                commands.push(cmd);
            }
        };
        add("target", &self.targets);
        add("component", &self.components);
        commands
    }
}

/// Whether `sysroot` holds the standard library for `target`.
fn has_target(sysroot: &Path, target: &str) -> bool {
    let lib = sysroot.join("lib/rustlib").join(target).join("lib");
    std::fs::read_dir(lib).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
    })
}

/// Whether `sysroot` holds `component`, judged by the files it installs.
/// Components we cannot judge from files count as present (rustup is asked
/// about them when it is there).
fn has_component(sysroot: &Path, component: &str) -> bool {
    let bin = |name: &str| sysroot.join("bin").join(name).is_file();
    match component {
        "rustfmt" => bin("rustfmt"),
        "clippy" => bin("cargo-clippy"),
        "rust-src" => sysroot.join("lib/rustlib/src/rust").is_dir(),
        _ => true,
    }
}

/// What `sysroot` lacks of `wanted`.
pub fn missing(wanted: &Wanted, sysroot: &Path) -> Missing {
    Missing {
        targets: wanted
            .targets
            .iter()
            .filter(|t| !has_target(sysroot, t))
            .cloned()
            .collect(),
        components: wanted
            .components
            .iter()
            .filter(|c| !has_component(sysroot, c))
            .cloned()
            .collect(),
    }
}

/// The active toolchain's sysroot (`rustc --print sysroot`, through the
/// rustup proxy, so the toolchain file decides which one).
fn sysroot(root: &Path) -> Result<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(root)
        .output()
        .with_context(|| format!("cannot run {}", rustc.to_string_lossy()))?;
    if !out.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The toolchain rustup runs us with (it sets RUSTUP_TOOLCHAIN for the
/// processes it proxies), else the toolchain file's channel.
fn toolchain_name(wanted: &Wanted) -> String {
    std::env::var("RUSTUP_TOOLCHAIN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| wanted.channel.clone())
}

fn has_rustup() -> bool {
    Command::new("rustup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Checks the active toolchain against `root/rust-toolchain.toml` and adds
/// what is missing (or, with `dry_run` or without rustup, says how and fails).
pub fn ensure(root: &Path, dry_run: bool, quiet: bool) -> Result<()> {
    let file = root.join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
    let wanted = parse(&text).with_context(|| file.display().to_string())?;
    let sysroot = sysroot(root)?;
    let missing = missing(&wanted, &sysroot);
    let name = toolchain_name(&wanted);
    if missing.is_empty() {
        if !quiet {
            println!(
                "doctor: Rust toolchain {name}: targets {} and components {} installed",
                wanted.targets.join(", "),
                wanted.components.join(", ")
            );
        }
        return Ok(());
    }
    let what = describe(&missing, &name, &sysroot);
    let commands = missing.commands(&name);
    if dry_run || !has_rustup() {
        eprintln!("doctor: {what}; to install them, run:");
        for cmd in &commands {
            eprintln!("  {}", cmd.join(" "));
        }
        bail!("{what} (install them with the commands above)");
    }
    eprintln!("doctor: {what}: installing them");
    for cmd in &commands {
        eprintln!("doctor: {}", cmd.join(" "));
        let status = Command::new(&cmd[0])
            .args(&cmd[1..])
            .current_dir(root)
            .status()
            .with_context(|| format!("cannot run {}", cmd.join(" ")))?;
        if !status.success() {
            bail!("`{}` failed ({status})", cmd.join(" "));
        }
    }
    let still = self::missing(&wanted, &sysroot);
    if !still.is_empty() {
        bail!("after installing, {}", describe(&still, &name, &sysroot));
    }
    Ok(())
}

fn describe(missing: &Missing, toolchain: &str, sysroot: &Path) -> String {
    let mut parts = Vec::new();
    if !missing.targets.is_empty() {
        parts.push(format!("targets {}", missing.targets.join(", ")));
    }
    if !missing.components.is_empty() {
        parts.push(format!("components {}", missing.components.join(", ")));
    }
    format!(
        "Rust toolchain {toolchain} ({}) lacks {}",
        sysroot.display(),
        parts.join(" and ")
    )
}

#[cfg(test)]
mod tests;
