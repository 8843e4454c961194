//! Host tests of image-file parsing: good images, every error as one
//! line, exit signals, and the shipped images.

use super::*;

fn servers() -> Vec<String> {
    vec!["hello".to_string()]
}

fn known() -> Vec<String> {
    ["demo-panic", "demo-fault", "demo-hang"]
        .map(String::from)
        .to_vec()
}

fn err(text: &str) -> String {
    let e = parse("t", text, &known(), &servers()).expect_err("must be rejected");
    assert!(!e.contains('\n'), "not one line: {e:?}");
    e
}

#[test]
fn good_image() {
    let image = parse(
        "panic",
        "description = \"x\"\nboards = [\"virt\", \"rpi4\"]\n[kernel]\nfeatures = [\"demo-panic\"]\n",
        &known(),
        &servers(),
    )
    .expect("valid");
    assert_eq!(image.boards, [Board::Virt, Board::Rpi4]);
    assert_eq!(image.features, ["demo-panic"]);
    let bare = parse(
        "d",
        "description = \"x\"\nboards = [\"virt\"]\n",
        &known(),
        &servers(),
    )
    .expect("valid");
    assert!(bare.features.is_empty());
}

#[test]
fn bad_images() {
    let e = err("description = \"x\"\nboards = [\"virt\"]\n[kernel]\nfeatures = [\"x\"]\n");
    assert!(
        e.starts_with("kernel.features: unknown feature \"x\" (known: demo-panic"),
        "{e}"
    );
    let e = err("description = \"x\"\nboards = [\"pi5\"]\n");
    assert!(e.starts_with("boards: unknown board \"pi5\""), "{e}");
    let e = err("description = \"x\"\nboards = []\n");
    assert!(e.starts_with("boards: name at least one"), "{e}");
    let e = err("description = \"x\"\nboards = [\"virt\"]\ntasks = 3\n");
    assert!(
        e.contains("line 3 `tasks = 3`") && e.contains("unknown field `tasks`"),
        "{e}"
    );
    let e = err("description = \"x\"\nboards = [\"virt\"]\n[kernel]\nfeature = []\n");
    assert!(
        e.contains("line 4") && e.contains("unknown field `feature`"),
        "{e}"
    );
    let e = err("boards = [\"virt\"]\n");
    assert!(e.contains("missing field `description`"), "{e}");
    let e = err("description = \"x\"\nboards = \"virt\"\n");
    assert!(e.contains("line 2") && e.contains("invalid type"), "{e}");
    let e = err("description = \"x\nboards");
    assert!(e.starts_with("line "), "{e}");
    let e =
        err("description = \"x\"\nboards = [\"virt\"]\n[kernel]\nfeatures = [\"board-rpi4\"]\n");
    assert!(e.contains("chosen by --board"), "{e}");
    let e = err("description = \"x\"\nboards = [\"virt\", \"virt\"]\n");
    assert!(e.contains("listed twice"), "{e}");
    let e = err("description = \"x\"\nboards = [\"virt\"]\n[[task]]\ncrate = \"nope\"\ncore = 0\n");
    assert_eq!(
        e,
        "task[0] (nope): unknown task crate \"nope\" (known: hello)"
    );
    let e = err("description = \"x\"\nboards = [\"virt\", \"rpi4\"]\n[[task]]\ncrate = \"hello\"\ncore = 5\n");
    assert_eq!(
        e,
        "task[0] (hello): core 5 out of range for rpi4 (cores 0..4)"
    );
    let e = err("description = \"x\"\nboards = [\"virt\"]\n[[task]]\ncrate = \"hello\"\n");
    assert!(e.contains("missing field `core`"), "{e}");
}

#[test]
fn exit_signals() {
    let head = "description = \"x\"\nboards = [\"virt\"]\n[[notification]]\nname = \"gone\"\n[[task]]\ncrate = \"hello\"\ncore = 1\n";
    let image = parse(
        "t",
        &format!("{head}on_exit = {{ notification = \"gone\", bits = 4 }}\n"),
        &known(),
        &servers(),
    )
    .expect("valid");
    assert_eq!(image.tasks[0].on_exit, Some((0, 4)));
    let e = err(&format!(
        "{head}on_exit = {{ notification = \"went\", bits = 4 }}\n"
    ));
    assert_eq!(
        e,
        "task[0] (hello): on_exit: unknown notification \"went\" (known: gone)"
    );
    let e = err(&format!(
        "{head}on_exit = {{ notification = \"gone\", bits = 0 }}\n"
    ));
    assert!(
        e.starts_with("task[0] (hello): on_exit: bits must be non-zero"),
        "{e}"
    );
    let e = err(&format!("{head}on_exit = {{ notification = \"gone\" }}\n"));
    assert!(e.contains("missing field `bits`"), "{e}");
    let e = err("description = \"x\"\nboards = [\"virt\"]\n[[task]]\ncrate = \"hello\"\ncore = 1\non_exit = { notification = \"gone\", bits = 1 }\n");
    assert_eq!(
        e,
        "task[0] (hello): on_exit: unknown notification \"gone\" (known: none)"
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
}

#[test]
fn shipped_images_load() {
    let names = available(root());
    for name in ["default", "panic", "fault", "hang"] {
        assert!(
            names.iter().any(|n| n == name),
            "images/{name}.toml missing"
        );
    }
    for name in &names {
        load(root(), name).unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert!(load(root(), "default").expect("loads").features.is_empty());
}

#[test]
fn image_for_another_board_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("xtask-image-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("images")).expect("mkdir");
    std::fs::create_dir_all(dir.join("microkernel/kern")).expect("mkdir");
    std::fs::write(
        dir.join("microkernel/kern/Cargo.toml"),
        "[features]\ndefault = []\nboard-virt = []\ndemo-x = []\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("images/virtonly.toml"),
        "description = \"d\"\nboards = [\"virt\"]\n[kernel]\nfeatures = [\"demo-x\"]\n",
    )
    .expect("write");
    std::fs::write(dir.join("images/broken.toml"), "description = 1\n").expect("write");
    assert_eq!(
        select(&dir, "virtonly", Board::Virt)
            .expect("virt")
            .features,
        ["demo-x"]
    );
    let e = select(&dir, "virtonly", Board::Rpi4).expect_err("not rpi4");
    assert_eq!(
        e.downcast_ref::<UsageError>().map(|u| u.0.as_str()),
        Some("--image virtonly: images/virtonly.toml supports virt, not rpi4")
    );
    let e = select(&dir, "broken", Board::Virt).expect_err("broken");
    assert!(e.downcast_ref::<UsageError>().is_none());
    assert!(
        format!("{e:#}").starts_with("images/broken.toml: line 1 `description = 1`: invalid type"),
        "{e:#}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn select_errors_are_usage_errors() {
    let e = select(root(), "nope", Board::Virt).expect_err("unknown");
    let usage = e.downcast_ref::<UsageError>().expect("usage error");
    assert!(
        usage.0.contains("(available: bench, ") && usage.0.contains(", default, "),
        "{usage}"
    );
    let e = select(root(), "../images/default", Board::Virt).expect_err("path");
    assert!(e.downcast_ref::<UsageError>().is_some());
    assert!(select(root(), "default", Board::Rpi4).is_ok());
}
