//! Measuring a model on held-out problems with the R1-Zero template: accuracy (greedy
//! and sampled), format compliance, response length, pass@k and maj@k.

use super::model::Gpt;
use super::sample::{sample, SampleConfig, Samples};
use super::task::{accuracy_reward, extract_answer, format_ok, r1_prompt, Problem};
use super::tokenizer::Tokenizer;
use crate::error::Result;
use rand::Rng;
use serde::Serialize;

/// Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k)
/// (Chen et al. 2021), computed as a product to stay exact for small numbers.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    if k > n {
        return f64::NAN;
    }
    if n - c < k {
        return 1.0;
    }
    1.0 - ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product::<f64>()
}

/// maj@k for one problem: 1 when the most frequent answer among the first k samples
/// (ties go to the one seen first; samples without an answer do not vote) is correct.
/// The samples are independent, so the first k are a fair draw of k.
pub fn maj_at_k(answers: &[Option<String>], correct: &str, k: usize) -> f64 {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for a in answers.iter().take(k).flatten() {
        match counts.iter_mut().find(|(x, _)| x == a) {
            Some(entry) => entry.1 += 1,
            None => counts.push((a, 1)),
        }
    }
    let best = counts.iter().fold(None::<(&str, usize)>, |best, &(a, c)| match best {
        Some((_, bc)) if bc >= c => best,
        _ => Some((a, c)),
    });
    match best {
        Some((a, _)) if a == correct => 1.0,
        _ => 0.0,
    }
}

/// The evaluation of one model.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evaluation {
    pub problems: usize,
    pub samples_per_problem: usize,
    pub accuracy_greedy: f64,
    pub format_rate_greedy: f64,
    pub accuracy_sampled: f64,
    pub format_rate: f64,
    /// Mean tokens per sampled response (the end token included).
    pub mean_response_length: f64,
    /// pass@k and maj@k for k = 1..=samples_per_problem.
    pub pass_at_k: Vec<f64>,
    pub maj_at_k: Vec<f64>,
    /// Sampled response lengths, for a histogram.
    #[serde(skip)]
    pub lengths: Vec<usize>,
    #[serde(skip)]
    pub greedy: Samples,
    #[serde(skip)]
    pub sampled: Samples,
    /// Tokens generated per second while sampling.
    pub sample_tokens_per_s: f64,
}

/// The prompts of the problems, tokenized with the R1-Zero template.
pub fn prompts(tokenizer: &Tokenizer, problems: &[Problem]) -> Result<Vec<Vec<u32>>> {
    problems.iter().map(|p| tokenizer.encode(&r1_prompt(&p.question()))).collect()
}

/// Greedy decoding once, and `n` samples per problem at `cfg.temperature`.
pub fn evaluate(
    model: &Gpt,
    tokenizer: &Tokenizer,
    problems: &[Problem],
    n: usize,
    cfg: &SampleConfig,
    rng: &mut impl Rng,
) -> Result<Evaluation> {
    let prompts = prompts(tokenizer, problems)?;
    let greedy = sample(model, tokenizer, &prompts, 1, &SampleConfig { temperature: 0.0, ..cfg.clone() }, rng)?;
    let started = std::time::Instant::now();
    // In chunks, so the batch stays a size the cache handles well.
    let mut sampled = Samples::default();
    let chunk = (256 / n).max(1);
    for (i, ps) in prompts.chunks(chunk).enumerate() {
        let s = sample(model, tokenizer, ps, n, cfg, rng)?;
        sampled.prompt.extend(s.prompt.iter().map(|p| p + i * chunk));
        sampled.ids.extend(s.ids);
        sampled.texts.extend(s.texts);
        sampled.stopped.extend(s.stopped);
    }
    let seconds = started.elapsed().as_secs_f64();
    let lengths: Vec<usize> = sampled.ids.iter().map(Vec::len).collect();
    let mean = |xs: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = xs.collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let correct_s: Vec<f64> =
        sampled.texts.iter().zip(&sampled.prompt).map(|(t, &p)| accuracy_reward(t, &problems[p])).collect();
    let mut pass = vec![0.0; n];
    let mut maj = vec![0.0; n];
    for (p, problem) in problems.iter().enumerate() {
        let rows = p * n..(p + 1) * n;
        let c = correct_s[rows.clone()].iter().filter(|&&x| x > 0.0).count();
        let answers: Vec<Option<String>> =
            sampled.texts[rows].iter().map(|t| extract_answer(t).map(String::from)).collect();
        for k in 1..=n {
            pass[k - 1] += pass_at_k(n, c, k);
            maj[k - 1] += maj_at_k(&answers, &problem.answer().to_string(), k);
        }
    }
    for x in pass.iter_mut().chain(maj.iter_mut()) {
        *x /= problems.len() as f64;
    }
    Ok(Evaluation {
        problems: problems.len(),
        samples_per_problem: n,
        accuracy_greedy: mean(&mut greedy.texts.iter().zip(problems).map(|(t, p)| accuracy_reward(t, p))),
        format_rate_greedy: mean(&mut greedy.texts.iter().map(|t| format_ok(t) as u8 as f64)),
        accuracy_sampled: mean(&mut correct_s.iter().copied()),
        format_rate: mean(&mut sampled.texts.iter().map(|t| format_ok(t) as u8 as f64)),
        mean_response_length: mean(&mut lengths.iter().map(|&l| l as f64)),
        pass_at_k: pass,
        maj_at_k: maj,
        sample_tokens_per_s: lengths.iter().sum::<usize>() as f64 / seconds.max(1e-9),
        lengths,
        greedy,
        sampled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_at_k_by_hand() {
        assert!((pass_at_k(4, 1, 1) - 0.25).abs() < 1e-12);
        assert!((pass_at_k(4, 1, 2) - 0.5).abs() < 1e-12); // 1 − C(3,2)/C(4,2) = 1 − 3/6
        assert!((pass_at_k(5, 2, 2) - 0.7).abs() < 1e-12); // 1 − C(3,2)/C(5,2) = 1 − 3/10
        assert_eq!(pass_at_k(4, 0, 4), 0.0);
        assert_eq!(pass_at_k(4, 2, 3), 1.0);
    }

    #[test]
    fn maj_at_k_by_hand() {
        let a = |s: &[Option<&str>]| s.iter().map(|x| x.map(String::from)).collect::<Vec<_>>();
        let answers = a(&[Some("5"), Some("6"), Some("6"), None, Some("5"), Some("5")]);
        assert_eq!(maj_at_k(&answers, "5", 1), 1.0);
        assert_eq!(maj_at_k(&answers, "5", 2), 1.0); // tie 5:1, 6:1 goes to the first seen
        assert_eq!(maj_at_k(&answers, "5", 3), 0.0); // 6 leads 2:1
        assert_eq!(maj_at_k(&answers, "5", 4), 0.0); // None does not vote
        assert_eq!(maj_at_k(&answers, "5", 6), 1.0); // 5 leads 3:2
        assert_eq!(maj_at_k(&a(&[None, None]), "5", 2), 0.0);
    }
}
