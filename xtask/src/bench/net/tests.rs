use super::*;
use std::time::Duration;

#[test]
fn generated_images() {
    assert!(image_text("web-bench-0").is_none());
    assert!(image_text("web-bench-4").is_none());
    assert!(image_text("web-bench-raw-4").is_none());
    assert!(image_text("udp-bench-3").is_none());
    assert!(image_text("web").is_none());
    let t = image_text("web-bench-2").unwrap();
    assert_eq!(t.matches("crate = \"web\"").count(), 2);
    assert_eq!(t.matches("device:uart").count(), 1);
    assert!(!t.contains("mode = 2"));
    let t = image_text("web-bench-raw-3").unwrap();
    assert_eq!(t.matches("crate = \"web\"").count(), 3);
    assert!(t.contains("values = { mode = 2 }"));
    // Both configurations block when idle: the card's interrupt, the
    // UART's, the stop signals to the other workers.
    for t in [t.as_str(), image_text("web-bench-3").unwrap().as_str()] {
        assert!(t.contains("notification = \"net.wake\""), "{t}");
        assert!(t.contains("notification = \"net.0\""), "{t}");
        assert!(t.contains("as = \"stop2\""), "{t}");
    }
    let t = image_text("udp-bench-2").unwrap();
    assert!(t.contains("mode = 2") && t.contains("crate = \"udpecho\""));
    assert!(!image_text("udp-bench-1").unwrap().contains("mode = 2"));
    for name in images() {
        assert!(image_text(&name).is_some(), "{name}");
    }
}

#[test]
fn configuration_2_forwards_a_port_to_each_worker() {
    let f = web_forwards(2, 3).unwrap();
    let to: Vec<[u8; 4]> = f.iter().map(|f| f.to).collect();
    assert_eq!(to, [[10, 0, 2, 15], [10, 0, 2, 16], [10, 0, 2, 17]]);
    assert!(f.iter().all(|f| f.port == 80 && f.proto == "tcp"));
    assert_eq!(web_forwards(1, 3).unwrap().len(), 1);
}

fn m(conns: usize, rps: f64) -> Measured {
    Measured {
        connections: conns,
        requests: 10,
        window_s: 5.0,
        requests_per_s: rps,
        p50_us: 100.0,
        p90_us: 150.0,
        p99_us: 200.0,
        max_us: 300.0,
    }
}

fn cell(peer: &'static str, config: u32, cores: u32, rps: &[f64]) -> Cell {
    Cell {
        peer,
        config,
        cores,
        connections: 4,
        runs: rps.iter().map(|&r| m(4, r)).collect(),
        host_load: vec![1.0; rps.len()],
    }
}

fn sweep(peer: &'static str, config: u32, got: f64) -> Sweep {
    Sweep {
        peer,
        config,
        host_load: 2.0,
        steps: udp::RATES_MBPS
            .iter()
            .map(|&r| udp::Step {
                size: 1472,
                requested_mbps: f64::from(r),
                offered_mbps: f64::from(r),
                achieved_mbps: got.min(f64::from(r)),
                sent: 100,
                echoed: 90,
                loss: 0.1,
                late: 0,
            })
            .collect(),
    }
}

#[test]
fn table_has_a_row_per_measured_cell() {
    let cells = vec![
        cell("ours", 1, 2, &[300.0, 100.0, 200.0]),
        cell("ours", 2, 2, &[50.0]),
        cell("Linux", 0, 2, &[100.0]),
        cell("ours", 1, 1, &[10.0]),
    ];
    let t = table(&cells);
    let row = t.lines().find(|l| l.starts_with("    2     4")).unwrap();
    assert!(row.contains("200 [   100,    300]"), "{row}");
    assert!(row.contains("2.00x") && row.contains("0.50x"), "{row}");
    let row = t.lines().find(|l| l.starts_with("    1     4")).unwrap();
    assert!(row.contains(" - "), "{row}");
    assert_eq!(t.lines().count(), 3 + 2);
}

/// The JSON's shape and the figures, from measurements of each kind.
#[test]
fn json_and_figures_are_whole() {
    let cells = vec![
        cell("ours", 1, 1, &[300.0]),
        cell("ours", 2, 1, &[50.0]),
        cell("Linux", 0, 1, &[100.0]),
        cell("ours", 1, 2, &[300.0]),
    ];
    let sweeps = vec![
        sweep("ours", 1, 40.0),
        sweep("ours", 2, 30.0),
        sweep("Linux", 0, 90.0),
    ];
    let v: serde_json::Value = serde_json::from_str(&json(&cells, &sweeps).unwrap()).unwrap();
    assert_eq!(v["web"]["cells"].as_array().unwrap().len(), 4);
    assert_eq!(v["web"]["cells"][1]["config"], 2);
    assert_eq!(v["udp"]["sweeps"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["udp"]["sweeps"][2]["steps"][6]["requested_mbps"],
        f64::from(udp::RATES_MBPS[6])
    );
    let svgs = figures::svgs(&cells, &sweeps);
    let names: Vec<&str> = svgs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "net-web-rps-c4.svg",
            "net-web-latency-c4.svg",
            "net-udp-1472.svg"
        ]
    );
    for (n, s) in &svgs {
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{n}"
        );
        assert!(s.contains("<polyline"), "{n}");
    }
    assert!(svgs[0].1.contains("ours, config 2") && svgs[0].1.contains("Linux"));
    assert!(svgs[2].1.contains("requested rate"));
    let t = figures::udp_table(&sweeps);
    assert_eq!(t.lines().count(), 2 + udp::RATES_MBPS.len(), "{t}");
}

/// The bench's smoke run: a short load and a short sweep against stand-ins
/// on this machine (a keep-alive server answering byte for byte, a UDP
/// echo), written as `bench net` writes them: the JSON parses with every
/// field in place, the load counted requests and the sweep was echoed. No
/// figure is judged.
#[test]
fn smoke_run_json() {
    let load = crate::loadgen::run(Load {
        ports: vec![crate::loadgen::tests::serve(false)],
        connections: 2,
        page: PAGE,
        warmup: Duration::from_millis(100),
        window: Duration::from_millis(300),
    })
    .unwrap();
    let (port, echo) = udp::tests::echo(0);
    let ms = Duration::from_millis;
    let steps = udp::sweep(port, &[1472], &[1, 2], ms(200), ms(100), &mut |_| {}).unwrap();
    let echoed_by_peer = echo.join().unwrap();
    let cells = vec![Cell {
        peer: "ours",
        config: 2,
        cores: 1,
        connections: 2,
        runs: vec![load],
        host_load: vec![host_load()],
    }];
    let sweeps = vec![Sweep {
        peer: "ours",
        config: 1,
        host_load: host_load(),
        steps,
    }];
    let v: serde_json::Value = serde_json::from_str(&json(&cells, &sweeps).unwrap()).unwrap();
    let cell = &v["web"]["cells"][0];
    assert_eq!(cell["connections"], 2);
    assert!(cell["runs"][0]["requests"].as_u64().unwrap() > 0, "{cell}");
    for k in ["requests_per_s", "p50_us", "p99_us"] {
        assert!(cell["runs"][0][k].as_f64().unwrap() > 0.0, "{k}: {cell}");
    }
    let steps = v["udp"]["sweeps"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    let mut echoed = 0;
    for s in steps {
        for k in ["requested_mbps", "offered_mbps", "achieved_mbps"] {
            assert!(s[k].as_f64().unwrap() > 0.0, "{k}: {s}");
        }
        echoed += s["echoed"].as_u64().unwrap();
        assert!(s["echoed"].as_u64().unwrap() <= s["sent"].as_u64().unwrap());
    }
    assert!(echoed > 0 && echoed <= echoed_by_peer);
    assert!(v["udp"]["window_s"].as_f64().is_some() && v["web"]["window_s"].as_f64().is_some());
    assert!(v["host_cpus"].as_u64().is_some());
}
