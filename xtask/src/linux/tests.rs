//! Host tests of the Linux peer's pure parts: the run spec, statistics,
//! JSON, the wordcount check and the argument checks.

use super::*;
use crate::linux::report::{series_json, stats};
use crate::linux::run::parse_result;

fn series(ops: &[u64], ns: &[u64]) -> Series {
    Series {
        benchmark: "memclone".into(),
        variant: "threads".into(),
        cores: 2,
        mode: "icount",
        kernel: "tuned",
        unit: "pages/s",
        ops: ops.to_vec(),
        ns: ns.to_vec(),
    }
}

#[test]
fn run_spec_lists_every_parameter() {
    let all: Vec<&Workload> = WORKLOADS.iter().collect();
    assert_eq!(
        run_spec(&all),
        "nullcall:20000,memclone:16,mempass:16,shares:20000,kernelcore:2000,wordcount:400000:42,kcconsole:200:400"
    );
}

#[test]
fn median_min_max() {
    assert_eq!(stats(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
    assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    assert_eq!(stats(&[]), (0.0, 0.0, 0.0));
}

#[test]
fn series_json_fields() {
    let s = series(&[1000, 1000], &[1_000_000, 2_000_000]);
    assert_eq!(s.values(), [1_000_000.0, 500_000.0]);
    assert_eq!(
        series_json(&s),
        "{\"benchmark\":\"memclone\",\"variant\":\"threads\",\"cores\":2,\"mode\":\"icount\",\
         \"kernel\":\"tuned\",\"runs\":[1000000.0,500000.0],\"median\":750000.0,\"min\":500000.0,\"max\":1000000.0,\
         \"unit\":\"pages/s\",\"ops\":[1000,1000],\"ns\":[1000000,2000000]}"
    );
}

#[test]
fn file_json_is_valid_json() {
    let s1 = series(&[10], &[100]);
    let mut s2 = series(&[20], &[100]);
    s2.variant = "procs".into();
    let text = file_json(&WORKLOADS[1], Mode::Icount, &[&s1, &s2]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["benchmark"], "memclone");
    assert_eq!(v["params"]["mib"], 16);
    assert_eq!(v["series"].as_array().unwrap().len(), 2);
    assert_eq!(v["series"][1]["variant"], "procs");
    assert_eq!(v["series"][1]["median"], 200_000_000.0);
}

#[test]
fn wordcount_is_checked_against_the_host() {
    let want = crate::linux::wordcount::reference(1000, 7);
    let line = format!(
        "RESULT name=wordcount mode=pthreads cores=2 ops={} ns=5 words=1000 seed=7 distinct={} checksum={:016x}",
        want.total, want.distinct, want.checksum
    );
    let r = parse_result(&line).unwrap();
    check_wordcount(&r).expect("matches");
    let bad = parse_result(&line.replace("ops=1000", "ops=999")).unwrap();
    assert!(check_wordcount(&bad).is_err());
}

#[test]
fn arguments() {
    assert_eq!(select(&[]).unwrap().len(), WORKLOADS.len());
    assert!(select(&["nope".into()])
        .unwrap_err()
        .0
        .contains("known: nullcall, memclone"));
    let m = machines(&[]).unwrap();
    assert_eq!(m.iter().map(|m| m.smp).collect::<Vec<_>>(), [1, 2, 4]);
    assert!(machines(&["17".into()]).is_err());
    assert_eq!(
        summary(&[series(&[1], &[1000])], Mode::Icount)
            .lines()
            .count(),
        3
    );
}

#[test]
fn kernel_configurations() {
    assert_eq!(
        Tuning::parse_list("both").unwrap(),
        [Tuning::Tuned, Tuning::Default]
    );
    assert_eq!(Tuning::parse_list("tuned").unwrap(), [Tuning::Tuned]);
    assert!(Tuning::parse_list("fast").is_none());
    assert_eq!(Tuning::Default.append(), "");
    assert!(Tuning::Tuned.append().contains("mitigations=off"));
    assert!(Tuning::Tuned
        .append()
        .contains("randomize_kstack_offset=off"));
}
