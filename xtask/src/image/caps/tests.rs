use super::*;
use crate::image::{parse, Image};

const HEAD: &str = "description = \"x\"\nboards = [\"virt\", \"rpi4\"]\n";
const VIRT: &str = "description = \"x\"\nboards = [\"virt\"]\n";

fn servers() -> Vec<String> {
    ["console", "hello"].map(String::from).to_vec()
}

fn ok(text: &str) -> Image {
    parse("t", text, &servers()).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    let e = parse("t", text, &servers()).expect_err("must be rejected");
    assert!(!e.contains('\n'), "not one line: {e:?}");
    e
}

/// A share `pool` over range `shm` and notification `bell`, and `rest`.
fn with_objects(rest: &str) -> String {
    format!(
        "{HEAD}[[range]]\nname = \"shm\"\nbase = 0x1_0000_0000\nsize = \"2M\"\n\
         [[notification]]\nname = \"bell\"\n\
         [[share]]\nname = \"pool\"\ncaps = [{{ object = \"range:shm\", rights = \"rw\" }}, \
         {{ object = \"notification:bell\", rights = \"rwg\" }}]\n{rest}"
    )
}

fn task(krate: &str, core: u32, extra: &str) -> String {
    format!("[[task]]\ncrate = \"{krate}\"\ncore = {core}\n{extra}\n")
}

#[test]
fn a_full_image_resolves() {
    let text = format!(
        "{VIRT}kernel_cores = [3]\n[[range]]\nname = \"shm\"\nbase = 0x1_0000_0000\nsize = \"2M\"\n\
         [[notification]]\nname = \"ding\"\n[[notification]]\nname = \"bell\"\n\
         [[share]]\nname = \"pool\"\ncaps = [{{ object = \"range:shm\", rights = \"rw\" }}, \
         {{ object = \"notification:bell\", rights = \"rwg\" }}, {{ object = \"device:virtio-blk\", rights = \"r\" }}]\n{}{}",
        task(
            "console",
            3,
            "server = true\ncaps = [{ object = \"share:pool\", rights = \"rwg\" }, { object = \"device:uart\", rights = \"rw\" }]"
        ),
        task("hello", 0, "caps = [{ object = \"share:pool\", rights = \"gr\" }]"),
    );
    let image = ok(&text);
    assert_eq!(image.kernel_cores, [3]);
    assert_eq!(image.notifications, ["ding", "bell"]);
    // Devices in the order first named: the share's, then the tasks'; the
    // console lock page comes with the writable UART.
    assert_eq!(image.devices, [VIRTIO_BLK, UART, CONSOLE_LOCK]);
    assert_eq!(
        image.shares[0].caps,
        [
            CapSpec {
                object: ObjectRef::Range(0),
                rights: 0b0011
            },
            CapSpec {
                object: ObjectRef::Notification(1),
                rights: 0b1011
            },
            CapSpec {
                object: ObjectRef::Device(0),
                rights: 0b0001
            },
        ]
    );
    let console = &image.tasks[0];
    assert!(console.server);
    assert_eq!(
        console.caps,
        [
            CapSpec {
                object: ObjectRef::Share(0),
                rights: 0b1011
            },
            CapSpec {
                object: ObjectRef::Device(1),
                rights: 0b0011
            },
            CapSpec {
                object: ObjectRef::Device(2),
                rights: 0b0011
            },
        ]
    );
    assert_eq!(image.tasks[1].caps[0].rights, 0b1001);
    assert_eq!(image.tasks[1].caps.len(), 1, "no UART, no lock page");
    assert!(!image.tasks[1].server);
}

#[test]
fn one_name_may_serve_several_kinds() {
    let text = format!(
        "{HEAD}[[range]]\nname = \"x\"\nbase = 0x1_0000_0000\nsize = \"2M\"\n\
         [[share]]\nname = \"x\"\n[[notification]]\nname = \"x\"\n{}",
        task(
            "hello",
            0,
            "caps = [{ object = \"range:x\", rights = \"r\" }, { object = \"share:x\", rights = \"r\" }, { object = \"notification:x\", rights = \"r\" }]"
        )
    );
    let objects: Vec<ObjectRef> = ok(&text).tasks[0].caps.iter().map(|c| c.object).collect();
    assert_eq!(
        objects,
        [
            ObjectRef::Range(0),
            ObjectRef::Share(0),
            ObjectRef::Notification(0)
        ]
    );
}

#[test]
fn task_capabilities_name_tasks() {
    let sup = task(
        "hello",
        0,
        "caps = [{ object = \"task:worker\", rights = \"rx\" }, { object = \"task:console\", rights = \"r\" }]",
    );
    let image = ok(&format!(
        "{HEAD}{sup}{}{}",
        task("hello", 1, "name = \"worker\""),
        task("console", 1, "")
    ));
    let objects: Vec<ObjectRef> = image.tasks[0].caps.iter().map(|c| c.object).collect();
    assert_eq!(objects, [ObjectRef::Task(1), ObjectRef::Task(2)]);
    assert_eq!(image.tasks[0].caps[0].rights, 0b101);
    // Two tasks of one crate and no `name`: ambiguous.
    let twice = format!(
        "{HEAD}{}{}{}",
        task(
            "hello",
            0,
            "caps = [{ object = \"task:console\", rights = \"r\" }]"
        ),
        task("console", 1, ""),
        task("console", 2, "")
    );
    assert_eq!(
        err(&twice),
        "task[0] (hello): caps[0]: task \"console\" is ambiguous: several tasks are called that (give each a `name`)"
    );
    assert_eq!(
        err(&format!(
            "{HEAD}{}",
            task(
                "hello",
                0,
                "caps = [{ object = \"task:nobody\", rights = \"r\" }]"
            )
        )),
        "task[0] (hello): caps[0]: no task named \"nobody\""
    );
    assert!(err(&format!("{HEAD}{}", task("hello", 0, "name = \"a b\""))).contains("name \"a b\""));
}

#[test]
fn bad_objects() {
    let cap = |object: &str| {
        with_objects(&task(
            "hello",
            0,
            &format!("caps = [{{ object = \"share:pool\", rights = \"r\" }}, {{ object = \"{object}\", rights = \"r\" }}]"),
        ))
    };
    assert_eq!(
        err(&cap("segment:x")),
        "task[0] (hello): caps[1]: object \"segment:x\": unknown kind \"segment\" (known: range, share, notification, device, task)"
    );
    assert_eq!(
        err(&cap("pool")),
        "task[0] (hello): caps[1]: object \"pool\": write kind:name, e.g. \"range:shm\""
    );
    assert_eq!(
        err(&cap("share:x")),
        "task[0] (hello): caps[1]: no share named \"x\""
    );
    assert_eq!(
        err(&cap("range:pool")),
        "task[0] (hello): caps[1]: no range named \"pool\""
    );
    assert_eq!(
        err(&cap("notification:shm")),
        "task[0] (hello): caps[1]: no notification named \"shm\""
    );
    assert_eq!(
        err(&cap("device:virtio-blk")),
        "task[0] (hello): caps[1]: unknown device \"virtio-blk\" for rpi4 (known: uart, sdhci, mailbox)"
    );
    let virt = format!(
        "{VIRT}{}",
        task(
            "hello",
            0,
            "caps = [{ object = \"device:gpu\", rights = \"rw\" }]"
        )
    );
    assert_eq!(
        err(&virt),
        "task[0] (hello): caps[0]: unknown device \"gpu\" for virt (known: uart, virtio-blk, virtio-net)"
    );
    let in_share = format!(
        "{HEAD}[[share]]\nname = \"a\"\ncaps = [{{ object = \"share:b\", rights = \"r\" }}]\n"
    );
    assert_eq!(
        err(&in_share),
        "share[0] (a): caps[0]: no share named \"b\""
    );
    let unknown_key = format!(
        "{HEAD}{}",
        task(
            "hello",
            0,
            "caps = [{ object = \"share:b\", rights = \"r\", slot = 3 }]"
        )
    );
    let e = err(&unknown_key);
    assert!(e.contains("unknown field `slot`"), "{e}");
}

#[test]
fn bad_rights() {
    let rights = |r: &str| {
        with_objects(&format!(
            "[[share]]\nname = \"other\"\ncaps = [{{ object = \"share:pool\", rights = \"{r}\" }}]\n"
        ))
    };
    assert_eq!(
        err(&rights("")),
        "share[1] (other): caps[0]: rights \"\": name at least one of \"rwxg\""
    );
    assert_eq!(
        err(&rights("rq")),
        "share[1] (other): caps[0]: rights \"rq\": unknown right 'q' (letters from \"rwxg\")"
    );
    assert_eq!(
        err(&rights("R")),
        "share[1] (other): caps[0]: rights \"R\": unknown right 'R' (letters from \"rwxg\")"
    );
    assert_eq!(
        err(&rights("rwr")),
        "share[1] (other): caps[0]: rights \"rwr\": 'r' given twice"
    );
    assert_eq!(parse_rights("rwxg"), Ok(0b1111));
    assert_eq!(parse_rights("x"), Ok(0b0100));
}

#[test]
fn bad_kernel_cores() {
    assert_eq!(
        err(&format!("{HEAD}kernel_cores = [5]\n")),
        "kernel_cores: core 5 out of range for rpi4 (cores 0..4)"
    );
    assert_eq!(
        err(&format!("{VIRT}kernel_cores = [16]\n")),
        "kernel_cores: core 16 out of range for virt (cores 0..16)"
    );
    assert_eq!(
        err(&format!("{HEAD}kernel_cores = [3, 2, 3]\n")),
        "kernel_cores: core 3 listed twice"
    );
    let e = err(&format!("{HEAD}kernel_cores = 3\n"));
    assert!(
        e.starts_with("line 3 `kernel_cores = 3`: invalid type"),
        "{e}"
    );
    // A kernel core without a server is allowed: it runs nothing.
    assert_eq!(ok(&format!("{HEAD}kernel_cores = [3]\n")).kernel_cores, [3]);
}

#[test]
fn kernel_core_placement() {
    let image = |tasks: &str| format!("{HEAD}kernel_cores = [3]\n{tasks}");
    assert_eq!(
        err(&image(&task("hello", 3, ""))),
        "task[0] (hello): task hello on kernel core 3: only its server may run there"
    );
    assert_eq!(
        err(&image(&task("console", 2, "server = true"))),
        "task[0] (console): server = true, but core 2 is not a kernel core (kernel_cores = [3])"
    );
    assert_eq!(
        err(&format!("{HEAD}{}", task("console", 2, "server = true"))),
        "task[0] (console): server = true, but core 2 is not a kernel core (kernel_cores = [])"
    );
    let two = format!(
        "{}{}{}",
        task("console", 3, "server = true"),
        task("hello", 0, ""),
        task("hello", 3, "server = true")
    );
    assert_eq!(
        err(&image(&two)),
        "task[2] (hello): two tasks given core 3's root: console and hello"
    );
    let one = format!(
        "{}{}",
        task("console", 3, "server = true"),
        task("hello", 0, "")
    );
    assert!(ok(&image(&one)).tasks[0].server);
}

#[test]
fn bad_names() {
    assert_eq!(
        err(&format!(
            "{HEAD}[[share]]\nname = \"a\"\n[[share]]\nname = \"a\"\n"
        )),
        "share[1] (a): name used twice"
    );
    assert_eq!(
        err(&format!(
            "{HEAD}[[notification]]\nname = \"bell\"\n[[notification]]\nname = \"bell\"\n"
        )),
        "notification[1] (bell): name used twice"
    );
    assert_eq!(
        err(&format!("{HEAD}[[share]]\nname = \"\"\n")),
        "share[0] (): name \"\": use 1 to 24 ASCII letters, digits, '-', '_' or '.'"
    );
    assert_eq!(
        err(&format!(
            "{HEAD}[[notification]]\nname = \"{}\"\n",
            "n".repeat(25)
        )),
        format!(
            "notification[0] ({0}): name \"{0}\": use 1 to 24 ASCII letters, digits, '-', '_' or '.'",
            "n".repeat(25)
        )
    );
    let e = err(&format!(
        "{HEAD}[[notification]]\nname = \"a\"\ncaps = []\n"
    ));
    assert!(e.contains("unknown field `caps`"), "{e}");
    let e = err(&format!("{HEAD}[[share]]\nname = \"a\"\nsize = 3\n"));
    assert!(e.contains("unknown field `size`"), "{e}");
}

#[test]
fn capacity() {
    let caps = |n: usize| {
        let one = "{ object = \"notification:bell\", rights = \"r\" }";
        format!("caps = [{}]", vec![one; n].join(", "))
    };
    let share = |n: usize| with_objects(&format!("[[share]]\nname = \"big\"\n{}\n", caps(n)));
    assert_eq!(ok(&share(64)).shares[1].caps.len(), 64);
    assert_eq!(
        err(&share(65)),
        "share[1] (big): caps: 65 capabilities, but a share has room for 64"
    );
    let grants = |n: usize| with_objects(&task("hello", 1, &caps(n)));
    assert_eq!(ok(&grants(62)).tasks[0].caps.len(), 62);
    assert_eq!(
        err(&grants(63)),
        "task[0] (hello): caps: 63 capabilities, but its root share (slots 2..63) has room for 62"
    );
}

#[test]
fn board_device_lists() {
    let names = |b| board_devices(b).iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(names(Board::Virt), ["uart", "virtio-blk", "virtio-net"]);
    assert_eq!(names(Board::Rpi4), ["uart", "sdhci", "mailbox"]);
}
