//! From a baseline to cells: every monitored value is mapped to one small integer cell, so a
//! window is a multiset of cells and its statistics are functions of counts per cell.
//!
//! Numeric targets use the *refined grid*: the sorted union of the PSI bin edges and the KS grid
//! values. Both statistics put a value `x` in the cell `(b[c−1], b[c]]`, so each refined cell lies
//! inside exactly one PSI bin and one KS cell, and counts per refined cell add up to both the
//! PSI bin counts and the KS cell counts: one cell per value serves both statistics exactly.
//!
//! Categorical targets have one cell per category of the reference, and one per category the
//! reference never saw (keyed by a fixed hash of its name, with the top bit set), as in
//! [`psi_categorical`](super::psi::psi_categorical).

use super::ks_tree::KsReference;
use crate::model::baseline::{quantile, KS_CELLS, PSI_BINS};
use crate::registry::meta::Baseline;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Cells of categories absent from the reference have this bit set.
pub const UNSEEN: u64 = 1 << 63;

/// How a drift target's values become cells, and the reference they are compared with.
#[derive(Clone, Debug)]
pub enum Binning {
    Numeric(NumericBins),
    Categorical(CategoryBins),
}

#[derive(Clone, Debug)]
pub struct NumericBins {
    /// Inner PSI edges: `bins − 1` values, the outer bins open-ended.
    pub psi_edges: Vec<f64>,
    /// Reference proportion per PSI bin.
    pub psi_reference: Vec<f64>,
    /// KS grid: reference value at quantile (k + 1)/cells.
    pub ks_grid: Vec<f64>,
    /// Size of the reference sample (for the KS p-value).
    pub reference_count: u64,
    /// Upper bounds of the refined cells; one more cell holds values above the last.
    bounds: Vec<f64>,
    /// The bounds followed by [`LOOKAHEAD`] +∞, so that the lookup may compare past the last bound.
    padded: Vec<f64>,
    cell_psi: Vec<u32>,
    cell_ks: Vec<u32>,
    /// The first refined cell of each PSI bin, and the number of cells: a bin is a run of refined
    /// cells, as `cell_psi` is nondecreasing.
    psi_starts: Vec<u32>,
    /// The reference side of the KS distance, per refined cell (see [`KsTree`](super::ks_tree::KsTree)).
    pub ks_reference: KsReference,
    /// Whether the KS distance is against the reference sample (`ks(exact)`) rather than its grid.
    exact: bool,
    /// Lookup accelerator: equal-width slots (two per bound) over `[bounds[0], bounds[last]]`; slot
    /// s holds the number of bounds in earlier slots, so a value's cell is found by searching
    /// only the few bounds inside its slot.
    slots: Vec<u32>,
    slot_scale: f64,
}

/// Bounds the lookup compares with a value at once.
const LOOKAHEAD: usize = 4;

/// Slots of the lookup accelerator: two per bound, at least this many. (Four per bound found
/// cells no faster in a run, where five monitors' tables compete for the first-level cache.)
const MIN_LOOKUP: usize = 2048;

#[derive(Clone, Debug)]
pub struct CategoryBins {
    /// Reference categories in sorted order; a category's cell is its position.
    pub categories: Vec<String>,
    pub reference: Vec<f64>,
    index: HashMap<String, u64>,
}

impl NumericBins {
    /// Cells for the PSI edges and the KS grid: the KS distance is the grid's.
    pub fn new(psi_edges: Vec<f64>, psi_reference: Vec<f64>, ks_grid: Vec<f64>, reference_count: u64) -> Self {
        NumericBins::build(psi_edges, psi_reference, ks_grid, reference_count, None)
    }

    /// Cells for the PSI edges, the KS grid and every value of the reference `sample` (sorted,
    /// no NaN): the KS distance is the exact two-sample statistic against the sample. Each
    /// distinct reference value `u` gets a cell of its own, `(u⁻, u]` with `u⁻` the float just
    /// below it, so the window's CDF is known both at `u` and just before it, the two places
    /// where the distance between two step functions can be largest.
    pub fn exact(psi_edges: Vec<f64>, psi_reference: Vec<f64>, ks_grid: Vec<f64>, sample: &[f64]) -> Self {
        NumericBins::build(psi_edges, psi_reference, ks_grid, sample.len() as u64, Some(sample))
    }

    fn build(
        psi_edges: Vec<f64>,
        psi_reference: Vec<f64>,
        ks_grid: Vec<f64>,
        reference_count: u64,
        sample: Option<&[f64]>,
    ) -> Self {
        let around_sample = sample.into_iter().flatten().flat_map(|&u| [u.next_down(), u]);
        let mut bounds: Vec<f64> =
            psi_edges.iter().chain(&ks_grid).copied().chain(around_sample).filter(|x| !x.is_nan()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let cells = bounds.len() + 1;
        let mut cell_psi = Vec::with_capacity(cells);
        let mut cell_ks = Vec::with_capacity(cells);
        for c in 0..cells {
            match bounds.get(c) {
                Some(&b) => {
                    cell_psi.push(psi_edges.partition_point(|&e| e < b) as u32);
                    cell_ks.push(ks_grid.partition_point(|&g| g < b) as u32);
                }
                None => {
                    cell_psi.push(psi_edges.len() as u32);
                    cell_ks.push(ks_grid.len() as u32);
                }
            }
        }
        let psi_starts =
            (0..=psi_edges.len() + 1).map(|r| cell_psi.partition_point(|&p| (p as usize) < r) as u32).collect();
        let ks_reference = match sample {
            // Reference values in each cell, out of the whole sample; every bound is compared.
            Some(sample) => {
                let at_or_below =
                    |c: usize| bounds.get(c).map_or(sample.len(), |&b| sample.partition_point(|&u| u <= b));
                let weights = (0..cells).map(|c| (at_or_below(c) - if c == 0 { 0 } else { at_or_below(c - 1) }) as u32);
                KsReference { q: sample.len() as u64, weights: weights.collect(), evaluated: vec![true; cells] }
            }
            // Grid values at each cell's bound, out of the grid's length; only those bounds are compared.
            None => {
                let on_grid = |c: usize| {
                    bounds.get(c).map_or(0, |&b| {
                        (ks_grid.partition_point(|&g| g <= b) - ks_grid.partition_point(|&g| g < b)) as u32
                    })
                };
                let weights: Vec<u32> = (0..cells).map(on_grid).collect();
                let evaluated = weights.iter().map(|&w| w > 0).collect();
                KsReference { q: ks_grid.len() as u64, weights, evaluated }
            }
        };
        let (slots, slot_scale) = match (bounds.first(), bounds.last()) {
            (Some(&lo), Some(&hi)) if hi > lo && (hi - lo).is_finite() => {
                let lookup = (2 * bounds.len()).next_power_of_two().max(MIN_LOOKUP);
                let scale = lookup as f64 / (hi - lo);
                // Each bound's slot by the very arithmetic the lookup applies to a value, which
                // is monotone in the value: a bound in an earlier slot than x's is below x, and
                // one in a later slot is above it.
                let slot_of: Vec<usize> = bounds.iter().map(|&b| ((b - lo) * scale) as usize).collect();
                let slots = (0..lookup).map(|s| slot_of.partition_point(|&sb| sb < s) as u32).collect();
                (slots, scale)
            }
            _ => (Vec::new(), 0.0),
        };
        NumericBins {
            psi_edges,
            psi_reference,
            ks_grid,
            reference_count,
            padded: bounds.iter().copied().chain([f64::INFINITY; LOOKAHEAD]).collect(),
            bounds,
            cell_psi,
            cell_ks,
            psi_starts,
            ks_reference,
            exact: sample.is_some(),
            slots,
            slot_scale,
        }
    }

    /// Upper bounds of the refined cells.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Whether the KS distance is against the reference sample rather than its quantile grid.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Number of refined cells.
    pub fn cells(&self) -> usize {
        self.bounds.len() + 1
    }

    /// The refined cell of `x`; `None` for NaN, which has no place in an ordering.
    #[inline]
    pub fn cell(&self, x: f64) -> Option<u32> {
        self.lookup().cell(x)
    }

    /// The lookup's tables, to be held in a loop over many values: its fields are then locals,
    /// not loads through the bins on every value.
    #[inline]
    pub fn lookup(&self) -> Lookup<'_> {
        Lookup {
            lo: self.bounds.first().copied().unwrap_or(f64::NAN),
            scale: self.slot_scale,
            bounds: &self.bounds,
            padded: &self.padded,
            slots: &self.slots,
        }
    }

    /// Counts per PSI bin and per KS cell from counts per refined cell (which, once a time's
    /// updates are all in, are none of them negative).
    pub fn fold(&self, cells: &[i64], psi: &mut [u64], ks: &mut [u64]) {
        self.fold_psi(cells, psi);
        // Nearly every KS cell is one refined cell: add each to its own, no run to set up.
        ks.fill(0);
        for (&k, &n) in self.cell_ks.iter().zip(cells) {
            ks[k as usize] = ks[k as usize].wrapping_add_signed(n);
        }
    }

    /// Counts per PSI bin from counts per refined cell.
    pub fn fold_psi(&self, cells: &[i64], psi: &mut [u64]) {
        for (bin, run) in psi.iter_mut().zip(self.psi_starts.windows(2)) {
            *bin = cells[run[0] as usize..run[1] as usize].iter().sum::<i64>().max(0) as u64;
        }
    }

    /// The PSI bin and KS cell a refined cell lies in.
    pub fn split(&self, cell: usize) -> (usize, usize) {
        (self.cell_psi[cell] as usize, self.cell_ks[cell] as usize)
    }
}

/// Values to refined cells ([`NumericBins::lookup`]).
#[derive(Clone, Copy)]
pub struct Lookup<'a> {
    lo: f64,
    scale: f64,
    bounds: &'a [f64],
    padded: &'a [f64],
    slots: &'a [u32],
}

impl Lookup<'_> {
    /// The refined cell of `x`; `None` for NaN, which has no place in an ordering.
    #[inline]
    pub fn cell(&self, x: f64) -> Option<u32> {
        if self.bounds.is_empty() {
            return (!x.is_nan()).then_some(0);
        }
        if x.is_nan() {
            return None;
        }
        if x <= self.lo {
            return Some(0);
        }
        // Through i64, one conversion instruction (x > lo, so it is not negative; a slot
        // beyond the table, however far, falls to the search below).
        let slot = ((x - self.lo) * self.scale) as i64 as usize;
        let Some(&first) = self.slots.get(slot) else {
            return Some(self.bounds.partition_point(|&b| b < x) as u32);
        };
        // The bounds of earlier slots are below x and those of later slots above it (the table
        // was built with this arithmetic, which is monotone), so x's cell is among the bounds
        // of its own slot: step forward from the first of them. A slot holds half a bound on
        // average, so the next four bounds nearly always include it: they are compared
        // at once (the bounds are sorted, so the count below x is how far to step), with no
        // branch and no comparison waiting on another; the padding keeps them in range.
        let mut c = first as usize;
        loop {
            let next: &[f64; LOOKAHEAD] = self.padded[c..c + LOOKAHEAD].try_into().expect("padded");
            let below = next.iter().map(|&b| usize::from(b < x)).sum::<usize>();
            c += below;
            if below < LOOKAHEAD {
                return Some(c as u32);
            }
        }
    }
}

impl CategoryBins {
    pub fn new(reference: impl IntoIterator<Item = (String, f64)>) -> Self {
        let mut pairs: Vec<(String, f64)> = reference.into_iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        let index = pairs.iter().enumerate().map(|(i, (name, _))| (name.clone(), i as u64)).collect();
        let (categories, reference) = pairs.into_iter().unzip();
        CategoryBins { categories, reference, index }
    }

    /// The cell of a category: its reference position, or a hash with [`UNSEEN`] set.
    pub fn cell(&self, category: &str) -> u64 {
        match self.index.get(category) {
            Some(&i) => i,
            None => {
                // SipHash with fixed keys: the same cell in every worker and process.
                #[allow(deprecated)]
                let mut h = std::hash::SipHasher::new();
                category.hash(&mut h);
                UNSEEN | (h.finish() & !UNSEEN)
            }
        }
    }
}

impl Binning {
    /// The binning for a stored baseline with `bins` PSI bins and `cells` KS cells.
    ///
    /// The baseline keeps 10 PSI bins and a 1,000-cell grid from the full training sample. Other
    /// bin counts take their edges from the grid (the reference quantile i/bins is grid value
    /// 1000·i/bins − 1, interpolated when that is not whole) with reference proportions 1/bins;
    /// other cell counts take every (1000/cells)-th grid value. The grid cannot be refined, so at
    /// most 1,000 KS cells are used.
    ///
    /// With the training `sample` (sorted, no NaN) the KS distance is exact, against every
    /// reference value ([`NumericBins::exact`]); `cells` then only shapes the grid that the
    /// Wasserstein distance reads.
    pub fn from_baseline(baseline: &Baseline, bins: u32, cells: u32, sample: Option<&[f64]>) -> Binning {
        match baseline {
            Baseline::Numeric { psi_edges, psi_reference, ks_grid, count } => {
                let bins = bins.max(2) as usize;
                let (edges, reference) = if bins == PSI_BINS || ks_grid.is_empty() {
                    (psi_edges.clone(), psi_reference.clone())
                } else {
                    let edges = (1..bins).map(|i| grid_quantile(ks_grid, i as f64 / bins as f64)).collect();
                    (edges, vec![1.0 / bins as f64; bins])
                };
                let cells = (cells as usize).clamp(1, KS_CELLS);
                let grid = if cells == ks_grid.len() || ks_grid.is_empty() {
                    ks_grid.clone()
                } else {
                    (0..cells).map(|k| grid_quantile(ks_grid, (k + 1) as f64 / cells as f64)).collect()
                };
                match sample {
                    Some(sample) => Binning::Numeric(NumericBins::exact(edges, reference, grid, sample)),
                    None => Binning::Numeric(NumericBins::new(edges, reference, grid, *count as u64)),
                }
            }
            Baseline::Categorical { proportions, .. } => {
                Binning::Categorical(CategoryBins::new(proportions.iter().map(|(k, v)| (k.clone(), *v))))
            }
        }
    }
}

/// The reference quantile `q` read off a grid whose value k is the quantile (k + 1)/len.
fn grid_quantile(grid: &[f64], q: f64) -> f64 {
    let pos = q * grid.len() as f64 - 1.0;
    if pos <= 0.0 {
        return grid[0];
    }
    // `quantile` interpolates over positions 0..len−1, i.e. fraction pos/(len−1).
    quantile(grid, pos / (grid.len() - 1).max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::ks::ks_cell;
    use crate::model::baseline::{numeric, psi_bin};

    #[test]
    fn refined_cells_agree_with_psi_bins_and_ks_cells() {
        let values: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 5000) as f64 / 3.0).collect();
        let Binning::Numeric(b) = Binning::from_baseline(&numeric(&values).unwrap(), 10, 1000, None) else { panic!() };
        let probes = [-1e300, -1.0, 0.0, 0.1, 1.0, 17.5, 333.333, 1000.0, 1666.0, 1666.334, 1e9, f64::INFINITY];
        for x in probes.into_iter().chain(values.iter().copied()) {
            let c = b.cell(x).unwrap() as usize;
            assert_eq!(b.split(c), (psi_bin(&b.psi_edges, x), ks_cell(&b.ks_grid, x)), "x = {x}");
        }
        assert_eq!(b.cell(f64::NAN), None);
        assert_eq!(b.cell(f64::NEG_INFINITY), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn the_lookup_finds_the_same_cell_as_a_full_search(
            reference in proptest::collection::vec(-1e6f64..1e6, 1..400),
            probes in proptest::collection::vec(-2e6f64..2e6, 1..200),
            ties in 0usize..50,
        ) {
            let mut reference = reference;
            // Repeated values make repeated grid points and empty slots.
            let first = reference[0];
            reference.extend(std::iter::repeat_n(first, ties));
            let Binning::Numeric(b) = Binning::from_baseline(&numeric(&reference).unwrap(), 10, 1000, None) else { panic!() };
            for x in probes.iter().copied().chain(reference.iter().copied()).chain(b.bounds.clone()) {
                let full = b.bounds.partition_point(|&v| v < x) as u32;
                proptest::prop_assert_eq!(b.cell(x), Some(full), "x = {}", x);
                proptest::prop_assert_eq!(b.cell(x.next_up()), Some(b.bounds.partition_point(|&v| v < x.next_up()) as u32));
                proptest::prop_assert_eq!(b.cell(x.next_down()), Some(b.bounds.partition_point(|&v| v < x.next_down()) as u32));
            }
        }
    }

    #[test]
    fn other_bin_counts_come_from_the_grid() {
        let values: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let Binning::Numeric(b) = Binning::from_baseline(&numeric(&values).unwrap(), 4, 100, None) else { panic!() };
        assert_eq!(b.psi_edges.len(), 3);
        assert!((b.psi_edges[1] - 5000.5).abs() < 2.0, "{:?}", b.psi_edges);
        assert_eq!(b.ks_grid.len(), 100);
        assert!((b.ks_grid[99] - 10_000.0).abs() < 1e-9);
    }

    #[test]
    fn unseen_categories_get_stable_distinct_cells() {
        let bins = CategoryBins::new([("CA".to_string(), 0.5), ("NY".to_string(), 0.5)]);
        assert_eq!(bins.cell("CA"), 0);
        assert_eq!(bins.cell("NY"), 1);
        let (a, b) = (bins.cell("TX"), bins.cell("WA"));
        assert!(a & UNSEEN != 0 && b & UNSEEN != 0 && a != b);
        assert_eq!(a, bins.cell("TX"));
    }
}
