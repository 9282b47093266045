//! The lessons' conceptual diagrams: each chapter draws its own, and the numbers the
//! diagrams show are the library's (PPO's clipped loss, TRPO's step, the maze's rewards).

use std::path::{Path, PathBuf};

use rl_sandbox::diagrams::{
    backup_branches, clipped_objective, draw_for_chapter, trust_region_example, CLIP_EPS, DIAGRAMS,
};
use rl_sandbox::env::maze::{Action, Maze, Rewards};

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-diagrams-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Width and height from a PNG's header, after checking its signature, that the
/// first chunk is IHDR and that the chunks run, by their lengths, to an IEND.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(&bytes[12..16], b"IHDR");
    let mut at = 8;
    let mut kinds = Vec::new();
    while at + 8 <= bytes.len() {
        let len = be(at) as usize;
        kinds.push(bytes[at + 4..at + 8].to_vec());
        at += 12 + len;
    }
    assert_eq!(at, bytes.len(), "the chunks do not end at the end of the file");
    assert_eq!(kinds.last().map(Vec::as_slice), Some(&b"IEND"[..]));
    assert!(kinds.iter().any(|k| k == b"IDAT"), "no image data");
    (be(16), be(20))
}

fn check_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = png_size(&bytes);
    assert!((700..=1200).contains(&w) && (400..=1000).contains(&h), "{}: {w}x{h}", path.display());
    // A blank white image compresses to well under 10 kB; text and shapes do not.
    assert!(bytes.len() > 20_000, "{}: suspiciously small ({} bytes)", path.display(), bytes.len());
}

#[test]
fn every_chapter_draws_its_diagrams_and_no_others() {
    let dir = out_dir("all");
    for (chapter, stems) in DIAGRAMS {
        let names = draw_for_chapter(chapter, &dir.join(chapter)).unwrap();
        let expected: Vec<String> = stems.iter().flat_map(|s| [format!("{s}.png"), format!("{s}.svg")]).collect();
        assert_eq!(names, expected);
        for stem in *stems {
            check_png(&dir.join(chapter).join(format!("{stem}.png")));
            let svg = std::fs::read_to_string(dir.join(chapter).join(format!("{stem}.svg"))).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("<text"), "{chapter}/{stem}.svg has no text");
        }
    }
    let expected = [
        ("ch01-q-learning", vec!["agent_environment_loop", "backup_diagram"]),
        ("ch03-trpo", vec!["trust_region"]),
        ("ch04-ppo", vec!["clipped_objective"]),
        ("ch07-r1-pipeline", vec!["ppo_vs_grpo_models", "r1_pipeline"]),
    ];
    for (chapter, stems) in expected {
        assert!(DIAGRAMS.iter().any(|(c, s)| *c == chapter && s.to_vec() == stems), "{chapter}");
    }
    for chapter in ["ch02-policy-gradient", "ch05-language-model", "ch06-grpo", "no-such-chapter"] {
        assert!(draw_for_chapter(chapter, &dir.join(chapter)).unwrap().is_empty());
        assert!(!dir.join(chapter).exists(), "{chapter}: a folder was created for no diagram");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clipped_objective_is_the_hand_formula() {
    let rhos = [0.3, 0.79, 0.8, 0.95, 1.0, 1.1, 1.2, 1.21, 1.7];
    for a in [1.0, -1.0] {
        let got = clipped_objective(&rhos, a, CLIP_EPS).unwrap();
        for (&rho, l) in rhos.iter().zip(got) {
            let by_hand = (rho * a).min(rho.clamp(1.0 - CLIP_EPS, 1.0 + CLIP_EPS) * a);
            assert!((l - by_hand).abs() < 1e-12, "A = {a}, ρ = {rho}: {l} vs {by_hand}");
        }
    }
    // The flat regions: beyond 1 + ε for A > 0, below 1 − ε for A < 0.
    assert_eq!(clipped_objective(&[1.5, 1.9], 1.0, CLIP_EPS).unwrap(), vec![1.2, 1.2]);
    let low = clipped_objective(&[0.2, 0.5], -1.0, CLIP_EPS).unwrap();
    assert!(low.iter().all(|v| (v + 0.8).abs() < 1e-12), "{low:?}");
    // And where the min keeps the unclipped term: it keeps falling without bound.
    let bad = clipped_objective(&[1.5], -1.0, CLIP_EPS).unwrap()[0];
    assert!((bad + 1.5).abs() < 1e-12);
}

#[test]
fn natural_step_is_on_the_kl_boundary_and_the_fixed_step_is_not() {
    let ex = trust_region_example();
    assert!((ex.kl(&ex.natural_step) - ex.delta).abs() < 1e-9);
    assert!(ex.kl(&ex.fixed_step) > 5.0 * ex.delta, "the fixed step should leave the region by far");
    // Same Euclidean length, and the fixed step points along g.
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm(&ex.natural_step) - norm(&ex.fixed_step)).abs() < 1e-12);
    let cross = ex.fixed_step[0] * ex.gradient[1] - ex.fixed_step[1] * ex.gradient[0];
    assert!(cross.abs() < 1e-12 && ex.fixed_step[0] * ex.gradient[0] > 0.0);
    // The natural step solves F s ∝ g: F s is parallel to g.
    let f = ex.fisher;
    let fs = [
        f[0][0] * ex.natural_step[0] + f[0][1] * ex.natural_step[1],
        f[1][0] * ex.natural_step[0] + f[1][1] * ex.natural_step[1],
    ];
    assert!((fs[0] * ex.gradient[1] - fs[1] * ex.gradient[0]).abs() < 1e-9);
    assert!(fs[0] * ex.gradient[0] + fs[1] * ex.gradient[1] > 0.0, "an ascent direction");
}

#[test]
fn backup_diagram_shows_the_mazes_real_outcomes() {
    let maze = Maze::seed();
    let (s, branches) = backup_branches(&maze, &Rewards::article());
    // S6: up is a wall (S3), right is the edge, down is the goal, left is S5.
    assert_eq!(maze.name(s), "S6");
    let by_action = |a: Action| branches.iter().find(|b| b.action == a).unwrap();
    assert_eq!((by_action(Action::Up).next, by_action(Action::Up).reward), (s, -1.0));
    assert_eq!((by_action(Action::Right).next, by_action(Action::Right).reward), (s, -1.0));
    let down = by_action(Action::Down);
    assert_eq!((maze.name(down.next).as_str(), down.reward, down.terminal), ("S9", 20.0, true));
    let left = by_action(Action::Left);
    assert_eq!((maze.name(left.next).as_str(), left.reward, left.terminal), ("S5", 1.0, false));
    // Other rewards, other labels: the diagram reads them from the maze.
    let (_, costs) = backup_branches(&maze, &Rewards::step_cost());
    assert_eq!(costs.iter().find(|b| b.terminal).unwrap().reward, 1.0);
}
