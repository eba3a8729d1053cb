//! [`CellDelta`]: a change to a window's counts per cell, the difference type of the window
//! collection.
//!
//! A window collection whose data were cells and whose differences were counts would carry one
//! update per distinct cell a slide touches: with a 1,000-cell grid and slides of 1,000 values
//! that is about 640 updates entering and 640 leaving per slide, each moved, exchanged, negated
//! and delayed on its own. Here the datum is `()` and the difference is the whole slide's counts,
//! a sparse vector: one update per slide and worker, and the collection at time `j` is still
//! exactly window `j` (the sum of the differences up to `j`). Sparse vectors under addition form
//! an abelian group, which is all differential dataflow asks of a difference.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Semigroup};
use serde::{Deserialize, Serialize};

/// Counts per cell, sorted by cell, with no zero entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellDelta(Vec<(u64, i64)>);

impl CellDelta {
    /// One cell changed by `n`.
    pub fn one(cell: u64, n: i64) -> CellDelta {
        CellDelta(if n == 0 { Vec::new() } else { vec![(cell, n)] })
    }

    /// From (cell, n) pairs in any order; equal cells are added up.
    pub fn from_pairs(mut pairs: Vec<(u64, i64)>) -> CellDelta {
        pairs.sort_unstable_by_key(|&(c, _)| c);
        pairs.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 += later.1;
                true
            } else {
                false
            }
        });
        pairs.retain(|&(_, n)| n != 0);
        CellDelta(pairs)
    }

    /// From pairs already sorted by cell, each cell once, none zero.
    pub fn from_sorted(pairs: Vec<(u64, i64)>) -> CellDelta {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0) && pairs.iter().all(|p| p.1 != 0));
        CellDelta(pairs)
    }

    /// (cell, n) in cell order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.0.iter().copied()
    }

    /// Whether any value enters (some count is positive).
    pub fn adds(&self) -> bool {
        self.0.iter().any(|&(_, n)| n > 0)
    }
}

impl IsZero for CellDelta {
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Semigroup for CellDelta {
    /// Merges the two sorted vectors, dropping cells that cancel.
    fn plus_equals(&mut self, rhs: &Self) {
        if rhs.0.is_empty() {
            return;
        }
        if self.0.is_empty() {
            self.0.clone_from(&rhs.0);
            return;
        }
        let (a, b) = (std::mem::take(&mut self.0), &rhs.0);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (ca, na) = a[i];
            let (cb, nb) = b[j];
            if ca < cb {
                out.push(a[i]);
                i += 1;
            } else if cb < ca {
                out.push(b[j]);
                j += 1;
            } else {
                if na + nb != 0 {
                    out.push((ca, na + nb));
                }
                i += 1;
                j += 1;
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        self.0 = out;
    }
}

impl Monoid for CellDelta {
    fn zero() -> Self {
        CellDelta(Vec::new())
    }
}

impl Abelian for CellDelta {
    fn negate(&mut self) {
        for (_, n) in &mut self.0 {
            *n = -*n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn dense(d: &CellDelta) -> BTreeMap<u64, i64> {
        d.iter().collect()
    }

    #[test]
    fn cancelling_cells_vanish() {
        let mut a = CellDelta::from_pairs(vec![(3, 2), (1, 1), (3, -1)]);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![(1, 1), (3, 1)]);
        let mut b = a.clone();
        b.negate();
        assert!(!b.adds());
        a.plus_equals(&b);
        assert!(a.is_zero());
        assert!(CellDelta::one(7, 0).is_zero());
    }

    proptest! {
        /// Adding deltas is adding their dense vectors, and the result stays sorted and zero-free.
        #[test]
        fn addition_is_elementwise(
            a in prop::collection::vec((0u64..50, -3i64..4), 0..40),
            b in prop::collection::vec((0u64..50, -3i64..4), 0..40),
        ) {
            let (da, db) = (CellDelta::from_pairs(a.clone()), CellDelta::from_pairs(b.clone()));
            let mut sum = da.clone();
            sum.plus_equals(&db);
            let mut expected: BTreeMap<u64, i64> = BTreeMap::new();
            for (c, n) in a.into_iter().chain(b) {
                *expected.entry(c).or_default() += n;
            }
            expected.retain(|_, n| *n != 0);
            prop_assert_eq!(dense(&sum), expected);
            prop_assert!(sum.0.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(sum.0.iter().all(|p| p.1 != 0));
        }
    }
}
