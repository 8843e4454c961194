//! A small SVG line-plot writer for the benchmark figures: throughput
//! against cores (or another count: [`plot_x`]; log2 axis), one line per
//! series, min/max whiskers,
//! ticks, axis labels and a legend. Written by hand: no plotting crate.

use std::fmt::Write as _;

/// One series: points (cores, median, min, max).
pub struct Line {
    pub label: String,
    pub points: Vec<(u32, f64, f64, f64)>,
    /// Drawn dashed (the Linux peer).
    pub dashed: bool,
    /// Index into the palette (a variant and its peer share one).
    pub color: usize,
}

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 56.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b",
];

/// `x` escaped for SVG text.
pub fn escape(x: &str) -> String {
    x.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step of 1, 2 or 5 times a power of ten giving about `n` ticks up to `max`.
pub fn nice_step(max: f64, n: u32) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let raw = max / f64::from(n.max(1));
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// `1234567` -> `1.23M`, `1500` -> `1.5k`, `12` -> `12`.
pub fn si(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// The whole figure, against cores.
pub fn plot(title: &str, subtitle: &str, y_label: &str, lines: &[Line]) -> String {
    plot_x(title, subtitle, "cores", y_label, lines)
}

/// The whole figure, against `x_label` (a count, on a log2 axis).
pub fn plot_x(title: &str, subtitle: &str, x_label: &str, y_label: &str, lines: &[Line]) -> String {
    let mut cores: Vec<u32> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    cores.sort_unstable();
    cores.dedup();
    let y_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.3.max(p.1)))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let step = nice_step(y_max * 1.05, 5);
    let top = (y_max * 1.05 / step).ceil().max(1.0) * step;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let lg = |c: u32| f64::from(c.max(1)).log2();
    let (lo, hi) = (
        cores.first().map_or(0.0, |&c| lg(c)),
        cores.last().map_or(1.0, |&c| lg(c)),
    );
    let x = |c: u32| {
        if hi > lo {
            LEFT + 20.0 + (lg(c) - lo) / (hi - lo) * (pw - 40.0)
        } else {
            LEFT + pw / 2.0
        }
    };
    let y = |v: f64| TOP + ph - (v / top).clamp(0.0, 1.0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        LEFT,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="36" fill="#555">{}</text>"##,
        LEFT,
        escape(subtitle)
    );
    // Grid, y ticks and labels.
    let mut v = 0.0;
    while v <= top * 1.0001 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0,
            si(v)
        );
        v += step;
    }
    for &c in &cores {
        let xx = x(c);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#333"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{c}</text>"##,
            TOP + ph,
            TOP + ph + 5.0,
            TOP + ph + 19.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        H - 14.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + ph / 2.0,
        escape(y_label)
    );
    for (i, l) in lines.iter().enumerate() {
        let color = COLORS[l.color % COLORS.len()];
        let dash = if l.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        // Lines side by side, so that whiskers at one core count do not hide each other.
        let dx = (i as f64 - (lines.len() as f64 - 1.0) / 2.0) * 3.0;
        let pts: Vec<String> = l
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0) + dx, y(p.1)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            pts.join(" ")
        );
        for &(c, med, min, max) in &l.points {
            let (xx, yy) = (x(c) + dx, y(med));
            if max > min {
                let _ = writeln!(
                    s,
                    r#"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="{color}"/>"#,
                    y(min),
                    y(max)
                );
            }
            let _ = writeln!(
                s,
                r#"<circle cx="{xx:.1}" cy="{yy:.1}" r="3.5" fill="{color}"/>"#
            );
        }
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = LEFT + pw + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 26.0,
            lx + 32.0,
            ly + 4.0,
            escape(&l.label)
        );
    }
    s.push_str("</svg>\n");
    s
}
