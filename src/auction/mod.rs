//! The auction engine: listings with their true prices and the model's estimates and
//! intervals, bidder personas valuing them, English, first-price and second-price rules, model
//! bias (one level or a sweep), markets run across timely workers, and the reports.
//!
//! | file | job |
//! |---|---|
//! | `listing.rs` | a listing, model bias, prices written in the file |
//! | `bidder.rs` | bidders, valuations, what they have left |
//! | `learner.rs` | the learning bidder's shading bandit |
//! | `rules.rs` | clearing under each rule |
//! | `market.rs` | rounds of auctions across workers, deterministic |
//! | `summary.rs` | per bias level: prices, unsold, overpayment, surplus by group |
//! | `load.rs` | listings from a source and the model's production version |
//! | `report.rs`, `html.rs` | report.json, report.md, report.html |

mod bidder;
mod html;
mod learner;
mod listing;
mod load;
pub mod market;
mod report;
pub mod rules;
mod summary;

pub use bidder::{bidders, Bidder, BidderState};
pub use listing::Listing;
pub use load::load_listings;
pub use market::{AuctionRecord, BidRecord, Market};
pub use report::{outcomes_json, write_reports};
pub use summary::{GroupSummary, LearnerComparison, LevelSummary};

use crate::program::Auction;
use std::sync::Arc;
use std::time::Instant;

/// One bias level's market.
pub struct LevelRun {
    pub bias: f64,
    pub records: Vec<AuctionRecord>,
    pub states: Vec<BidderState>,
    pub summary: LevelSummary,
    pub seconds: f64,
}

/// Every bias level of an auction declaration.
pub struct AuctionRun {
    pub auction: Auction,
    pub bidders: Vec<Bidder>,
    pub listings: usize,
    pub workers: usize,
    pub levels: Vec<LevelRun>,
}

/// Runs the declared auction on `listings` at each bias level, on `workers` workers.
pub fn run(auction: &Auction, listings: Vec<Listing>, workers: usize) -> Result<AuctionRun, String> {
    let bidders = bidders(&auction.bidders);
    let listings = Arc::new(listings);
    let mut levels = Vec::new();
    for &bias in &auction.biases {
        let market = Arc::new(Market {
            listings: listings.clone(),
            bidders: bidders.clone(),
            rule: auction.rule.clone(),
            bias,
            seed: auction.seed,
        });
        let started = Instant::now();
        let run = market::run(market, workers)?;
        let seconds = started.elapsed().as_secs_f64();
        let mut summary = summary::summarize(bias, &run.records, &bidders, &auction.bidders);
        summary.learners = learner_comparison(auction, &listings, bias, workers, &summary)?;
        levels.push(LevelRun { bias, records: run.records, states: run.states, summary, seconds });
    }
    Ok(AuctionRun { auction: auction.clone(), bidders, listings: listings.len(), workers, levels })
}

/// For each learner group: the same market once per shading level, with the group keeping
/// that level throughout, and the surplus it made there.
fn learner_comparison(
    auction: &Auction,
    listings: &Arc<Vec<Listing>>,
    bias: f64,
    workers: usize,
    learned: &LevelSummary,
) -> Result<Vec<LearnerComparison>, String> {
    let mut out = Vec::new();
    for (g, group) in auction.bidders.iter().enumerate() {
        if group.persona != crate::program::Persona::Learner || group.shading.len() < 2 {
            continue;
        }
        let mut fixed = Vec::new();
        for &level in &group.shading {
            let mut groups = auction.bidders.clone();
            groups[g].shading = vec![level];
            let group_bidders = bidders(&groups);
            let market = Arc::new(Market {
                listings: listings.clone(),
                bidders: group_bidders.clone(),
                rule: auction.rule.clone(),
                bias,
                seed: auction.seed,
            });
            let run = market::run(market, workers)?;
            fixed.push((level, summary::summarize(bias, &run.records, &group_bidders, &groups).groups[g].surplus));
        }
        out.push(LearnerComparison {
            label: learned.groups[g].label.clone(),
            learned_surplus: learned.groups[g].surplus,
            fixed,
        });
    }
    Ok(out)
}
