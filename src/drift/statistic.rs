//! What a drift statistic is: a [`DriftStatistic`] computes one number from a window's counts
//! against the baseline. The set of them is `statistics.rs`.

/// A numeric window folded onto the baseline: counts per PSI bin, and the distances between
/// the window's and the reference's distribution functions, which whoever keeps the counts
/// computes (in one pass over them, see `ks_tree.rs`).
pub struct NumericWindow<'a> {
    /// Values in the window.
    pub n: u64,
    /// Reference proportion per PSI bin, and the window's count per bin.
    pub psi_reference: &'a [f64],
    pub psi_counts: &'a [u64],
    /// The KS distance, on the grid or exact (see `ks_tree.rs`); `None` for an empty window.
    pub ks_d: Option<f64>,
    /// The Wasserstein-1 distance on the reference quantile grid (see `wasserstein.rs`);
    /// `None` for an empty window.
    pub wasserstein: Option<f64>,
    /// Size of the reference sample.
    pub reference_count: u64,
}

/// A categorical window: its PSI over categories, computed by the counts (see `counts.rs`).
pub struct CategoricalWindow {
    pub n: u64,
    pub psi: Option<f64>,
}

/// A setting of a statistic in the language, e.g. `psi(bins: 10)`: its default and bounds.
pub struct Param {
    pub name: &'static str,
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

/// One drift statistic.
pub trait DriftStatistic: Sync {
    /// Its name in the language (`psi(...) > 0.2`, `guardrail ... when psi(d) > 0.25`).
    fn name(&self) -> &'static str;
    /// Its key in `/drift` and the summary (`ks` is the KS distance, keyed `ks_d`).
    fn key(&self) -> &'static str {
        self.name()
    }
    /// Its Prometheus gauge and help text.
    fn gauge(&self) -> (&'static str, &'static str);
    /// Settings it takes in the language.
    fn params(&self) -> &'static [Param] {
        &[]
    }
    /// Its value on a numeric window; `None` when it has none (an empty window).
    fn numeric(&self, w: &NumericWindow) -> Option<f64>;
    /// Its value on a categorical window; most statistics are numeric only.
    fn categorical(&self, _w: &CategoricalWindow) -> Option<f64> {
        None
    }
}
