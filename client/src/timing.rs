//! Where a command's time goes, for the end-to-end benchmark's breakdown: with `BURNLINK_TIMINGS` set, each phase
//! mark prints its time since the process's first mark on stderr. Off (one relaxed load per mark) otherwise.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Option<Instant>> = OnceLock::new();

/// Starts the clock if timings are on; the CLI calls this first thing.
pub fn start() {
    START.get_or_init(|| std::env::var_os("BURNLINK_TIMINGS").map(|_| Instant::now()));
}

/// Prints `phase` with the milliseconds since [`start`], if timings are on.
pub fn mark(phase: &str) {
    if let Some(Some(t0)) = START.get() {
        eprintln!("burnlink timing: {phase} {:.3} ms", t0.elapsed().as_secs_f64() * 1e3);
    }
}
