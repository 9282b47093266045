//! Flawed rewards, for chapter 7's reward-hacking experiment (DeepSeek-AI 2025, the R1 report: R1 used
//! rules because "neural reward models get hacked").
//!
//! - [`tags_only`]: a format check that only looks for the four tags.
//! - [`RewardModel`]: a small learned reward model, logistic regression on the bag of
//!   tokens of a response (how often each token occurs), fitted to a few hundred
//!   responses labelled by the rule. Like a reward model of RLHF it outputs a score
//!   (the logit), not a verdict, and it never sees whether the sum is right: it can
//!   only learn what right answers *look like*.

use super::task::{accuracy_reward, format_ok, Problem};
use super::tokenizer::Tokenizer;
use serde::Serialize;

/// The flawed format check: 1 when `<think>`, `</think>`, `<answer>` and `</answer>`
/// all occur somewhere, in any order and number, around anything; else 0.
pub fn tags_only(text: &str) -> f64 {
    let all = ["<think>", "</think>", "<answer>", "</answer>"].iter().all(|t| text.contains(t));
    if all {
        1.0
    } else {
        0.0
    }
}

/// The label of a response: 1 when the rule calls it right and well-formed, else 0.
pub fn label(text: &str, problem: &Problem) -> f64 {
    if accuracy_reward(text, problem) == 1.0 && format_ok(text) {
        1.0
    } else {
        0.0
    }
}

/// Bag-of-tokens features (eq. 10): x_k = how many times vocabulary token k occurs in the
/// response (so their sum is its length). Text outside the vocabulary cannot come
/// from the model; it would count nothing.
pub fn features(tokenizer: &Tokenizer, text: &str) -> Vec<f64> {
    let mut x = vec![0.0; tokenizer.vocab_size()];
    for id in tokenizer.encode(text).unwrap_or_default() {
        x[id as usize] += 1.0;
    }
    x
}

/// How the reward model is fitted: full-batch gradient descent on the mean logistic
/// loss plus an L2 penalty on the weights (deterministic: no RNG).
#[derive(Clone, Debug, Serialize)]
pub struct FitConfig {
    pub iterations: usize,
    pub lr: f64,
    pub l2: f64,
}

/// A linear reward model on [`features`]: score = w·x + b, the logit of P(good | x).
#[derive(Clone, Debug, Serialize)]
pub struct RewardModel {
    pub weights: Vec<f64>,
    pub bias: f64,
    /// The tokens of the vocabulary, in weight order (for reports).
    pub tokens: Vec<String>,
}

/// σ(z) = 1 / (1 + e^−z).
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The mean logistic loss and its gradient (eq. 11) at (w, b) on data (xs, ys), with
/// penalty (l2/2)·|w|²: L = mean −[y log σ(z) + (1−y) log(1−σ(z))], z = w·x + b;
/// ∂L/∂w = mean (σ(z) − y) x + l2·w, ∂L/∂b = mean (σ(z) − y).
pub fn logistic_loss(w: &[f64], b: f64, xs: &[Vec<f64>], ys: &[f64], l2: f64) -> (f64, Vec<f64>, f64) {
    let n = xs.len().max(1) as f64;
    let (mut loss, mut gw, mut gb) = (0.0, vec![0.0; w.len()], 0.0);
    for (x, &y) in xs.iter().zip(ys) {
        let z = w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + b;
        // −log σ(z) = softplus(−z), −log(1 − σ(z)) = softplus(z), computed stably.
        let softplus = |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p();
        loss += y * softplus(-z) + (1.0 - y) * softplus(z);
        let err = sigmoid(z) - y;
        for (g, xi) in gw.iter_mut().zip(x) {
            *g += err * xi / n;
        }
        gb += err / n;
    }
    let penalty = 0.5 * l2 * w.iter().map(|v| v * v).sum::<f64>();
    for (g, wi) in gw.iter_mut().zip(w) {
        *g += l2 * wi;
    }
    (loss / n + penalty, gw, gb)
}

impl RewardModel {
    /// Fits the model to labelled feature vectors; returns it and the loss per iteration.
    pub fn fit(tokenizer: &Tokenizer, xs: &[Vec<f64>], ys: &[f64], cfg: &FitConfig) -> (RewardModel, Vec<f64>) {
        let d = tokenizer.vocab_size();
        let (mut w, mut b) = (vec![0.0; d], 0.0);
        let mut losses = Vec::with_capacity(cfg.iterations);
        for _ in 0..cfg.iterations {
            let (loss, gw, gb) = logistic_loss(&w, b, xs, ys, cfg.l2);
            losses.push(loss);
            for (wi, g) in w.iter_mut().zip(&gw) {
                *wi -= cfg.lr * g;
            }
            b -= cfg.lr * gb;
        }
        let tokens = (0..d as u32).map(|i| tokenizer.token(i).to_string()).collect();
        (RewardModel { weights: w, bias: b, tokens }, losses)
    }

    /// The score (logit) of a feature vector.
    pub fn score_features(&self, x: &[f64]) -> f64 {
        self.weights.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + self.bias
    }

    /// The reward of a response: its score (eq. 10).
    pub fn score(&self, tokenizer: &Tokenizer, text: &str) -> f64 {
        self.score_features(&features(tokenizer, text))
    }

    /// Share of (x, y) pairs where the score's sign agrees with the label.
    pub fn agreement(&self, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
        let right = xs.iter().zip(ys).filter(|(x, &y)| (self.score_features(x) > 0.0) == (y > 0.5)).count();
        right as f64 / xs.len().max(1) as f64
    }

    /// The tokens with the largest weights, largest first (for reports).
    pub fn top_tokens(&self, n: usize) -> Vec<(String, f64)> {
        let mut pairs: Vec<(String, f64)> = self.tokens.iter().cloned().zip(self.weights.iter().copied()).collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
        pairs.truncate(n);
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_gradient_matches_finite_differences() {
        let xs = vec![vec![1.0, 0.0, 2.0], vec![0.0, 1.0, 1.0], vec![3.0, 1.0, 0.0]];
        let ys = vec![1.0, 0.0, 1.0];
        let (w, b, l2) = (vec![0.3, -0.2, 0.1], 0.05, 0.01);
        let (_, gw, gb) = logistic_loss(&w, b, &xs, &ys, l2);
        let h = 1e-6;
        for i in 0..3 {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[i] += h;
            wm[i] -= h;
            let num = (logistic_loss(&wp, b, &xs, &ys, l2).0 - logistic_loss(&wm, b, &xs, &ys, l2).0) / (2.0 * h);
            assert!((num - gw[i]).abs() < 1e-8, "{num} vs {}", gw[i]);
        }
        let num = (logistic_loss(&w, b + h, &xs, &ys, l2).0 - logistic_loss(&w, b - h, &xs, &ys, l2).0) / (2.0 * h);
        assert!((num - gb).abs() < 1e-8);
        // At w = 0, b = 0 the loss is ln 2 for any data.
        assert!((logistic_loss(&[0.0; 3], 0.0, &xs, &ys, 0.0).0 - 2f64.ln()).abs() < 1e-12);
    }
}
