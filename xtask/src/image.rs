//! Image descriptions: `images/<name>.toml`, one file per image.
//!
//! An image selects the kernel build and its run-time options, the boards
//! it supports, its tasks
//! and kernel cores, shared address ranges, shares, notifications and the
//! capabilities (device grants among them) each task and share holds at
//! boot (`image::caps`). Loading is
//! strict (unknown keys are errors) and every error is one line naming the
//! file, the entry and the problem, e.g.
//! `images/foo.toml: kernel.hook: unknown hook "x"`.

pub mod ranges;
use std::path::Path;

use anyhow::{Context, Result};

use crate::build::KernelBuild;
use crate::cli::{Board, UsageError};
pub use kerncore::bootimage::Expect;
use kerncore::bootimage::MAX_TASKS_PER_CORE;
use kerncore::bootimage::{Hook, KernelOptions};

pub mod caps;
pub mod conns;
mod file;
use file::{ImageFile, KernelSection, OnExit, OnExits};
pub(crate) use file::{MachineEntry, RangeEntry};
#[cfg(test)]
pub(crate) mod keys;
mod machine;
pub use caps::{CapSpec, DeviceSpec, InterruptSpec, ObjectRef, ShareSpec};
pub use conns::ServiceSpec;
use machine::check_machine_entry;
pub use machine::resolve;

/// An image description, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The file stem: `images/<name>.toml`.
    pub name: String,
    pub description: String,
    pub boards: Vec<Board>,
    /// The kernel build it runs on (`[kernel] build`).
    pub build: KernelBuild,
    /// What it asks of the test build at run time (`[kernel] hook`,
    /// `block_in_kernel`), carried in the archive header.
    pub options: KernelOptions,
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
    /// The device interrupts delivered to tasks (`interrupt` on a task's
    /// device capability).
    pub interrupts: Vec<InterruptSpec>,
    /// `[machine]`: the machine shapes it runs on besides its boards.
    pub machine: MachineSpec,
    /// Services (`provides` / `uses`), in the order their servers appear;
    /// their ranges and notifications are in `ranges` and
    /// `notifications`, after the image's own.
    pub services: Vec<ServiceSpec>,
}

/// `[machine]` of an image: what it needs of the machine beyond the cores
/// its tasks name (every core a non-optional task or a kernel core names
/// must exist, which xtask checks before booting).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineSpec {
    /// Cores to boot when `--smp` is not given (virt); default 4.
    pub smp: Option<u32>,
    /// The only RAM size it runs with (MiB), on virt: also the default
    /// when `--mem` is not given. `None`: any size that holds its ranges.
    pub mem_mib: Option<u64>,
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

/// One `[[task]]`: a task crate of the workspace (servers/, tests/tasks/,
/// bench/tasks/) run at EL0 on one core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// The crate (and binary) name.
    pub name: String,
    pub core: u32,
    /// Higher runs first on its core.
    pub priority: u16,
    /// Indices into [`Image::ranges`] of the shared ranges it links.
    pub ranges: Vec<usize>,
    /// Its kernel core's server (the one task there).
    pub server: bool,
    /// Grants to its root share, in slots 2, 3, ... in this order (the
    /// image's `caps`, then what its connections add).
    pub caps: Vec<CapSpec>,
    /// The binding name of each of `caps` (`as`, or the object's name).
    pub cap_names: Vec<String>,
    /// Exit signals: the notification (index into [`Image::notifications`])
    /// and the bits the kernel signals on it when the task ends (`on_exit`,
    /// then one per service it uses), at most one per notification.
    pub on_exit: Vec<(usize, u64)>,
    /// `provides`: the service it serves.
    pub provides: Option<String>,
    /// `uses`: the services it is a client of.
    pub uses: Vec<String>,
    /// `optional`: left out, without failing the run, on a machine that
    /// lacks its core.
    pub optional: bool,
    /// `expect`: what the run expects of it (default: exit with status 0).
    pub expect: Expect,
    /// `values = { NAME = N, ... }`: numbers its program reads through
    /// `Value` bindings, by name, in name order.
    pub values: Vec<(String, u64)>,
}

/// Longest task name the kernel's archive holds.
pub(crate) const TASK_NAME_MAX: usize = kerncore::bootimage::NAME_LEN;

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
        .chain(crate::bench::kcore::images().into_iter().map(|(n, _)| n))
        .chain(crate::bench::net::images())
        .chain(
            crate::bench::netload::WORKERS
                .iter()
                .map(|n| format!("webload-{n}")),
        )
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
    let generated = crate::bench::kcore::image_text(name)
        .or_else(|| crate::bench::net::image_text(name))
        .or_else(|| crate::bench::netload::image_text(name));
    let (display, text) = match generated {
        Some(text) => (format!("generated image {name}"), text),
        None => {
            let display = format!("images/{name}.toml");
            let text =
                std::fs::read_to_string(root.join(&display)).with_context(|| display.clone())?;
            (display, text)
        }
    };
    let servers = crate::workspace::task_crates(root)?;
    parse(name, &text, &servers).map_err(|e| anyhow::anyhow!("{display}: {e}"))
}

/// `[kernel]`: the build, and the run-time options only the test build
/// carries (an image asking for one must say `build = "test"`).
fn check_kernel(k: &KernelSection) -> Result<(KernelBuild, KernelOptions), String> {
    let build = match k.build.as_deref() {
        None => KernelBuild::Standard,
        Some(b) => KernelBuild::parse(b)
            .ok_or_else(|| format!("kernel.build: unknown build {b:?} (known: standard, test)"))?,
    };
    let hook = match k.hook.as_deref() {
        None => Hook::None,
        Some(h) => Hook::ALL
            .into_iter()
            .find(|x| x.name() == h)
            .ok_or_else(|| {
                let known: Vec<&str> = Hook::ALL.iter().map(|x| x.name()).collect();
                format!(
                    "kernel.hook: unknown hook {h:?} (known: {})",
                    known.join(", ")
                )
            })?,
    };
    let options = KernelOptions {
        hook,
        block_in_kernel: k.block_in_kernel,
        cycle_counter: k.cycle_counter,
    };
    if options.needs_test_build() && build != KernelBuild::Test {
        let what = if hook != Hook::None {
            format!("hook {:?}", hook.name())
        } else {
            "block_in_kernel".to_string()
        };
        return Err(format!(
            "kernel: {what} needs build = \"test\" (the standard kernel carries no \
             fault-injection hooks and no in-kernel block baseline)"
        ));
    }
    Ok((build, options))
}

/// Notifications an image may have, its own and the derived ones together
/// (the kernel's `cap::image` makes at most this many boot objects of a kind).
pub const NOTIFICATIONS_MAX: usize = 32;

/// Parses and checks one image file's text; the error is one line without
/// the file name (the caller adds it).
pub fn parse(name: &str, text: &str, servers: &[String]) -> Result<Image, String> {
    let file: ImageFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    if file.description.trim().is_empty() {
        return Err("description: must say what the image is for".to_string());
    }
    if file.boards.is_empty() {
        return Err("boards: name at least one board (virt, rpi4, imx8mp)".to_string());
    }
    let mut boards = Vec::new();
    for board in &file.boards {
        let Some(b) = Board::parse(board) else {
            return Err(format!(
                "boards: unknown board {board:?} (known: virt, rpi4, imx8mp)"
            ));
        };
        if boards.contains(&b) {
            return Err(format!("boards: {board:?} listed twice"));
        }
        boards.push(b);
    }
    let (build, options) = check_kernel(&file.kernel)?;
    let ends: Vec<conns::Ends> = file
        .task
        .iter()
        .enumerate()
        .map(|(i, t)| conns::Ends {
            provides: t.provides.as_deref(),
            uses: &t.uses,
            entry: format!("task[{i}] ({})", t.krate),
        })
        .collect();
    let conns::Derived {
        services,
        ranges: conn_ranges,
        notifications: conn_notes,
    } = conns::derive(&ends, file.range.len(), file.notification.len())?;
    let all_ranges: Vec<RangeEntry> = file.range.iter().cloned().chain(conn_ranges).collect();
    let ranges = crate::image::ranges::check(&all_ranges)?;
    let kernel_cores = caps::check_kernel_cores(&file.kernel_cores, &boards)?;
    let share_names = caps::check_names("share", file.share.iter().map(|s| s.name.as_str()))?;
    if share_names.len() > caps::SHARES_MAX {
        return Err(format!(
            "share: {} shares, but the kernel's global capability space holds {}",
            share_names.len(),
            caps::SHARES_MAX
        ));
    }
    let mut notifications = caps::check_names(
        "notification",
        file.notification.iter().map(|n| n.name.as_str()),
    )?;
    for n in conn_notes {
        if notifications.contains(&n) {
            return Err(format!(
                "notification {n:?}: the name of a service's exit-signal or wake notification; name yours otherwise"
            ));
        }
        notifications.push(n);
    }
    if notifications.len() > NOTIFICATIONS_MAX {
        return Err(format!(
            "{} notifications with those the connections add (SERVICE.ends, SERVICE.wake and one SERVICE.N per client); the kernel makes at most {NOTIFICATIONS_MAX}",
            notifications.len()
        ));
    }
    let mut task_names = Vec::new();
    for (i, t) in file.task.iter().enumerate() {
        if let Some(name) = &t.name {
            caps::check_name(&format!("task[{i}] ({})", t.krate), name)?;
        }
        task_names.push(t.name.clone().unwrap_or_else(|| t.krate.clone()));
    }
    let mut objects = caps::Objects {
        tasks: &task_names,
        ranges: &ranges,
        shares: &share_names,
        notifications: &notifications,
        boards: &boards,
        devices: Vec::new(),
        interrupts: Vec::new(),
    };
    let mut shares = Vec::new();
    for (j, s) in file.share.iter().enumerate() {
        let entry = format!("share[{j}] ({})", s.name);
        let caps = objects.caps(&entry, &s.caps, caps::SHARE_CAPS_MAX, "a share", None)?;
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
                "{entry}: unknown task crate {:?}: not a task crate of the workspace (a member under servers/, tests/tasks/ or bench/tasks/ with a src/main.rs; `cargo xtask new-task NAME` makes one) (known: {})",
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
        caps::check_placement(&entry, &t.krate, t.core, t.server, &kernel_cores, &placed)?;
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
        let mut caps = objects.caps(
            &entry,
            &t.caps,
            caps::TASK_GRANTS_MAX,
            "its root share (slots 2..63)",
            Some(i),
        )?;
        let mut cap_names = Vec::new();
        for (k, c) in t.caps.iter().enumerate() {
            if let Some(a) = &c.alias {
                caps::check_name(&format!("{entry}: caps[{k}]: as"), a)?;
            }
            cap_names.push(c.bind_name().to_string());
        }
        if let Some(lock) = objects.console_lock_for(&caps) {
            caps.push(lock);
            cap_names.push(caps::CONSOLE_LOCK_BINDING.to_string());
        }
        let mut on_exit = Vec::new();
        for OnExit { notification, bits } in t.on_exit.iter().flat_map(OnExits::all) {
            {
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
                if on_exit.iter().any(|&(k, _)| k == j) {
                    return Err(format!(
                        "{entry}: on_exit: notification {notification:?} named twice"
                    ));
                }
                on_exit.push((j, *bits));
            }
        }
        for s in &services {
            if s.server == i {
                links.extend(s.first_range..s.first_range + s.clients.len());
                if let Some(j) = s.ends {
                    caps.push(CapSpec {
                        object: ObjectRef::Notification(j),
                        rights: kerncore::bootimage::Rights::READ.bits(),
                    });
                    cap_names.push(notifications[j].clone());
                }
                if let Some(j) = s.wake {
                    caps.push(CapSpec {
                        object: ObjectRef::Notification(j),
                        rights: kerncore::bootimage::Rights::READ.bits(),
                    });
                    cap_names.push(notifications[j].clone());
                }
                // Each client's wake notification: the server signals it,
                // and so does its own end (a blocked client must wake).
                let wakes = s.first_wake..s.first_wake + s.clients.len();
                for (name, j) in notifications[wakes.clone()].iter().zip(wakes) {
                    caps.push(CapSpec {
                        object: ObjectRef::Notification(j),
                        rights: kerncore::bootimage::Rights::WRITE.bits(),
                    });
                    cap_names.push(name.clone());
                    on_exit.push((j, 1));
                }
            }
            if let Some(n) = s.clients.iter().position(|&c| c == i) {
                links.push(s.first_range + n);
                on_exit.extend(s.ends.map(|j| (j, 1u64 << n)));
                if let Some(j) = s.wake {
                    on_exit.push((j, 1u64 << n));
                    caps.push(CapSpec {
                        object: ObjectRef::Notification(j),
                        rights: kerncore::bootimage::Rights::WRITE.bits(),
                    });
                    cap_names.push(notifications[j].clone());
                }
                let j = s.first_wake + n;
                caps.push(CapSpec {
                    object: ObjectRef::Notification(j),
                    rights: kerncore::bootimage::Rights::READ.bits(),
                });
                cap_names.push(notifications[j].clone());
            }
        }
        on_exit.sort();
        if caps.len() > caps::TASK_GRANTS_MAX {
            return Err(format!(
                "{entry}: caps: {} capabilities with those its connections add, but its root share (slots 2..63) has room for {}",
                caps.len(),
                caps::TASK_GRANTS_MAX
            ));
        }
        let expect = match t.expect.as_deref() {
            None | Some("exit0") => Expect::Exit0,
            Some("fault") => Expect::Fault,
            Some("any") => Expect::Any,
            Some(other) => {
                return Err(format!(
                    "{entry}: expect {other:?}: one of \"exit0\" (the default: exits with status 0), \"fault\", \"any\""
                ))
            }
        };
        if t.server && t.optional {
            return Err(format!(
                "{entry}: a kernel core's server cannot be optional (its clients need it)"
            ));
        }
        if tasks
            .iter()
            .filter(|x: &&TaskSpec| x.core == t.core)
            .count()
            >= MAX_TASKS_PER_CORE
        {
            return Err(format!(
                "{entry}: a {}th task on core {}: the kernel runs at most {MAX_TASKS_PER_CORE} tasks per core",
                MAX_TASKS_PER_CORE + 1,
                t.core
            ));
        }
        for name in t.values.keys() {
            caps::check_name(&format!("{entry}: values"), name)?;
        }
        tasks.push(TaskSpec {
            values: t.values.clone().into_iter().collect(),
            optional: t.optional,
            expect,
            name: t.krate.clone(),
            core: t.core,
            priority: t.priority,
            ranges: links,
            server: t.server,
            caps,
            cap_names,
            on_exit,
            provides: t.provides.clone(),
            uses: t.uses.clone(),
        });
    }
    if let Some(t) = tasks.iter().find(|t| {
        t.values
            .iter()
            .any(|(k, v)| k == "cycle_counter" && *v != 0)
    }) {
        if !options.cycle_counter {
            return Err(format!(
                "task {}: values.cycle_counter needs [kernel] cycle_counter = true \
                 (without it the task's read of the cycle counter faults)",
                t.name
            ));
        }
    }
    let devices = objects.devices;
    let interrupts = objects.interrupts;
    let machine = check_machine_entry(&file.machine, &boards)?;
    Ok(Image {
        machine,
        name: name.to_string(),
        description: file.description.trim().to_string(),
        boards,
        build,
        options,
        tasks,
        ranges,
        devices,
        interrupts,
        kernel_cores,
        shares,
        notifications,
        services,
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
mod tests;
