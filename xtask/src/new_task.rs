//! `cargo xtask new-task NAME`: a task crate from a template, under the
//! directory of its kind (README.md, "Layout"), made a workspace member and
//! listed in the README's layout table (the host tests require both), with
//! the task build script named (without it the task links at the wrong
//! address: `build::check_task_link`). Prints the image entry to paste.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::workspace::user_crates;

#[derive(Debug, Args)]
pub struct NewTaskArgs {
    /// The crate's name: lowercase letters, digits and `-`, starting with a
    /// letter, at most 24 bytes (images name tasks by it).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What the task is: an application (servers/apps), a task only the
    /// tests run (tests/tasks) or only the benchmarks run (bench/tasks).
    #[arg(long, value_enum, default_value_t = TaskKind::App)]
    pub kind: TaskKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskKind {
    App,
    Test,
    Bench,
}

impl TaskKind {
    fn dir(self) -> &'static str {
        match self {
            TaskKind::App => "servers/apps",
            TaskKind::Test => "tests/tasks",
            TaskKind::Bench => "bench/tasks",
        }
    }
}

/// Checks `name` as a task crate's name.
fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= crate::image::TASK_NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "new-task: {name:?}: a task name is 1 to {} bytes of lowercase letters, digits and '-', starting with a letter",
            crate::image::TASK_NAME_MAX
        ))
    }
}

const MAIN: &str = r#"//! NAME: what this task does (one paragraph: the README's layout table
//! and docs/ name it by its crate).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

/// Runs at EL0 on the core its image entry gives it; the status it
/// returns is its exit status (0: success, what an image expects).
fn main(start: ulib::Start) -> i32 {
    ulib::println!("NAME on core {}: hello", start.core);
    0
}
"#;

/// The member line inserted into the workspace's `members = [...]`.
fn add_member(manifest: &str, member: &str) -> Result<String> {
    let start = manifest
        .find("members = [")
        .context("Cargo.toml: no `members = [`")?;
    let end = start
        + manifest[start..]
            .find("\n]")
            .context("Cargo.toml: members never closed")?;
    Ok(format!(
        "{}\n    \"{member}\",{}",
        &manifest[..end],
        &manifest[end..]
    ))
}

/// The README's layout row for `dir` (`| \`dir/*\` | ...`, or the single
/// `dir/hello` row the apps had) with `name` added to its list.
fn add_to_layout(readme: &str, dir: &str, name: &str) -> Result<String> {
    let row = format!("| `{dir}/*` |");
    let at = readme
        .find(&row)
        .with_context(|| format!("README.md: no layout row `{dir}/*`"))?;
    let end = at + readme[at..].find('\n').unwrap_or(readme.len() - at);
    let line = &readme[at..end];
    let cut = line
        .trim_end()
        .strip_suffix('|')
        .context("README.md: a row without its end")?;
    let new = format!("{}, `{name}` |", cut.trim_end());
    Ok(format!("{}{new}{}", &readme[..at], &readme[end..]))
}

pub fn run(root: &Path, args: &NewTaskArgs) -> Result<()> {
    let name = args.name.as_str();
    if let Err(e) = check_name(name) {
        bail!(crate::cli::UsageError(e));
    }
    if user_crates(root)?.iter().any(|c| c.name == name) {
        bail!(crate::cli::UsageError(format!(
            "new-task: a workspace crate is already named {name:?}"
        )));
    }
    let member = format!("{}/{name}", args.kind.dir());
    let dir = root.join(&member);
    if dir.exists() {
        bail!(crate::cli::UsageError(format!(
            "new-task: {member} already exists"
        )));
    }
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)?;
    let manifest = add_member(&manifest, &member)?;
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let readme = add_to_layout(&readme, args.kind.dir(), name)?;
    // Every kind's directory is two levels deep: the crate is three below
    // the root.
    let up = "../../../";
    let cargo = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"TODO: what {name} does.\"\n\
         edition.workspace = true\nlicense.workspace = true\n\
         # Links the task at the address the kernel expects (task.ld).\n\
         build = \"{up}servers/lib/ulib/task-build.rs\"\n\n\
         [[bin]]\nname = \"{name}\"\ntest = false\nbench = false\n\n\
         [dependencies]\nulib = {{ path = \"{up}servers/lib/ulib\" }}\n"
    );
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), cargo)?;
    std::fs::write(dir.join("src/main.rs"), MAIN.replace("NAME", name))?;
    std::fs::write(&manifest_path, manifest)?;
    std::fs::write(&readme_path, readme)?;
    println!("new-task: made {member} (Cargo.toml, src/main.rs), a workspace member, listed in README.md's layout table");
    println!("Add it to an image (images/NAME.toml; docs/images.md) and boot it with `cargo xtask qemu --image NAME`:\n");
    println!("[[task]]\ncrate = \"{name}\"\ncore = 0");
    Ok(())
}

#[cfg(test)]
mod tests;
