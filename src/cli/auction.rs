//! `housing-flow auction FILE [--workers N] [--json OUT] [--name AUCTION]`

use super::checked;
use anyhow::{bail, Context};
use housing_flow::auction::{self, AuctionRun};
use housing_flow::plan;
use housing_flow::program::AuctionRule;
use std::path::{Path, PathBuf};

/// Arguments of `auction`.
#[derive(clap::Args, Debug)]
pub struct AuctionArgs {
    pub file: PathBuf,
    /// Timely workers the auctions run on (listings are dealt out by position).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Also write every auction's outcome and the summaries here, without timings, so that
    /// two runs can be compared.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run only this auction of the file.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: &AuctionArgs) -> anyhow::Result<()> {
    let program = checked(&args.file)?.program.expect("a clean check has a program");
    let plan = plan::lower(&program, 1);
    let auctions: Vec<_> =
        program.auctions.iter().filter(|a| args.name.as_deref().is_none_or(|n| n == a.name)).collect();
    if auctions.is_empty() {
        match &args.name {
            Some(n) => bail!("`{}` declares no auction `{n}`", args.file.display()),
            None => bail!("`{}` declares no auction", args.file.display()),
        }
    }
    let mut outcomes = serde_json::Map::new();
    for a in auctions {
        let (listings, version) = auction::load_listings(&program, &plan, a).map_err(anyhow::Error::msg)?;
        let run = auction::run(a, listings, args.workers.max(1)).map_err(anyhow::Error::msg)?;
        print!("{}", table(&run, version));
        if let Some(dir) = &a.report {
            auction::write_reports(&run, version, Path::new(dir)).map_err(anyhow::Error::msg)?;
            println!("report: {dir}/report.html (and report.json, report.md)");
        }
        outcomes.insert(a.name.clone(), auction::outcomes_json(&run));
    }
    if let Some(out) = &args.json {
        let text = serde_json::to_vec_pretty(&outcomes)?;
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

fn rule_name(rule: &AuctionRule) -> &'static str {
    match rule {
        AuctionRule::English { .. } => "english",
        AuctionRule::FirstPrice { .. } => "first-price",
        AuctionRule::SecondPrice { .. } => "second-price",
    }
}

/// The per-level summary as aligned text.
fn table(run: &AuctionRun, version: u32) -> String {
    let a = &run.auction;
    let mut out = format!(
        "auction {}: {} listings, {} bidders, {} rule, model v{version}, {} worker(s)\n",
        a.name,
        run.listings,
        run.bidders.len(),
        rule_name(&a.rule),
        run.workers
    );
    out += "bias      sold  unsold  price/true  |price-true|  overpaid   auctions/s\n";
    for l in &run.levels {
        let s = &l.summary;
        out += &format!(
            "{:>+5.1}%  {:>6}  {:>5.1}%  {:>10.3}  {:>11.1}%  {:>7.1}%  {:>11.0}\n",
            s.bias * 100.0,
            s.sold,
            s.unsold_share * 100.0,
            s.mean_price_to_true,
            s.mean_abs_price_error * 100.0,
            s.overpayment_rate * 100.0,
            s.listings as f64 / l.seconds.max(1e-9)
        );
        for g in &s.groups {
            out += &format!(
                "    {:<16} {:>3} bidders  {:>6} wins  {:>5.1}%  surplus {:>14.0}  overpaid {}\n",
                g.label,
                g.bidders,
                g.wins,
                g.win_share * 100.0,
                g.surplus,
                g.overpaid
            );
        }
        for c in &s.learners {
            out += &format!(
                "    {}: surplus {:.0} learning its shading; with a fixed shading {}\n",
                c.label,
                c.learned_surplus,
                c.fixed_levels()
            );
        }
    }
    out
}
