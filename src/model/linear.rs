//! Ordinary least squares: the baseline every trained model is compared with.

/// A fitted linear model: `intercept + Σ coef · x`, missing values replaced by the training mean.
#[derive(Clone, Debug)]
pub struct Linear {
    pub intercept: f64,
    pub coef: Vec<f64>,
    means: Vec<f64>,
    scales: Vec<f64>,
    /// Features left out (categorical, or constant).
    skip: Vec<bool>,
}

impl Linear {
    /// Fits on row-major rows, leaving out the features marked in `skip`.
    pub fn fit(rows: &[f64], y: &[f64], n_features: usize, skip: &[bool]) -> Linear {
        let n = y.len();
        let mut means = vec![0.0; n_features];
        let mut counts = vec![0usize; n_features];
        for r in rows.chunks(n_features) {
            for (j, &x) in r.iter().enumerate() {
                if x.is_finite() {
                    means[j] += x;
                    counts[j] += 1;
                }
            }
        }
        for j in 0..n_features {
            means[j] /= counts[j].max(1) as f64;
        }
        let mut scales = vec![0.0; n_features];
        for r in rows.chunks(n_features) {
            for (j, &x) in r.iter().enumerate() {
                let v = if x.is_finite() { x } else { means[j] };
                scales[j] += (v - means[j]).powi(2);
            }
        }
        let mut skip = skip.to_vec();
        for j in 0..n_features {
            scales[j] = (scales[j] / n.max(1) as f64).sqrt();
            if scales[j] == 0.0 {
                skip[j] = true;
            }
        }
        let cols: Vec<usize> = (0..n_features).filter(|&j| !skip[j]).collect();
        let k = cols.len() + 1;
        // Normal equations on standardized columns, with a whisper of ridge for stability.
        let mut a = vec![0.0; k * k];
        let mut b = vec![0.0; k];
        let mut x = vec![0.0; k];
        for (r, &yi) in rows.chunks(n_features).zip(y) {
            x[0] = 1.0;
            for (c, &j) in cols.iter().enumerate() {
                let v = if r[j].is_finite() { r[j] } else { means[j] };
                x[c + 1] = (v - means[j]) / scales[j];
            }
            for p in 0..k {
                b[p] += x[p] * yi;
                for q in 0..k {
                    a[p * k + q] += x[p] * x[q];
                }
            }
        }
        for p in 1..k {
            a[p * k + p] += 1e-9 * n as f64;
        }
        let beta = solve(a, b, k);
        let mut coef = vec![0.0; n_features];
        let mut intercept = beta[0];
        for (c, &j) in cols.iter().enumerate() {
            coef[j] = beta[c + 1] / scales[j];
            intercept -= coef[j] * means[j];
        }
        Linear { intercept, coef, means, scales, skip }
    }

    /// Predictions for row-major rows.
    pub fn predict(&self, rows: &[f64]) -> Vec<f64> {
        let n_features = self.coef.len();
        rows.chunks(n_features)
            .map(|r| {
                let mut s = self.intercept;
                for (j, &x) in r.iter().enumerate() {
                    if !self.skip[j] {
                        s += self.coef[j] * if x.is_finite() { x } else { self.means[j] };
                    }
                }
                s
            })
            .collect()
    }

    /// The feature scales used in fitting (standard deviations).
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }
}

/// Solves `a · x = b` (k × k, row-major) by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, k: usize) -> Vec<f64> {
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs())).unwrap_or(col);
        if pivot != col {
            for q in 0..k {
                a.swap(col * k + q, pivot * k + q);
            }
            b.swap(col, pivot);
        }
        let d = a[col * k + col];
        if d.abs() < 1e-300 {
            continue;
        }
        for row in col + 1..k {
            let f = a[row * k + col] / d;
            if f != 0.0 {
                for q in col..k {
                    a[row * k + q] -= f * a[col * k + q];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; k];
    for row in (0..k).rev() {
        let mut s = b[row];
        for q in row + 1..k {
            s -= a[row * k + q] * x[q];
        }
        let d = a[row * k + row];
        x[row] = if d.abs() < 1e-300 { 0.0 } else { s / d };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_linear_relation() {
        let rows: Vec<f64> = (0..200).flat_map(|i| [i as f64, ((i * 7) % 13) as f64, 5.0]).collect();
        let y: Vec<f64> = rows.chunks(3).map(|r| 3.0 + 2.0 * r[0] - 0.5 * r[1]).collect();
        let m = Linear::fit(&rows, &y, 3, &[false; 3]);
        assert!((m.intercept - 3.0).abs() < 1e-6, "{}", m.intercept);
        assert!((m.coef[0] - 2.0).abs() < 1e-6 && (m.coef[1] + 0.5).abs() < 1e-6, "{:?}", m.coef);
        // The constant column is left out rather than making the system singular.
        assert_eq!(m.coef[2], 0.0);
        let p = m.predict(&rows);
        assert!(p.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
