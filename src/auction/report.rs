//! `report.json` (the auction, every auction's bids and outcome per bias level, the
//! summaries), `report.md` (the summary for CI logs), and the `--json` outcomes file, which
//! leaves out timings so two runs can be compared byte for byte.

use super::{html, AuctionRun};
use serde_json::{json, Value};
use std::path::Path;

/// Outcomes and summaries, without timings or worker counts.
pub fn outcomes_json(run: &AuctionRun) -> Value {
    json!({
        "auction": run.auction.name,
        "seed": run.auction.seed,
        "listings": run.listings,
        "levels": run.levels.iter().map(|l| json!({
            "bias": l.bias,
            "summary": l.summary,
            "auctions": l.records,
            "bidders": l.states,
        })).collect::<Vec<_>>(),
    })
}

/// The whole report: the declaration, versions, timings and the outcomes.
fn report_json(run: &AuctionRun, model_version: u32) -> Value {
    let mut v = outcomes_json(run);
    v["declaration"] = serde_json::to_value(&run.auction).unwrap_or(Value::Null);
    v["housing_flow_version"] = json!(env!("CARGO_PKG_VERSION"));
    v["model_version"] = json!(model_version);
    v["workers"] = json!(run.workers);
    v["seconds"] = json!(run.levels.iter().map(|l| l.seconds).collect::<Vec<_>>());
    v
}

/// The summary as markdown tables, one per bias level.
pub fn markdown(run: &AuctionRun) -> String {
    let mut out = format!(
        "# Auction `{}`\n\n{} listings, {} bidders, seed {}, {} bias level(s).\n",
        run.auction.name,
        run.listings,
        run.bidders.len(),
        run.auction.seed,
        run.levels.len()
    );
    for l in &run.levels {
        let s = &l.summary;
        out += &format!(
            "\n## Bias {:+.1}%\n\nsold {} of {} ({:.1}% unsold); price / true price {:.3}; mean |price − true| {:.1}%; \
             overpaid {:.1}% of sales\n",
            s.bias * 100.0,
            s.sold,
            s.listings,
            s.unsold_share * 100.0,
            s.mean_price_to_true,
            s.mean_abs_price_error * 100.0,
            s.overpayment_rate * 100.0
        );
        for c in &s.learners {
            out += &format!(
                "\n{}: surplus {:.0} learning its shading; the same market with a fixed shading: {}\n",
                c.label,
                c.learned_surplus,
                c.fixed_levels()
            );
        }
        out += "\n| group | bidders | wins | win share | surplus | overpaid |\n|---|---:|---:|---:|---:|---:|\n";
        for g in &s.groups {
            out += &format!(
                "| {} | {} | {} | {:.1}% | {:.0} | {} |\n",
                g.label,
                g.bidders,
                g.wins,
                g.win_share * 100.0,
                g.surplus,
                g.overpaid
            );
        }
    }
    out
}

/// Writes report.json, report.md and report.html into `dir`.
pub fn write_reports(run: &AuctionRun, model_version: u32, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let json = serde_json::to_vec_pretty(&report_json(run, model_version)).map_err(|e| e.to_string())?;
    write("report.json", &json)?;
    write("report.md", markdown(run).as_bytes())?;
    write("report.html", html::page(run).as_bytes())
}
