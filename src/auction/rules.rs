//! How a listing clears under each rule, from the bids of the bidders that take part.
//!
//! A bid is (bidder, amount, tie-break): the amount is the most the bidder will pay (English,
//! second-price: its valuation capped by its budget) or its sealed bid (first-price: that,
//! shaded). Equal amounts are ordered by the tie-break draw, highest first.

/// One bid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bid {
    pub bidder: usize,
    pub amount: f64,
    pub tie_break: u64,
}

/// Who won and what they paid; no winner when nobody reached the reserve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cleared {
    pub winner: Option<usize>,
    pub price: f64,
}

const UNSOLD: Cleared = Cleared { winner: None, price: 0.0 };

/// The two best bids at or above the reserve, best first.
fn top_two(bids: &[Bid], reserve: f64) -> (Option<Bid>, Option<Bid>) {
    let better = |a: &Bid, b: &Bid| a.amount > b.amount || (a.amount == b.amount && a.tie_break > b.tie_break);
    let (mut first, mut second): (Option<Bid>, Option<Bid>) = (None, None);
    for b in bids.iter().filter(|b| b.amount >= reserve && b.amount.is_finite()) {
        match first {
            Some(f) if !better(b, &f) => {
                if second.is_none_or(|s| better(b, &s)) {
                    second = Some(*b);
                }
            }
            _ => {
                second = first;
                first = Some(*b);
            }
        }
    }
    (first, second)
}

/// Sealed bids, the highest pays its bid.
pub fn first_price(bids: &[Bid], reserve: f64) -> Cleared {
    match top_two(bids, reserve).0 {
        Some(w) => Cleared { winner: Some(w.bidder), price: w.amount },
        None => UNSOLD,
    }
}

/// Sealed bids, the highest pays the second-highest bid (or the reserve when alone above it).
pub fn second_price(bids: &[Bid], reserve: f64) -> Cleared {
    match top_two(bids, reserve) {
        (Some(w), Some(s)) => Cleared { winner: Some(w.bidder), price: s.amount },
        (Some(w), None) => Cleared { winner: Some(w.bidder), price: reserve },
        _ => UNSOLD,
    }
}

/// An ascending clock: the price starts at the reserve and rises by `step`; a bidder stays in
/// while the price is at most its limit. The clock stops at the first price at which at most
/// one bidder is in: that one pays it; when the last two or more left at the same step, the
/// best of them pays the price before. Computed in closed form rather than step by step.
pub fn english(bids: &[Bid], reserve: f64, step: f64) -> Cleared {
    let (first, second) = top_two(bids, reserve);
    let Some(w) = first else { return UNSOLD };
    let Some(s) = second else { return Cleared { winner: Some(w.bidder), price: reserve } };
    if step <= 0.0 || !step.is_finite() {
        return Cleared { winner: Some(w.bidder), price: s.amount };
    }
    // The first clock price above the runner-up's limit.
    let k = ((s.amount - reserve) / step).floor() + 1.0;
    let stop = reserve + k * step;
    if w.amount >= stop {
        Cleared { winner: Some(w.bidder), price: stop }
    } else {
        Cleared { winner: Some(w.bidder), price: reserve + (k - 1.0) * step }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bids(amounts: &[f64]) -> Vec<Bid> {
        amounts.iter().enumerate().map(|(i, &a)| Bid { bidder: i, amount: a, tie_break: i as u64 }).collect()
    }

    /// The clock run step by step, to check the closed form against.
    fn english_by_steps(bids: &[Bid], reserve: f64, step: f64) -> Cleared {
        let mut price = reserve;
        let mut in_: Vec<&Bid> = bids.iter().filter(|b| b.amount >= reserve).collect();
        if in_.is_empty() {
            return UNSOLD;
        }
        loop {
            if in_.len() == 1 {
                return Cleared { winner: Some(in_[0].bidder), price };
            }
            let next = price + step;
            let still: Vec<&Bid> = in_.iter().copied().filter(|b| b.amount >= next).collect();
            if still.is_empty() {
                let best = top_two(&in_.iter().map(|b| **b).collect::<Vec<_>>(), reserve).0.unwrap();
                return Cleared { winner: Some(best.bidder), price };
            }
            in_ = still;
            price = next;
        }
    }

    #[test]
    fn the_three_rules_on_a_small_case() {
        let b = bids(&[100.0, 130.0, 120.0]);
        assert_eq!(first_price(&b, 90.0), Cleared { winner: Some(1), price: 130.0 });
        assert_eq!(second_price(&b, 90.0), Cleared { winner: Some(1), price: 120.0 });
        assert_eq!(english(&b, 90.0, 1.0), Cleared { winner: Some(1), price: 121.0 });
        assert_eq!(second_price(&b, 125.0), Cleared { winner: Some(1), price: 125.0 });
        assert_eq!(english(&b, 200.0, 1.0), UNSOLD);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn english_in_closed_form_equals_the_clock(
            amounts in prop::collection::vec(0.0f64..1_000.0, 1..14),
            reserve in 0.0f64..500.0,
            step in 1.0f64..50.0,
        ) {
            let b = bids(&amounts);
            let fast = english(&b, reserve, step);
            let slow = english_by_steps(&b, reserve, step);
            prop_assert_eq!(fast.winner, slow.winner);
            prop_assert!((fast.price - slow.price).abs() < 1e-6 * step.max(1.0), "{:?} vs {:?}", fast, slow);
        }

        #[test]
        fn english_clears_within_one_step_of_the_runner_up(
            amounts in prop::collection::vec(0.0f64..1_000.0, 2..14),
            step in 0.5f64..20.0,
        ) {
            let b = bids(&amounts);
            let mut sorted = amounts.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let c = english(&b, 0.0, step);
            prop_assert!((c.price - sorted[1]).abs() <= step + 1e-9, "price {} runner-up {}", c.price, sorted[1]);
            prop_assert!(c.price <= sorted[0] + 1e-9);
        }

        #[test]
        fn an_unsold_listing_had_no_bid_at_the_reserve(
            amounts in prop::collection::vec(0.0f64..1_000.0, 1..14),
            reserve in 0.0f64..1_200.0,
        ) {
            let b = bids(&amounts);
            let best = amounts.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            for c in [english(&b, reserve, 5.0), first_price(&b, reserve), second_price(&b, reserve)] {
                prop_assert_eq!(c.winner.is_none(), best < reserve);
                if c.winner.is_some() {
                    prop_assert!(c.price >= reserve - 1e-9);
                }
            }
        }

        /// In a second-price auction no deviation from bidding one's valuation pays more.
        #[test]
        fn truthful_bidding_is_never_beaten_in_second_price(
            values in prop::collection::vec(0.0f64..1_000.0, 2..14),
            me in 0usize..14,
            deviation in 0.0f64..2_000.0,
            reserve in 0.0f64..300.0,
        ) {
            let me = me % values.len();
            let surplus = |bid: f64| {
                let mut b = bids(&values);
                b[me].amount = bid;
                let c = second_price(&b, reserve);
                if c.winner == Some(me) { values[me] - c.price } else { 0.0 }
            };
            prop_assert!(surplus(values[me]) >= surplus(deviation) - 1e-9);
        }
    }
}
