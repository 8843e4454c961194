//! The network service's cases on `virt` (docs/network-tests.md): echo in both
//! configurations, bad traffic from the wire, server and client restarts,
//! the web server, and the generated bench images.

use core::time::Duration;

use crate::expect::*;
use crate::Case;

pub(super) const CASES: &[Case] = &[
    Case {
        name: "net-echo-virt",
        image: "net-echo",
        console: NET_ECHO,
        net: Some(NET_ECHO_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-echo-raw-virt",
        image: "net-echo-raw",
        console: crate::netraw::NET_ECHO_RAW,
        lines: Some(crate::netraw::raw_frames_2),
        net: Some(crate::netraw::NET_ECHO_RAW_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-wire-virt",
        image: "net-wire",
        console: crate::netraw::NET_WIRE,
        net: Some(crate::netraw::NET_WIRE_TRAFFIC),
        wire: true,
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-wire-raw-virt",
        image: "net-wire-raw",
        console: crate::netraw::NET_WIRE_RAW,
        lines: Some(crate::netraw::raw_frames_2),
        net: Some(crate::netraw::NET_WIRE_TRAFFIC),
        wire: true,
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-crash-raw-virt",
        image: "net-crash-raw",
        console: crate::netraw::NET_CRASH_RAW,
        net: Some(NET_CRASH_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-crash-virt",
        image: "net-crash",
        console: NET_CRASH,
        net: Some(NET_CRASH_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "web-virt",
        image: "web",
        console: crate::web::WEB,
        lines: Some(crate::web::web_served),
        net: Some(crate::web::WEB_TRAFFIC),
        timeout: Duration::from_secs(240),
        ..Case::BASE
    },
    Case {
        name: "net-reclient-virt",
        image: "net-reclient",
        console: crate::reclient::RECLIENT,
        lines: Some(crate::reclient::reclient_released),
        net: Some(crate::reclient::RECLIENT_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-reclient-raw-virt",
        image: "net-reclient-raw",
        console: crate::reclient::RECLIENT,
        lines: Some(crate::reclient::reclient_raw_released),
        net: Some(crate::reclient::RECLIENT_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "web-reclient-virt",
        image: "web-reclient",
        console: crate::webload::WEB_RECLIENT,
        lines: Some(crate::webload::reclient_served),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        // The generated image `cargo xtask bench net` boots (configuration 1).
        name: "web-bench-virt",
        image: "web-bench-2",
        console: crate::web::WEB_BENCH,
        lines: Some(crate::web::web_bench_served),
        net: Some(crate::web::WEB_BENCH_TRAFFIC),
        timeout: Duration::from_secs(240),
        ..Case::BASE
    },
    Case {
        // The generated image `cargo xtask bench netload` boots.
        name: "netload-virt",
        image: "webload-1",
        smp: 5,
        icount: true,
        console: crate::webload::NETLOAD,
        timeout: Duration::from_secs(240),
        ..Case::BASE
    },
    Case {
        name: "web-raw-virt",
        image: "web-raw",
        console: crate::web::WEB_RAW,
        lines: Some(crate::web::web_raw_served),
        net: Some(crate::web::WEB_RAW_TRAFFIC),
        timeout: Duration::from_secs(240),
        ..Case::BASE
    },
    Case {
        name: "net-connect-virt",
        image: "net-connect",
        console: crate::connect::CONNECT,
        net: Some(crate::connect::CONNECT_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-connect-raw-virt",
        image: "net-connect-raw",
        console: crate::connect::CONNECT_RAW,
        net: Some(crate::connect::CONNECT_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
];
