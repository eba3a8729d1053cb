//! Inline SVG charts for the reports people open (auction and scenario reports): axes with
//! ticks, polylines and markers as `<path>` elements, legends. No scripts, no outside files.

use std::fmt::Write as _;

pub const W: f64 = 640.0;
pub const H: f64 = 360.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
pub const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// A plot area mapping data to pixels.
pub struct Axes {
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl Axes {
    pub fn new(xs: impl Iterator<Item = f64> + Clone, ys: impl Iterator<Item = f64> + Clone) -> Axes {
        let range = |v: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) =
                v.filter(|x| x.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
            if !lo.is_finite() {
                (0.0, 1.0)
            } else if hi - lo < 1e-12 {
                (lo - 1.0_f64.max(lo.abs() * 0.1), hi + 1.0_f64.max(hi.abs() * 0.1))
            } else {
                let pad = (hi - lo) * 0.05;
                (lo - pad, hi + pad)
            }
        };
        Axes { x: range(&mut xs.clone()), y: range(&mut ys.clone()) }
    }
    pub fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (W - LEFT - RIGHT)
    }
    pub fn py(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (H - TOP - BOTTOM)
    }
}

pub fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        // Two significant digits for small values (PSI of 0.002 is not "0.00").
        let decimals = (-a.log10()).ceil() as usize + 1;
        format!("{v:.prec$}", prec = decimals.min(8))
    }
}

/// The frame: title, axes with five ticks each, axis names.
pub fn frame(
    out: &mut String,
    id: &str,
    title: &str,
    a: &Axes,
    x_name: &str,
    y_name: &str,
    x_fmt: &dyn Fn(f64) -> String,
) {
    let _ = write!(
        out,
        r##"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">
<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="600">{title}</text>
<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="#fafafa" stroke="#bbb"/>
"##,
        W / 2.0,
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (xv, yv) = (a.x.0 + f * (a.x.1 - a.x.0), a.y.0 + f * (a.y.1 - a.y.0));
        let (x, y) = (a.px(xv), a.py(yv));
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#888"/><text x="{x:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>
<line x1="{}" y1="{y:.1}" x2="{LEFT}" y2="{y:.1}" stroke="#888"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{}</text>
"##,
            H - BOTTOM,
            H - BOTTOM + 5.0,
            H - BOTTOM + 18.0,
            x_fmt(xv),
            LEFT - 5.0,
            LEFT - 8.0,
            y + 4.0,
            label(yv)
        );
    }
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" font-size="12">{x_name}</text>
<text x="16" y="{}" text-anchor="middle" font-size="12" transform="rotate(-90 16 {})">{y_name}</text>
"##,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 10.0,
        TOP + (H - TOP - BOTTOM) / 2.0,
        TOP + (H - TOP - BOTTOM) / 2.0
    );
}

/// A polyline through the points, as a path.
pub fn line(out: &mut String, a: &Axes, points: &[(f64, f64)], color: &str, class: &str) {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).enumerate() {
        let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, a.px(*x), a.py(*y));
    }
    let _ =
        writeln!(out, r#"<path class="{class}" d="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, d.trim_end());
}

/// Markers at the points, as one path of small squares (cheap for thousands of points).
pub fn markers(out: &mut String, a: &Axes, points: &[(f64, f64)], color: &str, size: f64) {
    let mut d = String::new();
    for (x, y) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
        let _ = write!(d, "M{:.1},{:.1}h{size}v{size}h-{size}z", a.px(*x) - size / 2.0, a.py(*y) - size / 2.0);
    }
    let _ = writeln!(out, r#"<path class="points" d="{d}" fill="{color}" fill-opacity="0.6" stroke="none"/>"#);
}

pub fn legend(out: &mut String, names: &[String]) {
    for (i, n) in names.iter().enumerate() {
        let (x, y) = (LEFT + 10.0 + (i % 4) as f64 * 130.0, TOP + 14.0 + (i / 4) as f64 * 14.0);
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            y - 9.0,
            COLORS[i % COLORS.len()],
            x + 14.0,
            y,
            escape(n)
        );
    }
    out.push('\n');
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn pct(v: f64) -> String {
    format!("{:+.0}%", v * 100.0)
}

/// A vertical mark at `x` with a short label (drift and fault times).
pub fn vmark(out: &mut String, a: &Axes, x: f64, text: &str, color: &str) {
    let px = a.px(x);
    let _ = writeln!(
        out,
        r#"<path class="mark" d="M{px:.1},{TOP}V{:.1}" stroke="{color}" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="10" fill="{color}">{}</text>"#,
        H - BOTTOM,
        px + 3.0,
        // At the foot of the line, clear of the legend at the top.
        H - BOTTOM - 6.0,
        escape(text)
    );
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn tick_labels_keep_two_significant_digits_of_small_values() {
        assert_eq!(label(2_500_000.0), "2.50M");
        assert_eq!(label(12_000.0), "12k");
        assert_eq!(label(42.0), "42");
        assert_eq!(label(0.5), "0.50");
        assert_eq!(label(0.0023), "0.0023");
        assert_eq!(label(-0.04), "-0.040");
        assert_eq!(label(0.0), "0");
    }
}
