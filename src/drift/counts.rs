//! A window's contents as counts per cell, kept up to date by ±n updates, and the statistics
//! derived from them, independent of how many values the window holds. An update of a refined
//! cell adds to its PSI bin and its KS grid cell and to its leaf of the KS tree (which keeps the
//! counts per refined cell). A dense slide (see `delta.rs`) is added to the counts per refined
//! cell in one pass, and the PSI bins are folded from them when the statistics are next
//! computed. A window then costs O(bins) for PSI and, on the reference quantile grid, one pass
//! over the refined cells for both the KS and the Wasserstein distance. Against the reference
//! sample (`ks(exact)`, many more cells) the KS distance costs O(changed cells · log cells)
//! by the tree (O(cells) when most cells or the window's size changed), and the Wasserstein
//! distance O(grid cells) on the grid's own counts.

use super::binning::{Binning, UNSEEN};
use super::delta::CellDelta;
use super::ks_tree::KsTree;
use super::psi::PSI_FLOOR;
use super::statistic::{CategoricalWindow, NumericWindow};
pub use super::statistics::Statistics;
use super::wasserstein::wasserstein_value;
use std::collections::HashMap;

/// Counts per cell of one drift's current window.
#[derive(Clone, Debug)]
pub enum WindowCounts {
    /// Counts per PSI bin and per KS grid cell, and the KS tree over the refined cells.
    Numeric {
        psi: Vec<u64>,
        ks: Vec<u64>,
        tree: Box<KsTree>,
        /// Dense updates went to the tree's counts only: the bins are folded from them when
        /// the statistics are next computed.
        stale: bool,
    },
    Categorical {
        known: Vec<i64>,
        unseen: HashMap<u64, i64>,
    },
}

impl WindowCounts {
    pub fn new(binning: &Binning) -> WindowCounts {
        match binning {
            Binning::Numeric(b) => WindowCounts::Numeric {
                psi: vec![0; b.psi_reference.len()],
                ks: vec![0; b.ks_grid.len() + 1],
                tree: Box::new(KsTree::new(&b.ks_reference)),
                stale: false,
            },
            Binning::Categorical(b) => {
                WindowCounts::Categorical { known: vec![0; b.categories.len()], unseen: HashMap::new() }
            }
        }
    }

    /// Adds `diff` values to `cell` (negative: values leaving the window).
    #[inline]
    pub fn apply(&mut self, binning: &Binning, cell: u64, diff: i64) {
        match (self, binning) {
            (WindowCounts::Numeric { psi, ks, tree, .. }, Binning::Numeric(b)) => {
                if (cell as usize) < b.cells() {
                    let (p, k) = b.split(cell as usize);
                    // Counts only go below zero between a time's updates, never after them.
                    psi[p] = psi[p].wrapping_add_signed(diff);
                    ks[k] = ks[k].wrapping_add_signed(diff);
                    tree.apply(cell as usize, diff);
                }
            }
            (WindowCounts::Categorical { known, unseen }, _) => {
                if cell & UNSEEN != 0 {
                    let c = unseen.entry(cell).or_default();
                    *c += diff;
                    if *c == 0 {
                        unseen.remove(&cell);
                    }
                } else if let Some(c) = known.get_mut(cell as usize) {
                    *c += diff;
                }
            }
            (WindowCounts::Numeric { .. }, Binning::Categorical(_)) => {}
        }
    }

    /// Applies a slide's counts. A dense slide of a numeric target is added to the counts per
    /// refined cell in one pass; the bins follow when the statistics are computed.
    pub fn apply_delta(&mut self, binning: &Binning, delta: &CellDelta) {
        match (&mut *self, delta.as_dense()) {
            (WindowCounts::Numeric { tree, stale, .. }, Some(counts)) => {
                tree.add_dense(counts);
                *stale = true;
            }
            _ => {
                for (cell, diff) in delta.iter() {
                    self.apply(binning, cell, diff);
                }
            }
        }
    }

    /// Values in the window.
    pub fn total(&self) -> u64 {
        let sum: i64 = match self {
            WindowCounts::Numeric { tree, .. } => return tree.total(),
            WindowCounts::Categorical { known, unseen } => known.iter().sum::<i64>() + unseen.values().sum::<i64>(),
        };
        sum.max(0) as u64
    }

    /// Every statistic of the window against the binning's reference.
    pub fn statistics(&mut self, binning: &Binning) -> Statistics {
        let n = self.total();
        match (self, binning) {
            (WindowCounts::Numeric { psi, ks, tree, stale }, Binning::Numeric(b)) => {
                let stale = std::mem::take(stale);
                let (ks_d, wasserstein) = if b.is_exact() {
                    // D against the sample, by the tree; the Wasserstein distance on the grid.
                    if stale {
                        b.fold(tree.counts(), psi, ks);
                    }
                    (tree.distance(), wasserstein_value(&b.ks_grid, ks))
                } else {
                    // On the grid both distances come from one pass over the refined cells.
                    if stale {
                        b.fold_psi(tree.counts(), psi);
                    }
                    tree.distance_and_area(b.bounds())
                };
                Statistics::numeric(&NumericWindow {
                    n,
                    psi_reference: &b.psi_reference,
                    psi_counts: psi,
                    ks_d,
                    wasserstein,
                    reference_count: b.reference_count,
                })
            }
            (WindowCounts::Categorical { known, unseen }, Binning::Categorical(b)) => {
                Statistics::categorical(&CategoricalWindow {
                    n,
                    psi: categorical_psi(&b.reference, known, unseen.values()),
                })
            }
            _ => Statistics::none(n),
        }
    }
}

/// PSI over categories: every reference category, plus each unseen one with reference 0 (floored).
fn categorical_psi<'a>(reference: &[f64], known: &[i64], unseen: impl Iterator<Item = &'a i64> + Clone) -> Option<f64> {
    let total = known.iter().sum::<i64>() + unseen.clone().sum::<i64>();
    if total <= 0 {
        return None;
    }
    let total = total as f64;
    let term = |r: f64, c: f64| {
        let (r, c) = (r.max(PSI_FLOOR), c.max(PSI_FLOOR));
        (c - r) * (c / r).ln()
    };
    let seen: f64 = reference.iter().zip(known).map(|(&r, &c)| term(r, c.max(0) as f64 / total)).sum();
    let new: f64 = unseen.filter(|&&c| c > 0).map(|&c| term(0.0, c as f64 / total)).sum();
    Some(seen + new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::binning::{CategoryBins, NumericBins};
    use crate::drift::psi::psi_categorical;
    use std::collections::BTreeMap;

    #[test]
    fn categorical_psi_matches_the_direct_formula() {
        let reference: BTreeMap<String, f64> = [("a", 0.5), ("b", 0.3), ("c", 0.2)].map(|(k, v)| (k.into(), v)).into();
        let bins = Binning::Categorical(CategoryBins::new(reference.clone()));
        let Binning::Categorical(cb) = &bins else { panic!() };
        let mut counts = WindowCounts::new(&bins);
        let window = ["a", "a", "b", "z", "z", "y", "a"];
        for v in window {
            counts.apply(&bins, cb.cell(v), 1);
        }
        let mut direct: BTreeMap<String, u64> = BTreeMap::new();
        for v in window {
            *direct.entry(v.into()).or_default() += 1;
        }
        let s = counts.statistics(&bins);
        assert_eq!(s.n, 7);
        assert!((s.psi().unwrap() - psi_categorical(&reference, &direct).unwrap()).abs() < 1e-12);
        // Values leave: the unseen categories go with them.
        for v in ["z", "z", "y"] {
            counts.apply(&bins, cb.cell(v), -1);
        }
        let WindowCounts::Categorical { unseen, .. } = &counts else { panic!() };
        assert!(unseen.is_empty());
    }

    #[test]
    fn an_empty_window_has_no_statistics() {
        let bins = Binning::Categorical(CategoryBins::new([("a".to_string(), 1.0)]));
        let s = WindowCounts::new(&bins).statistics(&bins);
        assert_eq!(s, Statistics::none(0));
    }

    proptest::proptest! {
        /// On a grid with ties (a discrete reference), counted value by value or as one dense
        /// slide, the window's statistics are those counted directly from its values: the one
        /// pass over the refined cells gives the grid's KS distance and the Wasserstein
        /// distance of the counts per grid cell.
        #[test]
        fn grid_statistics_match_the_direct_ones(
            grid in proptest::collection::vec(0u8..20, 1..60),
            edges in proptest::collection::vec(0u8..40, 0..4),
            window in proptest::collection::vec(0u8..48, 1..300),
            dense in proptest::bool::ANY,
        ) {
            let mut grid: Vec<f64> = grid.into_iter().map(f64::from).collect();
            grid.sort_by(f64::total_cmp);
            let mut edges: Vec<f64> = edges.into_iter().map(|e| f64::from(e) / 2.0).collect();
            edges.sort_by(f64::total_cmp);
            edges.dedup();
            let psi_reference = vec![1.0 / (edges.len() + 1) as f64; edges.len() + 1];
            // Values on the grid, between its points, and beyond both ends.
            let window: Vec<f64> = window.into_iter().map(|v| f64::from(v) / 2.0 - 2.0).collect();
            let bins = NumericBins::new(edges.clone(), psi_reference.clone(), grid.clone(), 5000);
            let binning = Binning::Numeric(bins.clone());
            let mut counts = WindowCounts::new(&binning);
            if dense {
                let mut slide = vec![0; bins.cells()];
                for &x in &window {
                    slide[bins.cell(x).unwrap() as usize] += 1;
                }
                counts.apply_delta(&binning, &CellDelta::dense(slide));
            } else {
                for &x in &window {
                    counts.apply(&binning, u64::from(bins.cell(x).unwrap()), 1);
                }
            }
            let got = counts.statistics(&binning);
            let reference = crate::drift::naive::Reference {
                psi_edges: &edges,
                psi_reference: &psi_reference,
                ks_grid: &grid,
                count: 5000,
            };
            let want = crate::drift::naive::statistics(&reference, &window);
            proptest::prop_assert_eq!(got.n, want.n);
            for key in ["psi", "ks_d", "wasserstein"] {
                match (got.get(key), want.get(key)) {
                    (Some(a), Some(b)) => proptest::prop_assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{}: {} vs {}", key, a, b),
                    (a, b) => proptest::prop_assert_eq!(a, b, "{}", key),
                }
            }
        }
    }
}
