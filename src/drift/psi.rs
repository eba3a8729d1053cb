//! Population stability index: PSI = Σ (c_i − r_i) · ln(c_i / r_i) over bins, with the reference
//! proportions r_i and current proportions c_i each floored at [`PSI_FLOOR`] so that empty bins
//! give a large but finite contribution.
//!
//! An empty current window has no proportions at all, so the functions return `None` there
//! ("no data" is not "no drift").

use crate::model::baseline::psi_bin;
use std::collections::BTreeMap;

/// Lower bound applied to every reference and current proportion.
pub const PSI_FLOOR: f64 = 1e-4;

/// The PSI term of one bin from reference and current proportions (both floored here).
fn term(r: f64, c: f64) -> f64 {
    let (r, c) = (r.max(PSI_FLOOR), c.max(PSI_FLOOR));
    (c - r) * (c / r).ln()
}

/// PSI of current bin counts against reference bin proportions; `None` for an empty window.
///
/// # Panics
/// If `reference` and `current_counts` differ in length (they must describe the same bins).
pub fn psi(reference: &[f64], current_counts: &[u64]) -> Option<f64> {
    assert_eq!(reference.len(), current_counts.len(), "PSI reference and current bins differ in number");
    let total: u64 = current_counts.iter().sum();
    if total == 0 {
        return None;
    }
    let total = total as f64;
    Some(reference.iter().zip(current_counts).map(|(&r, &c)| term(r, c as f64 / total)).sum())
}

/// Counts of `values` per PSI bin for the inner `edges` (`edges.len() + 1` bins); NaN values are skipped.
///
/// NaN has no bin (it compares false with every edge), so counting it would silently put it in bin 0.
pub fn psi_counts(edges: &[f64], values: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len() + 1];
    for &v in values.iter().filter(|v| !v.is_nan()) {
        counts[psi_bin(edges, v)] += 1;
    }
    counts
}

/// PSI over categories: reference proportions and current counts by category name; `None` for an empty window.
///
/// Every category of either side is a bin: one missing from the window has current proportion 0,
/// one unseen in the reference has reference proportion 0 — both floored at [`PSI_FLOOR`].
pub fn psi_categorical(reference: &BTreeMap<String, f64>, current: &BTreeMap<String, u64>) -> Option<f64> {
    let total: u64 = current.values().sum();
    if total == 0 {
        return None;
    }
    let total = total as f64;
    let known: f64 =
        reference.iter().map(|(name, &r)| term(r, current.get(name).copied().unwrap_or(0) as f64 / total)).sum();
    let unseen: f64 = current
        .iter()
        .filter(|(name, _)| !reference.contains_key(*name))
        .map(|(_, &c)| term(0.0, c as f64 / total))
        .sum();
    Some(known + unseen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::baseline::numeric;
    use crate::registry::meta::Baseline;
    use proptest::prelude::*;

    #[test]
    fn identical_distribution_is_zero() {
        assert_eq!(psi(&[0.25; 4], &[5, 5, 5, 5]), Some(0.0));
    }

    #[test]
    fn hand_computed_value() {
        // (0.8 − 0.5)·ln(0.8/0.5) + (0.2 − 0.5)·ln(0.2/0.5)
        let expected = 0.3 * (1.6f64).ln() - 0.3 * (0.4f64).ln();
        assert!((psi(&[0.5, 0.5], &[8, 2]).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn empty_window_is_none() {
        assert_eq!(psi(&[0.5, 0.5], &[0, 0]), None);
        assert_eq!(psi(&[], &[]), None);
        assert_eq!(psi_categorical(&BTreeMap::from([("a".to_string(), 1.0)]), &BTreeMap::new()), None);
    }

    #[test]
    fn empty_bins_are_floored() {
        // All current mass in a bin the reference never saw: finite, and equal to the floored formula.
        let p = psi(&[1.0, 0.0], &[0, 10]).unwrap();
        let expected = term(1.0, 0.0) + term(0.0, 1.0);
        assert!(p.is_finite());
        assert_eq!(p, expected);
        assert!((expected - 2.0 * (1.0 - 1e-4) * (1e4f64).ln()).abs() < 1e-12);
    }

    #[test]
    fn counts_skip_nan_and_open_outer_bins() {
        let edges = [1.0, 2.0];
        let counts = psi_counts(&edges, &[f64::NAN, -1e300, 1.0, 1.5, 2.0, 2.5, f64::INFINITY, f64::NEG_INFINITY]);
        assert_eq!(counts, vec![3, 2, 2]);
        assert_eq!(psi_counts(&edges, &[f64::NAN]), vec![0, 0, 0]);
        assert_eq!(psi(&[0.3, 0.4, 0.3], &psi_counts(&edges, &[f64::NAN])), None);
    }

    #[test]
    fn one_distinct_value() {
        // A constant reference puts everything in bin 0 (values ≤ every edge); the same constant
        // in the window means no drift, a different one a large PSI.
        let Some(Baseline::Numeric { psi_edges, psi_reference, .. }) = numeric(&[3.0; 50]) else { panic!() };
        assert_eq!(psi(&psi_reference, &psi_counts(&psi_edges, &[3.0; 7])), Some(0.0));
        assert!(psi(&psi_reference, &psi_counts(&psi_edges, &[4.0; 7])).unwrap() > 10.0);
    }

    #[test]
    fn categorical_unseen_and_missing_categories() {
        let reference = BTreeMap::from([("a".to_string(), 0.75), ("b".to_string(), 0.25)]);
        let current = BTreeMap::from([("a".to_string(), 3u64), ("c".to_string(), 1)]);
        let expected = term(0.75, 0.75) + term(0.25, 0.0) + term(0.0, 0.25);
        assert_eq!(psi_categorical(&reference, &current), Some(expected));
        let same = BTreeMap::from([("a".to_string(), 3u64), ("b".to_string(), 1)]);
        assert_eq!(psi_categorical(&reference, &same), Some(0.0));
    }

    /// Bin of `x` for inner `edges`, written out as the interval (edges[i−1], edges[i]].
    fn direct_bin(edges: &[f64], x: f64) -> usize {
        (0..=edges.len()).find(|&i| (i == 0 || x > edges[i - 1]) && (i == edges.len() || x <= edges[i])).unwrap()
    }

    proptest! {
        #[test]
        fn psi_matches_direct_computation(
            reference in prop::collection::vec(-50.0f64..50.0, 1..400),
            current in prop::collection::vec(prop_oneof![-80.0f64..80.0, Just(0.0), Just(f64::NAN)], 0..400),
        ) {
            let Some(Baseline::Numeric { psi_edges, psi_reference, .. }) = numeric(&reference) else { panic!() };
            let counts = psi_counts(&psi_edges, &current);
            let got = psi(&psi_reference, &counts);
            let finite: Vec<f64> = current.iter().copied().filter(|v| !v.is_nan()).collect();
            if finite.is_empty() {
                prop_assert_eq!(got, None);
            } else {
                let mut direct = vec![0usize; psi_edges.len() + 1];
                for &v in &finite {
                    direct[direct_bin(&psi_edges, v)] += 1;
                }
                let mut expected = 0.0;
                for (i, &r) in psi_reference.iter().enumerate() {
                    let c = (direct[i] as f64 / finite.len() as f64).max(1e-4);
                    let r = r.max(1e-4);
                    expected += (c - r) * (c / r).ln();
                }
                let got = got.unwrap();
                prop_assert!((got - expected).abs() <= 1e-12, "{} vs {}", got, expected);
            }
        }

        #[test]
        fn psi_from_random_counts_matches_formula(
            pairs in prop::collection::vec((0u64..1000, 0.0f64..1.0), 1..30),
        ) {
            let counts: Vec<u64> = pairs.iter().map(|p| p.0).collect();
            let weights: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let wsum: f64 = weights.iter().sum::<f64>().max(1e-300);
            let reference: Vec<f64> = weights.iter().map(|w| w / wsum).collect();
            let total: u64 = counts.iter().sum();
            let got = psi(&reference, &counts);
            if total == 0 {
                prop_assert_eq!(got, None);
            } else {
                let expected: f64 = reference.iter().zip(&counts).map(|(&r, &c)| {
                    let (r, c) = (r.max(1e-4), (c as f64 / total as f64).max(1e-4));
                    (c - r) * (c / r).ln()
                }).sum();
                prop_assert!((got.unwrap() - expected).abs() <= 1e-12);
                prop_assert!(got.unwrap() >= -1e-12);
            }
        }
    }
}
