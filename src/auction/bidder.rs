//! Bidders: one per member of each group the file declares, its valuation of a listing (a pure
//! function of what it sees, its settings and the seed), and what it has left to spend.

use super::learner::Bandit;
use super::listing::Listing;
use crate::draws;
use crate::program::{BidderGroup, Persona, PriceExpr};
use serde::{Deserialize, Serialize};

/// One bidder of the market.
#[derive(Clone, Debug)]
pub struct Bidder {
    /// Its position among all bidders, in file order.
    pub index: usize,
    /// The group it belongs to, in file order.
    pub group: usize,
    pub persona: Persona,
    pub max: PriceExpr,
    pub noise: f64,
    pub budget: Option<f64>,
    pub wins: Option<u32>,
    pub shading: Vec<f64>,
}

/// Every bidder of the groups, in file order.
pub fn bidders(groups: &[BidderGroup]) -> Vec<Bidder> {
    let mut out = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for _ in 0..group.count {
            out.push(Bidder {
                index: out.len(),
                group: g,
                persona: group.persona,
                max: group.max.clone(),
                noise: group.noise,
                budget: group.budget,
                wins: group.wins,
                shading: group.shading.clone(),
            });
        }
    }
    out
}

impl Bidder {
    /// The most this bidder would pay for the listing as it sees it: its `max:` price, moved
    /// by its noise (a normal draw for this listing and bidder), never below 0.
    pub fn valuation(&self, seen: &Listing, seed: u64) -> f64 {
        let base = seen.price(&self.max);
        let noisy = if self.noise > 0.0 {
            base * (1.0 + self.noise * draws::normal(seed, seen.id, self.index as u64))
        } else {
            base
        };
        if noisy.is_finite() {
            noisy.max(0.0)
        } else {
            0.0
        }
    }
}

/// What a bidder has left, and what its learner knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BidderState {
    /// Capital left (infinite without a budget).
    pub budget_left: f64,
    /// Houses bought so far.
    pub won: u32,
    /// Houses it may still buy (`u32::MAX` without a limit).
    pub wins_left: u32,
    /// The shading bandit of a learner.
    pub bandit: Option<Bandit>,
}

impl BidderState {
    pub fn new(b: &Bidder) -> BidderState {
        BidderState {
            budget_left: b.budget.unwrap_or(f64::INFINITY),
            won: 0,
            wins_left: b.wins.unwrap_or(u32::MAX),
            bandit: (b.persona == Persona::Learner).then(|| Bandit::new(b.shading.len())),
        }
    }

    /// Whether it takes part at all.
    pub fn active(&self) -> bool {
        self.wins_left > 0 && self.budget_left > 0.0
    }

    /// The shading level it uses now: its own, or its learner's choice.
    pub fn shading_arm(&self) -> usize {
        self.bandit.as_ref().map_or(0, Bandit::choose)
    }
}
