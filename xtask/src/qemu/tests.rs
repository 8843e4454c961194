//! Host tests of the QEMU command lines, the console feed and exit codes.

use super::*;

fn machine(board: Board, el2: bool, gic: u8) -> Machine {
    Machine {
        board,
        smp: if board == Board::Rpi4 { 4 } else { 2 },
        cpu: "cortex-a53".to_string(),
        gic,
        el2,
        mem_mib: 256,
    }
}

fn line(m: &Machine, gdb: bool, icount: bool) -> String {
    let args = qemu_args(
        m,
        Path::new("k.img"),
        Path::new("p.dtb"),
        "stdio",
        "unix:/t/l.sock",
        gdb,
        icount,
    );
    shell_line(QEMU, &args)
}

#[test]
fn virt_command_line() {
    assert_eq!(
        line(&machine(Board::Virt, true, 3), false, false),
        "qemu-system-aarch64 -M virt,gic-version=3,virtualization=on -cpu cortex-a53 -smp 2 -m 256M \
         -display none -no-reboot -semihosting-config enable=on,target=native -kernel k.img \
         -serial stdio -serial unix:/t/l.sock"
    );
    let el1 = line(&machine(Board::Virt, false, 2), true, true);
    assert!(el1.contains("-M virt,gic-version=2 -cpu"), "{el1}");
    assert!(
        el1.ends_with("-icount shift=0,align=off,sleep=off -s -S"),
        "{el1}"
    );
}

#[test]
fn rpi4_command_line_has_no_machine_sizing() {
    let l = line(&machine(Board::Rpi4, true, 2), false, false);
    assert!(
        l.starts_with("qemu-system-aarch64 -M raspi4b -dtb p.dtb -display none"),
        "{l}"
    );
    for flag in ["-smp", "-m ", "-cpu", "gic-version"] {
        assert!(!l.contains(flag), "{flag} in {l}");
    }
}

#[test]
fn imx8mp_command_line_skips_uart1_and_starts_four_cores() {
    let m = Machine {
        board: Board::Imx8mp,
        smp: 4,
        cpu: "cortex-a53".to_string(),
        gic: 3,
        el2: true,
        mem_mib: 1024,
    };
    assert_eq!(
        line(&m, false, false),
        "qemu-system-aarch64 -M imx8mp-evk -dtb p.dtb -smp 4 -m 1024M \
         -display none -no-reboot -semihosting-config enable=on,target=native -kernel k.img \
         -serial null -serial stdio -serial unix:/t/l.sock"
    );
    assert_eq!(board_dtb(Board::Imx8mp), Some(IMX8MP_DTB));
    assert_eq!(board_dtb(Board::Virt), None);
}

#[test]
fn shell_quoting() {
    let args = ["a b".to_string(), "it's".to_string(), String::new()];
    assert_eq!(shell_line("x", &args), r"x 'a b' 'it'\''s' ''");
}

#[test]
fn input_is_fed_after_the_trigger_only() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    /// Hands out its text in 3-byte pieces (a trigger split across reads).
    struct Pieces(Vec<u8>);
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(3).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }
    let feed = |console: &str| {
        let sink = Sink::default();
        let h = watch_console(
            Pieces(console.as_bytes().to_vec()),
            Some(Feed {
                stdin: sink.clone(),
                trigger: b"ready for input".to_vec(),
                input: b"typed\r".to_vec(),
            }),
            None,
        );
        let (bytes, sent, net) = h.join().unwrap();
        assert!(net.is_none());
        assert_eq!(bytes, console.as_bytes());
        let written = sink.0.lock().unwrap().clone();
        (sent, written)
    };
    assert_eq!(
        feed("boot\nx: ready for input\nready for input\n"),
        (true, b"typed\r".to_vec())
    );
    assert_eq!(feed("boot\nx: ready for inpu\n"), (false, Vec::new()));
}

#[test]
fn exit_codes() {
    assert_eq!(exit_code(Exit::Code(0)), 0);
    assert_eq!(exit_code(Exit::Code(3)), 3);
    assert_eq!(exit_code(Exit::Signal(9)), 137);
    assert_eq!(exit_code(Exit::Timeout), 124);
}
