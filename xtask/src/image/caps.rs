//! Kernel cores, `[[share]]`s, `[[notification]]`s, device grants and the
//! capabilities an image hands out (`caps = [...]` of shares and tasks).
//!
//! Every check here returns one line naming the entry and the problem; the
//! caller (`image::parse`) adds the file name.

use serde::Deserialize;

use crate::cli::Board;
use crate::image::RangeSpec;
use kerncore::bootimage::{DeviceKind, Rights, FIRST_GRANT_SLOT, NAME_LEN, SHARE_SLOTS};

/// A `[[share]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareEntry {
    pub name: String,
    #[serde(default)]
    pub caps: Vec<CapItem>,
}

/// A `[[notification]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationEntry {
    pub name: String,
}

/// One `{ object = "kind:name", rights = "rw" }` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapItem {
    pub object: String,
    pub rights: String,
    /// The binding name the task's program knows it by (`ulib::bind!`
    /// `Slot`); default: the object's name.
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
    /// On a device capability of a task: the device's interrupt is
    /// delivered to this task as `bits` on `notification`.
    #[serde(default)]
    pub interrupt: Option<InterruptItem>,
}

/// `interrupt = { notification = "NAME", bits = N }` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InterruptItem {
    pub notification: String,
    pub bits: u64,
}

/// A device interrupt the image delivers: device `device` (index into
/// `Image::devices`) to task `task`, as `bits` on notification
/// `notification`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptSpec {
    pub device: usize,
    pub task: usize,
    pub notification: usize,
    pub bits: u64,
}

impl CapItem {
    /// The binding name: `as`, or the object's name (`device:uart` → `uart`).
    pub fn bind_name(&self) -> &str {
        self.alias
            .as_deref()
            .unwrap_or_else(|| self.object.split_once(':').map_or(&self.object, |(_, n)| n))
    }
}

/// One `[[share]]`: a shared capability table and what it holds at boot
/// (slot *k* = `caps[k]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareSpec {
    pub name: String,
    pub caps: Vec<CapSpec>,
}

/// A capability the image grants: an object and the rights it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSpec {
    pub object: ObjectRef,
    /// `kerncore::bootimage::Rights` bits.
    pub rights: u8,
}

/// An object of the image, by index into its list in [`crate::image::Image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectRef {
    Range(usize),
    Share(usize),
    Notification(usize),
    /// Index into `Image::devices`.
    Device(usize),
    /// Index into `Image::tasks`.
    Task(usize),
}

/// A device the image grants (its registers, as a device segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    pub name: &'static str,
    pub kind: DeviceKind,
}

const UART: DeviceSpec = DeviceSpec {
    name: "uart",
    kind: DeviceKind::Uart,
};
const VIRTIO_BLK: DeviceSpec = DeviceSpec {
    name: "virtio-blk",
    kind: DeviceKind::VirtioBlk,
};
const VIRTIO_NET: DeviceSpec = DeviceSpec {
    name: "virtio-net",
    kind: DeviceKind::VirtioNet,
};

/// Not a device an image names: the page holding the console lock word,
/// which xtask grants beside every `device:uart` grant with the write
/// right ([`Objects::console_lock_for`]), so the task writing the UART
/// takes the kernel's console lock per line (docs/console.md).
/// The binding name of the derived console lock grant.
pub const CONSOLE_LOCK_BINDING: &str = "console-lock";

const CONSOLE_LOCK: DeviceSpec = DeviceSpec {
    name: "console-lock",
    kind: DeviceKind::ConsoleLock,
};

const SDHCI: DeviceSpec = DeviceSpec {
    name: "sdhci",
    kind: DeviceKind::Sdhci,
};

const MAILBOX: DeviceSpec = DeviceSpec {
    name: "mailbox",
    kind: DeviceKind::Mailbox,
};

/// The devices an image may grant on `board`: the one place xtask lists
/// board devices (`device:uart` is whatever console UART the DTB names).
/// virt: the PL011 console and the first virtio-mmio block
/// and network devices; Pi 4: its PL011 console, the SDHCI controller holding the SD
/// card and the firmware's mailbox (docs/block.md, The SD card server); i.MX 8M Plus: its i.MX UART
/// console.
pub fn board_devices(board: Board) -> &'static [DeviceSpec] {
    match board {
        Board::Virt => &[UART, VIRTIO_BLK, VIRTIO_NET],
        Board::Rpi4 => &[UART, SDHCI, MAILBOX],
        Board::Imx8mp => &[UART],
    }
}

/// Grants a task's root share holds (slots 2..64; 0 and 1 are its root
/// range and itself).
pub const TASK_GRANTS_MAX: usize = (SHARE_SLOTS - FIRST_GRANT_SLOT) as usize;
/// Capabilities a `[[share]]` holds.
pub const SHARE_CAPS_MAX: usize = SHARE_SLOTS as usize;
/// Tasks that can be named by a task capability: the kernel makes task
/// objects for the first this many of the image (the kernel's own
/// constant, shared through kerncore).
pub const TASK_OBJECTS_MAX: usize = kerncore::bootimage::MAX_TASK_OBJECTS;
/// `[[share]]`s an image may have: the kernel's global capability space
/// holds this many shares, the image's and those tasks make shared at run
/// time together (the kernel's own constant, shared through kerncore).
pub const SHARES_MAX: usize = kerncore::bootimage::MAX_SPACE_SHARES;

/// `kernel_cores = [...]`: each core exists on every board, listed once.
pub(crate) fn check_kernel_cores(cores: &[u32], boards: &[Board]) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for &core in cores {
        if let Some(b) = boards.iter().find(|b| core >= b.max_cores()) {
            return Err(format!(
                "kernel_cores: core {core} out of range for {b} (cores 0..{})",
                b.max_cores()
            ));
        }
        if out.contains(&core) {
            return Err(format!("kernel_cores: core {core} listed twice"));
        }
        out.push(core);
    }
    Ok(out)
}

/// Names of `[[share]]` or `[[notification]]` entries (`kind`): 1 to 24
/// bytes, unique within the kind.
pub(crate) fn check_names<'a>(
    kind: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in names.enumerate() {
        let entry = format!("{kind}[{i}] ({})", name.escape_debug());
        check_name(&entry, name)?;
        if out.iter().any(|o| o == name) {
            return Err(format!("{entry}: name used twice"));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

/// A name the kernel may print: 1 to [`NAME_LEN`] bytes of ASCII letters,
/// digits, `-`, `_` and `.` (the archive refuses anything else, so no image
/// field can put a control character or a forged line on the console).
pub(crate) fn check_name(entry: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= NAME_LEN
        && name.bytes().all(kerncore::bootimage::name_byte_ok);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{entry}: name {name:?}: use 1 to {NAME_LEN} ASCII letters, digits, '-', '_' or '.'"
        ))
    }
}

/// A rights string: letters from "rwxg", each at most once, at least one.
pub fn parse_rights(text: &str) -> Result<u8, String> {
    if text.is_empty() {
        return Err("rights \"\": name at least one of \"rwxg\"".to_string());
    }
    let mut bits = 0u8;
    for c in text.chars() {
        let right = match c {
            'r' => Rights::READ,
            'w' => Rights::WRITE,
            'x' => Rights::EXECUTE,
            'g' => Rights::GRANT,
            _ => {
                return Err(format!(
                    "rights {text:?}: unknown right {c:?} (letters from \"rwxg\")"
                ))
            }
        };
        if bits & right.bits() != 0 {
            return Err(format!("rights {text:?}: {c:?} given twice"));
        }
        bits |= right.bits();
    }
    Ok(bits)
}

/// The image's objects, by name, for resolving `caps` entries; collects
/// the devices granted, in the order first named.
pub(crate) struct Objects<'a> {
    /// What `task:NAME` names, by task index (`name`, else the crate).
    pub tasks: &'a [String],
    pub ranges: &'a [RangeSpec],
    pub shares: &'a [String],
    pub notifications: &'a [String],
    pub boards: &'a [Board],
    pub devices: Vec<DeviceSpec>,
    /// The device interrupts delivered, in the order granted.
    pub interrupts: Vec<InterruptSpec>,
}

impl Objects<'_> {
    /// `"kind:name"` to an object.
    fn resolve(&mut self, object: &str) -> Result<ObjectRef, String> {
        let Some((kind, name)) = object.split_once(':') else {
            return Err(format!(
                "object {object:?}: write kind:name, e.g. \"range:shm\""
            ));
        };
        let found = match kind {
            "range" => self
                .ranges
                .iter()
                .position(|r| r.name == name)
                .map(ObjectRef::Range),
            "share" => self
                .shares
                .iter()
                .position(|n| n == name)
                .map(ObjectRef::Share),
            "notification" => self
                .notifications
                .iter()
                .position(|n| n == name)
                .map(ObjectRef::Notification),
            "device" => return self.device(name),
            "task" => return self.task(name),
            _ => {
                return Err(format!(
                    "object {object:?}: unknown kind {kind:?} (known: range, share, notification, device, task)"
                ))
            }
        };
        found.ok_or_else(|| format!("no {kind} named {name:?}"))
    }

    /// The one task called `name`.
    fn task(&self, name: &str) -> Result<ObjectRef, String> {
        let mut found = self.tasks.iter().enumerate().filter(|(_, n)| *n == name);
        match (found.next(), found.next()) {
            (Some((i, _)), None) if i >= TASK_OBJECTS_MAX => Err(format!(
                "task {name:?} is task[{i}]: the kernel makes task objects for the first {TASK_OBJECTS_MAX} tasks only"
            )),
            (Some((i, _)), None) => Ok(ObjectRef::Task(i)),
            (None, _) => Err(format!("no task named {name:?}")),
            (Some(_), Some(_)) => Err(format!(
                "task {name:?} is ambiguous: several tasks are called that (give each a `name`)"
            )),
        }
    }

    /// A device every listed board has.
    fn device(&mut self, name: &str) -> Result<ObjectRef, String> {
        let mut spec = None;
        for &b in self.boards {
            let known = board_devices(b);
            match known.iter().find(|d| d.name == name) {
                Some(d) => spec = Some(*d),
                None => {
                    let names: Vec<&str> = known.iter().map(|d| d.name).collect();
                    return Err(format!(
                        "unknown device {name:?} for {b} (known: {})",
                        names.join(", ")
                    ));
                }
            }
        }
        let spec = spec.ok_or_else(|| format!("unknown device {name:?}: no board"))?;
        let at = match self.devices.iter().position(|d| d.name == spec.name) {
            Some(at) => at,
            None => {
                self.devices.push(spec);
                self.devices.len() - 1
            }
        };
        Ok(ObjectRef::Device(at))
    }

    /// The console lock page, for a holder whose `caps` grant the console
    /// UART writable (none otherwise); bound as `console-lock`.
    pub fn console_lock_for(&mut self, caps: &[CapSpec]) -> Option<CapSpec> {
        let writes_uart = caps.iter().any(|c| {
            matches!(c.object, ObjectRef::Device(at) if self.devices[at].kind == DeviceKind::Uart)
                && c.rights & Rights::WRITE.bits() != 0
        });
        if !writes_uart {
            return None;
        }
        let at = match self.devices.iter().position(|d| *d == CONSOLE_LOCK) {
            Some(at) => at,
            None => {
                self.devices.push(CONSOLE_LOCK);
                self.devices.len() - 1
            }
        };
        Some(CapSpec {
            object: ObjectRef::Device(at),
            rights: Rights::READ.bits() | Rights::WRITE.bits(),
        })
    }

    /// The `interrupt` of a `caps` item `c` resolved to `cap`, held by
    /// `task` (none: a share holds it).
    fn interrupt(&mut self, c: &CapItem, cap: CapSpec, task: Option<usize>) -> Result<(), String> {
        let Some(i) = &c.interrupt else {
            return Ok(());
        };
        let Some(task) = task else {
            return Err("interrupt: only a task's device capability delivers one".to_string());
        };
        let at = match cap.object {
            ObjectRef::Device(at)
                if matches!(
                    self.devices[at].kind,
                    DeviceKind::VirtioBlk | DeviceKind::VirtioNet | DeviceKind::Uart
                ) =>
            {
                at
            }
            _ => {
                return Err(format!(
                "interrupt: {:?} has none the kernel delivers (uart, virtio-blk and virtio-net do)",
                c.object
            ))
            }
        };
        if cap.rights & Rights::WRITE.bits() == 0 {
            return Err("interrupt: needs the w right (InterruptAck re-arms it)".to_string());
        }
        if self.interrupts.iter().any(|x| x.device == at) {
            return Err(format!(
                "interrupt: {:?}'s interrupt is already delivered to a task",
                c.object
            ));
        }
        let notification = self
            .notifications
            .iter()
            .position(|n| *n == i.notification)
            .ok_or_else(|| format!("interrupt: no notification named {:?}", i.notification))?;
        if i.bits == 0 {
            return Err("interrupt: bits must be non-zero".to_string());
        }
        self.interrupts.push(InterruptSpec {
            device: at,
            task,
            notification,
            bits: i.bits,
        });
        Ok(())
    }

    /// The `caps` of one holder (`task`: a task's index, none for a
    /// share); `entry` names it, `max` is how many fit and `room` says
    /// where.
    pub fn caps(
        &mut self,
        entry: &str,
        items: &[CapItem],
        max: usize,
        room: &str,
        task: Option<usize>,
    ) -> Result<Vec<CapSpec>, String> {
        if items.len() > max {
            return Err(format!(
                "{entry}: caps: {} capabilities, but {room} has room for {max}",
                items.len()
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let at = |e: String| format!("{entry}: caps[{k}]: {e}");
                let cap = CapSpec {
                    object: self.resolve(&c.object).map_err(at)?,
                    rights: parse_rights(&c.rights).map_err(at)?,
                };
                self.interrupt(c, cap, task).map_err(at)?;
                Ok(cap)
            })
            .collect()
    }
}

/// Where a task may run: only its server on a kernel core, a server only
/// on a kernel core. `placed` holds the (core, crate) of earlier tasks.
pub(crate) fn check_placement(
    entry: &str,
    krate: &str,
    core: u32,
    server: bool,
    kernel_cores: &[u32],
    placed: &[(u32, &str)],
) -> Result<(), String> {
    let kernel_core = kernel_cores.contains(&core);
    if kernel_core && !server {
        return Err(format!(
            "{entry}: task {krate} on kernel core {core}: only its server may run there"
        ));
    }
    if server && !kernel_core {
        let list: Vec<String> = kernel_cores.iter().map(u32::to_string).collect();
        return Err(format!(
            "{entry}: server = true, but core {core} is not a kernel core (kernel_cores = [{}])",
            list.join(", ")
        ));
    }
    if let Some((_, other)) = placed.iter().find(|(c, _)| kernel_core && *c == core) {
        return Err(format!(
            "{entry}: two tasks given core {core}'s root: {other} and {krate}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
