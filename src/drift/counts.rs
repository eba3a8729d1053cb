//! A window's contents as counts per cell, kept up to date by ±n updates, and the statistics
//! derived from them. Applying an update is O(1); evaluating a window is O(cells) (one pass to
//! fold refined cells into PSI bins and KS cells, one pass each for PSI and the KS distance),
//! independent of how many values the window holds.

use super::binning::{Binning, UNSEEN};
use super::psi::PSI_FLOOR;
use super::statistic::{CategoricalWindow, NumericWindow};
pub use super::statistics::Statistics;
use std::collections::HashMap;

/// Counts per cell of one drift's current window.
#[derive(Clone, Debug)]
pub enum WindowCounts {
    Numeric { cells: Vec<i64> },
    Categorical { known: Vec<i64>, unseen: HashMap<u64, i64> },
}

impl WindowCounts {
    pub fn new(binning: &Binning) -> WindowCounts {
        match binning {
            Binning::Numeric(b) => WindowCounts::Numeric { cells: vec![0; b.cells()] },
            Binning::Categorical(b) => {
                WindowCounts::Categorical { known: vec![0; b.categories.len()], unseen: HashMap::new() }
            }
        }
    }

    /// Adds `diff` values to `cell` (negative: values leaving the window).
    #[inline]
    pub fn apply(&mut self, cell: u64, diff: i64) {
        match self {
            WindowCounts::Numeric { cells } => {
                if let Some(c) = cells.get_mut(cell as usize) {
                    *c += diff;
                }
            }
            WindowCounts::Categorical { known, unseen } => {
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
        }
    }

    /// Values in the window.
    pub fn total(&self) -> u64 {
        let sum: i64 = match self {
            WindowCounts::Numeric { cells } => cells.iter().sum(),
            WindowCounts::Categorical { known, unseen } => known.iter().sum::<i64>() + unseen.values().sum::<i64>(),
        };
        sum.max(0) as u64
    }

    /// Every statistic of the window against the binning's reference.
    pub fn statistics(&self, binning: &Binning) -> Statistics {
        let n = self.total();
        match (self, binning) {
            (WindowCounts::Numeric { cells }, Binning::Numeric(b)) => {
                let mut bins = vec![0u64; b.psi_reference.len()];
                let mut ks = vec![0u64; b.ks_grid.len() + 1];
                for (c, &count) in cells.iter().enumerate() {
                    if count > 0 {
                        let (p, k) = b.split(c);
                        bins[p] += count as u64;
                        ks[k] += count as u64;
                    }
                }
                Statistics::numeric(&NumericWindow {
                    n,
                    psi_reference: &b.psi_reference,
                    psi_counts: &bins,
                    ks_grid: &b.ks_grid,
                    ks_counts: &ks,
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
    use crate::drift::binning::CategoryBins;
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
            counts.apply(cb.cell(v), 1);
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
            counts.apply(cb.cell(v), -1);
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
}
