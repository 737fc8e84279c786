//! A wall clock for simulations whose ids are seeded too: member ids decide the ring order,
//! so a run replays only if they do.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::clock::Clock;
use ulid::Ulid;

#[derive(Debug)]
pub(crate) struct SimClock {
    now_ms: AtomicI64,
    rng: Mutex<StdRng>,
}

impl SimClock {
    pub(crate) fn new(now_ms: i64, seed: u64) -> SimClock {
        SimClock {
            now_ms: AtomicI64::new(now_ms),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    pub(crate) fn advance(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn new_ulid(&self) -> Ulid {
        let random: u128 = self.rng.lock().unwrap().random();
        Ulid::from_parts(self.now_ms() as u64, random)
    }
}
