//! TRPO's backtracking line search: the quadratic KL model that scaled the step is
//! only an approximation, so the real policy is checked before a step is accepted.

/// What the search did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineSearch {
    /// Fraction of the full step that was taken (0 when none was accepted).
    pub fraction: f64,
    /// How many times the step was halved.
    pub backtracks: usize,
    pub accepted: bool,
    /// Surrogate gain and KL of the accepted step (or of the last one tried).
    pub gain: f64,
    pub kl: f64,
}

/// Tries the fractions 1, ½, ¼, … of the full step (at most `max_backtracks` halvings)
/// and takes the first whose measured KL is at most `delta` and whose surrogate gain
/// is positive. `evaluate(fraction) -> (gain, kl)` measures a candidate on the batch.
/// If none qualifies, the policy stays where it is: a step that breaks the trust
/// region or makes the surrogate worse is never taken.
pub fn backtracking_line_search(
    mut evaluate: impl FnMut(f64) -> (f64, f64),
    delta: f64,
    max_backtracks: usize,
) -> LineSearch {
    let mut last = (0.0, 0.0);
    for backtracks in 0..=max_backtracks {
        let fraction = 0.5f64.powi(backtracks as i32);
        let (gain, kl) = evaluate(fraction);
        if kl <= delta && gain > 0.0 {
            return LineSearch { fraction, backtracks, accepted: true, gain, kl };
        }
        last = (gain, kl);
    }
    LineSearch { fraction: 0.0, backtracks: max_backtracks, accepted: false, gain: last.0, kl: last.1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_until_the_kl_fits() {
        // KL grows with the square of the step: 0.04 at the full step, δ = 0.01 → ½ step.
        let r = backtracking_line_search(|f| (f, 0.04 * f * f), 0.01, 10);
        assert_eq!((r.fraction, r.backtracks, r.accepted), (0.5, 1, true));
        assert!((r.kl - 0.01).abs() < 1e-15);
    }

    #[test]
    fn refuses_a_step_that_makes_the_surrogate_worse() {
        // Gain is negative from a quarter step up: the search must go to ⅛.
        let r = backtracking_line_search(|f| (if f >= 0.25 { -1.0 } else { f }, 0.0), 0.01, 10);
        assert_eq!((r.fraction, r.backtracks), (0.125, 3));
        let none = backtracking_line_search(|_| (-1.0, 0.0), 0.01, 4);
        assert!(!none.accepted);
        assert_eq!((none.fraction, none.backtracks), (0.0, 4));
    }
}
