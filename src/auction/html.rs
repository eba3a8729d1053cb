//! `report.html`: one self-contained page (inline SVG, no scripts or outside files) with the
//! charts — clearing against true prices, surplus by group per bias level, prices and the
//! winner's curse against bias, and the learner's shading over time — and the summary tables.

use super::report::markdown;
use super::AuctionRun;
use crate::program::Persona;
use crate::svg::{escape, frame, label, legend, line, markers, pct, Axes, COLORS};

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
