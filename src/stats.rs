//! Summary statistics over seeds. NaN entries count as missing.

/// Arithmetic mean of the finite entries; NaN when there are none.
pub fn mean(xs: &[f64]) -> f64 {
    let (sum, n) = xs.iter().filter(|x| x.is_finite()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Population standard deviation of the finite entries (what the ± bands show).
pub fn std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return f64::NAN;
    }
    (finite.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / finite.len() as f64).sqrt()
}

/// Median of the finite entries (mean of the two middle ones for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Median where NaN means "never happened" and counts as larger than any number:
/// NaN when at least half of the entries never happened.
pub fn median_missing_high(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().map(|x| if x.is_nan() { f64::INFINITY } else { *x }).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) };
    if m.is_finite() {
        m
    } else {
        f64::NAN
    }
}

/// The common x axis of learning curves: `points` evenly spaced values from
/// `max / points` to `max`, rounded to whole steps (curves of different seeds are
/// read off at these points, so they can be averaged).
pub fn curve_grid(max: f64, points: usize) -> Vec<f64> {
    (1..=points).map(|i| (max * i as f64 / points as f64).round()).collect()
}

/// The 200-point grid the course's learning curves use.
pub const CURVE_POINTS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let xs = [1.0, 2.0, 3.0, 4.0, f64::NAN];
        assert_eq!(mean(&xs), 2.5);
        assert!((std(&xs) - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(median(&xs), 2.5);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!(mean(&[]).is_nan());
        assert_eq!(median_missing_high(&[1.0, f64::NAN, 3.0]), 3.0);
        assert!(median_missing_high(&[1.0, f64::NAN]).is_nan());
    }
}
