//! The Wasserstein-1 (earth mover's) distance between the window and the reference, from the
//! window's counts per cell of the reference quantile grid: no value is kept, so it costs
//! O(cells) per window like the KS distance.
//!
//! What it measures: W1 = ∫ |R(x) − W(x)| dx over the reference's range `[grid[0], grid[last]]`
//! (the 1/cells quantile to the maximum), R and W the reference's and the window's CDFs. Values
//! outside that range count at its edge, so it equals scipy's `wasserstein_distance` of both
//! samples clipped to the range. It is in the monitored value's unit (dollars for an income).
//!
//! How exact: at each grid point W is known exactly from the counts and R is the grid's level
//! (k + 1)/cells to within 2/N_ref (the grid interpolates the reference's quantiles). Between two
//! grid points both CDFs are only known to be monotone, so over cell k of width w_k the value is
//! the trapezoid of |R − W| at its ends, and its error is at most
//! w_k · (the largest and smallest |R − W| the endpoint values allow, minus that estimate):
//! roughly Σ w_k · (1/cells + 2/N_ref + (window share of cell k)). [`wasserstein_grid`] returns
//! that bound with the value; it shrinks with finer grids and where the window has few values.

use super::statistic::{DriftStatistic, NumericWindow};

/// The Wasserstein-1 distance on the reference's range, and a bound on its error; `None` for an
/// empty window or a grid of fewer than two points.
///
/// # Panics
/// If `counts.len() != grid.len() + 1`.
pub fn wasserstein_grid(grid: &[f64], counts: &[u64], reference_count: u64) -> Option<(f64, f64)> {
    assert_eq!(counts.len(), grid.len() + 1, "one count per grid cell plus the overflow cell");
    let total: u64 = counts.iter().sum();
    if total == 0 || grid.len() < 2 {
        return None;
    }
    let (cells, n) = (grid.len() as f64, total as f64);
    // How far the reference's CDF at a grid point may be from the grid's nominal level.
    let slack = 2.0 / reference_count.max(1) as f64;
    let mut below = counts[0];
    let (mut value, mut error) = (0.0, 0.0);
    for k in 0..grid.len() - 1 {
        let (r0, r1) = ((k + 1) as f64 / cells, (k + 2) as f64 / cells);
        let w0 = below as f64 / n;
        below += counts[k + 1];
        let w1 = below as f64 / n;
        let width = grid[k + 1] - grid[k];
        if width <= 0.0 {
            continue;
        }
        let estimate = 0.5 * ((r0 - w0).abs() + (r1 - w1).abs());
        // Inside the cell R − W lies in [lo, hi]: R ≥ r0 − slack, R ≤ r1 + slack, W in [w0, w1].
        let (lo, hi) = (r0 - slack - w1, r1 + slack - w0);
        let largest = lo.abs().max(hi.abs());
        let smallest = if lo <= 0.0 && hi >= 0.0 { 0.0 } else { lo.abs().min(hi.abs()) };
        value += width * estimate;
        error += width * (largest - estimate).max(estimate - smallest);
    }
    Some((value, error))
}

/// The value of [`wasserstein_grid`] without its error bound, in one pass with no division:
/// what every window computes. The cells' terms go to four sums in turn, so that the additions
/// overlap instead of each waiting for the one before.
pub fn wasserstein_value(grid: &[f64], counts: &[u64]) -> Option<f64> {
    assert_eq!(counts.len(), grid.len() + 1, "one count per grid cell plus the overflow cell");
    let total: u64 = counts.iter().sum();
    if total == 0 || grid.len() < 2 {
        return None;
    }
    let (per_cell, per_value) = (1.0 / grid.len() as f64, 1.0 / total as f64);
    let mut below = counts[0] as i64;
    // |R − W| at the cell's lower and upper grid point; a cell of zero width adds nothing.
    let mut lower = (per_cell - below as f64 * per_value).abs();
    // Cell k's term: its width times |R − W| at both ends.
    let mut term = |k: usize| {
        below += counts[k + 1] as i64;
        let upper = ((k + 2) as f64 * per_cell - below as f64 * per_value).abs();
        let t = (grid[k + 1] - grid[k]) * (lower + upper);
        lower = upper;
        t
    };
    let cells = grid.len() - 1;
    let mut sums = [0.0; 4];
    let mut k = 0;
    while k + 4 <= cells {
        sums[0] += term(k);
        sums[1] += term(k + 1);
        sums[2] += term(k + 2);
        sums[3] += term(k + 3);
        k += 4;
    }
    for k in k..cells {
        sums[0] += term(k);
    }
    Some(0.5 * ((sums[0] + sums[1]) + (sums[2] + sums[3])))
}

/// `wasserstein() > 5000 => alert`: W1 in the monitored value's unit.
pub struct Wasserstein;

impl DriftStatistic for Wasserstein {
    fn name(&self) -> &'static str {
        "wasserstein"
    }
    fn gauge(&self) -> (&'static str, &'static str) {
        ("housing_flow_drift_wasserstein", "Wasserstein-1 distance of the latest window, in the value's unit.")
    }
    fn numeric(&self, w: &NumericWindow) -> Option<f64> {
        w.wasserstein
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid of the uniform reference on [0, 1000]: point k at (k + 1), cells of width 1.
    fn uniform_grid() -> Vec<f64> {
        (0..1000).map(|k| (k + 1) as f64).collect()
    }

    #[test]
    fn a_window_like_the_reference_is_near_zero_and_a_shift_is_its_size() {
        let grid = uniform_grid();
        // One value per cell: the window is the reference.
        let same: Vec<u64> = (0..=1000).map(|k| u64::from(k < 1000)).collect();
        let (w, err) = wasserstein_grid(&grid, &same, 1_000_000).unwrap();
        assert!(w < 1.0 && err < 2.0, "{w} ± {err}");
        // Every value moved up by 100 cells: W1 is 100 (less the part beyond the range's end).
        let mut shifted = vec![0u64; 1001];
        for k in 0..1000 {
            shifted[(k + 100).min(1000)] += 1;
        }
        let (w, err) = wasserstein_grid(&grid, &shifted, 1_000_000).unwrap();
        let exact = 100.0 - 100.0 * 100.0 / 2.0 / 1000.0; // the top 100 values clip at the edge
        assert!((w - exact).abs() <= err, "{w} ± {err} vs {exact}");
        assert!(err < 5.0, "the bound is tight enough to mean something: {err}");
    }

    proptest::proptest! {
        /// The one-pass value is the bounded one's, to rounding.
        #[test]
        fn the_value_alone_is_the_same(
            steps in proptest::collection::vec(0.0f64..10.0, 2..300),
            counts in proptest::collection::vec(0u64..50, 301),
        ) {
            let grid: Vec<f64> = steps.iter().scan(0.0, |x, s| { *x += s; Some(*x) }).collect();
            let counts = &counts[..=grid.len()];
            let full = wasserstein_grid(&grid, counts, 1000).map(|(v, _)| v);
            let fast = wasserstein_value(&grid, counts);
            match (full, fast) {
                (Some(a), Some(b)) => proptest::prop_assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{} vs {}", a, b),
                (a, b) => proptest::prop_assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn an_empty_window_has_none() {
        assert!(wasserstein_grid(&uniform_grid(), &[0; 1001], 10).is_none());
    }
}
