//! Drift baselines from training values: PSI bin edges and proportions, a KS quantile grid,
//! category proportions. The drift monitor compares live windows against these.

use crate::registry::meta::Baseline;
use std::collections::BTreeMap;

/// Number of PSI bins stored in a baseline.
pub const PSI_BINS: usize = 10;
/// Number of cells in the KS quantile grid.
pub const KS_CELLS: usize = 1000;

/// The quantile `q` of sorted values, linear between order statistics (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The PSI bin of `x`: values up to and including `edges[0]` are bin 0, above the last edge the last bin.
pub fn psi_bin(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|&e| e < x)
}

/// A numeric baseline; `None` when no finite values.
pub fn numeric(values: &[f64]) -> Option<Baseline> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let psi_edges: Vec<f64> = (1..PSI_BINS).map(|i| quantile(&sorted, i as f64 / PSI_BINS as f64)).collect();
    let mut counts = [0usize; PSI_BINS];
    for &v in &sorted {
        counts[psi_bin(&psi_edges, v)] += 1;
    }
    let psi_reference = counts.iter().map(|&c| c as f64 / sorted.len() as f64).collect();
    let ks_grid = (0..KS_CELLS).map(|k| quantile(&sorted, (k + 1) as f64 / KS_CELLS as f64)).collect();
    Some(Baseline::Numeric { psi_edges, psi_reference, ks_grid, count: sorted.len() })
}

/// A categorical baseline from category values.
pub fn categorical<'a>(values: impl IntoIterator<Item = &'a str>) -> Baseline {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut n = 0;
    for v in values {
        *counts.entry(v.to_string()).or_default() += 1;
        n += 1;
    }
    let proportions = counts.into_iter().map(|(k, c)| (k, c as f64 / n.max(1) as f64)).collect();
    Baseline::Categorical { proportions, count: n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_split_uniform_values_evenly() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        let Some(Baseline::Numeric { psi_edges, psi_reference, ks_grid, count }) = numeric(&values) else { panic!() };
        assert_eq!(count, 1000);
        assert_eq!(psi_edges.len(), 9);
        assert!((psi_edges[0] - 100.9).abs() < 1e-9);
        assert!(psi_reference.iter().all(|p| (p - 0.1).abs() < 1e-12), "{psi_reference:?}");
        assert_eq!(ks_grid.len(), 1000);
        assert_eq!(*ks_grid.last().unwrap(), 1000.0);
        assert_eq!(psi_bin(&psi_edges, -1e9), 0);
        assert_eq!(psi_bin(&psi_edges, 1e9), 9);
    }

    #[test]
    fn categorical_proportions() {
        let Baseline::Categorical { proportions, .. } = categorical(["a", "b", "a", "a"]) else { panic!() };
        assert_eq!(proportions["a"], 0.75);
    }
}
