//! The fault injector: events dropped at the source (counted, so the accounting identity
//! reads events in = predictions + dead letters + dropped), delays in the features or model
//! stage with a probability per batch, stalled workers, and HTTP errors (handed to the
//! server's admission gate, which answers 503 to their share). Each fault has a start and a
//! duration; every draw depends only on the seed and what it is for.

use crate::draws;
use crate::engine::run::Faults;
use crate::program::{Event, Fault, Stage, TimedEvent};
use std::time::Duration;

/// One fault on the clock, active over `[from_ms, until_ms)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    pub fault: Fault,
    pub from_ms: u64,
    pub until_ms: u64,
}

/// Every fault of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injector {
    pub faults: Vec<Timed>,
    seed: u64,
}

impl Injector {
    pub fn new(events: &[TimedEvent], seed: u64) -> Injector {
        let faults = events
            .iter()
            .filter_map(|e| match &e.event {
                Event::Fault(f) => Some(Timed {
                    fault: f.clone(),
                    from_ms: e.at_ms,
                    until_ms: e.for_ms.map_or(u64::MAX, |d| e.at_ms.saturating_add(d)),
                }),
                _ => None,
            })
            .collect();
        Injector { faults, seed }
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The injected HTTP errors, for the server's admission gate.
    pub fn http_errors(&self) -> Vec<crate::serve::admission::InjectedErrors> {
        self.faults
            .iter()
            .filter_map(|t| match &t.fault {
                Fault::Error { route, fraction } => Some(crate::serve::admission::InjectedErrors {
                    route: route.clone(),
                    fraction: *fraction,
                    from_ms: t.from_ms,
                    until_ms: t.until_ms,
                }),
                _ => None,
            })
            .collect()
    }

    fn active(&self, elapsed_ms: u64) -> impl Iterator<Item = &Fault> {
        self.faults.iter().filter(move |t| elapsed_ms >= t.from_ms && elapsed_ms < t.until_ms).map(|t| &t.fault)
    }
}

impl Faults for Injector {
    fn drop_at_source(&self, elapsed_ms: u64, id: u64) -> bool {
        self.active(elapsed_ms).any(|f| match f {
            Fault::Drop { stage: Stage::Source, fraction } => draws::uniform(self.seed, id, 0, 1) < *fraction,
            _ => false,
        })
    }

    fn delay(&self, stage: Stage, elapsed_ms: u64, draw: u64) -> Option<Duration> {
        self.active(elapsed_ms).find_map(|f| match f {
            Fault::Latency { stage: s, delay_ms, probability }
                if *s == stage && draws::uniform(self.seed, draw, 0, 2 + stage as u64) < *probability =>
            {
                Some(Duration::from_millis(*delay_ms))
            }
            _ => None,
        })
    }

    fn stalled(&self, worker: usize, elapsed_ms: u64) -> bool {
        self.active(elapsed_ms).any(|f| matches!(f, Fault::Stall { worker: w } if *w as usize == worker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_act_only_while_active_and_drop_their_share() {
        let events = vec![
            TimedEvent {
                at_ms: 1_000,
                for_ms: Some(1_000),
                event: Event::Fault(Fault::Drop { stage: Stage::Source, fraction: 0.25 }),
            },
            TimedEvent { at_ms: 0, for_ms: None, event: Event::Fault(Fault::Stall { worker: 1 }) },
        ];
        let inj = Injector::new(&events, 7);
        assert!(!(0..1000).any(|id| inj.drop_at_source(500, id)));
        let dropped = (0..100_000).filter(|&id| inj.drop_at_source(1_500, id)).count();
        assert!((dropped as f64 / 100_000.0 - 0.25).abs() < 0.01, "{dropped}");
        assert!(!(0..1000).any(|id| inj.drop_at_source(2_000, id)));
        assert!(inj.stalled(1, 10) && !inj.stalled(0, 10));
        assert_eq!(inj.delay(Stage::Model, 10, 3), None);
    }
}
