//! Independent training runs go in parallel threads (see [`crate::jobs`]), one intra-op
//! thread each: on a small machine that beats giving every matmul several threads
//! (CANDLE-NOTES.md: 1.74x on 2 cores), and results cannot depend on thread timing.

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
