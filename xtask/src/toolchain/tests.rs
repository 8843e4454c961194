//! The toolchain check against fake sysroots: what a machine whose
//! toolchain lacks the aarch64 targets looks like, whatever this machine has.

use super::*;

const FILE: &str = "[toolchain]\nchannel = \"1.95.0\"\n\
components = [\"rustfmt\", \"clippy\"]\n\
targets = [\"aarch64-unknown-none\", \"aarch64-unknown-none-softfloat\"]\n\
profile = \"minimal\"\n";

/// A sysroot in a fresh temporary directory with the host's standard
/// library, plus the given targets' and components' files.
fn fake_sysroot(tag: &str, targets: &[&str], bins: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-sysroot-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for t in std::iter::once(&"x86_64-unknown-linux-gnu").chain(targets) {
        let lib = dir.join("lib/rustlib").join(t).join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("libcore-0123abcd.rlib"), b"").unwrap();
    }
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    for b in ["rustc", "cargo"].iter().chain(bins) {
        std::fs::write(dir.join("bin").join(b), b"").unwrap();
    }
    dir
}

#[test]
fn the_projects_toolchain_file_parses() {
    let root = crate::build::workspace_root();
    let text = std::fs::read_to_string(root.join("rust-toolchain.toml")).unwrap();
    let wanted = parse(&text).unwrap();
    assert!(wanted
        .targets
        .contains(&"aarch64-unknown-none-softfloat".to_string()));
    assert!(wanted.components.contains(&"clippy".to_string()));
}

#[test]
fn a_toolchain_without_the_targets_is_caught_with_the_command_that_fixes_it() {
    let wanted = parse(FILE).unwrap();
    // A toolchain installed before the project existed: host std, rustfmt
    // and clippy, no aarch64 targets (what CI's fresh machine had).
    let bare = fake_sysroot("bare", &[], &["rustfmt", "cargo-clippy"]);
    let m = missing(&wanted, &bare);
    assert_eq!(
        m.targets,
        ["aarch64-unknown-none", "aarch64-unknown-none-softfloat"]
    );
    assert!(m.components.is_empty());
    assert_eq!(
        m.commands("1.95.0-x86_64-unknown-linux-gnu"),
        vec![[
            "rustup",
            "target",
            "add",
            "--toolchain",
            "1.95.0-x86_64-unknown-linux-gnu",
            "aarch64-unknown-none",
            "aarch64-unknown-none-softfloat"
        ]
        .map(str::to_string)
        .to_vec()]
    );
    let _ = std::fs::remove_dir_all(bare);
}

#[test]
fn one_missing_target_and_missing_components() {
    let wanted = parse(FILE).unwrap();
    // `profile = "minimal"` without the components, one target present.
    let half = fake_sysroot("half", &["aarch64-unknown-none"], &[]);
    let m = missing(&wanted, &half);
    assert_eq!(m.targets, ["aarch64-unknown-none-softfloat"]);
    assert_eq!(m.components, ["rustfmt", "clippy"]);
    let commands = m.commands("1.95.0");
    assert_eq!(commands.len(), 2);
    assert_eq!(
        commands[1].join(" "),
        "rustup component add --toolchain 1.95.0 rustfmt clippy"
    );
    let _ = std::fs::remove_dir_all(half);
}

#[test]
fn a_complete_toolchain_lacks_nothing() {
    let wanted = parse(FILE).unwrap();
    let full = fake_sysroot(
        "full",
        &["aarch64-unknown-none", "aarch64-unknown-none-softfloat"],
        &["rustfmt", "cargo-clippy"],
    );
    assert!(missing(&wanted, &full).is_empty());
    let _ = std::fs::remove_dir_all(full);
}

#[test]
fn an_empty_target_directory_is_not_an_installed_target() {
    let wanted = parse(FILE).unwrap();
    let dir = fake_sysroot("empty", &[], &["rustfmt", "cargo-clippy"]);
    // rustup leaves the directory behind after `target remove` on some
    // versions; only the standard library itself counts.
    std::fs::create_dir_all(dir.join("lib/rustlib/aarch64-unknown-none/lib")).unwrap();
    assert_eq!(missing(&wanted, &dir).targets.len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_toolchain_file_is_an_error() {
    assert!(parse("[toolchain]\ntargets = []\n").is_err());
    assert!(parse("not toml").is_err());
}
