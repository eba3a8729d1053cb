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

/// Counts per cell, and how many values entered with them. Equality, order and hashing are
/// those of the nonzero (cell, count) pairs in cell order and of that number, whichever form
/// holds the counts.
///
/// The number entered tells the windows that took values from those that only lost some (the
/// retractions that drain the last windows when the input ends): a slide's update is its own
/// counts plus the negated counts of the slide that leaves at the same window, and those may
/// cancel or leave every count negative. It is a second coordinate of the group, added like
/// the counts: what leaves is `(−counts, 0)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellDelta {
    counts: Counts,
    entered: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Counts {
    /// (cell, count) sorted by cell, with no zero count.
    Sparse(Vec<(u64, i64)>),
    /// The count of cell `c` at index `c`; cells past the end are zero. (A slide's counts fit:
    /// larger ones travel as pairs.)
    Dense(Vec<DenseCount>),
}

/// A count of the dense form: 16 bits, as a slide rarely puts more than 32,767 values in one
/// cell, and half the bytes of 32 to write, send between workers and add. Larger counts travel
/// as pairs.
pub type DenseCount = i16;

/// Below one touched cell in this many, a slide's counts are sent as pairs.
const DENSE_SHARE: usize = 4;

impl Default for CellDelta {
    fn default() -> Self {
        CellDelta::zero()
    }
}

impl CellDelta {
    fn entering(counts: Counts) -> CellDelta {
        let entered = match &counts {
            Counts::Sparse(pairs) => pairs.iter().map(|&(_, n)| n.max(0)).sum(),
            Counts::Dense(dense) => dense.iter().map(|&n| i64::from(n.max(0))).sum(),
        };
        CellDelta { counts, entered }
    }

    /// One cell changed by `n`: `n` values entering, or (negative) leaving.
    pub fn one(cell: u64, n: i64) -> CellDelta {
        CellDelta::entering(Counts::Sparse(if n == 0 { Vec::new() } else { vec![(cell, n)] }))
    }

    /// From (cell, n) pairs in any order; equal cells are added up. Positive counts entered.
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
        CellDelta::entering(Counts::Sparse(pairs))
    }

    /// From pairs already sorted by cell, each cell once, none zero. Positive counts entered.
    pub fn from_sorted(pairs: Vec<(u64, i64)>) -> CellDelta {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0) && pairs.iter().all(|p| p.1 != 0));
        CellDelta::entering(Counts::Sparse(pairs))
    }

    /// From counts per cell (cell `c` at index `c`), dense. Positive counts entered.
    pub fn dense(counts: Vec<DenseCount>) -> CellDelta {
        CellDelta::entering(Counts::Dense(counts))
    }

    /// The values of a slide, counted per cell (cell `c` at index `c`), in whichever form is
    /// smaller.
    pub fn from_counts(counts: &[u32]) -> CellDelta {
        CellDelta::slide::<u32, u32>(counts, None)
    }

    /// One window's update from counts per cell: the slide that enters it, minus the slide
    /// that leaves it (of the same length), in whichever form is smaller; the entering values
    /// are the ones that entered.
    pub fn slide<E: Copy + Into<u32>, L: Copy + Into<u32>>(entering: &[E], leaving: Option<&[L]>) -> CellDelta {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { CellDelta::slide_avx2(entering, leaving) };
        }
        CellDelta::slide_portable(entering, leaving)
    }

    /// [`Self::slide_portable`] compiled for AVX2 (its loops then take 8 to 16 cells at a time).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn slide_avx2<E: Copy + Into<u32>, L: Copy + Into<u32>>(entering: &[E], leaving: Option<&[L]>) -> CellDelta {
        CellDelta::slide_portable(entering, leaving)
    }

    #[inline(always)]
    fn slide_portable<E: Copy + Into<u32>, L: Copy + Into<u32>>(entering: &[E], leaving: Option<&[L]>) -> CellDelta {
        let leaving = leaving.unwrap_or(&[]);
        assert!(leaving.is_empty() || leaving.len() == entering.len(), "slides of one window's cells");
        // One pass for the choice: cells touched, the values that entered, and whether every
        // count fits 31 bits (their OR does).
        let (mut touched, mut entered, mut high) = (0usize, 0u64, 0u32);
        for &n in entering {
            let n: u32 = n.into();
            touched += usize::from(n > 0);
            entered += u64::from(n);
            high |= n;
        }
        for &n in leaving {
            let n: u32 = n.into();
            touched += usize::from(n > 0);
            high |= n;
        }
        let dense = touched * DENSE_SHARE >= entering.len() && high <= DenseCount::MAX as u32;
        let counts = match (dense, leaving.is_empty()) {
            (true, true) => Counts::Dense(entering.iter().map(|&n| n.into() as DenseCount).collect()),
            (true, false) => Counts::Dense(
                entering.iter().zip(leaving).map(|(&e, &l)| e.into() as DenseCount - l.into() as DenseCount).collect(),
            ),
            (false, _) => {
                let at = |c: usize| i64::from(entering[c].into()) - leaving.get(c).map_or(0, |&l| i64::from(l.into()));
                Counts::Sparse((0..entering.len()).map(|c| (c as u64, at(c))).filter(|&(_, n)| n != 0).collect())
            }
        };
        CellDelta { counts, entered: entered as i64 }
    }

    /// A slide's counts per cell leaving, nothing entering: built in the form
    /// [`slide`](Self::slide) chooses and negated in place.
    pub fn leaving_counts<C: Copy + Into<u32>>(counts: &[C]) -> CellDelta {
        let mut delta = CellDelta::slide::<C, u32>(counts, None);
        delta.counts.negate();
        delta.entered = 0;
        delta
    }

    /// The same values leaving: the counts negated, nothing entering.
    pub fn leaving(&self) -> CellDelta {
        let mut counts = self.counts.clone();
        counts.negate();
        CellDelta { counts, entered: 0 }
    }

    /// (cell, n) in cell order, nonzero only.
    pub fn iter(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        let (sparse, dense) = match &self.counts {
            Counts::Sparse(pairs) => (pairs.as_slice(), &[][..]),
            Counts::Dense(counts) => (&[][..], counts.as_slice()),
        };
        let dense = dense.iter().enumerate().filter(|(_, &n)| n != 0).map(|(c, &n)| (c as u64, i64::from(n)));
        sparse.iter().copied().chain(dense)
    }

    /// The counts, if they are dense (cell `c` at index `c`).
    pub fn as_dense(&self) -> Option<&[DenseCount]> {
        match &self.counts {
            Counts::Dense(counts) => Some(counts),
            Counts::Sparse(_) => None,
        }
    }

    /// Whether values entered with these counts.
    pub fn adds(&self) -> bool {
        self.entered > 0
    }
}

impl Counts {
    /// The same counts as pairs.
    fn to_sparse(&self) -> Counts {
        match self {
            Counts::Sparse(pairs) => Counts::Sparse(pairs.clone()),
            Counts::Dense(counts) => Counts::Sparse(
                counts.iter().enumerate().filter(|(_, &n)| n != 0).map(|(c, &n)| (c as u64, i64::from(n))).collect(),
            ),
        }
    }

    fn negate(&mut self) {
        match self {
            Counts::Sparse(pairs) => pairs.iter_mut().for_each(|(_, n)| *n = -*n),
            Counts::Dense(counts) => counts.iter_mut().for_each(|n| *n = -*n),
        }
    }

    fn is_zero(&self) -> bool {
        match self {
            Counts::Sparse(pairs) => pairs.is_empty(),
            Counts::Dense(counts) => counts.iter().all(|&n| n == 0),
        }
    }

    /// Adds cell by cell: dense plus anything stays dense; two sparse vectors are merged,
    /// dropping cells that cancel.
    fn plus_equals(&mut self, rhs: &Counts) {
        match (&mut *self, rhs) {
            (_, Counts::Sparse(b)) if b.is_empty() => {}
            (Counts::Dense(a), Counts::Dense(b)) => {
                if a.len() < b.len() {
                    a.resize(b.len(), 0);
                }
                let mut overflow = false;
                for (x, &y) in a.iter_mut().zip(b) {
                    let (sum, over) = x.overflowing_add(y);
                    *x = sum;
                    overflow |= over;
                }
                if overflow {
                    // Undo, and add as pairs of 64-bit counts instead.
                    for (x, &y) in a.iter_mut().zip(b) {
                        *x = x.wrapping_sub(y);
                    }
                    let mut wide = self.to_sparse();
                    wide.plus_equals(&Counts::Dense(b.clone()).to_sparse());
                    *self = wide;
                }
            }
            (Counts::Dense(a), Counts::Sparse(b)) => {
                let fits = |&(c, n): &(u64, i64)| {
                    let sum = a.get(c as usize).map_or(0, |&x| i64::from(x)) + n;
                    c < 1 << 32 && DenseCount::try_from(sum).is_ok()
                };
                if b.iter().all(fits) {
                    for &(c, n) in b {
                        let c = c as usize;
                        if c >= a.len() {
                            a.resize(c + 1, 0);
                        }
                        a[c] = (i64::from(a[c]) + n) as DenseCount;
                    }
                } else {
                    let mut wide = self.to_sparse();
                    wide.plus_equals(rhs);
                    *self = wide;
                }
            }
            (Counts::Sparse(_), Counts::Dense(_)) => {
                let wide = rhs.to_sparse();
                self.plus_equals(&wide);
            }
            (Counts::Sparse(a), Counts::Sparse(b)) => {
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

impl PartialEq for CellDelta {
    fn eq(&self, other: &Self) -> bool {
        self.entered == other.entered && self.iter().eq(other.iter())
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
        self.iter().cmp(other.iter()).then(self.entered.cmp(&other.entered))
    }
}

impl Hash for CellDelta {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for pair in self.iter() {
            pair.hash(state);
        }
        self.entered.hash(state);
    }
}

impl IsZero for CellDelta {
    fn is_zero(&self) -> bool {
        self.entered == 0 && self.counts.is_zero()
    }
}

impl Semigroup for CellDelta {
    fn plus_equals(&mut self, rhs: &Self) {
        self.counts.plus_equals(&rhs.counts);
        self.entered += rhs.entered;
    }
}

impl Monoid for CellDelta {
    fn zero() -> Self {
        CellDelta { counts: Counts::Sparse(Vec::new()), entered: 0 }
    }
}

impl Abelian for CellDelta {
    fn negate(&mut self) {
        self.counts.negate();
        self.entered = -self.entered;
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

    #[test]
    fn a_slide_with_the_one_it_replaces_still_says_values_entered() {
        let old = CellDelta::from_pairs(vec![(5, 2)]);
        let mut update = CellDelta::from_pairs(vec![(5, 1)]);
        update.plus_equals(&old.leaving());
        // Every count is negative, yet a value entered with it.
        assert_eq!(update.iter().collect::<Vec<_>>(), vec![(5, -1)]);
        assert!(update.adds());
        assert!(!old.leaving().adds());
        let mut cancelled = old.leaving();
        cancelled.plus_equals(&old);
        assert_eq!(cancelled.iter().count(), 0, "the counts cancel");
        assert!(cancelled.adds() && !cancelled.is_zero(), "the values that entered remain");
        let mut inverse = old.clone();
        inverse.negate();
        let mut zero = old.clone();
        zero.plus_equals(&inverse);
        assert!(zero.is_zero());
    }

    /// The same counts in the dense form, over `len` cells.
    fn densified(d: &CellDelta, len: usize) -> CellDelta {
        let mut counts = vec![0; len];
        for (c, n) in d.iter() {
            counts[c as usize] += n as DenseCount;
        }
        let entered = d.entered;
        CellDelta { counts: Counts::Dense(counts), entered }
    }

    #[test]
    fn a_slide_is_dense_when_it_touches_many_cells() {
        let many = CellDelta::from_counts(&[1, 0, 2, 0, 0, 0, 0, 0]);
        assert!(many.as_dense().is_some());
        let few = CellDelta::from_counts(&[0, 0, 3, 0, 0, 0, 0, 0, 0]);
        assert_eq!(few, CellDelta::from_sorted(vec![(2, 3)]));
        assert!(few.as_dense().is_none());
        assert_eq!(many, CellDelta::from_sorted(vec![(0, 1), (2, 2)]));
    }

    #[test]
    fn counts_beyond_16_bits_travel_as_pairs() {
        let big = u32::MAX - 1;
        let slide = CellDelta::from_counts(&[big, 1, 1]);
        assert!(slide.as_dense().is_none());
        assert_eq!(slide.iter().collect::<Vec<_>>(), vec![(0, i64::from(big)), (1, 1), (2, 1)]);
        let wide = DenseCount::MAX as u32 + 1;
        assert!(CellDelta::from_counts(&[wide, 1]).as_dense().is_none());
        // Two dense slides whose sum overflows 16 bits: added as 64-bit pairs instead.
        let half = (DenseCount::MAX as u32) - 5;
        let mut sum = CellDelta::from_counts(&[half, 1]);
        assert!(sum.as_dense().is_some());
        sum.plus_equals(&CellDelta::from_counts(&[half, 2]));
        assert_eq!(sum.iter().collect::<Vec<_>>(), vec![(0, 2 * i64::from(half)), (1, 3)]);
        let mut with_pair = CellDelta::from_counts(&[half, 1]);
        with_pair.plus_equals(&CellDelta::one(0, i64::from(half)));
        assert_eq!(with_pair.iter().collect::<Vec<_>>(), vec![(0, 2 * i64::from(half)), (1, 1)]);
    }

    proptest! {
        /// A window's update built in one pass is the entering slide plus the leaving one.
        #[test]
        fn a_slide_is_what_enters_plus_what_leaves(
            counts in prop::collection::vec((0u32..4, 0u32..4), 1..80),
            sparse in prop::collection::vec(0usize..80, 0..5),
            leaves in any::<bool>(),
        ) {
            let mut entering: Vec<u32> = counts.iter().map(|p| p.0).collect();
            let mut leaving: Vec<u32> = counts.iter().map(|p| p.1).collect();
            // Some inputs touch few cells, so both forms come out.
            if !sparse.is_empty() {
                entering.iter_mut().chain(leaving.iter_mut()).for_each(|n| *n = 0);
                for &c in &sparse {
                    entering[c % counts.len()] += 1;
                }
            }
            let got = CellDelta::slide(&entering, leaves.then_some(&leaving[..]));
            let mut want = CellDelta::from_counts(&entering);
            if leaves {
                want.plus_equals(&CellDelta::leaving_counts(&leaving));
            }
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(got.adds(), entering.iter().any(|&n| n > 0));
        }
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
            if let Counts::Sparse(pairs) = &sum.counts {
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
