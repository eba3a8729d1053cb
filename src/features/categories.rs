//! Category codes: for each categorical feature, the values seen in training, in sorted
//! order, numbered from 0. Stored with the model so serving encodes exactly as training did.

use super::{Cell, CompiledFeatures};
use crate::data::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryMaps {
    /// Feature name → its categories; a category's code is its position.
    pub values: BTreeMap<String, Vec<String>>,
    #[serde(skip)]
    index: Vec<Option<HashMap<String, u32>>>,
}

impl CategoryMaps {
    /// Learns the categories of every categorical feature from training events.
    pub fn learn<'a>(features: &CompiledFeatures, events: impl IntoIterator<Item = &'a [Value]>) -> Self {
        let cats = features.categorical();
        let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); cats.len()];
        for e in events {
            for (k, &i) in cats.iter().enumerate() {
                if let Cell::Text(t) = features.cell(i, e) {
                    if !seen[k].contains(t.as_ref()) {
                        seen[k].insert(t.into_owned());
                    }
                }
            }
        }
        let values =
            cats.iter().zip(seen).map(|(&i, s)| (features.names[i].clone(), s.into_iter().collect())).collect();
        Self::from_values(features, values)
    }

    /// Rebuilds the lookup tables for a feature order (after loading from `meta.json`).
    pub fn from_values(features: &CompiledFeatures, values: BTreeMap<String, Vec<String>>) -> Self {
        let index = features
            .names
            .iter()
            .map(|n| values.get(n).map(|vs| vs.iter().enumerate().map(|(code, v)| (v.clone(), code as u32)).collect()))
            .collect();
        CategoryMaps { values, index }
    }

    /// The code of `value` for feature `i`; `None` for an unseen category.
    pub fn code(&self, i: usize, value: &str) -> Option<u32> {
        self.index.get(i)?.as_ref()?.get(value).copied()
    }
}
