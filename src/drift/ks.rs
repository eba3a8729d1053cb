//! Kolmogorov–Smirnov distance between a reference distribution, stored as a quantile grid, and
//! a current window, stored as counts per grid cell.
//!
//! The grid `grid[k]` is the reference value at quantile (k + 1)/cells (cells = `grid.len()`,
//! 1,000 in a baseline). Cell 0 holds values ≤ `grid[0]`, cell k values in (`grid[k−1]`, `grid[k]`],
//! and one overflow cell values above the last grid value: `grid.len() + 1` cells in all.
//!
//! D = max over grid points of |F_ref − F_cur| with F_ref(grid[k]) = (k + 1)/cells and F_cur the
//! cumulative share of current counts through cell k. Where the grid repeats a value (ties in
//! the reference) only the last of the equal points is used, since that is where the reference
//! CDF actually is; otherwise a constant reference would show drift against itself.
//!
//! Accuracy against the exact two-sample statistic ([`ks_exact`]) on the reference sample and the
//! window: the grid only sees the window at grid points, and the reference CDF between two of
//! them moves by 1/cells, so D is within 1/cells of the exact statistic, plus up to 1/N for a
//! reference sample of N values (the grid interpolates between its order statistics).
//!
//! That bound needs the reference CDF to rise by at most about 1/cells per cell. A reference atom
//! heavier than that (a repeated grid value) is a jump the cells cannot straddle: window values
//! strictly inside the cell ending at the atom (for the first grid value: anywhere below it) count
//! as if on the atom. So for a reference with atoms the bound holds for windows whose values sit on
//! reference values, and D can understate drift towards values between or below the atoms; in the
//! extreme, a constant reference gives D = 0 for a window entirely below it.

/// The KS cell of `x` for `grid`: 0 up to and including `grid[0]`, `grid.len()` above the last value.
pub fn ks_cell(grid: &[f64], x: f64) -> usize {
    grid.partition_point(|&g| g < x)
}

/// Counts of `values` per KS cell (`grid.len() + 1` cells); NaN values are skipped.
///
/// NaN is not ordered against the grid, so it has no cell; skipping keeps the window's
/// distribution that of its real values.
pub fn ks_counts(grid: &[f64], values: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; grid.len() + 1];
    for &v in values.iter().filter(|v| !v.is_nan()) {
        counts[ks_cell(grid, v)] += 1;
    }
    counts
}

/// KS distance D between a reference quantile grid and current counts per cell; `None` for an empty window or grid.
///
/// # Panics
/// If `counts.len() != grid.len() + 1`.
pub fn ks_grid(grid: &[f64], counts: &[u64]) -> Option<f64> {
    assert_eq!(counts.len(), grid.len() + 1, "KS counts need one cell per grid value plus the overflow cell");
    let total: u64 = counts.iter().sum();
    if total == 0 || grid.is_empty() {
        return None;
    }
    let (cells, total) = (grid.len() as f64, total as f64);
    let mut cumulative = 0u64;
    let mut d: f64 = 0.0;
    for k in 0..grid.len() {
        cumulative += counts[k];
        // Equal grid values: the cells between them are empty, so evaluate once, at the last.
        if k + 1 < grid.len() && grid[k + 1] == grid[k] {
            continue;
        }
        let f_ref = (k + 1) as f64 / cells;
        let f_cur = cumulative as f64 / total;
        d = d.max((f_ref - f_cur).abs());
    }
    Some(d)
}

/// Exact two-sample KS statistic sup |F_a − F_b| (scipy's `ks_2samp` statistic); NaN values are skipped, NaN if a sample is then empty.
pub fn ks_exact(a: &[f64], b: &[f64]) -> f64 {
    let sorted = |s: &[f64]| {
        let mut v: Vec<f64> = s.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut d: f64 = 0.0;
    // Step both ECDFs past each distinct value together, so ties across samples cancel as in
    // scipy's searchsorted(side="right"). Once one sample is exhausted its ECDF is 1 and the gap
    // only shrinks, so the scan can stop there.
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::baseline::{numeric, quantile, KS_CELLS};
    use crate::registry::meta::Baseline;
    use proptest::prelude::*;

    fn grid_of(reference: &[f64]) -> Vec<f64> {
        let Some(Baseline::Numeric { ks_grid, .. }) = numeric(reference) else { panic!("no finite values") };
        ks_grid
    }

    #[test]
    fn scipy_statistics() {
        // scipy 1.17.1: ks_2samp([1.01, 2.01], [1, 2, 3, 4]).statistic == 0.5
        assert_eq!(ks_exact(&[1.01, 2.01], &[1.0, 2.0, 3.0, 4.0]), 0.5);
        // scipy 1.17.1: ks_2samp(linspace(1, 100, 100), linspace(1, 100, 110) + 20.1).statistic == 232/1100
        let x: Vec<f64> = (0..100).map(|i| 1.0 + 99.0 * i as f64 / 99.0).collect();
        let y: Vec<f64> = (0..110).map(|i| 1.0 + 99.0 * i as f64 / 109.0 + 20.1).collect();
        assert!((ks_exact(&x, &y) - 232.0 / 1100.0).abs() < 1e-12);
        assert!((ks_exact(&y, &x) - 232.0 / 1100.0).abs() < 1e-12);
    }

    #[test]
    fn exact_handles_ties_nan_and_empty() {
        assert_eq!(ks_exact(&[1.0, 1.0, 2.0], &[1.0, 2.0, 2.0]), 1.0 / 3.0);
        assert_eq!(ks_exact(&[5.0; 4], &[5.0; 9]), 0.0);
        assert_eq!(ks_exact(&[1.0, f64::NAN], &[1.0]), 0.0);
        assert!(ks_exact(&[], &[1.0]).is_nan());
        assert!(ks_exact(&[f64::NAN], &[1.0]).is_nan());
    }

    #[test]
    fn cells_follow_the_grid() {
        let grid = [1.0, 2.0, 3.0];
        assert_eq!(ks_cell(&grid, 0.5), 0);
        assert_eq!(ks_cell(&grid, 1.0), 0);
        assert_eq!(ks_cell(&grid, 1.5), 1);
        assert_eq!(ks_cell(&grid, 3.0), 2);
        assert_eq!(ks_cell(&grid, 3.5), 3);
        assert_eq!(ks_counts(&grid, &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0]), vec![1, 1, 0, 1]);
    }

    #[test]
    fn empty_window_is_none() {
        let grid = grid_of(&[1.0, 2.0, 3.0]);
        assert_eq!(ks_grid(&grid, &vec![0; grid.len() + 1]), None);
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[f64::NAN, f64::NAN])), None);
        assert_eq!(ks_grid(&[], &[3]), None);
    }

    #[test]
    fn same_sample_is_close_to_zero() {
        let reference: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 5000) as f64 * 0.37).collect();
        let grid = grid_of(&reference);
        let d = ks_grid(&grid, &ks_counts(&grid, &reference)).unwrap();
        assert!(d <= 1.0 / KS_CELLS as f64 + 1.0 / 5000.0, "{d}");
    }

    #[test]
    fn one_distinct_value() {
        let grid = grid_of(&[2.5; 100]);
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[2.5; 3])), Some(0.0));
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[7.0; 3])), Some(1.0));
        // The documented blind spot: cell 0 holds everything up to the atom, so a window below
        // a constant reference looks like the reference (exact D is 1).
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[-7.0; 3])), Some(0.0));
        assert_eq!(ks_exact(&[2.5; 100], &[-7.0; 3]), 1.0);
    }

    #[test]
    fn values_outside_the_reference_range() {
        let reference: Vec<f64> = (0..1000).map(f64::from).collect();
        let grid = grid_of(&reference);
        // Entirely above: F_cur is 0 at every grid point, so D = F_ref(last) = 1.
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[1e9, 2e9])), Some(1.0));
        // Entirely below: F_cur is 1 at every grid point, so D = 1 − F_ref(first).
        assert_eq!(ks_grid(&grid, &ks_counts(&grid, &[-1e9])), Some(1.0 - 1.0 / KS_CELLS as f64));
        // Half far below, half far above.
        let d = ks_grid(&grid, &ks_counts(&grid, &[-1e9, 1e9])).unwrap();
        assert!((d - ks_exact(&reference, &[-1e9, 1e9])).abs() <= 1.0 / KS_CELLS as f64);
    }

    #[test]
    fn tiny_window() {
        let reference: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let grid = grid_of(&reference);
        let d = ks_grid(&grid, &ks_counts(&grid, &[0.5])).unwrap();
        assert!((d - ks_exact(&reference, &[0.5])).abs() <= 1.0 / KS_CELLS as f64 + 1e-3, "{d}");
    }

    #[test]
    fn grid_from_quantile_matches_baseline() {
        let mut sorted: Vec<f64> = (0..777).map(|i| ((i * 31) % 777) as f64).collect();
        sorted.sort_by(f64::total_cmp);
        let grid: Vec<f64> = (0..KS_CELLS).map(|k| quantile(&sorted, (k + 1) as f64 / KS_CELLS as f64)).collect();
        assert_eq!(grid, grid_of(&sorted));
    }

    /// A sample from a mixture: continuous values, optionally rounded to make many ties.
    fn sample(raw: &[(f64, f64)], shift: f64, scale: f64, round: bool) -> Vec<f64> {
        raw.iter()
            .map(|&(u, v)| {
                // Two-component mixture keeps the shapes from being trivially uniform.
                let x = if v < 0.3 { u * u * 10.0 } else { 5.0 + u * 3.0 };
                let x = shift + scale * x;
                if round {
                    x.round()
                } else {
                    x
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn grid_d_is_within_one_cell_of_exact(
            reference in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..3000),
            current in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..600),
            shift in -3.0f64..3.0,
            scale in 0.5f64..2.0,
        ) {
            let reference = sample(&reference, 0.0, 1.0, false);
            let current = sample(&current, shift, scale, false);
            let grid = grid_of(&reference);
            let d = ks_grid(&grid, &ks_counts(&grid, &current)).unwrap();
            let exact = ks_exact(&reference, &current);
            let bound = 1.0 / KS_CELLS as f64 + 1.0 / reference.len() as f64 + 1e-12;
            prop_assert!((d - exact).abs() <= bound, "grid {} exact {} n_ref {}", d, exact, reference.len());
        }

        /// A reference with heavy atoms (integer values), and a window drawn from the reference's
        /// values with another mixture weighting: the case the bound covers when there are ties.
        #[test]
        fn grid_d_is_within_one_cell_of_exact_with_ties(
            reference in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..3000),
            picks in prop::collection::vec(0.0f64..1.0, 1..600),
            skew in 0.2f64..5.0,
        ) {
            let reference = sample(&reference, 0.0, 1.0, true);
            let mut sorted = reference.clone();
            sorted.sort_by(f64::total_cmp);
            // Skewed picks of reference order statistics: a different distribution on the same atoms.
            let current: Vec<f64> = picks
                .iter()
                .map(|u| sorted[((u.powf(skew) * sorted.len() as f64) as usize).min(sorted.len() - 1)])
                .collect();
            let grid = grid_of(&reference);
            let d = ks_grid(&grid, &ks_counts(&grid, &current)).unwrap();
            let exact = ks_exact(&reference, &current);
            let bound = 1.0 / KS_CELLS as f64 + 1.0 / reference.len() as f64 + 1e-12;
            prop_assert!((d - exact).abs() <= bound, "grid {} exact {} n_ref {}", d, exact, reference.len());
        }
    }
}
