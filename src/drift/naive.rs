//! The obvious way to compute windowed drift, for tests: keep every value, and for each window
//! collect the values it covers and compute the statistics from them directly. Same window and
//! lateness rules as the dataflow (the watermark moves after each batch of `batch` values), none
//! of its machinery: no cells, no updates, no workers.

use super::ks::{ks_counts, ks_grid};
use super::psi::psi_counts;
use super::statistic::NumericWindow;
use super::statistics::Statistics;
use super::wasserstein::wasserstein_value;
use super::window::WindowSpec;
use crate::program::Measure;
use std::collections::BTreeSet;

/// A numeric reference: PSI edges and proportions, KS grid, sample size.
pub struct Reference<'a> {
    pub psi_edges: &'a [f64],
    pub psi_reference: &'a [f64],
    pub ks_grid: &'a [f64],
    pub count: u64,
}

/// Every window's statistics, in index order, and the number of late values, for `values`
/// given as (position, value) in arrival order. NaN values are skipped.
pub fn naive_windows(
    spec: WindowSpec,
    reference: &Reference<'_>,
    values: &[(u64, f64)],
    batch: usize,
) -> (Vec<(u64, Statistics)>, u64) {
    let mut members: Vec<(u64, u64, f64)> = Vec::new();
    let (mut open, mut watermark, mut late) = (0u64, 0u64, 0u64);
    for chunk in values.chunks(batch.max(1)) {
        let mut high = 0;
        for &(p, v) in chunk {
            high = high.max(p);
            if v.is_nan() {
                continue;
            }
            let enters = spec.enters(p);
            let leaves = spec.leaves(enters);
            if enters >= open {
                members.push((enters, leaves, v));
            } else {
                late += 1;
                if leaves > open {
                    members.push((open, leaves, v));
                }
            }
        }
        let next = if spec.measure == Measure::Events { high + 1 } else { high };
        watermark = watermark.max(next);
        let wm = match spec.measure {
            Measure::Events => watermark,
            Measure::EventTime => watermark.saturating_sub(spec.lateness),
        };
        open = open.max(spec.open_index(wm));
    }
    let last_entry = members.iter().map(|m| m.0).max().unwrap_or(0);
    let times: BTreeSet<u64> = members.iter().flat_map(|&(a, b, _)| [a, b]).filter(|&t| t <= last_entry).collect();
    let windows = times
        .into_iter()
        .map(|t| {
            let window: Vec<f64> = members.iter().filter(|m| m.0 <= t && t < m.1).map(|m| m.2).collect();
            (t, statistics(reference, &window))
        })
        .collect();
    (windows, late)
}

/// Every statistic of a sample against a reference, by counting the values directly.
pub fn statistics(reference: &Reference<'_>, window: &[f64]) -> Statistics {
    let n = window.iter().filter(|v| !v.is_nan()).count() as u64;
    let ks = ks_counts(reference.ks_grid, window);
    Statistics::numeric(&NumericWindow {
        n,
        psi_reference: reference.psi_reference,
        psi_counts: &psi_counts(reference.psi_edges, window),
        ks_d: if reference.ks_grid.is_empty() { None } else { ks_grid(reference.ks_grid, &ks) },
        wasserstein: wasserstein_value(reference.ks_grid, &ks),
        reference_count: reference.count,
    })
}
