//! Independent training runs (one per seed) in parallel threads, one intra-op thread
//! each: on a small machine that beats giving every matmul several threads
//! (CANDLE-NOTES.md: 1.74x on 2 cores), and results cannot depend on thread timing.

use crate::error::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Gives candle one thread per operation (`RAYON_NUM_THREADS`, `CANDLE_NUM_THREADS`),
/// unless the user set them. Call it before the first candle operation of the process:
/// the pools read these variables once, when they start.
pub fn one_thread_per_run() {
    for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, "1");
        }
    }
}

/// Runs `job(0)`, …, `job(n − 1)` on up to as many threads as the machine has cores and
/// returns their results in index order (the first error, in index order, if any). Each
/// job must draw its randomness from its own seeded RNG, so the results do not depend
/// on which thread ran what. `watch` is called on the calling thread every 100 ms until
/// all jobs are done (for a progress line).
pub fn parallel_runs<T, F>(n: usize, job: F, mut watch: impl FnMut()) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let workers = std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let r = job(i);
                results.lock().expect("a worker panicked")[i] = Some(r);
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        while finished.load(Ordering::SeqCst) < n {
            watch();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    results.into_inner().expect("a worker panicked").into_iter().map(|r| r.expect("every job ran")).collect()
}
