//! `reference.bin`: the training values of every numeric drift target, kept with the version so
//! that `ks(exact)` compares a window with the whole reference sample rather than its quantile
//! grid.
//!
//! Layout, little-endian: the magic `HFREF1\n`, a u32 number of samples, then per sample a u32
//! name length, the name (UTF-8, keyed as the baselines are: `price_features.income`), a u64
//! value count and the values as f64, sorted ascending, without NaN.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The file's name in a version.
pub const REFERENCE_FILE: &str = "reference.bin";

const MAGIC: &[u8] = b"HFREF1\n";

/// Sorted training values by drift target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferenceSamples {
    samples: BTreeMap<String, Arc<[f64]>>,
}

impl ReferenceSamples {
    /// Adds `values` under `key`, sorted and without NaN.
    pub fn insert(&mut self, key: impl Into<String>, values: &[f64]) {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        self.samples.insert(key.into(), sorted.into());
    }

    /// The sorted sample of `key`.
    pub fn get(&self, key: &str) -> Option<Arc<[f64]>> {
        self.samples.get(key).cloned()
    }

    pub fn encode(&self) -> Vec<u8> {
        let values: usize = self.samples.values().map(|s| s.len()).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + self.samples.len() * 64 + values * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.samples.len() as u32).to_le_bytes());
        for (key, sample) in &self.samples {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&(sample.len() as u64).to_le_bytes());
            for v in sample.iter() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Reads the file back; a truncated, unsorted or otherwise malformed file is an error saying where.
    pub fn decode(bytes: &[u8]) -> Result<ReferenceSamples, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(format!("{REFERENCE_FILE} does not start with its magic bytes"));
        }
        let count = u32::from_le_bytes(r.array()?);
        let mut samples = BTreeMap::new();
        for _ in 0..count {
            let len = u32::from_le_bytes(r.array()?) as usize;
            let key = std::str::from_utf8(r.take(len)?)
                .map_err(|_| format!("{REFERENCE_FILE}: a sample name at byte {} is not UTF-8", r.at - len))?
                .to_string();
            let n = u64::from_le_bytes(r.array()?) as usize;
            if n > (bytes.len() - r.at) / 8 {
                return Err(format!("{REFERENCE_FILE}: `{key}` claims {n} values, more than the file holds"));
            }
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(f64::from_le_bytes(r.array()?));
            }
            if values.iter().any(|v| v.is_nan()) || values.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!("{REFERENCE_FILE}: the values of `{key}` are not sorted numbers"));
            }
            samples.insert(key, values.into());
        }
        if r.at != bytes.len() {
            return Err(format!("{REFERENCE_FILE}: {} bytes after the last sample", bytes.len() - r.at));
        }
        Ok(ReferenceSamples { samples })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("{REFERENCE_FILE} ends early, at byte {}", self.bytes.len()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_sorted_without_nan() {
        let mut s = ReferenceSamples::default();
        s.insert("f.income", &[3.0, f64::NAN, -1.0, 2.5, 2.5]);
        s.insert("m.prediction", &[]);
        let back = ReferenceSamples::decode(&s.encode()).unwrap();
        assert_eq!(back, s);
        assert_eq!(&*back.get("f.income").unwrap(), &[-1.0, 2.5, 2.5, 3.0]);
        assert!(back.get("nope").is_none());
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        let mut s = ReferenceSamples::default();
        s.insert("a", &[1.0, 2.0]);
        let bytes = s.encode();
        assert!(ReferenceSamples::decode(&bytes[..bytes.len() - 3]).unwrap_err().contains("claims 2 values"));
        assert!(ReferenceSamples::decode(&bytes[..13]).unwrap_err().contains("ends early"));
        assert!(ReferenceSamples::decode(b"nope").unwrap_err().contains("ends early"));
        assert!(ReferenceSamples::decode(b"HFREF0\nxxxx").unwrap_err().contains("magic"));
        let mut unsorted = bytes.clone();
        let n = unsorted.len();
        unsorted[n - 16..n - 8].copy_from_slice(&9.0f64.to_le_bytes());
        assert!(ReferenceSamples::decode(&unsorted).unwrap_err().contains("not sorted"));
        let mut trailing = bytes;
        trailing.push(0);
        assert!(ReferenceSamples::decode(&trailing).unwrap_err().contains("after the last"));
    }

    proptest! {
        /// No input makes decoding panic.
        #[test]
        fn decoding_any_bytes_is_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = ReferenceSamples::decode(&framed);
            let _ = ReferenceSamples::decode(&bytes);
        }
    }
}
