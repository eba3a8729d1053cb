//! The finite-n two-sided Kolmogorov distribution and the two-sample KS p-value.
//!
//! `kstwo_sf(d, n)` = P(D_n ≥ d) for the one-sample statistic D_n = sup |F_n − F|, following the
//! method selection of Simard & L'Ecuyer (2011) as scipy's `kstwo.sf` does
//! (`scipy/stats/_ksstats.py`, `_kolmogn`):
//! - n·d ≤ 1 and n·d ≥ n − 1: the closed forms of Ruben & Gambino;
//! - d ≥ 0.5, or a large n·d²: twice the exact one-sided tail (Birnbaum–Tingey), since the
//!   events D⁺ ≥ d and D⁻ ≥ d are disjoint (d ≥ 0.5) or their overlap is negligible;
//! - small n·d^1.5 with n below 1,000: Durbin's matrix method (Marsaglia, Tsang & Wang 2003)
//!   with power-of-two scaling, which is exact;
//! - otherwise the Pelz–Good asymptotic series. scipy uses the matrix method up to n = 100,000;
//!   from n = 1,000 on the series is within 3.2e-8 of it there (and 3e-13 at n = 13,800), at a
//!   thousandth of the cost.
//!
//! The one-sided tail is a sum of up to n terms; only those near its peak are added, which is
//! what keeps a p-value of a drifted window of 100,000 values at microseconds.
//!
//! Where scipy uses Pomeranz's recursion (n ≤ 140, 0.754693 < n·d² ≤ 4) the matrix method is
//! used instead: both are exact, and there the matrix is at most 47×47.

/// n·d² beyond which [`kstwo_sf`] answers with the tail bound 2·e^(−2nd²) < 1e-15.
pub const TAIL_BOUND: f64 = 17.6;

/// P-values from here up carry scipy's digits; below it they are the tail bound 2·e^(−2nd²),
/// an upper bound of the exact value (whose largest value, at n·d² = 17.6, is 1.03e-15).
pub const EXACT_DIGITS_ABOVE: f64 = 1.1e-15;

/// From this n on, the Pelz–Good series replaces the matrix method (see [`kstwo_sf`]).
const PELZ_GOOD_FROM: u64 = 1000;

/// Scale step for the matrix method: values are kept within 2^±128 and the exponent tracked apart.
const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128

/// P(D_n ≥ d) for the two-sided one-sample Kolmogorov statistic with sample size `n`, as scipy's `kstwo.sf(d, n)`.
///
/// `n = 0` or a NaN `d` gives NaN; d ≤ 0 gives 1 and d ≥ 1 gives 0.
pub fn kstwo_sf(d: f64, n: u64) -> f64 {
    if n == 0 || d.is_nan() {
        return f64::NAN;
    }
    if d >= 1.0 {
        return 0.0;
    }
    if d <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * d;
    if t <= 1.0 {
        // Ruben–Gambino: for 1/(2n) < d ≤ 1/n, P(D_n ≤ d) = n!/n^n · (2t − 1)^n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = (log_nfactorial_div_n_pow_n(n) + nf * (2.0 * t - 1.0).ln()).exp();
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        // Ruben–Gambino: for d ≥ 1 − 1/n, P(D_n ≥ d) = 2(1 − d)^n.
        return clip(2.0 * (1.0 - d).powf(nf));
    }
    if d >= 0.5 {
        return clip(2.0 * smirnov(n, d));
    }
    let nxsquared = t * d;
    if n <= 140 {
        if nxsquared <= 4.0 {
            return clip(1.0 - durbin_matrix_cdf(n, d));
        }
        return clip(2.0 * smirnov(n, d));
    }
    // Beyond these the two one-sided tails hardly overlap (and vanish at 370), as in scipy.
    if nxsquared >= 370.0 {
        return 0.0;
    }
    // Far in the tail the exact one-sided sum (O(n) terms: 2 ms at n = 100,000) is not worth its
    // cost: each tail is at most e^(−2nd²) (Massart), so the p-value is the bound 2·e^(−2nd²),
    // at most 1.03e-15 here. It is an upper bound, not scipy's digits (3.6e-35 for 1.6e-35 at
    // n = 1000, d = 0.2; 1.3e-78 for 2.6e-80 at d = 0.3), and far below any alert threshold.
    if nxsquared >= TAIL_BOUND {
        return 2.0 * (-2.0 * nxsquared).exp();
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov(n, d));
    }
    // The matrix method costs O(k³ log n) for k = n·d (0.6 ms at n = 13,800); from n = 1,000
    // up the Pelz–Good series is within 3.2e-8 of it over this region, in 0.2 µs.
    let cdf = if n < PELZ_GOOD_FROM && nf * d.powf(1.5) <= 1.4 { durbin_matrix_cdf(n, d) } else { pelz_good_cdf(n, d) };
    clip(1.0 - cdf)
}

/// Two-sided p-value of the two-sample KS statistic `d` for sample sizes `n` and `m`, as scipy's `ks_2samp(method="asymp")`.
///
/// That is `kstwo_sf(d, en)` with en = n·m/(n+m) rounded half to even (numpy's `round`).
/// An empty sample gives NaN.
pub fn ks_pvalue(d: f64, n: u64, m: u64) -> f64 {
    if n == 0 || m == 0 {
        return f64::NAN;
    }
    let (nf, mf) = (n as f64, m as f64);
    let en = (nf * mf / (nf + mf)).round_ties_even();
    // n = m = 1 gives en = 0.5, which rounds to 0: NaN, as in scipy.
    kstwo_sf(d, en as u64)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// ln(n!/n^n) by Stirling's series (exact enough for n ≥ 1 at the precision needed here).
fn log_nfactorial_div_n_pow_n(n: u64) -> f64 {
    if n <= 140 {
        // Direct product: no overflow since each factor i/n ≤ 1.
        return (1..=n).map(|i| (i as f64 / n as f64).ln()).sum();
    }
    const C: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_5e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let nf = n as f64;
    let rn = 1.0 / nf;
    let x = rn / nf;
    let poly = C.iter().fold(0.0, |acc, &c| acc * x + c);
    nf.ln() / 2.0 - nf + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * poly
}

/// One-sided exact tail P(D_n⁺ ≥ d) by the Birnbaum–Tingey sum, each term in logs to avoid overflow.
fn smirnov(n: u64, d: f64) -> f64 {
    let nf = n as f64;
    let jmax = (nf * (1.0 - d)).floor() as u64;
    // ln of term j (j real from here on), given ln C(n, j); −∞ where 1 − d − j/n is 0.
    let log_term = |j: f64, log_binom: f64| {
        // 1 − d − j/n, written so that it is exactly 0 (not slightly negative) at the end.
        let a = (nf * (1.0 - d) - j) / nf;
        if a <= 0.0 {
            f64::NEG_INFINITY
        } else {
            log_binom + (nf - j) * a.ln() + (j - 1.0) * (d + j / nf).ln()
        }
    };
    // Terms 0..=last by the recurrence C(n, j) = C(n, j − 1)·(n − j + 1)/j.
    let head = |last: u64| {
        let (mut sum, mut log_binom) = (0.0, 0.0);
        for j in 0..=last {
            if j > 0 {
                log_binom += ((nf - j as f64 + 1.0) / j as f64).ln();
            }
            sum += log_term(j as f64, log_binom).exp();
        }
        sum
    };
    if jmax <= 4 * SMIRNOV_EDGE {
        return d * head(jmax);
    }
    // The terms form a smooth curve over j (ln of each differs from its neighbour's by O(1/n)),
    // so past the first and last SMIRNOV_EDGE terms, which are added one by one, the sum is
    // the curve's integral plus Euler–Maclaurin's end corrections, the integral by Simpson's
    // rule refined until two refinements agree to 1e-10 (the terms themselves carry 1e-11).
    let ln_binom = |j: f64| ln_gamma_1p(nf) - ln_gamma_1p(j) - ln_gamma_1p(nf - j);
    let f = |j: f64| log_term(j, ln_binom(j)).exp();
    let (lo, hi) = (SMIRNOV_EDGE as f64, (jmax - SMIRNOV_EDGE) as f64);
    let mut tail = 0.0;
    for j in (jmax - SMIRNOV_EDGE + 1)..=jmax {
        tail += f(j as f64);
    }
    let slope = |j: f64| (f(j + 1.0) - f(j - 1.0)) / 2.0;
    let ends = (f(lo) + f(hi)) / 2.0 + (slope(hi) - slope(lo)) / 12.0;
    let simpson = |intervals: usize| {
        let h = (hi - lo) / intervals as f64;
        let inner: f64 = (1..intervals).map(|i| f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
        (f(lo) + f(hi) + inner) * h / 3.0
    };
    let mut intervals = 32;
    let mut integral = simpson(intervals);
    loop {
        intervals *= 2;
        let finer = simpson(intervals);
        let settled = (finer - integral).abs() <= 1e-10 * finer.abs();
        integral = finer;
        if settled {
            break;
        }
        if intervals >= 8192 {
            // Not smooth enough to trust: add every term.
            return d * head(jmax);
        }
    }
    d * (head(SMIRNOV_EDGE - 1) + integral + ends + tail)
}

/// Terms of the one-sided tail added one by one at each end; the rest is integrated.
const SMIRNOV_EDGE: u64 = 64;

/// ln Γ(x + 1) for real x ≥ 0: ln x! exactly for whole x up to 20, Stirling's series beyond.
fn ln_gamma_1p(x: f64) -> f64 {
    if x < 20.0 && x.fract() == 0.0 {
        return ln_factorial(x as u64);
    }
    if x < 20.0 {
        // Γ(x + 1) = Γ(x + 21) / ((x + 1)(x + 2)⋯(x + 20)).
        return ln_gamma_1p(x + 20.0) - (1..=20).map(|i| (x + i as f64).ln()).sum::<f64>();
    }
    let (x2, ln2pi) = (x * x, (2.0 * std::f64::consts::PI).ln());
    x * x.ln() - x
        + 0.5 * (ln2pi + x.ln())
        + (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x
}

/// ln k!: exact products up to 20, [`ln_gamma_1p`] beyond.
fn ln_factorial(k: u64) -> f64 {
    if k <= 20 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    ln_gamma_1p(k as f64)
}

/// P(D_n < d) by Durbin's matrix method as in Marsaglia, Tsang & Wang (2003).
fn durbin_matrix_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0; m * m];
    // v[j] = (1 − h^(j+1)) / (j+1)!,  w[j] = 1 / j!.
    let mut v = vec![0.0; m];
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] = (1.0 - h.powi(j as i32)) * fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut pwr = identity(m);
    let mut expnt: i64 = 0;
    let mut h_expnt: i64 = 0;
    let mut nn = n;
    let centre = (k - 1) * m + (k - 1);
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
            // Unlike scipy's float64 path this also rescales the running product, whose central
            // entry grows like e^n and would otherwise overflow for large n.
            if pwr[centre].abs() > EP128 {
                pwr.iter_mut().for_each(|x| *x *= EM128);
                expnt += E128 as i64;
            }
        }
        nn /= 2;
        if nn == 0 {
            break;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[centre].abs() > EP128 {
            hm.iter_mut().for_each(|x| *x *= EM128);
            h_expnt += E128 as i64;
        }
    }
    let mut p = pwr[centre];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128 as i64;
        }
    }
    clip(ldexp(p, expnt))
}

fn identity(m: usize) -> Vec<f64> {
    let mut a = vec![0.0; m * m];
    (0..m).for_each(|i| a[i * m + i] = 1.0);
    a
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for l in 0..m {
            let x = a[i * m + l];
            if x == 0.0 {
                continue;
            }
            let (brow, crow) = (&b[l * m..(l + 1) * m], &mut c[i * m..(i + 1) * m]);
            crow.iter_mut().zip(brow).for_each(|(c, &b)| *c += x * b);
        }
    }
    c
}

/// p · 2^e without intermediate overflow or underflow in the scale factor.
fn ldexp(mut p: f64, mut e: i64) -> f64 {
    while e > 1000 {
        p *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        p *= 2f64.powi(-1000);
        e += 1000;
    }
    p * 2f64.powi(e as i32)
}

/// P(D_n ≤ d) by the Pelz–Good series (Simard & L'Ecuyer 2011, eq. for large n), as scipy's `_kolmogn_PelzGood`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil().max(1.0) as u64;
    // Horner in q^(8k), summing the highest k first.
    for k in (1..=maxk).rev() {
        let mf = (2 * k - 1) as f64;
        let (m2, m4, m6) = (mf * mf, mf.powi(4), mf.powi(6));
        let qpower = q.powf(8.0 * k as f64);
        let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (s, c) in kk.iter_mut().zip(coeffs) {
            *s = *s * qpower + c;
        }
    }
    let denoms = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (s, dn) in kk.iter_mut().zip(denoms) {
        *s = *s * q * sqrt2pi / dn;
    }
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for k in 1..=maxk {
        let kf = k as f64;
        let qp = q2.powf(kf * kf);
        k2extra += kf * kf * qp;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kf * kf * qp;
    }
    kk[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    (0..4).map(|i| kk[i] / nf.powf(i as f64 / 2.0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (en, d, p) from scipy 1.17.1 `scipy.stats.kstwo.sf(d, en)`, the p-value that
    /// `ks_2samp(..., method="asymp")` reports for effective sample size en.
    const SCIPY_KSTWO_SF: &[(u64, f64, f64)] = &[
        (5, 0.0, 1.0),
        (5, 0.0001, 1.0),
        (5, 0.05, 1.0),
        (5, 0.1, 1.0),
        (5, 0.12, 0.999987712),
        (5, 0.2, 0.9616),
        (5, 0.22360679774997896, 0.9162082822963654),
        (5, 0.3, 0.664),
        (5, 0.35777087639996635, 0.4415172023820515),
        (5, 0.4, 0.3087999999999995),
        (5, 0.4472135954999579, 0.19951883851095398),
        (5, 0.45, 0.19399374999999963),
        (5, 0.5, 0.112),
        (5, 0.5366563145999494, 0.07107678230606948),
        (5, 0.6, 0.03008000000000001),
        (5, 0.6082104898799429, 0.02669176737924828),
        (5, 0.7289581606649314, 0.00311125550322872),
        (5, 0.8, 0.0006399999999999993),
        (5, 0.8944271909999159, 2.6229522294832813e-05),
        (5, 0.95, 6.250000000000028e-07),
        (5, 0.99, 2.0000000000000089e-10),
        (5, 1.0, 0.0),
        (10, 0.0, 1.0),
        (10, 0.0001, 1.0),
        (10, 0.05, 1.0),
        (10, 0.06, 0.9999999999628411),
        (10, 0.1, 0.99963712),
        (10, 0.15, 0.95396527),
        (10, 0.15811388300841897, 0.9316945195670987),
        (10, 0.2, 0.7487190399999999),
        (10, 0.25298221281347033, 0.46922582172431215),
        (10, 0.3, 0.27053557479999946),
        (10, 0.31622776601683794, 0.21828385386284888),
        (10, 0.3794733192202055, 0.08380667350243654),
        (10, 0.4300697617828996, 0.03390127427554823),
        (10, 0.45, 0.022891810311718164),
        (10, 0.5, 0.00777741),
        (10, 0.5154512586074458, 0.005409580194308771),
        (10, 0.6, 0.0005681672000000003),
        (10, 0.6324555320336759, 0.000209088213448878),
        (10, 0.8, 2.207999999999995e-07),
        (10, 0.9486832980505138, 2.5328960507819476e-13),
        (10, 0.95, 1.9531250000000172e-13),
        (10, 0.99, 2.0000000000000176e-20),
        (10, 1.0, 0.0),
        (50, 0.0, 1.0),
        (50, 0.0001, 1.0),
        (50, 0.01, 1.0),
        (50, 0.012, 1.0),
        (50, 0.02, 1.0),
        (50, 0.03, 0.9999999991521389),
        (50, 0.04, 0.9999886874967087),
        (50, 0.05, 0.9990238098461883),
        (50, 0.07071067811865475, 0.9487944875162981),
        (50, 0.1, 0.6623112704658186),
        (50, 0.1131370849898476, 0.5081313822203297),
        (50, 0.1414213562373095, 0.24581239735690597),
        (50, 0.1697056274847714, 0.09960275827669895),
        (50, 0.19233304448274094, 0.04286423423691765),
        (50, 0.2, 0.03143877776953241),
        (50, 0.23051681066681448, 0.008092630073182283),
        (50, 0.282842712474619, 0.0004949032425073385),
        (50, 0.3, 0.00017353260202718738),
        (50, 0.4242640687119285, 1.1111031760225101e-08),
        (50, 0.45, 9.261187857225947e-10),
        (50, 0.5, 4.392853499119748e-12),
        (50, 0.6, 9.634070456142374e-18),
        (50, 0.8, 6.046609934386596e-35),
        (50, 0.95, 1.7763568621337656e-65),
        (50, 0.99, 2.0000000000000889e-100),
        (50, 1.0, 0.0),
        (100, 0.0, 1.0),
        (100, 0.0001, 1.0),
        (100, 0.005, 1.0),
        (100, 0.006, 1.0),
        (100, 0.01, 1.0),
        (100, 0.015, 1.0),
        (100, 0.02, 0.999999999978262),
        (100, 0.05, 0.9532159710635725),
        (100, 0.08, 0.5182193645480672),
        (100, 0.1, 0.2526927570063874),
        (100, 0.12, 0.1033037490181987),
        (100, 0.136, 0.044860299790847456),
        (100, 0.16299999999999998, 0.008652186484464202),
        (100, 0.2, 0.0005551927327988775),
        (100, 0.3, 1.7719869892662917e-08),
        (100, 0.45, 5.324995419657099e-19),
        (100, 0.5, 1.2131434371817858e-23),
        (100, 0.6, 5.912822156396238e-35),
        (100, 0.8, 2.1482695735465203e-69),
        (100, 0.95, 1.5777225737377353e-130),
        (100, 0.99, 2.0000000000001775e-200),
        (100, 1.0, 0.0),
        (1000, 0.0, 1.0),
        (1000, 0.0001, 1.0),
        (1000, 0.0005, 1.0),
        (1000, 0.0006, 1.0),
        (1000, 0.001, 1.0),
        (1000, 0.0015, 1.0),
        (1000, 0.002, 1.0),
        (1000, 0.015811388300841896, 0.9605616144751687),
        (1000, 0.025298221281347035, 0.5356909657557909),
        (1000, 0.03162277660168379, 0.2644092421903177),
        (1000, 0.03794733192202055, 0.10941541429803348),
        (1000, 0.04300697617828996, 0.0480530330137775),
        (1000, 0.05, 0.013012074781090332),
        (1000, 0.051545125860744584, 0.009494900170509754),
        (1000, 0.06324555320336758, 0.0006397648803336532),
        (1000, 0.09486832980505139, 2.7683606440184413e-08),
        (1000, 0.1, 3.703687096817711e-09),
        (1000, 0.2, 1.5528629204250538e-35),
        (1000, 0.3, 2.590715705736845e-80),
        (1000, 0.45, 2.524336024487931e-185),
        (1000, 0.5, 1.064517291557782e-231),
        (1000, 0.6, 0.0),
        (1000, 0.8, 0.0),
        (1000, 0.95, 0.0),
        (1000, 0.99, 0.0),
        (1000, 1.0, 0.0),
        (5000, 0.0, 1.0),
        (5000, 0.0001, 1.0),
        (5000, 0.00011999999999999999, 1.0),
        (5000, 0.0002, 1.0),
        (5000, 0.0003, 1.0),
        (5000, 0.0004, 1.0),
        (5000, 0.007071067811865475, 0.9624348682860043),
        (5000, 0.01131370849898476, 0.5403324616290442),
        (5000, 0.01414213562373095, 0.2674850951575305),
        (5000, 0.01697056274847714, 0.11098122447398728),
        (5000, 0.019233304448274095, 0.048848556777154495),
        (5000, 0.023051681066681446, 0.00969238972738653),
        (5000, 0.0282842712474619, 0.0006576876062563699),
        (5000, 0.04242640687119285, 2.9420948688910262e-08),
        (5000, 0.05, 2.6523052328711187e-11),
        (5000, 0.1, 5.590495886396459e-44),
        (5000, 0.2, 9.004289573855005e-176),
        (5000, 0.3, 0.0),
        (5000, 0.45, 0.0),
        (5000, 0.5, 0.0),
        (5000, 0.6, 0.0),
        (5000, 0.8, 0.0),
        (5000, 0.95, 0.0),
        (5000, 0.99, 0.0),
        (5000, 1.0, 0.0),
        (100000, 0.0, 1.0),
        (100000, 5e-06, 1.0),
        (100000, 6e-06, 1.0),
        (100000, 1e-05, 1.0),
        (100000, 1.5e-05, 1.0),
        (100000, 2e-05, 1.0),
        (100000, 0.0001, 1.0),
        (100000, 0.0015811388300841895, 0.963608000716019),
        (100000, 0.0025298221281347035, 0.5432861510901741),
        (100000, 0.003162277660168379, 0.269435312462768),
        (100000, 0.003794733192202055, 0.11196588953063102),
        (100000, 0.0043006976178289955, 0.04934385868411428),
        (100000, 0.005154512586074457, 0.009812396418590852),
        (100000, 0.006324555320336758, 0.00066806667710579),
        (100000, 0.009486832980505138, 3.02582317155749e-08),
        (100000, 0.05, 1.0446857833684497e-217),
        (100000, 0.1, 0.0),
        (100000, 0.2, 0.0),
        (100000, 0.3, 0.0),
        (100000, 0.45, 0.0),
        (100000, 0.5, 0.0),
        (100000, 0.6, 0.0),
        (100000, 0.8, 0.0),
        (100000, 0.95, 0.0),
        (100000, 0.99, 0.0),
        (100000, 1.0, 0.0),
    ];

    /// Relative deviation of `p` from `expected`: tail values (1e-15, 1e-42) are compared by
    /// their digits, not by an absolute tolerance that any tiny number passes.
    pub(crate) fn relative_error(p: f64, expected: f64) -> f64 {
        if expected == 0.0 {
            return if p == 0.0 { 0.0 } else { f64::INFINITY };
        }
        ((p - expected) / expected).abs()
    }

    /// Whether `p` is scipy's `expected`: the same digits (relative 1e-6) from 1.1e-15 up, and
    /// below that an upper bound of it that is itself below 1.1e-15.
    pub(crate) fn agrees_with_scipy(p: f64, expected: f64) -> bool {
        if expected >= EXACT_DIGITS_ABOVE {
            relative_error(p, expected) <= 1e-6
        } else {
            p >= expected * (1.0 - 1e-9) && p < EXACT_DIGITS_ABOVE
        }
    }

    #[test]
    fn matches_scipy_kstwo_sf() {
        let mut exact_digits = 0;
        for &(en, d, expected) in SCIPY_KSTWO_SF {
            let p = kstwo_sf(d, en);
            assert!(
                agrees_with_scipy(p, expected),
                "kstwo_sf({d}, {en}) = {p:e}, scipy {expected:e} (relative error {:e})",
                relative_error(p, expected)
            );
            exact_digits += usize::from(expected >= EXACT_DIGITS_ABOVE);
        }
        assert!(exact_digits * 2 > SCIPY_KSTWO_SF.len(), "most fixtures are checked digit for digit");
    }

    #[test]
    fn relative_error_does_not_let_tiny_values_pass() {
        assert!(relative_error(1e-42, 3e-42) > 0.5, "an absolute tolerance would call these equal");
        assert!(relative_error(0.0, 1e-300) >= 1.0);
        assert_eq!(relative_error(0.0, 0.0), 0.0);
    }

    #[test]
    fn two_sample_pvalues_match_scipy() {
        // scipy 1.17.1 ks_2samp([1.01, 2.01], [1, 2, 3, 4], method="asymp").pvalue == 1.0 (D = 0.5)
        assert!(relative_error(ks_pvalue(0.5, 2, 4), 1.0) <= 1e-12);
        // scipy 1.17.1 ks_2samp(linspace(1,100,100), linspace(1,100,110)+20.1, method="asymp").pvalue
        assert!(relative_error(ks_pvalue(232.0 / 1100.0, 100, 110), 0.016541419540219482) <= 1e-9);
        // Below 1.1e-15 an upper bound, still below 1.1e-15, agrees; a lower value or a large one does not.
        assert!(!agrees_with_scipy(1e-42, 3.5e-42) && !agrees_with_scipy(1e-3, 3.5e-42));
        assert!(agrees_with_scipy(5e-40, 3.5e-42));
        assert!(!agrees_with_scipy(0.5001, 0.5));
        // scipy 1.17.1 kstwo.sf(d, round(n·m/(n+m))); en = 2.5 rounds to even (2), not 3.
        for (n, m, d, expected) in [
            (5, 5, 0.6, 0.32000000000000006),
            (3, 4, 0.5, 0.5),
            (100, 110, 0.3, 0.00012015475294962585),
            (2000, 3000, 0.04, 0.041827805318862876),
            (50000, 60000, 0.01, 0.008495688807020474),
            (1, 2, 1.0, 0.0),
        ] {
            let p = ks_pvalue(d, n, m);
            let e = relative_error(p, expected);
            assert!(e <= 1e-9, "ks_pvalue({d}, {n}, {m}) = {p:e}, scipy {expected:e} (relative error {e:e})");
        }
        assert!(ks_pvalue(1.0, 1, 1).is_nan());
        assert!(ks_pvalue(0.5, 0, 10).is_nan());
    }

    /// The one-sided tail summed over every term, as before the sum started at its peak.
    fn smirnov_every_term(n: u64, d: f64) -> f64 {
        let nf = n as f64;
        let jmax = (nf * (1.0 - d)).floor() as u64;
        let (mut sum, mut log_binom) = (0.0, 0.0);
        for j in 0..=jmax {
            let jf = j as f64;
            if j > 0 {
                log_binom += ((nf - jf + 1.0) / jf).ln();
            }
            let a = (nf * (1.0 - d) - jf) / nf;
            if a > 0.0 {
                sum += (log_binom + (nf - jf) * a.ln() + (jf - 1.0) * (d + jf / nf).ln()).exp();
            }
        }
        d * sum
    }

    #[test]
    fn the_tail_from_its_peak_is_the_whole_sum() {
        for n in [141u64, 500, 2000, 13_800, 100_000] {
            let nf = n as f64;
            for i in 0..=20 {
                // n·d² from 2.2 to 17.6, and d from 0.5 to 0.95.
                for d in [((2.2 + 15.4 * i as f64 / 20.0) / nf).sqrt(), 0.5 + 0.45 * i as f64 / 20.0] {
                    let (fast, full) = (smirnov(n, d), smirnov_every_term(n, d));
                    assert!(relative_error(fast, full) <= 1e-9, "n {n}, d {d}: {fast:e} vs {full:e}");
                }
            }
        }
    }

    #[test]
    fn pelz_good_stands_in_for_the_matrix_method_from_n_1000() {
        for n in [PELZ_GOOD_FROM, 2000, 5000] {
            let nf = n as f64;
            let top = (1.4 / nf).powf(2.0 / 3.0);
            for i in 1..=60 {
                let d = top * i as f64 / 60.0;
                if nf * d > 1.0 {
                    let gap = (durbin_matrix_cdf(n, d) - pelz_good_cdf(n, d)).abs();
                    assert!(gap <= 3.2e-8, "n {n}, d {d}: {gap:e}");
                }
            }
        }
    }

    #[test]
    fn edge_inputs() {
        assert!(kstwo_sf(f64::NAN, 10).is_nan());
        assert!(kstwo_sf(0.3, 0).is_nan());
        assert_eq!(kstwo_sf(-1.0, 10), 1.0);
        assert_eq!(kstwo_sf(2.0, 10), 0.0);
        assert_eq!(kstwo_sf(1.0, 1), 0.0);
        // n = 1: D_1 = max(U, 1 − U) is uniform on [1/2, 1], so P(D ≥ d) = 2(1 − d).
        assert!((kstwo_sf(0.7, 1) - 0.6).abs() < 1e-12);
    }

    #[test]
    fn monotone_in_d_and_bounded() {
        for n in [1u64, 2, 7, 50, 139, 140, 141, 400, 1000, 5000, 99_999, 100_000, 100_001, 1_000_000] {
            let mut prev = 1.0;
            for i in 0..=400 {
                let d = i as f64 / 400.0;
                let p = kstwo_sf(d, n);
                assert!((0.0..=1.0).contains(&p), "n {n} d {d}: {p}");
                assert!(p <= prev + 1e-9, "n {n} d {d}: {p} > {prev}");
                prev = p;
            }
        }
    }

    #[test]
    fn large_n_approaches_the_limiting_distribution() {
        // Kolmogorov's limit: P(√n·D ≥ z) → 2 Σ (−1)^(k−1) e^(−2k²z²); at n = 10^7 the finite-n
        // correction is of order 1/√n.
        let limit =
            |z: f64| 2.0 * (1..100).map(|k| (-1f64).powi(k - 1) * (-2.0 * (k * k) as f64 * z * z).exp()).sum::<f64>();
        let n = 10_000_000u64;
        for z in [0.5, 0.8, 1.0, 1.36, 1.63, 2.0] {
            let p = kstwo_sf(z / (n as f64).sqrt(), n);
            assert!((p - limit(z)).abs() < 1e-3, "z {z}: {p} vs {}", limit(z));
        }
    }
}
