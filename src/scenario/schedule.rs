//! Open-model arrival rates over a scenario's clock: `constant`, `ramp`, `burst` and `soak`
//! patterns composed with `then`. A pattern without a length lasts to the end.

use crate::program::Pattern;

/// One pattern placed on the clock, in seconds.
#[derive(Clone, Debug)]
struct Segment {
    start: f64,
    end: f64,
    pattern: Pattern,
}

/// Rates per second over time.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    segments: Vec<Segment>,
}

fn seconds(ms: Option<u64>) -> f64 {
    ms.map_or(f64::INFINITY, |ms| ms as f64 / 1e3)
}

impl Schedule {
    pub fn new(patterns: &[Pattern]) -> Schedule {
        let mut start = 0.0;
        let mut segments = Vec::new();
        for p in patterns {
            let len = match p {
                Pattern::Constant { for_ms, .. } | Pattern::Soak { for_ms, .. } | Pattern::Burst { for_ms, .. } => {
                    seconds(*for_ms)
                }
                Pattern::Ramp { over_ms, .. } => *over_ms as f64 / 1e3,
            };
            segments.push(Segment { start, end: start + len, pattern: p.clone() });
            start += len;
            if !start.is_finite() {
                break;
            }
        }
        Schedule { segments }
    }

    /// The rate at `t` seconds (0 after the last pattern).
    pub fn rate(&self, t: f64) -> f64 {
        let Some(s) = self.segments.iter().find(|s| t >= s.start && t < s.end) else { return 0.0 };
        let local = t - s.start;
        match &s.pattern {
            Pattern::Constant { rate, .. } | Pattern::Soak { rate, .. } => *rate,
            Pattern::Ramp { from, to, over_ms } => from + (to - from) * local / (*over_ms as f64 / 1e3).max(1e-9),
            Pattern::Burst { base, peak, every_ms, burst_ms, .. } => {
                let every = *every_ms as f64 / 1e3;
                if every > 0.0 && local % every < *burst_ms as f64 / 1e3 {
                    *peak
                } else {
                    *base
                }
            }
        }
    }

    /// Arrivals due by `t` seconds: the integral of the rate from 0.
    pub fn cumulative(&self, t: f64) -> f64 {
        let mut total = 0.0;
        for s in &self.segments {
            if t <= s.start {
                break;
            }
            let dt = t.min(s.end) - s.start;
            total += match &s.pattern {
                Pattern::Constant { rate, .. } | Pattern::Soak { rate, .. } => rate * dt,
                Pattern::Ramp { from, to, over_ms } => {
                    let over = (*over_ms as f64 / 1e3).max(1e-9);
                    from * dt + (to - from) * dt * dt / (2.0 * over)
                }
                Pattern::Burst { base, peak, every_ms, burst_ms, .. } => {
                    let (every, burst) = (*every_ms as f64 / 1e3, *burst_ms as f64 / 1e3);
                    let in_burst = if every > 0.0 {
                        (dt / every).floor() * burst.min(every) + (dt % every).min(burst)
                    } else {
                        0.0
                    };
                    base * dt + (peak - base) * in_burst
                }
            };
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_is_the_integral_of_the_rate() {
        let s = Schedule::new(&[
            Pattern::Ramp { from: 100.0, to: 500.0, over_ms: 4_000 },
            Pattern::Burst { base: 50.0, peak: 1_000.0, every_ms: 2_000, burst_ms: 500, for_ms: Some(5_000) },
            Pattern::Constant { rate: 20.0, for_ms: None },
        ]);
        let mut t = 0.0;
        let mut sum = 0.0;
        let dt = 1e-4;
        while t < 12.0 {
            sum += s.rate(t + dt / 2.0) * dt;
            t += dt;
            if ((t * 1e4).round() as u64).is_multiple_of(5_000) {
                assert!((sum - s.cumulative(t)).abs() < 0.5, "t {t}: {sum} vs {}", s.cumulative(t));
            }
        }
        assert_eq!(s.rate(1.0), 200.0);
        assert_eq!(s.rate(4.1), 1_000.0);
        assert_eq!(s.rate(4.6), 50.0);
        assert_eq!(s.rate(100.0), 20.0);
    }
}
