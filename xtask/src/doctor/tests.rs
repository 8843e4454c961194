//! Host tests of the doctor's parsing and install planning (nothing is run).

use super::*;

const BOOKWORM: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

const DEBIAN_SOURCES: &str =
    "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
URIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\
Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

#[test]
fn versions() {
    assert_eq!(
        parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n"),
        Some((10, 0, 2))
    );
    assert_eq!(
        parse_version("QEMU emulator version 7.2.0\n"),
        Some((7, 2, 0))
    );
    assert_eq!(
        parse_version("QEMU emulator version 9.0.0-rc1\n"),
        Some((9, 0, 0))
    );
    assert_eq!(parse_version("something else"), None);
    assert!(new_enough((9, 0, 0)) && new_enough((10, 0, 2)));
    assert!(!new_enough((8, 2, 2)) && !new_enough((7, 2, 0)));
}

#[test]
fn os_release() {
    let os = parse_os_release(BOOKWORM);
    assert_eq!(
        (os.id.as_str(), os.codename.as_str(), os.version_id.as_str()),
        ("debian", "bookworm", "12")
    );
    let ubuntu = parse_os_release("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n");
    assert_eq!(ubuntu.id_like, ["debian"]);
}

#[test]
fn apt_sources_both_formats() {
    let deb822 = parse_deb822(DEBIAN_SOURCES);
    assert_eq!(deb822.len(), 3);
    assert_eq!(deb822[0].uri, "http://mirror.example/debian");
    assert_eq!(deb822[0].suite, "bookworm");
    let disabled = parse_deb822("Types: deb\nURIs: http://x/debian\nSuites: bookworm-backports\nComponents: main\nEnabled: no\n");
    assert!(disabled.is_empty());
    let list = parse_one_line(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib\n\
         deb-src http://m.example/debian bookworm main\ndeb http://security.debian.org bookworm-security main\n",
    );
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].uri.as_str(), list[0].suite.as_str()),
        ("http://m.example/debian", "bookworm")
    );
    assert_eq!(list[0].components, ["main", "contrib"]);
}

fn steps(plan: Plan) -> Vec<Step> {
    match plan {
        Plan::Steps(s) => s,
        Plan::Unsupported(why) => panic!("unsupported: {why}"),
    }
}

#[test]
fn bookworm_adds_backports_on_the_same_mirror() {
    let s = steps(plan(
        &parse_os_release(BOOKWORM),
        &parse_deb822(DEBIAN_SOURCES),
    ));
    assert_eq!(s.len(), 3);
    let Step::Write { path, text } = &s[0] else {
        panic!("first step writes the source: {s:?}")
    };
    assert_eq!(path, "/etc/apt/sources.list.d/bookworm-backports.sources");
    assert_eq!(
        text,
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\n\
         Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    );
    assert_eq!(
        s[1].shell(""),
        "env DEBIAN_FRONTEND=noninteractive apt-get update"
    );
    assert_eq!(
        s[2].shell("sudo "),
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports qemu-system-arm"
    );
}

#[test]
fn bookworm_default_mirror_and_existing_backports() {
    let s = steps(plan(&parse_os_release(BOOKWORM), &[]));
    let Step::Write { text, .. } = &s[0] else {
        panic!("writes the source")
    };
    assert!(text.contains("URIs: http://deb.debian.org/debian\n"));
    let mut sources = parse_deb822(DEBIAN_SOURCES);
    sources.extend(parse_one_line(
        "deb http://deb.debian.org/debian bookworm-backports main\n",
    ));
    let s = steps(plan(&parse_os_release(BOOKWORM), &sources));
    assert_eq!(s.len(), 2, "no second backports source: {s:?}");
}

#[test]
fn other_systems() {
    let trixie = parse_os_release("ID=debian\nVERSION_ID=\"13\"\nVERSION_CODENAME=trixie\n");
    let s = steps(plan(&trixie, &[]));
    assert_eq!(
        s.last().map(|s| s.shell("")).as_deref(),
        Some("env DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-system-arm")
    );
    let noble = parse_os_release("ID=ubuntu\nVERSION_ID=\"24.04\"\n");
    assert!(matches!(plan(&noble, &[]), Plan::Unsupported(_)));
    let plucky = parse_os_release("ID=ubuntu\nVERSION_ID=\"25.04\"\n");
    assert_eq!(steps(plan(&plucky, &[])).len(), 2);
    let bullseye = parse_os_release("ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n");
    assert!(matches!(plan(&bullseye, &[]), Plan::Unsupported(_)));
    assert!(matches!(
        plan(&parse_os_release("ID=fedora\n"), &[]),
        Plan::Unsupported(_)
    ));
    assert!(matches!(
        plan(&parse_os_release(""), &[]),
        Plan::Unsupported(_)
    ));
}
