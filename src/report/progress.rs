//! Progress bars for long runs: elapsed time and an estimate of the time left, for each
//! long loop, each chapter and the whole course (indicatif).
//!
//! The bars draw on stderr, and only when stderr is a terminal: in tests, CI logs and
//! pipes nothing but the tables reaches the output. Lines printed with
//! [`say!`](crate::say) while bars are drawn go above them, not through them.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Every bar of the process, one under the other.
pub fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| {
        let target =
            if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        MultiProgress::with_draw_target(target)
    })
}

/// Writes one line to stdout above the bars; a closed or full stdout is ignored (see
/// [`say!`](crate::say)).
pub fn say_line(args: std::fmt::Arguments) {
    bars().suspend(|| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{args}");
        let _ = out.flush();
    });
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "))
}

/// A bar of `total` units under the others, or a hidden one when nothing is drawn.
fn bar(total: u64, template: &str, label: &str) -> ProgressBar {
    if bars().is_hidden() {
        return ProgressBar::hidden();
    }
    let bar = bars().add(ProgressBar::new(total).with_style(style(template)).with_prefix(label.to_string()));
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A long loop's bar: done units of a total, elapsed time, time left, and a status.
pub struct Progress {
    bar: ProgressBar,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(label: &str, total: usize) -> Progress {
        let template = "  {prefix:<32!} [{bar:30}] {percent:>3}% {elapsed:>4} elapsed, ~{eta} left  {wide_msg}";
        Progress { bar: bar(total as u64, template, label), last: None }
    }

    /// Reports that `done` of the total units are finished; `status` (the current return,
    /// loss, …) is only called when the bar is drawn, at most four times a second.
    pub fn update(&mut self, done: usize, status: impl FnOnce() -> String) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_position(done as u64);
        if self.last.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            self.last = Some(Instant::now());
            self.bar.set_message(status());
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        bars().remove(&self.bar);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The course's two bars: the whole course and the chapter that runs. A chapter reports
/// no fraction done, so both advance with the clock against each chapter's expected
/// time (from the last run in the output folder, else a typical time) and jump when a
/// chapter ends; the estimate of the time left is the expected time of what remains,
/// scaled by how fast the chapters so far ran against their expectation.
pub struct CourseProgress {
    state: Arc<Mutex<CourseState>>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

struct CourseState {
    course: ProgressBar,
    chapter: ProgressBar,
    /// Expected seconds of each chapter, in order.
    expected: Vec<f64>,
    /// The chapter that runs, its start, and the seconds the finished ones took.
    current: usize,
    chapter_started: Instant,
    course_started: Instant,
    taken: Vec<f64>,
}

impl CourseState {
    /// How much faster (< 1) or slower (> 1) the finished chapters ran than expected.
    fn pace(&self) -> f64 {
        let expected: f64 = self.expected[..self.taken.len()].iter().sum();
        let taken: f64 = self.taken.iter().sum();
        if expected > 0.0 && taken > 0.0 {
            (taken / expected).clamp(0.2, 5.0)
        } else {
            1.0
        }
    }

    fn redraw(&self) {
        let pace = self.pace();
        let in_chapter = self.chapter_started.elapsed().as_secs_f64();
        let expected_now = self.expected.get(self.current).map_or(0.0, |e| e * pace);
        let chapter_left = (expected_now - in_chapter).max(0.0);
        let later: f64 = self.expected.iter().skip(self.current + 1).sum::<f64>() * pace;
        let done_expected: f64 = self.expected[..self.taken.len()].iter().sum::<f64>() * pace;
        let total = done_expected + expected_now + later;
        let course_done = done_expected + in_chapter.min(expected_now);
        // Positions in milliseconds of expected time.
        self.course.set_length((total * 1000.0) as u64);
        self.course.set_position((course_done * 1000.0) as u64);
        self.course.set_message(format!(
            "{} elapsed, ~{} left",
            clock(self.course_started.elapsed().as_secs_f64()),
            clock(chapter_left + later)
        ));
        self.chapter.set_length((expected_now.max(in_chapter) * 1000.0) as u64);
        self.chapter.set_position((in_chapter * 1000.0) as u64);
        let left = if in_chapter > expected_now {
            "longer than expected".to_string()
        } else {
            format!("~{} left", clock(chapter_left))
        };
        self.chapter.set_message(format!("{} elapsed, {left}", clock(in_chapter)));
    }
}

/// Seconds as 42s, 3m05s or 1h02m.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

impl CourseProgress {
    /// Bars for chapters whose expected durations in seconds are `expected`.
    pub fn new(expected: Vec<f64>) -> CourseProgress {
        let template = "{prefix:<34!} [{bar:30}] {wide_msg}";
        let state = Arc::new(Mutex::new(CourseState {
            course: bar(1, template, "course"),
            chapter: bar(1, template, ""),
            expected,
            current: 0,
            chapter_started: Instant::now(),
            course_started: Instant::now(),
            taken: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let hidden = bars().is_hidden();
        let ticker = (!hidden).then(|| {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    state.lock().unwrap_or_else(|p| p.into_inner()).redraw();
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        });
        CourseProgress { state, stop, ticker }
    }

    fn with<R>(&self, f: impl FnOnce(&mut CourseState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Chapter `i` (0-based, in the course's order) starts; `label` names it on its bar.
    pub fn start(&self, i: usize, label: &str) {
        self.with(|s| {
            s.current = i;
            s.chapter_started = Instant::now();
            s.chapter.set_prefix(label.to_string());
            s.course.set_prefix(format!("course [{}/{}]", i + 1, s.expected.len()));
            s.redraw();
        });
    }

    /// The chapter that ran has finished.
    pub fn finish_chapter(&self) {
        self.with(|s| {
            let took = s.chapter_started.elapsed().as_secs_f64();
            s.taken.push(took);
            s.redraw();
        });
    }
}

impl Drop for CourseProgress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        self.with(|s| {
            s.chapter.finish_and_clear();
            s.course.finish_and_clear();
            bars().remove(&s.chapter);
            bars().remove(&s.course);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_like_a_watch() {
        assert_eq!(clock(4.4), "4s");
        assert_eq!(clock(185.0), "3m05s");
        assert_eq!(clock(3720.0), "1h02m");
        assert_eq!(clock(-1.0), "0s");
    }

    #[test]
    fn the_pace_scales_what_is_left_by_how_the_finished_chapters_ran() {
        let hidden = || ProgressBar::hidden();
        let mut s = CourseState {
            course: hidden(),
            chapter: hidden(),
            expected: vec![10.0, 20.0, 30.0],
            current: 0,
            chapter_started: Instant::now(),
            course_started: Instant::now(),
            taken: vec![],
        };
        assert_eq!(s.pace(), 1.0);
        s.taken = vec![20.0];
        assert_eq!(s.pace(), 2.0);
        s.taken = vec![1.0, 1.0];
        assert_eq!(s.pace(), 0.2, "clamped");
    }
}
