//! Drift monitoring. Pure statistics over baselines and counts (PSI, the KS distance on a
//! reference quantile grid, the Kolmogorov p-value; see PRODUCT.md, "Drift statistics"), the
//! mapping of values to cells, window arithmetic, the windows as a differential collection,
//! rules with hysteresis, and the board the HTTP API and the summary read.

pub mod binning;
pub mod board;
pub mod counts;
pub mod dataflow;
pub mod delta;
pub mod kolmogorov;
pub mod ks;
pub mod ks_tree;
pub mod naive;
pub mod psi;
pub mod rules;
pub mod shared_input;
pub mod statistic;
pub mod statistics;
pub mod wasserstein;
pub mod window;

pub use binning::Binning;
pub use board::{BoardSnapshot, DriftBoard, DriftStatus};
pub use counts::WindowCounts;
pub use dataflow::{
    run_shared_windows, run_windows, window_collection, window_statistics, window_stats, Feed, WindowStats,
};
pub use delta::CellDelta;
pub use kolmogorov::{ks_pvalue, kstwo_sf, EXACT_DIGITS_ABOVE};
pub use ks::{ks_cell, ks_counts, ks_exact, ks_grid};
pub use psi::{psi, psi_categorical, psi_counts, PSI_FLOOR};
pub use rules::{Alert, RuleState, RuleStatus};
pub use shared_input::SharedInput;
pub use statistic::DriftStatistic;
pub use statistics::Statistics;
pub use wasserstein::{wasserstein_grid, wasserstein_value};
pub use window::WindowSpec;
