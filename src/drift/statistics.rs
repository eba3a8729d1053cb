//! The drift statistics, as an open set: each [`DriftStatistic`] is registered once in [`ALL`].
//! Rules, guardrails, `/drift`, `/metrics`, the summary and the checker find statistics here by
//! name, so adding one is its own file, a line in [`ALL`], and its documentation and test.

use super::kolmogorov::ks_pvalue;
use super::psi::psi;
use super::statistic::{CategoricalWindow, DriftStatistic, NumericWindow, Param};
use super::wasserstein::Wasserstein;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Every statistic, in the order outputs list them.
pub static ALL: [&dyn DriftStatistic; 4] = [&Psi, &KsDistance, &KsPValue, &Wasserstein];

/// The statistic called `name` in the language.
pub fn find(name: &str) -> Option<&'static dyn DriftStatistic> {
    ALL.iter().copied().find(|s| s.name() == name)
}

/// The names the language knows, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    ALL.iter().map(|s| s.name())
}

/// What one evaluated window says: its size and every statistic's value (`None` for an empty
/// window, and for a numeric statistic of a categorical target).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    /// Values in the window.
    pub n: u64,
    values: [Option<f64>; ALL.len()],
}

impl Statistics {
    /// A window with no statistics (empty, or nothing to compare with).
    pub fn none(n: u64) -> Statistics {
        Statistics { n, values: [None; ALL.len()] }
    }

    /// A window with the given values by key (`("psi", 0.3)`), the others `None`.
    pub fn with(n: u64, values: &[(&str, f64)]) -> Statistics {
        let mut s = Statistics::none(n);
        for (key, v) in values {
            let i = ALL.iter().position(|st| st.key() == *key).unwrap_or_else(|| panic!("no statistic keyed `{key}`"));
            s.values[i] = Some(*v);
        }
        s
    }

    /// Every statistic of a numeric window.
    pub fn numeric(w: &NumericWindow) -> Statistics {
        Statistics { n: w.n, values: ALL.map(|s| s.numeric(w)) }
    }

    /// Every statistic of a categorical window.
    pub fn categorical(w: &CategoricalWindow) -> Statistics {
        Statistics { n: w.n, values: ALL.map(|s| s.categorical(w)) }
    }

    /// The value of the statistic keyed `key` (`psi`, `ks_d`, `ks_p`, `wasserstein`).
    pub fn get(&self, key: &str) -> Option<f64> {
        ALL.iter().position(|s| s.key() == key).and_then(|i| self.values[i])
    }

    /// The value of the statistic called `name` in the language.
    pub fn named(&self, name: &str) -> Option<f64> {
        ALL.iter().position(|s| s.name() == name).and_then(|i| self.values[i])
    }

    /// (key, value) of every statistic, in [`ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Option<f64>)> + '_ {
        ALL.iter().zip(&self.values).map(|(s, v)| (s.key(), *v))
    }

    pub fn psi(&self) -> Option<f64> {
        self.get("psi")
    }

    pub fn ks_d(&self) -> Option<f64> {
        self.get("ks_d")
    }

    pub fn ks_p(&self) -> Option<f64> {
        self.get("ks_p")
    }
}

/// `{"n": .., "psi": .., "ks_d": .., ...}`: one key per statistic, null when it has no value.
impl Serialize for Statistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + ALL.len()))?;
        map.serialize_entry("n", &self.n)?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}

/// Population stability index over the baseline's bins (PRODUCT.md, "Drift statistics").
struct Psi;

impl DriftStatistic for Psi {
    fn name(&self) -> &'static str {
        "psi"
    }
    fn gauge(&self) -> (&'static str, &'static str) {
        ("housing_flow_drift_psi", "PSI of the latest window.")
    }
    fn params(&self) -> &'static [Param] {
        &[Param { name: "bins", default: 10, min: 2, max: 1000 }]
    }
    fn numeric(&self, w: &NumericWindow) -> Option<f64> {
        psi(w.psi_reference, w.psi_counts)
    }
    fn categorical(&self, w: &CategoricalWindow) -> Option<f64> {
        w.psi
    }
}

/// Kolmogorov–Smirnov distance on the reference quantile grid.
struct KsDistance;

const KS_CELLS: Param = Param { name: "cells", default: 1000, min: 10, max: 100_000 };

impl DriftStatistic for KsDistance {
    fn name(&self) -> &'static str {
        "ks"
    }
    fn key(&self) -> &'static str {
        "ks_d"
    }
    fn gauge(&self) -> (&'static str, &'static str) {
        ("housing_flow_drift_ks_distance", "Kolmogorov–Smirnov distance of the latest window.")
    }
    fn params(&self) -> &'static [Param] {
        &[KS_CELLS]
    }
    fn numeric(&self, w: &NumericWindow) -> Option<f64> {
        w.ks_d
    }
}

/// The p-value of that distance: scipy's `kstwo.sf(D, round(n·m/(n+m)))`.
struct KsPValue;

impl DriftStatistic for KsPValue {
    fn name(&self) -> &'static str {
        "ks_p"
    }
    fn gauge(&self) -> (&'static str, &'static str) {
        ("housing_flow_drift_ks_pvalue", "Kolmogorov–Smirnov p-value of the latest window.")
    }
    fn params(&self) -> &'static [Param] {
        &[KS_CELLS]
    }
    fn numeric(&self, w: &NumericWindow) -> Option<f64> {
        KsDistance.numeric(w).map(|d| ks_pvalue(d, w.n, w.reference_count)).filter(|p| !p.is_nan())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_unique_and_found() {
        let mut seen = std::collections::BTreeSet::new();
        for s in ALL {
            assert!(seen.insert(s.name()), "{} twice", s.name());
            assert!(std::ptr::eq(find(s.name()).unwrap(), s));
            assert!(s.gauge().0.starts_with("housing_flow_drift_"));
        }
        assert!(find("wasserstein").is_some() && find("psi").is_some() && find("nope").is_none());
    }

    #[test]
    fn serializes_every_key_with_nulls() {
        let json = serde_json::to_value(Statistics::none(3)).unwrap();
        assert_eq!(json["n"], 3);
        for s in ALL {
            assert!(json[s.key()].is_null(), "{json}");
        }
    }
}
