//! The learning bidder's choice of bid shading: a UCB1 bandit over the shading levels, rewarded
//! by the surplus it realised (true price − price paid, as a fraction of the estimate; 0 when it
//! lost). Deterministic: the same history gives the same choice.

use serde::{Deserialize, Serialize};

/// Exploration weight: rewards are surpluses of a few percent of the price, so the bonus is
/// scaled to them rather than to [0, 1].
const EXPLORATION: f64 = 0.01;

/// Plays and summed rewards per shading level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bandit {
    plays: Vec<u64>,
    rewards: Vec<f64>,
}

impl Bandit {
    pub fn new(arms: usize) -> Bandit {
        Bandit { plays: vec![0; arms], rewards: vec![0.0; arms] }
    }

    /// The arm to play: each once in order, then the highest upper confidence bound (ties: the lowest arm).
    pub fn choose(&self) -> usize {
        if let Some(unplayed) = self.plays.iter().position(|&p| p == 0) {
            return unplayed;
        }
        let total: u64 = self.plays.iter().sum();
        let ln = (total as f64).ln();
        let score = |a: usize| {
            let n = self.plays[a] as f64;
            self.rewards[a] / n + EXPLORATION * (2.0 * ln / n).sqrt()
        };
        (0..self.plays.len()).fold(0, |best, a| if score(a) > score(best) { a } else { best })
    }

    pub fn reward(&mut self, arm: usize, reward: f64) {
        self.plays[arm] += 1;
        self.rewards[arm] += reward;
    }

    /// Mean reward per arm (0 for an arm never played).
    pub fn means(&self) -> Vec<f64> {
        self.plays.iter().zip(&self.rewards).map(|(&n, &r)| if n == 0 { 0.0 } else { r / n as f64 }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_settles_on_the_best_arm() {
        let truth = [0.01, 0.03, 0.02];
        let mut b = Bandit::new(3);
        let mut plays = [0; 3];
        for t in 0..3_000u64 {
            let arm = b.choose();
            plays[arm] += 1;
            // A noisy reward around the arm's mean, deterministic per step.
            let noise = ((t * 2_654_435_761) % 1_000) as f64 / 1_000.0 - 0.5;
            b.reward(arm, truth[arm] + 0.02 * noise);
        }
        assert!(plays[1] > plays[0] + plays[2], "plays {plays:?}");
    }
}
