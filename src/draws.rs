//! Seeded randomness for simulations (auction markets, scenario drift and faults): every draw
//! is a pure function of the seed and what it is for (a listing and a bidder, an event and a
//! field), so a result never depends on which worker computed it or in what order.

/// SplitMix64's finaliser: a well-mixed 64-bit value from any 64-bit input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit draw for (seed, what, whom, purpose): a listing and a bidder, an event and a field.
pub fn draw(seed: u64, what: u64, whom: u64, purpose: u64) -> u64 {
    mix(mix(mix(mix(seed) ^ what) ^ whom) ^ purpose)
}

/// A uniform draw in (0, 1).
pub fn uniform(seed: u64, what: u64, whom: u64, purpose: u64) -> f64 {
    ((draw(seed, what, whom, purpose) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// A standard normal draw (Box–Muller on two uniform draws).
pub fn normal(seed: u64, what: u64, whom: u64) -> f64 {
    let u1 = uniform(seed, what, whom, 1);
    let u2 = uniform(seed, what, whom, 2);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pure_and_normals_look_normal() {
        assert_eq!(draw(1, 2, 3, 4), draw(1, 2, 3, 4));
        assert_ne!(draw(1, 2, 3, 4), draw(1, 2, 4, 3));
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|i| normal(7, i, 0)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.02, "mean {mean}, variance {var}");
    }
}
