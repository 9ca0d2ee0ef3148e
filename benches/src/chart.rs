//! The ratio table as a picture: every row [`crate::paired::row`] printed, as a
//! horizontal bar of its median ratio with the p10–p90 spread as a whisker,
//! the 1.0 line (same speed) marked, and the row's target as a tick.
//!
//! `ratios` writes it with the tables (`benches/ratios.svg`), so the picture
//! and the numbers always come from the same run.

use std::fmt::Write as _;
use std::sync::Mutex;

/// One bar: its label, the ratio with its spread, the target if any.
struct Bar {
    label: String,
    ratio: f64,
    spread: (f64, f64),
    target: Option<f64>,
}

static BARS: Mutex<Vec<Bar>> = Mutex::new(Vec::new());

/// Note one row for the chart.
pub fn record(case: &str, a: &str, b: &str, ratio: f64, spread: (f64, f64), target: Option<f64>) {
    BARS.lock().unwrap().push(Bar {
        label: format!("{case}: {a} / {b}"),
        ratio,
        spread,
        target,
    });
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The recorded rows as an SVG document (bars left of 1.0 are staticdl faster).
pub fn svg(title: &str) -> String {
    let bars = BARS.lock().unwrap();
    let (label_w, plot_w, row_h, top) = (560.0, 420.0, 22.0, 48.0);
    // The scale: 0 to the largest ratio shown (at least 1.5), clipped at 3.
    let max = bars
        .iter()
        .map(|b| b.spread.1.max(b.ratio).max(b.target.unwrap_or(0.0)))
        .fold(1.5f64, f64::max)
        .min(3.0);
    let x = |r: f64| label_w + plot_w * (r.min(max) / max);
    let height = top + row_h * bars.len() as f64 + 40.0;
    let width = label_w + plot_w + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"##,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="38" fill="#555">staticdl time / peer time, median of paired rounds; whisker p10–p90; black tick: target; left of the red line: staticdl faster</text>"##
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let fill =
            if b.target.is_some_and(|t| b.ratio > t) || (b.target.is_none() && b.ratio > 1.03) {
                "#d9822b"
            } else {
                "#3b7dd8"
            };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            label_w - 8.0,
            y + 15.0,
            escape(&b.label)
        );
        let _ = writeln!(
            s,
            r##"<rect x="{label_w}" y="{}" width="{:.1}" height="14" fill="{fill}"/>"##,
            y + 4.0,
            x(b.ratio) - label_w
        );
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{}" y2="{}" stroke="black" stroke-width="1"/>"##,
            x(b.spread.0),
            x(b.spread.1),
            y + 11.0,
            y + 11.0
        );
        if let Some(t) = b.target {
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{}" y2="{}" stroke="black" stroke-width="2"/>"##,
                x(t),
                x(t),
                y + 1.0,
                y + 21.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" fill="#222">{:.2}</text>"##,
            x(b.ratio.max(b.spread.1)) + 4.0,
            y + 15.0,
            b.ratio
        );
    }
    let bottom = top + row_h * bars.len() as f64;
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" x2="{:.1}" y1="{}" y2="{}" stroke="red" stroke-width="1.5"/>"##,
        x(1.0),
        x(1.0),
        top - 4.0,
        bottom + 4.0
    );
    let mut t = 0.0;
    while t <= max + 1e-9 {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{t:.1}</text>"##,
            x(t),
            bottom + 20.0
        );
        t += 0.5;
    }
    s.push_str("</svg>\n");
    s
}
