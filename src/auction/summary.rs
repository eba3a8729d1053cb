//! What a market came to, per bias level: prices against true prices, unsold listings,
//! overpayment (the winner's curse), and wins and surplus per bidder group.

use super::bidder::Bidder;
use super::market::AuctionRecord;
use crate::program::BidderGroup;
use serde::{Deserialize, Serialize};

/// One bidder group's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// `investor`, or `investor #2` when the file has two investor groups.
    pub label: String,
    pub persona: String,
    pub bidders: u32,
    pub wins: u64,
    /// Share of the sold listings this group bought.
    pub win_share: f64,
    /// Σ (true price − price paid) over its wins.
    pub surplus: f64,
    /// Wins where it paid more than the true price.
    pub overpaid: u64,
    pub spent: f64,
}

/// One bias level's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelSummary {
    pub bias: f64,
    pub listings: u64,
    pub sold: u64,
    pub unsold_share: f64,
    /// Mean of price / true price over sold listings.
    pub mean_price_to_true: f64,
    /// Mean of |price − true price| / true price over sold listings.
    pub mean_abs_price_error: f64,
    /// Share of sold listings whose price exceeded the true price (winner's curse).
    pub overpayment_rate: f64,
    pub groups: Vec<GroupSummary>,
    /// Each learner group against the same market in which it keeps each of its levels fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learners: Vec<LearnerComparison>,
}

/// A learner group's surplus against the same market with its shading fixed at each of its levels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnerComparison {
    pub label: String,
    pub learned_surplus: f64,
    /// (fixed shading, the group's surplus with it), one per level.
    pub fixed: Vec<(f64, f64)>,
}

impl LearnerComparison {
    /// `0%: -44848878, 5%: 73178811, ...`
    pub fn fixed_levels(&self) -> String {
        let levels: Vec<String> = self.fixed.iter().map(|(l, s)| format!("{:.0}%: {s:.0}", l * 100.0)).collect();
        levels.join(", ")
    }
}

/// Labels for the groups: the persona, numbered when it appears more than once.
pub fn group_labels(groups: &[BidderGroup]) -> Vec<String> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let same: Vec<usize> =
                groups.iter().enumerate().filter(|(_, h)| h.persona == g.persona).map(|(j, _)| j).collect();
            if same.len() == 1 {
                g.persona.name().to_string()
            } else {
                format!("{} #{}", g.persona.name(), same.iter().position(|&j| j == i).unwrap_or(0) + 1)
            }
        })
        .collect()
}

pub fn summarize(bias: f64, records: &[AuctionRecord], bidders: &[Bidder], groups: &[BidderGroup]) -> LevelSummary {
    let labels = group_labels(groups);
    let mut out: Vec<GroupSummary> = groups
        .iter()
        .zip(&labels)
        .map(|(g, label)| GroupSummary {
            label: label.clone(),
            persona: g.persona.name().to_string(),
            bidders: g.count,
            wins: 0,
            win_share: 0.0,
            surplus: 0.0,
            overpaid: 0,
            spent: 0.0,
        })
        .collect();
    let (mut sold, mut ratio, mut error, mut over) = (0u64, 0.0, 0.0, 0u64);
    for r in records {
        let Some(w) = r.winner else { continue };
        sold += 1;
        ratio += r.price / r.true_price;
        error += ((r.price - r.true_price) / r.true_price).abs();
        let g = &mut out[bidders[w].group];
        g.wins += 1;
        g.surplus += r.true_price - r.price;
        g.spent += r.price;
        if r.price > r.true_price {
            g.overpaid += 1;
            over += 1;
        }
    }
    for g in &mut out {
        g.win_share = if sold == 0 { 0.0 } else { g.wins as f64 / sold as f64 };
    }
    let per_sold = |x: f64| if sold == 0 { 0.0 } else { x / sold as f64 };
    let listings = records.len() as u64;
    LevelSummary {
        bias,
        listings,
        sold,
        unsold_share: if listings == 0 { 0.0 } else { (listings - sold) as f64 / listings as f64 },
        mean_price_to_true: per_sold(ratio),
        mean_abs_price_error: per_sold(error),
        overpayment_rate: per_sold(over as f64),
        groups: out,
        learners: Vec::new(),
    }
}
