//! Every key an image file may hold, as the loader itself states it: each
//! section's structure is given one unknown key, and serde's
//! `deny_unknown_fields` error lists the keys it expects. The manual's
//! test (`crate::manual`) checks docs/images.md against this list, so a
//! key added to the loader and not to the manual fails a host test.

use serde::de::DeserializeOwned;

use super::caps::{CapItem, NotificationEntry, ShareEntry};
use super::file::{ImageFile, KernelSection, MachineEntry, OnExit, RangeEntry, TaskEntry};

/// The key no section has.
const PROBE: &str = "zz_no_such_key";

/// The keys `T` accepts, from its error for an unknown one.
fn keys_of<T: DeserializeOwned>() -> Vec<String> {
    let text = format!("{PROBE} = 1\n");
    let Err(e) = toml::from_str::<T>(&text) else {
        panic!("a key named {PROBE} was accepted");
    };
    let e = e.to_string();
    let marker = format!("unknown field `{PROBE}`, expected");
    let at = e
        .find(&marker)
        .unwrap_or_else(|| panic!("not an unknown-field error: {e}"));
    e[at + marker.len()..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `(section, keys)`: the top level (`""`), then `[machine]`, `[kernel]`,
/// `[[range]]`, `[[task]]`, `on_exit`, `[[share]]`, `[[notification]]`
/// and a capability (`caps = [...]` entries).
pub(crate) fn accepted() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("", keys_of::<ImageFile>()),
        ("[machine]", keys_of::<MachineEntry>()),
        ("[kernel]", keys_of::<KernelSection>()),
        ("[[range]]", keys_of::<RangeEntry>()),
        ("[[task]]", keys_of::<TaskEntry>()),
        ("on_exit", keys_of::<OnExit>()),
        ("[[share]]", keys_of::<ShareEntry>()),
        ("[[notification]]", keys_of::<NotificationEntry>()),
        ("caps", keys_of::<CapItem>()),
    ]
}
