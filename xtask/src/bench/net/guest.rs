//! The guests of `cargo xtask bench net`, both peers on one QEMU `virt`
//! machine (4 x cortex-a72, GICv3, 1 GiB, `-accel tcg,thread=multi`) with
//! one virtio-net card on user networking whose forwards (ports of
//! 127.0.0.1 only) the caller gives: a QEMU process with its console
//! collected by a thread and its stdin (the console's receive side) open.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build;
use crate::cli::{Board, Machine, MachineArgs};
use crate::doctor::QEMU;
use crate::image;
use crate::linux::run::Mode;
use crate::qemu::{die_with_parent, set_running, RPI4_DTB};

/// From the stop key (or the last datagram) to QEMU's end.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A guest running under QEMU.
pub struct Guest {
    child: Child,
    stdin: ChildStdin,
    console: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

fn machine() -> Result<Machine> {
    Ok(Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?)
}

/// The card both peers get, on user networking with `netdev` (the
/// `-netdev user,...` value: its forwards).
fn card(netdev: String) -> Vec<String> {
    vec![
        "-global".into(),
        "virtio-mmio.force-legacy=false".into(),
        "-netdev".into(),
        netdev,
        "-device".into(),
        "virtio-net-device,netdev=net0".into(),
    ]
}

impl Guest {
    /// Boots our image `name` (built for virt) with the card on `netdev`.
    pub fn ours(root: &Path, name: &str, netdev: String) -> Result<Guest> {
        let img = image::select(root, name, Board::Virt)?;
        let built = build::build(root, &img, Board::Virt)?;
        let mut args = crate::qemu::qemu_args(
            &machine()?,
            &built.raw,
            &root.join(RPI4_DTB),
            "stdio",
            "null",
            false,
            false,
        );
        args.extend(card(netdev));
        args.extend(["-accel", "tcg,thread=multi", "-append", "timeout=900"].map(String::from));
        Guest::start(&args)
    }

    /// Boots the Linux peer (`kernel`, `initrd`) with `append` on its
    /// command line and the card on `netdev`.
    pub fn linux(kernel: &Path, initrd: &Path, append: &str, netdev: String) -> Result<Guest> {
        let mut args =
            crate::linux::run::qemu_args(&machine()?, Mode::Mttcg, kernel, initrd, append);
        args.extend(card(netdev));
        Guest::start(&args)
    }

    fn start(args: &[String]) -> Result<Guest> {
        let mut cmd = Command::new(QEMU);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {QEMU}"))?;
        set_running(Some(child.id()));
        let stdin = child.stdin.take().context("no stdin")?;
        let mut out = child.stdout.take().context("no stdout")?;
        let console = Arc::new(Mutex::new(Vec::new()));
        let sink = console.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut c) = sink.lock() {
                    c.extend_from_slice(&chunk[..n]);
                }
            }
        });
        Ok(Guest {
            child,
            stdin,
            console,
            reader,
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.console.lock().map(|c| c.clone()).unwrap_or_default())
            .into_owned()
    }

    /// Waits until the console shows every one of `lines`; an error (with
    /// the console) if QEMU ends, a `FAIL` line appears or time runs out.
    pub fn wait_for(&mut self, lines: &[String], timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let text = self.text();
            if lines.iter().all(|l| text.contains(l.as_str())) {
                return Ok(());
            }
            if text.lines().any(|l| l.starts_with("FAIL ")) {
                bail!("the guest failed:\n{text}");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("QEMU ended ({status}) before the server was ready:\n{text}");
            }
            if start.elapsed() > timeout {
                bail!("the server was not ready within {timeout:?}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `key` (nothing if empty) and waits for QEMU to end: its exit
    /// status (None: it had to be killed) and the console.
    pub fn stop(mut self, key: &[u8]) -> (Option<i32>, String) {
        if !key.is_empty() {
            let _ = self.stdin.write_all(key).and_then(|()| self.stdin.flush());
        }
        let start = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.code(),
                Ok(None) if start.elapsed() < STOP_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        set_running(None);
        let console = self.console.clone();
        let _ = self.reader.join();
        let bytes = console.lock().map(|c| c.clone()).unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The host's 1-minute load average.
pub fn host_load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A forward of QEMU's user network: `proto` ("tcp" or "udp") port
/// `host` of 127.0.0.1 to port `port` of guest address `to`.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    pub proto: &'static str,
    pub host: u16,
    pub to: [u8; 4],
    pub port: u16,
}

/// The `-netdev` value with `forwards` (only 127.0.0.1 of the host is
/// forwarded; not `restrict=on`, see crate::net).
pub fn netdev(forwards: &[Forward]) -> String {
    let mut s = String::from("user,id=net0");
    for f in forwards {
        let [a, b, c, d] = f.to;
        s += &format!(
            ",hostfwd={}:127.0.0.1:{}-{a}.{b}.{c}.{d}:{}",
            f.proto, f.host, f.port
        );
    }
    s
}

/// `n` ports of 127.0.0.1 free now for `proto` (the kernel picks them;
/// they are closed again before QEMU binds them).
pub fn free_ports(proto: &str, n: usize) -> Result<Vec<u16>> {
    use std::net::{Ipv4Addr, TcpListener, UdpSocket};
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..n {
        let port = if proto == "udp" {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a UDP port")?;
            let p = s.local_addr()?.port();
            held.push(Box::new(s) as Box<dyn std::any::Any>);
            p
        } else {
            let s = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a TCP port")?;
            let p = s.local_addr()?.port();
            held.push(Box::new(s) as Box<dyn std::any::Any>);
            p
        };
        ports.push(port);
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_only_loopback() {
        let f = [
            Forward {
                proto: "tcp",
                host: 40001,
                to: [10, 0, 2, 15],
                port: 80,
            },
            Forward {
                proto: "udp",
                host: 40002,
                to: [10, 0, 2, 16],
                port: 7,
            },
        ];
        assert_eq!(
            netdev(&f),
            "user,id=net0,hostfwd=tcp:127.0.0.1:40001-10.0.2.15:80,hostfwd=udp:127.0.0.1:40002-10.0.2.16:7"
        );
        let p = free_ports("tcp", 3).unwrap();
        assert_eq!(p.len(), 3);
        assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
        assert_eq!(free_ports("udp", 1).unwrap().len(), 1);
    }
}
