//! [`CellDelta`]: a change to a window's counts per cell, the difference type of the window
//! collection.
//!
//! A window collection whose data were cells and whose differences were counts would carry one
//! update per distinct cell a slide touches: with a 1,000-cell grid and slides of 1,000 values
//! that is about 640 updates entering and 640 leaving per slide, each moved, exchanged, negated
//! and delayed on its own. Here the datum is `()` and the difference is the whole slide's counts:
//! one update per slide and worker, and the collection at time `j` is still exactly window `j`
//! (the sum of the differences up to `j`). Vectors of counts under addition form an abelian
//! group, which is all differential dataflow asks of a difference.
//!
//! A slide that touches a good share of the cells is a dense vector, one count per cell: it is
//! smaller than the (cell, count) pairs, and adding, negating and applying it are straight loops
//! over memory. A slide that touches few cells (short slides, the exact KS statistic's many
//! cells, a late value) is sparse.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Semigroup};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// Counts per cell. Equality, order and hashing are those of the nonzero (cell, count) pairs in
/// cell order, whichever form holds them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CellDelta {
    /// (cell, count) sorted by cell, with no zero count.
    Sparse(Vec<(u64, i64)>),
    /// The count of cell `c` at index `c`; cells past the end are zero.
    Dense(Vec<i64>),
}

/// Below one touched cell in this many, a slide's counts are sent as pairs.
const DENSE_SHARE: usize = 4;

impl Default for CellDelta {
    fn default() -> Self {
        CellDelta::Sparse(Vec::new())
    }
}

impl CellDelta {
    /// One cell changed by `n`.
    pub fn one(cell: u64, n: i64) -> CellDelta {
        CellDelta::Sparse(if n == 0 { Vec::new() } else { vec![(cell, n)] })
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
        CellDelta::Sparse(pairs)
    }

    /// From pairs already sorted by cell, each cell once, none zero.
    pub fn from_sorted(pairs: Vec<(u64, i64)>) -> CellDelta {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0) && pairs.iter().all(|p| p.1 != 0));
        CellDelta::Sparse(pairs)
    }

    /// From counts per cell (cell `c` at index `c`), in whichever form is smaller.
    pub fn from_counts(counts: &[u32]) -> CellDelta {
        let touched = counts.iter().filter(|&&n| n > 0).count();
        if touched * DENSE_SHARE >= counts.len() {
            CellDelta::Dense(counts.iter().map(|&n| i64::from(n)).collect())
        } else {
            let nonzero = counts.iter().enumerate().filter(|(_, &n)| n > 0);
            CellDelta::Sparse(nonzero.map(|(c, &n)| (c as u64, i64::from(n))).collect())
        }
    }

    /// (cell, n) in cell order, nonzero only.
    pub fn iter(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        let (sparse, dense) = match self {
            CellDelta::Sparse(pairs) => (pairs.as_slice(), &[][..]),
            CellDelta::Dense(counts) => (&[][..], counts.as_slice()),
        };
        let dense = dense.iter().enumerate().filter(|(_, &n)| n != 0).map(|(c, &n)| (c as u64, n));
        sparse.iter().copied().chain(dense)
    }

    /// Whether any value enters (some count is positive).
    pub fn adds(&self) -> bool {
        match self {
            CellDelta::Sparse(pairs) => pairs.iter().any(|&(_, n)| n > 0),
            CellDelta::Dense(counts) => counts.iter().any(|&n| n > 0),
        }
    }
}

impl PartialEq for CellDelta {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for CellDelta {}

impl PartialOrd for CellDelta {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CellDelta {
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl Hash for CellDelta {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for pair in self.iter() {
            pair.hash(state);
        }
    }
}

impl IsZero for CellDelta {
    fn is_zero(&self) -> bool {
        match self {
            CellDelta::Sparse(pairs) => pairs.is_empty(),
            CellDelta::Dense(counts) => counts.iter().all(|&n| n == 0),
        }
    }
}

impl Semigroup for CellDelta {
    /// Adds cell by cell: dense plus anything stays dense; two sparse vectors are merged,
    /// dropping cells that cancel.
    fn plus_equals(&mut self, rhs: &Self) {
        match (&mut *self, rhs) {
            (_, CellDelta::Sparse(b)) if b.is_empty() => {}
            (CellDelta::Dense(a), CellDelta::Dense(b)) => {
                if a.len() < b.len() {
                    a.resize(b.len(), 0);
                }
                for (x, &y) in a.iter_mut().zip(b) {
                    *x += y;
                }
            }
            (CellDelta::Dense(a), CellDelta::Sparse(b)) => {
                for &(c, n) in b {
                    let c = c as usize;
                    if c >= a.len() {
                        a.resize(c + 1, 0);
                    }
                    a[c] += n;
                }
            }
            (CellDelta::Sparse(a), CellDelta::Dense(b)) => {
                let pairs = std::mem::take(a);
                let mut dense = CellDelta::Dense(b.clone());
                dense.plus_equals(&CellDelta::Sparse(pairs));
                *self = dense;
            }
            (CellDelta::Sparse(a), CellDelta::Sparse(b)) => {
                if a.is_empty() {
                    a.clone_from(b);
                    return;
                }
                let a_pairs = std::mem::take(a);
                let mut out = Vec::with_capacity(a_pairs.len() + b.len());
                let (mut i, mut j) = (0, 0);
                while i < a_pairs.len() && j < b.len() {
                    let (ca, na) = a_pairs[i];
                    let (cb, nb) = b[j];
                    if ca < cb {
                        out.push(a_pairs[i]);
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
                out.extend_from_slice(&a_pairs[i..]);
                out.extend_from_slice(&b[j..]);
                *a = out;
            }
        }
    }
}

impl Monoid for CellDelta {
    fn zero() -> Self {
        CellDelta::Sparse(Vec::new())
    }
}

impl Abelian for CellDelta {
    fn negate(&mut self) {
        match self {
            CellDelta::Sparse(pairs) => pairs.iter_mut().for_each(|(_, n)| *n = -*n),
            CellDelta::Dense(counts) => counts.iter_mut().for_each(|n| *n = -*n),
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

    /// The same counts in the dense form, over `len` cells.
    fn densified(d: &CellDelta, len: usize) -> CellDelta {
        let mut counts = vec![0; len];
        for (c, n) in d.iter() {
            counts[c as usize] += n;
        }
        CellDelta::Dense(counts)
    }

    #[test]
    fn a_slide_is_dense_when_it_touches_many_cells() {
        let many = CellDelta::from_counts(&[1, 0, 2, 0, 0, 0, 0, 0]);
        assert!(matches!(many, CellDelta::Dense(_)));
        let few = CellDelta::from_counts(&[0, 0, 3, 0, 0, 0, 0, 0, 0]);
        assert_eq!(few, CellDelta::from_sorted(vec![(2, 3)]));
        assert!(matches!(few, CellDelta::Sparse(_)));
        assert_eq!(many, CellDelta::from_sorted(vec![(0, 1), (2, 2)]));
    }

    proptest! {
        /// Adding deltas is adding their dense vectors, in any mix of forms; sparse sums stay
        /// sorted and zero-free, and equality sees through the form.
        #[test]
        fn addition_is_elementwise(
            a in prop::collection::vec((0u64..50, -3i64..4), 0..40),
            b in prop::collection::vec((0u64..50, -3i64..4), 0..40),
            a_dense in any::<bool>(),
            b_dense in any::<bool>(),
            len in 53usize..60,
        ) {
            let (mut da, mut db) = (CellDelta::from_pairs(a.clone()), CellDelta::from_pairs(b.clone()));
            prop_assert_eq!(&densified(&da, len), &da);
            if a_dense { da = densified(&da, len) }
            if b_dense { db = densified(&db, len - 3) }
            let mut sum = da.clone();
            sum.plus_equals(&db);
            let mut expected: BTreeMap<u64, i64> = BTreeMap::new();
            for (c, n) in a.into_iter().chain(b) {
                *expected.entry(c).or_default() += n;
            }
            expected.retain(|_, n| *n != 0);
            prop_assert_eq!(sum.is_zero(), expected.is_empty());
            prop_assert_eq!(dense(&sum), expected);
            if let CellDelta::Sparse(pairs) = &sum {
                prop_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
                prop_assert!(pairs.iter().all(|p| p.1 != 0));
            }
            let mut negated = sum.clone();
            negated.negate();
            negated.plus_equals(&sum);
            prop_assert!(negated.is_zero());
        }
    }
}
