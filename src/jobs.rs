//! The job pool: independent pieces of work (one training run per seed, per setting)
//! on a few threads, with one progress bar that every job ticks.
//!
//! Each job draws its randomness from its own seeded RNG and the results come back in
//! job order, so the numbers never depend on which thread ran what, or when.

use crate::error::Result;
use crate::report::Progress;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The number of cores, the default number of workers.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |p| p.get())
}

/// A progress bar shared by the jobs: each tick adds done units and may redraw it (on a
/// terminal only; see [`crate::report::progress`]).
pub struct SharedProgress {
    inner: Mutex<(Progress, usize)>,
}

impl SharedProgress {
    /// A progress bar labelled `label` that is complete after `total` units.
    pub fn new(label: &str, total: usize) -> SharedProgress {
        SharedProgress { inner: Mutex::new((Progress::new(label, total), 0)) }
    }

    /// Records `units` more done units; `status` is only called when the line is redrawn.
    pub fn tick(&self, units: usize, status: impl FnOnce() -> String) {
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (progress, done) = &mut *guard;
        *done += units;
        progress.update(*done, status);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).0.finish();
    }
}

/// Runs `job(0)`, …, `job(n − 1)` on `workers` threads and returns their results in
/// index order (the first error, in index order, if any).
pub fn run<T, F>(n: usize, workers: usize, job: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let order: Vec<usize> = (0..n).collect();
    run_in_order(&order, workers, job)
}

/// Like [`run`], but starts the jobs in the order `order` gives (for instance the
/// longest first, so that no long job starts last); results still come back in index
/// order. `order` must list each of 0..n once.
pub fn run_in_order<T, F>(order: &[usize], workers: usize, job: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let n = order.len();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, n.max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = order.get(k) else { break };
                let out = job(i);
                results.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[i] = Some(out);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    results.into_iter().map(|r| r.expect("the order lists every job once")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn results_come_back_in_index_order_whatever_the_start_order() {
        let out = run_in_order(&[3, 1, 0, 2], 2, |i| Ok(i * 10)).unwrap();
        assert_eq!(out, vec![0, 10, 20, 30]);
        assert_eq!(run(5, 3, |i| Ok(i + 1)).unwrap(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_first_error_in_index_order_wins() {
        let out: Result<Vec<usize>> =
            run_in_order(&[2, 1, 0], 1, |i| if i >= 1 { Err(Error::invalid("job", i, "fails")) } else { Ok(i) });
        assert!(out.unwrap_err().to_string().contains("'1'"));
    }
}
