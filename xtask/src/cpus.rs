//! The CPU models `--cpu` offers on virt: every AArch64 model the installed
//! QEMU has, asked from QEMU itself, and the reason for refusing any other.
//!
//! Two quick questions (about 50 ms together, once per xtask run, so
//! nothing is cached on disk): `qemu-system-aarch64 -M virt -cpu help`
//! names every model, then one QMP session (`-M none -qmp stdio`) asks each
//! model's properties; the models that can run AArch64 are exactly those
//! with an `aarch64` property (the 32-bit ones, cortex-a15, arm926 and so
//! on, have none). The check itself ([`CpuModels::check`]) is a pure
//! function over that list, so it is tested without QEMU; when QEMU cannot
//! be asked (not installed yet: `doctor` comes after validation) the
//! built-in list of QEMU 10.0's models stands in.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::UsageError;

/// One CPU model of QEMU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuModel {
    pub name: String,
    /// Can run AArch64 (the kernel is 64-bit only).
    pub aarch64: bool,
}

/// The CPU models of one QEMU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuModels {
    /// Where the list came from, for messages: `QEMU 10.0.2`.
    pub source: String,
    pub models: Vec<CpuModel>,
}

/// QEMU 10.0's models (`-M virt -cpu help`), with whether each runs AArch64.
const BUILTIN: &[(&str, bool)] = &[
    ("a64fx", true),
    ("arm1026", false),
    ("arm1136", false),
    ("arm1136-r2", false),
    ("arm1176", false),
    ("arm11mpcore", false),
    ("arm926", false),
    ("arm946", false),
    ("cortex-a15", false),
    ("cortex-a35", true),
    ("cortex-a53", true),
    ("cortex-a55", true),
    ("cortex-a57", true),
    ("cortex-a7", false),
    ("cortex-a710", true),
    ("cortex-a72", true),
    ("cortex-a76", true),
    ("cortex-a8", false),
    ("cortex-a9", false),
    ("cortex-m0", false),
    ("cortex-m3", false),
    ("cortex-m33", false),
    ("cortex-m4", false),
    ("cortex-m55", false),
    ("cortex-m7", false),
    ("cortex-r5", false),
    ("cortex-r52", false),
    ("cortex-r5f", false),
    ("max", true),
    ("neoverse-n1", true),
    ("neoverse-n2", true),
    ("neoverse-v1", true),
    ("pxa250", false),
    ("pxa255", false),
    ("pxa260", false),
    ("pxa261", false),
    ("pxa262", false),
    ("pxa270", false),
    ("pxa270-a0", false),
    ("pxa270-a1", false),
    ("pxa270-b0", false),
    ("pxa270-b1", false),
    ("pxa270-c0", false),
    ("pxa270-c5", false),
    ("sa1100", false),
    ("sa1110", false),
    ("ti925t", false),
];

/// How long the two questions may take before QEMU is given up on.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

impl CpuModels {
    /// QEMU 10.0's list, for when QEMU cannot be asked (and for tests).
    pub fn builtin() -> CpuModels {
        CpuModels {
            source: "QEMU 10.0 (built-in list: qemu-system-aarch64 could not be asked)".into(),
            models: BUILTIN
                .iter()
                .map(|&(name, aarch64)| CpuModel {
                    name: name.into(),
                    aarch64,
                })
                .collect(),
        }
    }

    /// The installed QEMU's models, asked once per process; the built-in
    /// list if QEMU cannot be asked.
    pub fn installed() -> &'static CpuModels {
        static MODELS: OnceLock<CpuModels> = OnceLock::new();
        MODELS.get_or_init(|| query(crate::doctor::QEMU).unwrap_or_else(|_| CpuModels::builtin()))
    }

    /// The models `--cpu` takes, sorted: every AArch64 one but `host`.
    pub fn offered(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .models
            .iter()
            .filter(|m| m.aarch64 && m.name != "host")
            .map(|m| m.name.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// Checks `--cpu NAME` on virt: an AArch64 model of this QEMU, or one
    /// line saying why not.
    pub fn check(&self, name: &str) -> Result<String, UsageError> {
        let choose = || format!("choose one of {}", self.offered().join(", "));
        if name == "host" {
            return Err(UsageError(format!(
                "--cpu host: QEMU's `host` model needs KVM, and xtask runs QEMU under TCG; \
                 on an aarch64 host with /dev/kvm pass `-- -accel kvm -cpu host` instead, \
                 otherwise {}",
                choose()
            )));
        }
        match self.models.iter().find(|m| m.name == name) {
            Some(m) if m.aarch64 => Ok(m.name.clone()),
            Some(_) => Err(UsageError(format!(
                "--cpu {name:?}: a 32-bit-only (AArch32) model, and the kernel is AArch64: {}",
                choose()
            ))),
            None => Err(UsageError(format!(
                "--cpu {name:?}: {} has no such CPU model: {}",
                self.source,
                choose()
            ))),
        }
    }
}

/// Asks `qemu` for its CPU models and which of them run AArch64.
pub fn query(qemu: &str) -> Result<CpuModels> {
    let help = run(qemu, &["-M", "virt", "-cpu", "help"], "")?;
    let names = parse_cpu_help(&help);
    if names.is_empty() {
        bail!("{qemu} -M virt -cpu help listed no CPU model");
    }
    let mut script = String::from("{\"execute\":\"qmp_capabilities\"}\n");
    for name in &names {
        script.push_str(&format!(
            "{{\"execute\":\"device-list-properties\",\"arguments\":{{\"typename\":\"{name}-arm-cpu\"}}}}\n"
        ));
    }
    script.push_str("{\"execute\":\"quit\"}\n");
    let args = [
        "-M",
        "none",
        "-display",
        "none",
        "-nodefaults",
        "-S",
        "-qmp",
        "stdio",
    ];
    let transcript = run(qemu, &args, &script)?;
    parse_qmp(&transcript, &names)
}

/// Runs `qemu ARGS` with `input` on stdin; its stdout, within
/// [`QUERY_TIMEOUT`].
fn run(qemu: &str, args: &[&str], input: &str) -> Result<String> {
    let mut child = Command::new(qemu)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {qemu}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    // QEMU may exit before reading it all (`-cpu help`): not an error.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > QUERY_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{qemu} {}: no answer within {QUERY_TIMEOUT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = reader.join().map_err(|_| anyhow!("reader panicked"))?;
    if !status.success() {
        bail!("{qemu} {}: {status}", args.join(" "));
    }
    Ok(text)
}

/// The model names of `-cpu help` (`  pxa250 (deprecated)` -> `pxa250`).
pub fn parse_cpu_help(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(char::is_whitespace))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Reads a QMP transcript: the greeting (QEMU's version), the answer to
/// `qmp_capabilities`, then one answer per name to `device-list-properties`
/// (events in between are skipped). A model runs AArch64 if its
/// properties include `aarch64`.
pub fn parse_qmp(transcript: &str, names: &[String]) -> Result<CpuModels> {
    let mut version = None;
    let mut answers = Vec::new();
    for line in transcript.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("QMP: not JSON: {line}"))?;
        if let Some(v) = value.pointer("/QMP/version/qemu") {
            let part = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            version = Some(format!(
                "QEMU {}.{}.{}",
                part("major"),
                part("minor"),
                part("micro")
            ));
        } else if value.get("event").is_none() {
            answers.push(value);
        }
    }
    let version = version.ok_or_else(|| anyhow!("QMP: no greeting"))?;
    // answers[0] is qmp_capabilities'; the last one is quit's.
    if answers.len() < names.len() + 1 {
        bail!(
            "QMP: {} answers for {} questions",
            answers.len(),
            names.len() + 1
        );
    }
    let models = names
        .iter()
        .zip(&answers[1..])
        .map(|(name, answer)| {
            let aarch64 = answer
                .get("return")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|props| props.iter().any(|p| p["name"] == "aarch64"));
            CpuModel {
                name: name.clone(),
                aarch64,
            }
        })
        .collect();
    Ok(CpuModels {
        source: version,
        models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_offers_every_aarch64_model_of_qemu_10() {
        assert_eq!(
            CpuModels::builtin().offered(),
            [
                "a64fx",
                "cortex-a35",
                "cortex-a53",
                "cortex-a55",
                "cortex-a57",
                "cortex-a710",
                "cortex-a72",
                "cortex-a76",
                "max",
                "neoverse-n1",
                "neoverse-n2",
                "neoverse-v1"
            ]
        );
    }

    #[test]
    fn check_gives_the_reason() {
        let cpus = CpuModels::builtin();
        for name in ["cortex-a76", "neoverse-n1", "a64fx", "cortex-a35", "max"] {
            assert_eq!(cpus.check(name).as_deref(), Ok(name));
        }
        let err = |name: &str| cpus.check(name).expect_err(name).0;
        for name in [
            "cortex-a15",
            "cortex-a7",
            "arm926",
            "cortex-m3",
            "cortex-r52",
        ] {
            assert!(err(name).contains("32-bit-only (AArch32)"), "{}", err(name));
        }
        assert!(err("host").contains("needs KVM"), "{}", err("host"));
        assert!(err("cortex-a99").contains("has no such CPU model"));
        assert!(err("cortex-a99").contains("choose one of a64fx, cortex-a35"));
        for name in ["host", "cortex-a99", "arm926"] {
            assert!(!err(name).contains('\n'));
        }
        // `host` is refused even where QEMU lists it (a KVM-capable build).
        let mut kvm = cpus.clone();
        kvm.models.push(CpuModel {
            name: "host".into(),
            aarch64: true,
        });
        assert!(kvm.check("host").is_err());
        assert!(!kvm.offered().contains(&"host"));
    }

    /// Where QEMU 10.0 is installed (as `doctor` installs it here), asking
    /// it gives the built-in list; elsewhere the answer must at least offer
    /// the four models offered from the start.
    #[test]
    fn the_installed_qemu_answers() {
        let Ok(cpus) = query(crate::doctor::QEMU) else {
            eprintln!("no {} to ask; skipped", crate::doctor::QEMU);
            return;
        };
        if cpus.source.starts_with("QEMU 10.0.") {
            let mut sorted = cpus.models.clone();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let mut builtin = CpuModels::builtin().models;
            builtin.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(sorted, builtin);
        }
        for cpu in ["cortex-a53", "cortex-a57", "cortex-a72", "max"] {
            assert!(cpus.offered().contains(&cpu), "{cpu}: {cpus:?}");
        }
        assert!(cpus.check("cortex-a15").is_err());
    }

    #[test]
    fn parses_cpu_help() {
        let text = "Available CPUs:\n  a64fx\n  arm1026\n  max\n  pxa250 (deprecated)\n";
        assert_eq!(parse_cpu_help(text), ["a64fx", "arm1026", "max", "pxa250"]);
    }

    #[test]
    fn parses_a_qmp_transcript() {
        let names: Vec<String> = ["cortex-a15", "cortex-a55", "bogus"]
            .map(String::from)
            .into();
        let transcript = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "x"}, "capabilities": ["oob"]}}
{"return": {}}
{"return": [{"name": "memory", "type": "link<memory-region>"}, {"name": "has_el2", "type": "bool"}]}
{"return": [{"name": "memory", "type": "link<memory-region>"}, {"name": "aarch64", "description": "Set on/off", "type": "bool"}]}
{"error": {"class": "GenericError", "desc": "Device 'bogus-arm-cpu' not found"}}
{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}
{"return": {}}
"#;
        let cpus = parse_qmp(transcript, &names).expect("parses");
        assert_eq!(cpus.source, "QEMU 10.0.2");
        let aarch64: Vec<bool> = cpus.models.iter().map(|m| m.aarch64).collect();
        assert_eq!(aarch64, [false, true, false]);
        assert!(parse_qmp("{\"return\": {}}\n", &names).is_err());
        assert!(parse_qmp("not json\n", &names).is_err());
    }
}
