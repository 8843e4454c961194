//! Image descriptions: `images/<name>.toml`, one file per image.
//!
//! An image selects kernel features and the boards it supports, its tasks
//! and kernel cores, shared address ranges, shares, notifications and the
//! capabilities (device grants among them) each task and share holds at
//! boot (`image_caps`). Loading is
//! strict (unknown keys are errors) and every error is one line naming the
//! file, the entry and the problem, e.g.
//! `images/foo.toml: kernel.features: unknown feature "x"`.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::{Board, UsageError};

#[path = "image_caps.rs"]
pub mod image_caps;
pub use image_caps::{CapSpec, DeviceSpec, ObjectRef, ShareSpec};

/// An image description, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The file stem: `images/<name>.toml`.
    pub name: String,
    pub description: String,
    pub boards: Vec<Board>,
    /// Kernel cargo features (never a `board-*` feature: `--board` picks that).
    pub features: Vec<String>,
    /// User tasks, in file order.
    pub tasks: Vec<TaskSpec>,
    /// Shared address ranges, in file order.
    pub ranges: Vec<RangeSpec>,
    /// Kernel cores: each runs only its server task.
    pub kernel_cores: Vec<u32>,
    /// `[[share]]`s (shared capability tables), in file order.
    pub shares: Vec<ShareSpec>,
    /// `[[notification]]` names, in file order.
    pub notifications: Vec<String>,
    /// The devices granted, in the order first named (shares first, then
    /// tasks); each exists on every listed board.
    pub devices: Vec<DeviceSpec>,
}

/// One `[[range]]`: a shared address range at one address in every task
/// that links it (Corey's shared page directory: one table, linked by one
/// descriptor per address space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeSpec {
    pub name: String,
    pub base: u64,
    /// 2 MiB or 1 GiB: exactly one page-table page.
    pub size: u64,
}

/// One `[[task]]`: a crate in `servers/` run at EL0 on one core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// The crate (and binary) name: `servers/<name>/`.
    pub name: String,
    pub core: u32,
    /// Higher runs first on its core.
    pub priority: u16,
    /// Receives every task's fault reports and may restart tasks.
    pub supervisor: bool,
    /// Indices into [`Image::ranges`] of the shared ranges it links.
    pub ranges: Vec<usize>,
    /// Its kernel core's server (the one task there).
    pub server: bool,
    /// Grants to its root share, in slots 2, 3, ... in this order.
    pub caps: Vec<CapSpec>,
    /// `on_exit`: the notification (index into [`Image::notifications`])
    /// and the bits the kernel signals on it when the task ends.
    pub on_exit: Option<(usize, u64)>,
}

/// Longest task name the kernel's archive holds.
const TASK_NAME_MAX: usize = kerncore::bootimage::NAME_LEN;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageFile {
    description: String,
    boards: Vec<String>,
    #[serde(default)]
    kernel: KernelSection,
    #[serde(default)]
    task: Vec<TaskEntry>,
    #[serde(default)]
    range: Vec<RangeEntry>,
    #[serde(default)]
    kernel_cores: Vec<u32>,
    #[serde(default)]
    share: Vec<image_caps::ShareEntry>,
    #[serde(default)]
    notification: Vec<image_caps::NotificationEntry>,
}

/// A `[[range]]` as written (checked by `image_ranges::check`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeEntry {
    pub name: String,
    pub base: u64,
    pub size: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskEntry {
    #[serde(rename = "crate")]
    krate: String,
    core: u32,
    #[serde(default = "default_priority")]
    priority: u16,
    #[serde(default)]
    supervisor: bool,
    #[serde(default)]
    ranges: Vec<String>,
    #[serde(default)]
    server: bool,
    #[serde(default)]
    caps: Vec<image_caps::CapItem>,
    #[serde(default)]
    on_exit: Option<OnExit>,
}

/// `on_exit = { notification = "...", bits = N }` of a `[[task]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnExit {
    notification: String,
    bits: u64,
}

fn default_priority() -> u16 {
    1
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelSection {
    #[serde(default)]
    features: Vec<String>,
}

/// The names of the images in `images/`, sorted.
pub fn available(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("images"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Loads `images/<name>.toml` and checks that it supports `board`.
///
/// An unknown name or an unsupported board is a [`UsageError`]; a broken file
/// is an ordinary error.
pub fn select(root: &Path, name: &str, board: Board) -> Result<Image> {
    let names = available(root);
    let tidy = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !tidy || !names.iter().any(|n| n == name) {
        return Err(UsageError(format!(
            "--image {name:?}: no such image (available: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
        .into());
    }
    let image = load(root, name)?;
    if !image.boards.contains(&board) {
        let boards: Vec<&str> = image.boards.iter().map(|b| b.name()).collect();
        return Err(UsageError(format!(
            "--image {name}: images/{name}.toml supports {}, not {board}",
            boards.join(", ")
        ))
        .into());
    }
    Ok(image)
}

/// Reads and checks `images/<name>.toml`.
pub fn load(root: &Path, name: &str) -> Result<Image> {
    let display = format!("images/{name}.toml");
    let text = std::fs::read_to_string(root.join(&display)).with_context(|| display.clone())?;
    let known = kernel_features(root)?;
    let servers = server_crates(root);
    parse(name, &text, &known, &servers).map_err(|e| anyhow::anyhow!("{display}: {e}"))
}

/// The kernel's demo/image features, read from its manifest so that images
/// and the kernel cannot drift apart (`default` and `board-*` excluded).
pub fn kernel_features(root: &Path) -> Result<Vec<String>> {
    let path = root.join("microkernel/kern/Cargo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let manifest: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    let features = manifest
        .get("features")
        .and_then(|f| f.as_table())
        .map(|t| {
            t.keys()
                .filter(|k| *k != "default" && !k.starts_with("board-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(features)
}

/// Task crates: the folders of `servers/` with a binary of their own name
/// (the user library `ulib` is not a task).
pub fn server_crates(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("servers"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("src/main.rs").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Parses and checks one image file's text; the error is one line without
/// the file name (the caller adds it).
pub fn parse(
    name: &str,
    text: &str,
    known_features: &[String],
    servers: &[String],
) -> Result<Image, String> {
    let file: ImageFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    if file.description.trim().is_empty() {
        return Err("description: must say what the image is for".to_string());
    }
    if file.boards.is_empty() {
        return Err("boards: name at least one board (virt, rpi4)".to_string());
    }
    let mut boards = Vec::new();
    for board in &file.boards {
        let Some(b) = Board::parse(board) else {
            return Err(format!(
                "boards: unknown board {board:?} (known: virt, rpi4)"
            ));
        };
        if boards.contains(&b) {
            return Err(format!("boards: {board:?} listed twice"));
        }
        boards.push(b);
    }
    let mut features: Vec<String> = Vec::new();
    for feature in &file.kernel.features {
        if feature.starts_with("board-") {
            return Err(format!(
                "kernel.features: {feature:?} is chosen by --board, not by an image"
            ));
        }
        if !known_features.contains(feature) {
            return Err(format!(
                "kernel.features: unknown feature {feature:?} (known: {})",
                known_features.join(", ")
            ));
        }
        if features.contains(feature) {
            return Err(format!("kernel.features: {feature:?} listed twice"));
        }
        features.push(feature.clone());
    }
    let ranges = crate::image_ranges::check(&file.range)?;
    let kernel_cores = image_caps::check_kernel_cores(&file.kernel_cores, &boards)?;
    let share_names = image_caps::check_names("share", file.share.iter().map(|s| s.name.as_str()))?;
    let notifications = image_caps::check_names(
        "notification",
        file.notification.iter().map(|n| n.name.as_str()),
    )?;
    let mut objects = image_caps::Objects {
        ranges: &ranges,
        shares: &share_names,
        notifications: &notifications,
        boards: &boards,
        devices: Vec::new(),
    };
    let mut shares = Vec::new();
    for (j, s) in file.share.iter().enumerate() {
        let entry = format!("share[{j}] ({})", s.name);
        let caps = objects.caps(&entry, &s.caps, image_caps::SHARE_CAPS_MAX, "a share")?;
        shares.push(ShareSpec {
            name: s.name.clone(),
            caps,
        });
    }
    let mut tasks = Vec::new();
    for (i, t) in file.task.iter().enumerate() {
        let entry = format!("task[{i}] ({})", t.krate);
        if !servers.contains(&t.krate) {
            return Err(format!(
                "{entry}: unknown task crate {:?} (known: {})",
                t.krate,
                servers.join(", ")
            ));
        }
        if t.krate.len() > TASK_NAME_MAX {
            return Err(format!("{entry}: name longer than {TASK_NAME_MAX} bytes"));
        }
        for b in &boards {
            if t.core >= b.max_cores() {
                return Err(format!(
                    "{entry}: core {} out of range for {b} (cores 0..{})",
                    t.core,
                    b.max_cores()
                ));
            }
        }
        let placed: Vec<(u32, &str)> = tasks
            .iter()
            .map(|x: &TaskSpec| (x.core, x.name.as_str()))
            .collect();
        image_caps::check_placement(&entry, &t.krate, t.core, t.server, &kernel_cores, &placed)?;
        if t.supervisor && tasks.iter().any(|x: &TaskSpec| x.supervisor) {
            return Err(format!(
                "{entry}: a second supervisor (an image has at most one)"
            ));
        }
        let mut links = Vec::new();
        for r in &t.ranges {
            let Some(at) = ranges.iter().position(|x: &RangeSpec| &x.name == r) else {
                return Err(format!("{entry}: ranges: unknown range {r:?}"));
            };
            if links.contains(&at) {
                return Err(format!("{entry}: ranges: {r:?} listed twice"));
            }
            links.push(at);
        }
        let caps = objects.caps(
            &entry,
            &t.caps,
            image_caps::TASK_GRANTS_MAX,
            "its root share (slots 2..63)",
        )?;
        let on_exit = match &t.on_exit {
            None => None,
            Some(OnExit { notification, bits }) => {
                let Some(j) = notifications.iter().position(|n| n == notification) else {
                    return Err(format!(
                        "{entry}: on_exit: unknown notification {notification:?} (known: {})",
                        if notifications.is_empty() {
                            "none".to_string()
                        } else {
                            notifications.join(", ")
                        }
                    ));
                };
                if *bits == 0 {
                    return Err(format!(
                        "{entry}: on_exit: bits must be non-zero (a signal with no bits wakes nobody)"
                    ));
                }
                Some((j, *bits))
            }
        };
        tasks.push(TaskSpec {
            name: t.krate.clone(),
            core: t.core,
            priority: t.priority,
            supervisor: t.supervisor,
            ranges: links,
            server: t.server,
            caps,
            on_exit,
        });
    }
    let devices = objects.devices;
    Ok(Image {
        name: name.to_string(),
        description: file.description.trim().to_string(),
        boards,
        features,
        tasks,
        ranges,
        devices,
        kernel_cores,
        shares,
        notifications,
    })
}

/// One line for a TOML syntax or shape error: the line number, the line's
/// text (which names the entry) and the message.
fn toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', " ");
    let Some(span) = err.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    if line.is_empty() {
        format!("line {line_no}: {message}")
    } else {
        let shown: String = line.chars().take(60).collect();
        format!("line {line_no} `{shown}`: {message}")
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
