//! Holdout metrics.

/// Coefficient of determination.
pub fn r2(y: &[f64], pred: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(v, p)| (v - p).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

/// Root mean squared error.
pub fn rmse(y: &[f64], pred: &[f64]) -> f64 {
    (y.iter().zip(pred).map(|(v, p)| (v - p).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
}

/// Mean absolute error.
pub fn mae(y: &[f64], pred: &[f64]) -> f64 {
    y.iter().zip(pred).map(|(v, p)| (v - p).abs()).sum::<f64>() / y.len() as f64
}

/// Fraction of labels inside `[lower, upper]`.
pub fn coverage(y: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let inside =
        y.iter().zip(lower.iter().zip(upper)).filter(|(v, (l, u))| **v >= l.min(**u) && **v <= u.max(**l)).count();
    inside as f64 / y.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_known_values() {
        let y = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(r2(&y, &y), 1.0);
        assert!((r2(&y, &[2.5; 4])).abs() < 1e-12);
        assert!((rmse(&y, &[2.0, 2.0, 3.0, 4.0]) - 0.5).abs() < 1e-12);
        assert!((mae(&y, &[2.0, 2.0, 3.0, 6.0]) - 0.75).abs() < 1e-12);
        assert_eq!(coverage(&y, &[0.0, 2.5, 2.0, 5.0], &[1.5, 3.0, 4.0, 6.0]), 0.5);
    }
}
