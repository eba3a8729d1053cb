//! What is sold: one house with its true price (the label) and what the model says of it, and
//! the prices bidders compute from that.

use crate::program::{PriceExpr, PriceVar};
use serde::{Deserialize, Serialize};

/// One listing as the market sees it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// The event id of the house.
    pub id: u64,
    /// What the house is worth (the label); bidders never see it, their surplus is measured by it.
    pub true_price: f64,
    /// The model's estimate.
    pub estimate: f64,
    /// The lower and upper ends of the model's interval (the lowest and highest quantile models;
    /// the estimate itself when the model has no quantiles).
    pub lower: f64,
    pub upper: f64,
}

impl Listing {
    /// The listing as bidders see it when the model is off by `bias` (+0.05 = 5% high): the
    /// estimate and the interval scale together; the true price does not move.
    pub fn biased(&self, bias: f64) -> Listing {
        let k = 1.0 + bias;
        Listing { estimate: self.estimate * k, lower: self.lower * k, upper: self.upper * k, ..*self }
    }

    /// A price written in the file (`estimate * 0.95`, `min(p90, estimate)`) for this listing.
    pub fn price(&self, e: &PriceExpr) -> f64 {
        match e {
            PriceExpr::Const(v) => *v,
            PriceExpr::Var(PriceVar::Estimate) => self.estimate,
            PriceExpr::Var(PriceVar::Lower) => self.lower,
            PriceExpr::Var(PriceVar::Upper) => self.upper,
            PriceExpr::Neg(a) => -self.price(a),
            PriceExpr::Add(a, b) => self.price(a) + self.price(b),
            PriceExpr::Sub(a, b) => self.price(a) - self.price(b),
            PriceExpr::Mul(a, b) => self.price(a) * self.price(b),
            PriceExpr::Div(a, b) => self.price(a) / self.price(b),
            PriceExpr::Min(xs) => xs.iter().map(|x| self.price(x)).fold(f64::INFINITY, f64::min),
            PriceExpr::Max(xs) => xs.iter().map(|x| self.price(x)).fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_the_listing_and_bias_moves_what_bidders_see() {
        let l = Listing { id: 1, true_price: 100.0, estimate: 110.0, lower: 90.0, upper: 130.0 };
        let e = PriceExpr::Min(vec![
            PriceExpr::Mul(Box::new(PriceExpr::Var(PriceVar::Estimate)), Box::new(PriceExpr::Const(1.1))),
            PriceExpr::Var(PriceVar::Upper),
        ]);
        assert!((l.price(&e) - 121.0).abs() < 1e-9);
        let b = l.biased(-0.1);
        assert_eq!((b.true_price, b.estimate, b.lower, b.upper), (100.0, 99.0, 81.0, 117.0));
    }
}
