//! What keeps sign-in from being used against the server: a bound on concurrent password
//! hashing (each Argon2 run takes 19 MiB and a core for a while), and lockout counters for
//! addresses that have no account, kept in memory so that guessing them adds no rows while the
//! answers stay the same as for a real account. Counters of real accounts and of client
//! addresses are in SQL (`Store::reserve_login_attempt`, `Store::reserve_client_attempt`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::{ApiError, ErrorCode};

/// Most unknown addresses whose failures are remembered at once.
const MAX_UNKNOWN: usize = 10_000;

pub struct LoginGuard {
    hashing: Arc<Semaphore>,
    /// Failures per unknown (normalized) address: count and when the window started.
    unknown: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginGuard {
    pub fn new(hash_concurrency: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let permits = hash_concurrency.unwrap_or((cores * 4).max(8)).max(1);
        Self {
            hashing: Arc::new(Semaphore::new(permits)),
            unknown: Mutex::new(HashMap::new()),
        }
    }

    /// A slot to hash or verify one password in, or 429 at once when all are taken.
    pub fn hash_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.hashing.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many sign-in attempts are being checked right now. Please try again shortly.",
            )
        })
    }

    /// Counts one attempt for an address without an account; false when its window already
    /// holds `max` failures (the same rule as for accounts).
    pub fn reserve_unknown(&self, email: &str, max: u32, now: i64, window_secs: i64) -> bool {
        let mut unknown = self
            .unknown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cutoff = now.saturating_sub(window_secs);
        if unknown.len() >= MAX_UNKNOWN && !unknown.contains_key(email) {
            unknown.retain(|_, (_, start)| *start >= cutoff);
            if unknown.len() >= MAX_UNKNOWN {
                // Bounded memory wins over remembering: the per-client limit still applies.
                unknown.clear();
            }
        }
        let entry = unknown.entry(email.to_string()).or_insert((0, now));
        if entry.1 < cutoff {
            *entry = (0, now);
        }
        if entry.0 >= max {
            return false;
        }
        entry.0 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_addresses_lock_after_max_failures_until_the_window_passes() {
        let guard = LoginGuard::new(Some(1));
        for _ in 0..3 {
            assert!(guard.reserve_unknown("a@x.org", 3, 1_000, 60));
        }
        assert!(!guard.reserve_unknown("a@x.org", 3, 1_010, 60));
        assert!(guard.reserve_unknown("b@x.org", 3, 1_010, 60));
        assert!(guard.reserve_unknown("a@x.org", 3, 1_061, 60), "a new window");
        let slot = guard.hash_slot().unwrap();
        assert!(guard.hash_slot().is_err(), "one slot, taken");
        drop(slot);
        assert!(guard.hash_slot().is_ok());
    }
}
