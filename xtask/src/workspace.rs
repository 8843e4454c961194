//! The workspace's user-space crates, read from the root Cargo.toml: what
//! runs at EL0, where it lives, and what kind of crate it is. The tree says
//! the kind (README.md, "Layout"); this module is the one place xtask
//! learns it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The directories whose members run at EL0, and what each holds.
pub const USER_DIRS: [(&str, Kind); 3] = [
    ("servers/", Kind::Production),
    ("tests/tasks/", Kind::TestTask),
    ("bench/tasks/", Kind::BenchTask),
];

/// What a user-space crate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Servers, their client libraries, user libraries, applications.
    Production,
    /// A task only the test suite runs.
    TestTask,
    /// A task only the benchmarks run.
    BenchTask,
}

/// One user-space workspace member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCrate {
    /// The package name (`cargo -p`, and an image's `crate = ...`).
    pub name: String,
    /// Its directory, relative to the workspace root.
    pub dir: PathBuf,
    pub kind: Kind,
    /// It has a binary (`src/main.rs`): a task an image can run.
    pub is_task: bool,
}

/// Every user-space member of the workspace, in the manifest's order.
pub fn user_crates(root: &Path) -> Result<Vec<UserCrate>> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let value: toml::Table = toml::from_str(&text).with_context(|| path.display().to_string())?;
    let members = value
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("Cargo.toml: no [workspace] members")?;
    let mut out = Vec::new();
    for m in members.iter().filter_map(|m| m.as_str()) {
        let Some(&(_, kind)) = USER_DIRS.iter().find(|(d, _)| m.starts_with(d)) else {
            continue;
        };
        let dir = PathBuf::from(m);
        let manifest = root.join(&dir).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("{}: workspace member {m}", manifest.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| manifest.display().to_string())?;
        let name = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .with_context(|| format!("{}: no package name", manifest.display()))?
            .to_string();
        let is_task = root.join(&dir).join("src/main.rs").is_file();
        out.push(UserCrate {
            name,
            dir,
            kind,
            is_task,
        });
    }
    Ok(out)
}

/// The names of the task crates (those with a binary), sorted.
pub fn task_crates(root: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = user_crates(root)?
        .into_iter()
        .filter(|c| c.is_task)
        .map(|c| c.name)
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_says_what_each_crate_is() {
        let root = crate::build::workspace_root();
        let crates = user_crates(&root).unwrap();
        let kind = |n: &str| {
            crates
                .iter()
                .find(|c| c.name == n)
                .map(|c| (c.kind, c.is_task))
        };
        assert_eq!(kind("console"), Some((Kind::Production, true)));
        assert_eq!(kind("console-api"), Some((Kind::Production, false)));
        assert_eq!(kind("ulib"), Some((Kind::Production, false)));
        assert_eq!(kind("capcheck"), Some((Kind::TestTask, true)));
        assert_eq!(kind("corey"), Some((Kind::BenchTask, true)));
        // Every directory under the user dirs is a member: nothing is left
        // out of the build (and so out of the lints) by mistake.
        for (d, _) in USER_DIRS {
            for e in walk(&root.join(d)) {
                let rel = e.strip_prefix(&root).unwrap().to_path_buf();
                assert!(
                    crates.iter().any(|c| c.dir == rel),
                    "{} has a Cargo.toml but is not a workspace member",
                    rel.display()
                );
            }
        }
    }

    #[test]
    fn the_readme_layout_table_names_every_crate_directory() {
        let root = crate::build::workspace_root();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let layout = &readme[readme.find("## Layout").expect("a Layout section")..];
        let crates = user_crates(&root).unwrap();
        for c in &crates {
            let dir = c.dir.to_string_lossy().into_owned();
            let parent = dir.rsplit_once('/').map(|(p, _)| format!("`{p}/*`"));
            let listed = layout.contains(&format!("`{dir}`"))
                || parent.is_some_and(|p| layout.contains(&p) && layout.contains(&c.name));
            assert!(listed, "README.md's layout table does not list {dir}");
        }
        for top in [
            "microkernel/kern",
            "microkernel/core",
            "microkernel/abi",
            "bsp/platform",
            "bsp/drivers",
            "images/",
            "xtask/src",
            "docs/",
            "bench/linux",
        ] {
            assert!(
                layout.contains(top),
                "README.md's layout table does not list {top}"
            );
        }
    }

    /// Directories under `dir` that hold a Cargo.toml.
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.join("Cargo.toml").is_file() {
                    out.push(p.clone());
                }
                out.extend(walk(&p));
            }
        }
        out
    }
}
