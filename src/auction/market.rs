//! One market: the listings sold one after another, in rounds, across timely workers.
//!
//! Bidders carry state from auction to auction (capital left, houses bought, a learner's
//! bandit), so the order of auctions matters. A round is the next `ROUND` listings in listing
//! order; every worker reads the bidders' states as of the round's start, runs the auctions of
//! its listings (position % workers == its index) against them, and sends the outcomes to
//! worker 0. Worker 0 applies the round in listing order: an auction in which a bidder took
//! part whose state changed earlier in the same round (it won and spent) is brought up to date
//! or run again against the current state, and learners learn from the round's surpluses at its
//! end. The next round starts once the probe says this one is applied, so the result is the
//! same for any number of workers. (The states are shared through memory: the workers of one
//! process.)

use super::bidder::{Bidder, BidderState};
use super::listing::Listing;
use super::rules::{self, Bid};
use crate::draws;
use crate::program::{AuctionRule, Persona};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, RwLock};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator as _;
use timely::dataflow::operators::{Exchange as _, Input as _, Probe as _};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Listings per round when a learner bids: it learns between rounds, so rounds are short.
pub const LEARNING_ROUND: usize = 16;
/// Listings per round otherwise: rounds only share budgets and houses bought, and fewer
/// rounds mean fewer waits for the slowest worker.
pub const ROUND: usize = 1024;
/// Tie-break draws use this purpose, apart from the valuation noise.
const TIE_BREAK: u64 = 3;

/// One bid as the report keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BidRecord {
    pub bidder: usize,
    /// What the bidder thinks the house is worth.
    pub valuation: f64,
    /// Its bid: the most it goes to (English), or its sealed bid.
    pub amount: f64,
    /// How far below its limit it bid (first-price only).
    pub shading: f64,
    /// The learner's shading level, by index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<usize>,
}

/// One auction: the listing as bidders saw it, the bids and the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuctionRecord {
    /// Position in listing order.
    pub position: usize,
    pub listing: u64,
    pub true_price: f64,
    /// The estimate and interval as the bidders saw them (bias applied).
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    pub reserve: f64,
    pub bids: Vec<BidRecord>,
    pub winner: Option<usize>,
    /// What the winner paid (0 when unsold).
    pub price: f64,
}

/// What one market needs, shared by its workers.
pub struct Market {
    /// Shared by every market of an auction (bias levels, learner comparisons).
    pub listings: Arc<Vec<Listing>>,
    pub bidders: Vec<Bidder>,
    pub rule: AuctionRule,
    pub bias: f64,
    pub seed: u64,
}

/// The outcome of a market: every auction in listing order and the bidders' final states.
pub struct MarketRun {
    pub records: Vec<AuctionRecord>,
    pub states: Vec<BidderState>,
}

impl Market {
    /// Runs one auction against the bidders' states.
    pub fn auction(&self, position: usize, states: &[BidderState]) -> AuctionRecord {
        let seen = self.listings[position].biased(self.bias);
        let (reserve_expr, first_price) = match &self.rule {
            AuctionRule::English { reserve, .. } => (reserve, false),
            AuctionRule::FirstPrice { reserve } => (reserve, true),
            AuctionRule::SecondPrice { reserve } => (reserve, false),
        };
        let reserve = seen.price(reserve_expr).max(0.0);
        let mut bids = Vec::with_capacity(self.bidders.len());
        let mut records = Vec::with_capacity(self.bidders.len());
        for b in &self.bidders {
            let st = &states[b.index];
            if !st.active() {
                continue;
            }
            let valuation = b.valuation(&seen, self.seed);
            let limit = valuation.min(st.budget_left);
            let (amount, shading, arm) = if first_price {
                let arm = st.shading_arm();
                let s = b.shading.get(arm).copied().unwrap_or(0.0);
                (limit * (1.0 - s), s, (b.persona == Persona::Learner).then_some(arm))
            } else {
                (limit, 0.0, None)
            };
            bids.push(Bid {
                bidder: b.index,
                amount,
                tie_break: draws::draw(self.seed, seen.id, b.index as u64, TIE_BREAK),
            });
            records.push(BidRecord { bidder: b.index, valuation, amount, shading, arm });
        }
        let cleared = match &self.rule {
            AuctionRule::English { increment, .. } => {
                rules::english(&bids, reserve, increment * seen.estimate.abs().max(1.0))
            }
            AuctionRule::FirstPrice { .. } => rules::first_price(&bids, reserve),
            AuctionRule::SecondPrice { .. } => rules::second_price(&bids, reserve),
        };
        AuctionRecord {
            position,
            listing: seen.id,
            true_price: seen.true_price,
            estimate: seen.estimate,
            lower: seen.lower,
            upper: seen.upper,
            reserve,
            bids: records,
            winner: cleared.winner,
            price: if cleared.winner.is_some() { cleared.price } else { 0.0 },
        }
    }

    /// Applies one round's outcomes, in listing order, to the states; returns them, with the
    /// auctions whose bidders' states moved within the round run again.
    fn apply_round(&self, mut round: Vec<AuctionRecord>, states: &mut [BidderState]) -> Vec<AuctionRecord> {
        round.sort_by_key(|r| r.position);
        let mut moved = vec![false; states.len()];
        let mut out = Vec::with_capacity(round.len());
        for record in round {
            let record =
                if record.bids.iter().any(|b| moved[b.bidder]) { self.refresh(record, states) } else { record };
            if let Some(w) = record.winner {
                let st = &mut states[w];
                st.budget_left -= record.price;
                st.won += 1;
                st.wins_left -= 1;
                moved[w] = true;
            }
            out.push(record);
        }
        // Learners learn from the whole round at its end, so every auction of a round saw the same choice.
        for record in &out {
            for bid in &record.bids {
                let (Some(arm), Some(bandit)) = (bid.arm, states[bid.bidder].bandit.as_mut()) else { continue };
                let surplus = if record.winner == Some(bid.bidder) { record.true_price - record.price } else { 0.0 };
                bandit.reward(arm, surplus / record.estimate.abs().max(1.0));
            }
        }
        out
    }
}

impl Market {
    /// An auction some of whose bidders bought earlier in the same round: their bids are
    /// brought up to date (a bidder with no houses or money left drops out, a smaller budget
    /// lowers a limit). Only when one of them held one of the two best bids, which decide the
    /// outcome under every rule, is the auction run again.
    fn refresh(&self, mut record: AuctionRecord, states: &[BidderState]) -> AuctionRecord {
        let mut ranked: Vec<(f64, u64, usize)> = record
            .bids
            .iter()
            .map(|b| (b.amount, draws::draw(self.seed, record.listing, b.bidder as u64, TIE_BREAK), b.bidder))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        let deciding: Vec<usize> = ranked.iter().take(2).map(|r| r.2).collect();
        let mut rerun = false;
        record.bids.retain_mut(|bid| {
            let st = &states[bid.bidder];
            if !st.active() {
                rerun |= deciding.contains(&bid.bidder);
                return false;
            }
            let limit = bid.valuation.min(st.budget_left);
            let amount = limit * (1.0 - bid.shading);
            if amount != bid.amount {
                rerun |= deciding.contains(&bid.bidder);
                bid.amount = amount;
            }
            true
        });
        if rerun {
            self.auction(record.position, states)
        } else {
            record
        }
    }
}

/// Runs a market on `workers` timely workers.
pub fn run(market: Arc<Market>, workers: usize) -> Result<MarketRun, String> {
    let result: Arc<Mutex<Option<MarketRun>>> = Arc::new(Mutex::new(None));
    let out = result.clone();
    // The bidders' states between rounds: written by worker 0 as it applies a round, read by
    // every worker at the start of the next (after the probe says the round is applied).
    let shared = Arc::new(RwLock::new(market.bidders.iter().map(BidderState::new).collect::<Vec<_>>()));
    let guards = timely::execute(timely::Config::process(workers.max(1)), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let applied = Rc::new(RefCell::new(Vec::new()));
        let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<AuctionRecord>>>::new();
        let probe = ProbeHandle::new();
        worker.dataflow::<u64, _, _>(|scope| {
            let (market, shared, applied) = (market.clone(), shared.clone(), applied.clone());
            scope
                .input_from(&mut input)
                .exchange(|_| 0)
                .unary_frontier::<CapacityContainerBuilder<Vec<u64>>, _, _, _>(Pipeline, "ApplyRound", move |_, _| {
                    let mut pending = BTreeMap::new();
                    move |(input, frontier), output| {
                        input.for_each(|cap, data| {
                            let Some(&time) = cap.least() else { return };
                            // The retained capability holds the probe back until the round is applied.
                            let entry = pending.entry(time).or_insert_with(|| (cap.delayed(&time, 0), Vec::new()));
                            entry.1.append(data);
                        });
                        while let Some(entry) = pending.first_entry() {
                            if frontier.less_equal(entry.key()) {
                                break;
                            }
                            let (cap, round) = entry.remove();
                            let mut states = shared.write().unwrap_or_else(|p| p.into_inner());
                            let done = market.apply_round(round, &mut states);
                            drop(states);
                            applied.borrow_mut().extend(done);
                            output.session(&cap).give(*cap.time());
                        }
                    }
                })
                .probe_with(&probe);
        });
        let n = market.listings.len();
        let size = if market.bidders.iter().any(|b| b.persona == Persona::Learner) { LEARNING_ROUND } else { ROUND };
        for (round, start) in (0..n).step_by(size).enumerate() {
            {
                let snapshot = shared.read().unwrap_or_else(|p| p.into_inner()).clone();
                for position in (start..(start + size).min(n)).filter(|p| p % peers == index) {
                    input.send(market.auction(position, &snapshot));
                }
            }
            let next = round as u64 + 1;
            input.advance_to(next);
            while probe.less_than(&next) {
                worker.step();
            }
        }
        input.close();
        while worker.step() {}
        if index == 0 {
            let records = std::mem::take(&mut *applied.borrow_mut());
            let final_states = shared.read().unwrap_or_else(|p| p.into_inner()).clone();
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(MarketRun { records, states: final_states });
        }
    })?;
    for r in guards.join() {
        r?;
    }
    let run = result.lock().unwrap_or_else(|p| p.into_inner()).take();
    run.ok_or_else(|| "the market's first worker returned no result".to_string())
}
