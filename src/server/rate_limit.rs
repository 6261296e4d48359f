//! Sliding-window rate limits, kept in memory per app instance (a limit per instance is still a
//! limit: with N instances an attacker gets at most N times the budget).
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Default, Debug)]
pub struct RateLimiter {
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// The hits by key (a panic elsewhere while it was held leaves it usable: it holds no invariant
    /// a half-done update could break).
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one hit on `key`; refuses with the wait in seconds when `max` hits already fell in `window`.
    pub fn hit(&self, key: &str, max: usize, window: Duration) -> Result<(), u64> {
        let mut hits = self.table();
        if hits.len() > 100_000 {
            let now = Instant::now();
            hits.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(3600))
            });
        }
        let now = Instant::now();
        let q = hits.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= max {
            let oldest = q.front().map_or(Duration::ZERO, |t| now.duration_since(*t));
            return Err(window.saturating_sub(oldest).as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }

    /// Whether `key` is over its budget, without counting a hit.
    pub fn check(&self, key: &str, max: usize, window: Duration) -> Result<(), u64> {
        let hits = self.table();
        let now = Instant::now();
        let Some(q) = hits.get(key) else {
            return Ok(());
        };
        let recent: Vec<_> = q
            .iter()
            .filter(|t| now.duration_since(**t) < window)
            .collect();
        if recent.len() >= max {
            let oldest = recent
                .first()
                .map_or(Duration::ZERO, |t| now.duration_since(**t));
            return Err(window.saturating_sub(oldest).as_secs().max(1));
        }
        Ok(())
    }

    /// Takes back the newest hit on `key` (an attempt counted up front that turned out fine).
    pub fn forgive(&self, key: &str) {
        if let Some(q) = self.table().get_mut(key) {
            q.pop_back();
        }
    }

    pub fn clear(&self, key: &str) {
        self.table().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_budget_and_says_how_long_to_wait() {
        let rl = RateLimiter::default();
        for _ in 0..3 {
            rl.hit("k", 3, Duration::from_secs(60)).unwrap();
        }
        let wait = rl.hit("k", 3, Duration::from_secs(60)).unwrap_err();
        assert!((59..=60).contains(&wait));
        assert!(rl.check("k", 3, Duration::from_secs(60)).is_err());
        rl.hit("other", 3, Duration::from_secs(60)).unwrap();
        rl.clear("k");
        assert!(rl.check("k", 3, Duration::from_secs(60)).is_ok());
    }
}
