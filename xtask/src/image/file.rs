//! The image file as written: the TOML sections and entries serde reads,
//! before any check (`image.rs` checks them and builds an [`super::Image`]).

use serde::Deserialize;

use super::caps;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImageFile {
    pub(super) description: String,
    pub(super) boards: Vec<String>,
    #[serde(default)]
    pub(super) kernel: KernelSection,
    #[serde(default)]
    pub(super) task: Vec<TaskEntry>,
    #[serde(default)]
    pub(super) range: Vec<RangeEntry>,
    #[serde(default)]
    pub(super) kernel_cores: Vec<u32>,
    #[serde(default)]
    pub(super) share: Vec<caps::ShareEntry>,
    #[serde(default)]
    pub(super) notification: Vec<caps::NotificationEntry>,
    #[serde(default)]
    pub(super) machine: MachineEntry,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MachineEntry {
    pub smp: Option<u32>,
    pub mem: Option<String>,
}

/// A `[[range]]` as written (checked by `ranges::check`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeEntry {
    pub name: String,
    pub base: u64,
    pub size: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskEntry {
    #[serde(rename = "crate")]
    pub(super) krate: String,
    pub(super) core: u32,
    /// What `task:NAME` in a `caps` entry calls it (default: its crate).
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default = "default_priority")]
    pub(super) priority: u16,
    #[serde(default)]
    pub(super) ranges: Vec<String>,
    #[serde(default)]
    pub(super) server: bool,
    #[serde(default)]
    pub(super) caps: Vec<caps::CapItem>,
    #[serde(default)]
    pub(super) on_exit: Option<OnExits>,
    #[serde(default)]
    pub(super) optional: bool,
    #[serde(default)]
    pub(super) expect: Option<String>,
    #[serde(default)]
    pub(super) provides: Option<String>,
    #[serde(default)]
    pub(super) uses: Vec<String>,
    #[serde(default)]
    pub(super) values: std::collections::BTreeMap<String, u64>,
}

/// `on_exit = { notification = "...", bits = N }` of a `[[task]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OnExit {
    pub(super) notification: String,
    pub(super) bits: u64,
}

/// `on_exit`: one table or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OnExits {
    One(OnExit),
    Many(Vec<OnExit>),
}

impl OnExits {
    pub(super) fn all(&self) -> &[OnExit] {
        match self {
            OnExits::One(one) => core::slice::from_ref(one),
            OnExits::Many(many) => many,
        }
    }
}

fn default_priority() -> u16 {
    1
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KernelSection {
    pub(super) build: Option<String>,
    pub(super) hook: Option<String>,
    #[serde(default)]
    pub(super) block_in_kernel: bool,
    #[serde(default)]
    pub(super) cycle_counter: bool,
}
