//! Drift statistics as pure functions over baselines and window counts: PSI, the KS distance on a
//! reference quantile grid, and the Kolmogorov p-value (see PRODUCT.md, "Drift statistics").
//!
//! The windowing keeps per-bin and per-cell counts and calls these on each emitted window.

pub mod kolmogorov;
pub mod ks;
pub mod psi;

pub use kolmogorov::{ks_pvalue, kstwo_sf};
pub use ks::{ks_cell, ks_counts, ks_exact, ks_grid};
pub use psi::{psi, psi_categorical, psi_counts, PSI_FLOOR};
