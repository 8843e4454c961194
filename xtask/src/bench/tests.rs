//! Host tests of `cargo xtask bench`: arguments, the checks of a boot's
//! console, the JSON, the summary and the SVG writer.

use super::*;
use crate::bench::corey::check_boot;
use crate::bench::host::Host;
use crate::bench::report::{add, Measured, Peer};
use crate::bench::svg::{escape, nice_step, si};
use crate::linux::run::parse_result;
use crate::linux::wordcount::reference;
use crate::linux::Tuning;
use qemu_tests::Exit;

fn args(names: &[&str], extra: &[(&str, &str)]) -> BenchArgs {
    let mut a = BenchArgs {
        names: names.iter().map(|s| s.to_string()).collect(),
        smp: Vec::new(),
        mode: "icount".into(),
        runs: None,
        board: None,
        no_linux: false,
        update_baseline: false,
    };
    for (k, v) in extra {
        match *k {
            "smp" => a.smp = v.split(',').map(String::from).collect(),
            "mode" => a.mode = v.to_string(),
            "runs" => a.runs = Some(v.parse().unwrap()),
            "board" => a.board = Some(v.to_string()),
            _ => unreachable!(),
        }
    }
    a
}

#[test]
fn plans() {
    let p = Plan::from_args(&args(&[], &[])).unwrap();
    // 8, and the 16 dispatch-CALL benchmarks (CapCopy's two).
    assert_eq!(p.micro.len(), 24);
    assert_eq!(p.corey.len(), COREY.len());
    let cores: Vec<u32> = p.machines.iter().map(|m| m.smp).collect();
    assert_eq!(cores, [1, 2, 4, 8]);
    assert_eq!((p.runs, p.linux), (1, true));
    assert_eq!(p.images(), ["corey"]);
    // 1 micro boot, 4 of ours, 4 of Linux, 12 kernel-core images (icount),
    // 2 storage boots.
    assert_eq!(p.steps(), 23);
    assert!(p.storage);

    let p = Plan::from_args(&args(&["wordcount", "micro"], &[("mode", "mttcg")])).unwrap();
    assert!(p.micro.is_empty(), "micro-benchmarks are icount only");
    assert_eq!(p.runs, 5);
    assert_eq!(p.machines.len(), 3);

    let p = Plan::from_args(&args(&["shares"], &[("board", "rpi4")])).unwrap();
    assert_eq!(p.machines[0].smp, 4);
    assert!(!p.linux, "the Linux peer is virt only");
    assert_eq!(p.images(), ["corey-rpi4"]);

    let p = Plan::from_args(&args(&["null-syscall", "kernelcore"], &[("smp", "2")])).unwrap();
    assert_eq!((p.micro.len(), p.corey.len(), p.images().len()), (1, 1, 0));

    for bad in [
        args(&["nope"], &[]),
        args(&[], &[("mode", "fast")]),
        args(&[], &[("runs", "0")]),
        args(&[], &[("smp", "17")]),
        args(&[], &[("board", "rpi4"), ("smp", "2")]),
        args(&[], &[("board", "imx8mp")]),
    ] {
        assert!(Plan::from_args(&bad).is_err(), "{bad:?}");
    }
}

fn console(cores: u32) -> String {
    let w = reference(400_000, 42);
    let ev = "locks=0 tlbi=0 ipis=0 pool=1";
    let mut c = String::from("[corey@0] corey: 2 cores\n");
    for (name, unit) in [
        ("memclone", "mib=16"),
        ("mempass", "mib=16"),
        ("shares", "rounds=20000"),
    ] {
        for v in ["private", "shared"] {
            c += &format!(
                "[corey@0] RESULT name={name} mode={v} cores={cores} ops=100 ns=1000 {unit} {ev}\n"
            );
        }
    }
    c += &format!(
        "[corey@0] RESULT name=wordcount mode=metis cores={cores} words=400000 seed=42 distinct={} checksum={:016x} ops={} ns=5 {ev}\n",
        w.distinct, w.checksum, w.total
    );
    c + "[corey@0] corey: done\n"
}

#[test]
fn boots_are_checked() {
    let ours: Vec<&CoreyBench> = COREY.iter().filter(|b| b.ours).collect();
    let good = console(2);
    let r = check_boot(&good, Exit::Code(0), &ours, 2).unwrap();
    assert_eq!(r.len(), 7);
    assert_eq!(corey::events(&r[0]).unwrap(), [0, 0, 0, 1]);
    assert!(check_boot(&good, Exit::Code(1), &ours, 2).is_err());
    assert!(
        check_boot(&good, Exit::Code(0), &ours, 4).is_err(),
        "wrong cores"
    );
    assert!(check_boot(&good.replace("corey: done", ""), Exit::Code(0), &ours, 2).is_err());
    let bad_count = good.replace("ops=400000", "ops=399999");
    assert!(check_boot(&bad_count, Exit::Code(0), &ours, 2).is_err());
    let fail = good.clone() + "[corey@1] corey: FAIL on core 1: add: OutOfMemory\n";
    assert!(check_boot(&fail, Exit::Code(0), &ours, 2).is_err());
    let missing = good.replace("mode=shared", "mode=other");
    assert!(check_boot(&missing, Exit::Code(0), &ours, 2).is_err());
    let zero = good.replace("ops=100 ns=1000", "ops=100 ns=0");
    assert!(check_boot(&zero, Exit::Code(0), &ours, 2).is_err());
}

/// A 2-core host, idle.
const HOST: Host = Host {
    cpus: 2,
    load_start: Some(0.5),
    load_end: Some(0.7),
};

fn measured() -> Vec<Measured> {
    let mut all = Vec::new();
    for (peer, v, ops, ns) in [
        (Peer::Ours, "private", 200, 1000),
        (Peer::Ours, "private", 100, 1000),
        (Peer::Ours, "shared", 50, 1000),
        (Peer::Linux(Tuning::Tuned), "procs", 100, 1000),
        (Peer::Linux(Tuning::Tuned), "threads", 100, 1000),
        (Peer::Linux(Tuning::Default), "procs", 50, 1000),
    ] {
        let line = format!("RESULT name=memclone mode={v} cores=2 ops={ops} ns={ns}");
        let ev = (peer == Peer::Ours).then_some([1, 2, 0, 0]);
        add(
            &mut all,
            peer,
            parse_result(&line).unwrap(),
            Mode::Icount,
            "pages/s",
            ev,
        );
    }
    all
}

#[test]
fn json_ratios_and_summary() {
    let all = measured();
    assert_eq!(all.len(), 5, "two runs of ours/private make one series");
    let b = corey::find("memclone").unwrap();
    // ours private: median of 200e6 and 100e6 = 150e6; Linux procs 100e6
    // tuned, 50e6 default.
    let r = report::ratio(&all, b, ("private", "procs"), 2, Tuning::Tuned).unwrap();
    assert!((r - 1.5).abs() < 1e-9, "{r}");
    let r = report::ratio(&all, b, ("private", "procs"), 2, Tuning::Default).unwrap();
    assert!((r - 3.0).abs() < 1e-9, "{r}");
    let v: serde_json::Value =
        serde_json::from_str(&report::file_json(b, "virt", Mode::Icount, &all, &HOST)).unwrap();
    assert_eq!(v["benchmark"], "memclone");
    assert_eq!(v["series"].as_array().unwrap().len(), 5);
    assert_eq!(v["series"][0]["peer"], "ours");
    assert_eq!(v["series"][0]["events"][1]["broadcast_tlbi"], 2);
    assert_eq!(v["series"][3]["kernel"], "tuned");
    assert_eq!(v["series"][4]["kernel"], "default");
    assert_eq!(v["ratios"][0]["ours_over_linux"], 1.5);
    assert_eq!(v["ratios"][0]["linux_kernel"], "tuned");
    assert_eq!(v["ratios"][1]["ours_over_linux"], 3.0);
    assert_eq!(v["ratios"][1]["linux_kernel"], "default");
    assert_eq!(v["ratios"][2]["ours_over_linux"], 0.5);
    let s = report::summary(&[b], "virt", Mode::Icount, &all, &HOST);
    assert!(s.contains("not real-hardware time"), "{s}");
    let row = s.lines().find(|l| l.contains("private")).unwrap();
    assert!(
        row.contains("150M")
            && row.contains("[100M, 200M]")
            && row.contains("1.50x")
            && row.contains("3.00x"),
        "{row}"
    );
    // 2 lock acquisitions (1 per run) over 300 ops.
    assert!(row.contains("0.007"), "locks per op: {row}");
    let pending = report::summary(
        &[corey::find("kernelcore").unwrap()],
        "virt",
        Mode::Icount,
        &[],
        &HOST,
    );
    assert_eq!(
        pending.lines().count(),
        5,
        "no rows without results:\n{pending}"
    );
}

#[test]
fn svg_figure() {
    let all = measured();
    let svg = report::figure(corey::find("memclone").unwrap(), "virt", Mode::Icount, &all);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("<polyline").count(), 5);
    assert_eq!(
        svg.matches("stroke-dasharray").count(),
        6,
        "Linux lines and their legend dashed"
    );
    for label in [
        "ours private",
        "ours shared",
        "Linux tuned procs",
        "Linux tuned threads",
        "Linux default procs",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    assert!(svg.contains("<line x1") && svg.contains(">cores<"));
    assert_eq!(nice_step(0.0, 5), 1.0);
    assert_eq!(nice_step(230.0, 5), 50.0);
    assert_eq!(nice_step(1000.0, 5), 200.0);
    assert_eq!(si(1_500.0), "1.5k");
    assert_eq!(si(233_840.0), "233.84k");
    assert_eq!(si(2_000_000.0), "2M");
    assert_eq!(si(12.0), "12");
    assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

#[test]
fn events_per_op_text() {
    assert_eq!(report::per_op_text(0.0), "0.000");
    assert_eq!(report::per_op_text(3.0), "3.000");
    assert_eq!(report::per_op_text(2.0 / 8192.0), "2.4e-4");
}

/// The rpi4 case (also run on a real Pi 4 by `cargo xtask hil corey`)
/// expects the word count the host computes.
#[test]
fn the_rpi4_case_expects_the_host_word_count() {
    let case = qemu_tests::CASES
        .iter()
        .find(|c| c.name == "corey-rpi4")
        .expect("case");
    let w = reference(400_000, 42);
    let want = format!(
        "words=400000 seed=42 distinct={} checksum={:016x} ops={}",
        w.distinct, w.checksum, w.total
    );
    assert!(case.console.iter().any(|l| l.contains(&want)), "{want}");
}

#[test]
fn wall_time_ratios_stop_at_the_host_cores_and_noise_is_marked() {
    let mut all = Vec::new();
    // 4 cores on a 2-core host; ours spread 100..200 (noisy), Linux flat.
    for (peer, v, ops) in [
        (Peer::Ours, "private", 100),
        (Peer::Ours, "private", 200),
        (Peer::Ours, "private", 150),
        (Peer::Linux(Tuning::Tuned), "procs", 100),
        (Peer::Linux(Tuning::Tuned), "procs", 100),
    ] {
        let line = format!("RESULT name=memclone mode={v} cores=4 ops={ops} ns=1000");
        add(
            &mut all,
            peer,
            parse_result(&line).unwrap(),
            Mode::Mttcg,
            "pages/s",
            None,
        );
    }
    let b = corey::find("memclone").unwrap();
    let loaded = Host {
        load_end: Some(9.0),
        ..HOST
    };
    let s = report::summary(&[b], "virt", Mode::Mttcg, &all, &loaded);
    let row = s.lines().find(|l| l.contains("private")).unwrap();
    assert!(row.contains("n/a") && row.contains("(noisy)"), "{row}");
    assert!(s.contains("not evidence"), "{s}");
    let v: serde_json::Value =
        serde_json::from_str(&report::file_json(b, "virt", Mode::Mttcg, &all, &loaded)).unwrap();
    assert_eq!(v["host"]["cpus"], 2);
    assert_eq!(v["host"]["load_end"], 9.0);
    assert_eq!(v["series"][0]["noisy"], true);
    assert_eq!(v["series"][1]["noisy"], false);
    assert_eq!(v["ratios"][0]["valid"], false);
    assert!(!crate::bench::host::noisy(100.0, 95.0, 105.0, 5));
    assert!(crate::bench::host::noisy(100.0, 80.0, 105.0, 5));
    assert!(
        !crate::bench::host::noisy(100.0, 0.0, 500.0, 1),
        "one run cannot say"
    );
}
