//! `report.html`: one self-contained page (inline SVG, no scripts or outside files) with the
//! charts — clearing against true prices, surplus by group per bias level, prices and the
//! winner's curse against bias, and the learner's shading over time — and the summary tables.

use super::report::markdown;
use super::AuctionRun;
use crate::program::Persona;
use std::fmt::Write as _;

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// A plot area mapping data to pixels.
struct Axes {
    x: (f64, f64),
    y: (f64, f64),
}

impl Axes {
    fn new(xs: impl Iterator<Item = f64> + Clone, ys: impl Iterator<Item = f64> + Clone) -> Axes {
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
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (W - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (H - TOP - BOTTOM)
    }
}

fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The frame: title, axes with five ticks each, axis names.
fn frame(out: &mut String, id: &str, title: &str, a: &Axes, x_name: &str, y_name: &str, x_fmt: &dyn Fn(f64) -> String) {
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
fn line(out: &mut String, a: &Axes, points: &[(f64, f64)], color: &str, class: &str) {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).enumerate() {
        let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, a.px(*x), a.py(*y));
    }
    let _ =
        writeln!(out, r#"<path class="{class}" d="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, d.trim_end());
}

/// Markers at the points, as one path of small squares (cheap for thousands of points).
fn markers(out: &mut String, a: &Axes, points: &[(f64, f64)], color: &str, size: f64) {
    let mut d = String::new();
    for (x, y) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
        let _ = write!(d, "M{:.1},{:.1}h{size}v{size}h-{size}z", a.px(*x) - size / 2.0, a.py(*y) - size / 2.0);
    }
    let _ = writeln!(out, r#"<path class="points" d="{d}" fill="{color}" fill-opacity="0.6" stroke="none"/>"#);
}

fn legend(out: &mut String, names: &[String]) {
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn pct(v: f64) -> String {
    format!("{:+.0}%", v * 100.0)
}

/// The level the per-auction charts show: bias 0 when swept, else the only one.
fn focus(run: &AuctionRun) -> usize {
    (0..run.levels.len()).min_by(|&a, &b| run.levels[a].bias.abs().total_cmp(&run.levels[b].bias.abs())).unwrap_or(0)
}

pub fn page(run: &AuctionRun) -> String {
    let mut body = String::new();
    let f = focus(run);
    let level = &run.levels[f];

    // 1. Clearing price against true price.
    let sold: Vec<(f64, f64)> =
        level.records.iter().filter(|r| r.winner.is_some()).map(|r| (r.true_price, r.price)).collect();
    let a = Axes::new(
        sold.iter().map(|p| p.0).chain(sold.iter().map(|p| p.1)),
        sold.iter().map(|p| p.1).chain(sold.iter().map(|p| p.0)),
    );
    frame(
        &mut body,
        "clearing-vs-true",
        &format!("Clearing price vs true price (bias {})", pct(level.bias)),
        &a,
        "true price",
        "clearing price",
        &label,
    );
    let lo = a.x.0.max(a.y.0);
    let hi = a.x.1.min(a.y.1);
    line(&mut body, &a, &[(lo, lo), (hi, hi)], "#999", "diagonal");
    markers(&mut body, &a, &sold, COLORS[0], 4.0);
    body.push_str("</svg>\n");

    // 2. Surplus by group per bias level.
    let biases: Vec<f64> = run.levels.iter().map(|l| l.bias).collect();
    let groups = &run.levels[0].summary.groups;
    let series: Vec<Vec<(f64, f64)>> =
        (0..groups.len()).map(|g| run.levels.iter().map(|l| (l.bias, l.summary.groups[g].surplus)).collect()).collect();
    let a = Axes::new(biases.iter().copied(), series.iter().flatten().map(|p| p.1).chain([0.0]));
    frame(
        &mut body,
        "surplus-by-group",
        "Surplus by bidder group per model bias",
        &a,
        "model bias",
        "surplus (true − paid)",
        &pct,
    );
    for (g, s) in series.iter().enumerate() {
        let color = COLORS[g % COLORS.len()];
        line(&mut body, &a, s, color, "series");
        markers(&mut body, &a, s, color, 7.0);
    }
    legend(&mut body, &groups.iter().map(|g| g.label.clone()).collect::<Vec<_>>());
    body.push_str("</svg>\n");

    // 3. Prices and the winner's curse against bias.
    let ratio: Vec<(f64, f64)> = run.levels.iter().map(|l| (l.bias, l.summary.mean_price_to_true)).collect();
    let over: Vec<(f64, f64)> = run.levels.iter().map(|l| (l.bias, l.summary.overpayment_rate)).collect();
    let unsold: Vec<(f64, f64)> = run.levels.iter().map(|l| (l.bias, l.summary.unsold_share)).collect();
    let a = Axes::new(biases.iter().copied(), ratio.iter().chain(&over).chain(&unsold).map(|p| p.1));
    frame(
        &mut body,
        "prices-by-bias",
        "Price / true price, overpayment and unsold share per model bias",
        &a,
        "model bias",
        "share",
        &pct,
    );
    for (i, s) in [&ratio, &over, &unsold].into_iter().enumerate() {
        line(&mut body, &a, s, COLORS[i], "series");
        markers(&mut body, &a, s, COLORS[i], 7.0);
    }
    legend(&mut body, &["price / true price".into(), "overpaid share".into(), "unsold share".into()]);
    body.push_str("</svg>\n");

    // 4. The learners' shading over time.
    let learners: Vec<usize> = run.bidders.iter().filter(|b| b.persona == Persona::Learner).map(|b| b.index).collect();
    if !learners.is_empty() {
        let series: Vec<Vec<(f64, f64)>> = learners
            .iter()
            .map(|&l| {
                level
                    .records
                    .iter()
                    .filter_map(|r| r.bids.iter().find(|b| b.bidder == l).map(|b| (r.position as f64, b.shading)))
                    .collect()
            })
            .collect();
        let a = Axes::new(series.iter().flatten().map(|p| p.0), series.iter().flatten().map(|p| p.1).chain([0.0]));
        frame(
            &mut body,
            "learner-shading",
            &format!("Learner bid shading over the auctions (bias {})", pct(level.bias)),
            &a,
            "auction",
            "shading",
            &label,
        );
        for (i, s) in series.iter().enumerate() {
            line(&mut body, &a, s, COLORS[i % COLORS.len()], "series");
        }
        legend(&mut body, &learners.iter().map(|l| format!("learner bidder {l}")).collect::<Vec<_>>());
        body.push_str("</svg>\n");
    }

    let summary = escape(&markdown(run));
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Auction {name}</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#222}} .chart{{display:block;margin:18px 0}} pre{{background:#f4f4f4;padding:12px}}</style>
</head><body>
<h1>Auction <code>{name}</code></h1>
<p>{listings} listings, {bidders} bidders, seed {seed}, {levels} bias level(s), {workers} worker(s).</p>
{body}<h2>Summary</h2><pre>{summary}</pre>
</body></html>
"#,
        name = escape(&run.auction.name),
        listings = run.listings,
        bidders = run.bidders.len(),
        seed = run.auction.seed,
        levels = run.levels.len(),
        workers = run.workers
    )
}
