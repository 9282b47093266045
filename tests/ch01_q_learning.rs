//! Chapter 1: the maze, value iteration, Q-learning, and the chapter binary.

mod common;

use rl_sandbox::course::ch01_q_learning::Headline;
use rl_sandbox::env::maze::{Action, Maze, MazeEnv, Rewards};
use rl_sandbox::env::Env;
use rl_sandbox::rng;
use rl_sandbox::tabular::{MazeTask, QLearning, Schedule, StepSize};
use std::path::PathBuf;
use std::process::Command;

fn seed_task() -> MazeTask {
    MazeTask::new(Maze::seed(), Rewards::article(), 0.0, 100, 0.9).unwrap()
}

fn cell(name: &str) -> usize {
    name[1..].parse::<usize>().unwrap() - 1
}

// ---------------------------------------------------------------- dynamics

#[test]
fn moves_bumps_and_the_goal() {
    let m = Maze::seed();
    let r = Rewards::article();
    // Along the article's first path S1↓S4→S5↓S8→S9.
    assert_eq!(m.outcome(cell("S1"), Action::Down, &r), (cell("S4"), 1.0, false));
    assert_eq!(m.outcome(cell("S4"), Action::Right, &r), (cell("S5"), 1.0, false));
    assert_eq!(m.outcome(cell("S5"), Action::Down, &r), (cell("S8"), 1.0, false));
    assert_eq!(m.outcome(cell("S8"), Action::Right, &r), (cell("S9"), 20.0, true));
    // Edges: the agent stays and pays -1.
    assert_eq!(m.outcome(cell("S1"), Action::Up, &r), (cell("S1"), -1.0, false));
    assert_eq!(m.outcome(cell("S1"), Action::Left, &r), (cell("S1"), -1.0, false));
    assert_eq!(m.outcome(cell("S6"), Action::Right, &r), (cell("S6"), -1.0, false));
    // Walls S3 and S7.
    assert_eq!(m.outcome(cell("S2"), Action::Right, &r), (cell("S2"), -1.0, false));
    assert_eq!(m.outcome(cell("S6"), Action::Up, &r), (cell("S6"), -1.0, false));
    assert_eq!(m.outcome(cell("S4"), Action::Down, &r), (cell("S4"), -1.0, false));
    assert_eq!(m.outcome(cell("S8"), Action::Left, &r), (cell("S8"), -1.0, false));
    // S6↓ also enters the goal.
    assert_eq!(m.outcome(cell("S6"), Action::Down, &r), (cell("S9"), 20.0, true));
}

#[test]
fn env_terminates_at_the_goal_and_truncates_at_the_limit() {
    let mut env = MazeEnv::new(&Maze::seed(), Rewards::article(), 0.0, 3);
    let mut rng = rng::seeded(0, 0);
    assert_eq!(env.reset(&mut rng), 0);
    let s = env.step(Action::Right as usize);
    assert_eq!((s.obs, s.reward, s.terminated, s.truncated), (1, 1.0, false, false));
    env.step(Action::Down as usize);
    let s = env.step(Action::Up as usize); // third step: the time limit
    assert_eq!((s.obs, s.terminated, s.truncated), (1, false, true));
    env.reset(&mut rng);
    let mut last = None;
    for a in [Action::Down, Action::Right, Action::Down] {
        last = Some(env.step(a as usize));
    }
    let last = last.unwrap();
    assert!(!last.terminated && last.truncated, "three moves do not reach the goal; the limit of 3 ends the episode");
    let mut env = MazeEnv::new(&Maze::seed(), Rewards::article(), 0.0, 100);
    env.reset(&mut rng);
    let steps: Vec<_> =
        [Action::Right, Action::Down, Action::Right, Action::Down].iter().map(|&a| env.step(a as usize)).collect();
    assert!(steps[3].terminated && !steps[3].truncated);
    assert_eq!(steps.iter().map(|s| s.reward).sum::<f64>(), 23.0);
}

#[test]
fn slips_follow_the_model() {
    // With slip 1 every move is uniformly random: from S5 (four open neighbours)
    // each of the four cells is reached about a quarter of the time.
    let maze = Maze::parse("...\n.S.\n..G\n", "test").unwrap();
    let mut env = MazeEnv::new(&maze, Rewards::article(), 1.0, 1);
    let mut rng = rng::seeded(3, 0);
    let mut counts = [0usize; 9];
    for _ in 0..40_000 {
        env.reset(&mut rng);
        counts[env.step(Action::Up as usize).obs] += 1;
    }
    for s in [1, 3, 5, 7] {
        assert!((counts[s] as f64 / 40_000.0 - 0.25).abs() < 0.01, "{counts:?}");
    }
    let model = maze.model(&Rewards::article(), 0.2);
    let up: f64 = model.outcomes[4 * 4].iter().filter(|o| o.next == 1).map(|o| o.prob).sum();
    assert!((up - 0.85).abs() < 1e-12, "intended move keeps 1 - slip + slip/4");
}

// ---------------------------------------------------------------- value iteration

#[test]
fn value_iteration_matches_hand_computed_values() {
    // V*(S8) = V*(S6) = 20 (one move into the goal); V*(S5) = 1 + 0.9·20 = 19;
    // V*(S2) = V*(S4) = 1 + 0.9·19 = 18.1; V*(S1) = 1 + 0.9·18.1 = 17.29.
    let t = seed_task();
    for (s, v) in [("S1", 17.29), ("S2", 18.1), ("S4", 18.1), ("S5", 19.0), ("S6", 20.0), ("S8", 20.0)] {
        assert!((t.q_star.max(cell(s)) - v).abs() < 1e-9, "V*({s}) = {}", t.q_star.max(cell(s)));
    }
    // A bump from S1 costs 1 and leaves you in S1: -1 + 0.9·17.29 = 14.561.
    assert!((t.q_star.get(cell("S1"), Action::Up as usize) - 14.561).abs() < 1e-9);
    // S1: down and right tie (two of the four shortest paths start each way).
    assert_eq!(t.q_star.best_actions(cell("S1"), 1e-9), vec![Action::Down as usize, Action::Right as usize]);
    assert_eq!(t.shortest, 4);
}

#[test]
fn exactly_four_shortest_paths() {
    let paths = Maze::seed().shortest_paths(100);
    let named: Vec<String> =
        paths.iter().map(|p| p.iter().map(|s| format!("S{}", s + 1)).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(named, vec!["S1 S4 S5 S8 S9", "S1 S4 S5 S6 S9", "S1 S2 S5 S8 S9", "S1 S2 S5 S6 S9"]);
    assert_eq!(Maze::seed().count_shortest_paths(), 4);
    // An open n x n room has C(2n-2, n-1) corner-to-corner shortest paths: C(8,4) = 70.
    let open = Maze::parse("S....\n.....\n.....\n.....\n....G\n", "open").unwrap();
    assert_eq!(open.count_shortest_paths(), 70);
    assert_eq!(open.shortest_paths(1000).len(), 70);
}

#[test]
fn the_return_of_every_shortest_path_is_v_star_of_the_start() {
    // Eq. (1) along S1 S2 S5 S6 S9: 1 + 0.9·1 + 0.81·1 + 0.729·20 = 17.29 = V*(S1), while
    // the undiscounted sum (the `return` column of metrics.csv) is 23.
    let t = seed_task();
    for path in t.maze.shortest_paths(100) {
        let rewards = t.path_rewards(&path);
        assert_eq!(rewards, vec![1.0, 1.0, 1.0, 20.0]);
        let g = rl_sandbox::tabular::discounted_return(&rewards, t.gamma);
        assert!((g - t.q_star.max(t.maze.start())).abs() < 1e-9, "G = {g}");
    }
    // A bump leaves the robot where it is and costs 1.
    assert_eq!(t.path_rewards(&[cell("S1"), cell("S1"), cell("S4")]), vec![-1.0, 1.0]);
}

#[test]
fn policy_evaluation_of_the_greedy_policy_of_q_star_gives_v_star() {
    // Eq. (2) with π = greedy on Q* (a deterministic policy) reproduces V* = max_a Q*.
    let t = seed_task();
    let greedy = |s: usize| {
        let mut p = vec![0.0; 4];
        p[t.q_star.argmax(s)] = 1.0;
        p
    };
    let v = rl_sandbox::tabular::policy_evaluation(&t.model, greedy, t.gamma, 1e-12).unwrap();
    for s in ["S1", "S2", "S4", "S5", "S6", "S8"] {
        assert!((v[cell(s)] - t.q_star.max(cell(s))).abs() < 1e-9, "V({s}) = {}", v[cell(s)]);
    }
    // The uniform policy is worse everywhere, and satisfies eq. (2) at S8 written out by
    // hand: up to S5 (+1), down into the edge and left into the wall S7 (−1, stay), right
    // into the goal (+20, the end).
    let u = t.uniform_policy_values().unwrap();
    let v5 = u["S5"];
    let v8 = u["S8"];
    let rhs = 0.25 * (1.0 + 0.9 * v5) + 0.25 * (-1.0 + 0.9 * v8) * 2.0 + 0.25 * 20.0;
    assert!((v8 - rhs).abs() < 1e-9, "{v8} vs {rhs}");
    assert!(["S1", "S2", "S4", "S5", "S6", "S8"].iter().all(|s| u[*s] < t.q_star.max(cell(s))));
}

#[test]
fn value_iteration_refuses_to_diverge() {
    // γ = 1 with +1 per move: wandering forever is worth infinitely much.
    let err = MazeTask::new(Maze::seed(), Rewards::article(), 0.0, 100, 1.0).err().expect("must fail").to_string();
    assert!(err.contains("--gamma") && err.contains("does not converge"), "{err}");
}

// ---------------------------------------------------------------- Q-learning

fn decaying_epsilon(episodes: usize) -> QLearning {
    QLearning {
        episodes,
        gamma: 0.9,
        epsilon: Schedule::Linear { start: 1.0, end: 0.01, episodes: 100 },
        alpha: StepSize::Constant(0.5),
        step_budget: None,
    }
}

#[test]
fn q_learning_reaches_q_star_with_decaying_alpha() {
    let t = seed_task();
    let cfg = QLearning {
        episodes: usize::MAX,
        gamma: 0.9,
        epsilon: Schedule::Constant(1.0),
        alpha: StepSize::Visits { omega: 0.7 },
        step_budget: Some(100_000),
    };
    for seed in 0..3 {
        let run = t.run(&cfg, &mut rng::seeded(seed, 0)).unwrap();
        let err = run.q.max_abs_diff(&t.q_star, &t.model);
        assert!(err < 1e-3, "seed {seed}: max |Q - Q*| = {err}");
    }
}

#[test]
fn constant_alpha_stalls_on_the_slippery_maze_while_decaying_alpha_converges() {
    let t = MazeTask::new(Maze::seed(), Rewards::article(), 0.2, 100, 0.9).unwrap();
    let run = |alpha| {
        let cfg = QLearning {
            episodes: usize::MAX,
            gamma: 0.9,
            epsilon: Schedule::Constant(1.0),
            alpha,
            step_budget: Some(200_000),
        };
        let r = t.run(&cfg, &mut rng::seeded(0, 1)).unwrap();
        r.q.max_abs_diff(&t.q_star, &t.model)
    };
    let constant = run(StepSize::Constant(0.5));
    let decaying = run(StepSize::Visits { omega: 0.7 });
    assert!(constant > 0.5, "constant α keeps jumping: {constant}");
    assert!(decaying < 0.2 && decaying < constant / 4.0, "decaying α averages the noise: {decaying} vs {constant}");
}

#[test]
fn greedy_policy_is_optimal_for_seeds_0_to_19() {
    let t = seed_task();
    for seed in 0..20 {
        let run = t.run(&decaying_epsilon(300), &mut rng::seeded(seed, 2)).unwrap();
        let (path, reached) = t.greedy_path(&run.q);
        assert!(t.is_optimal(&path, reached), "seed {seed}: greedy path {path:?}");
    }
}

#[test]
fn pure_exploitation_gets_stuck_and_epsilon_greedy_does_not() {
    let t = seed_task();
    let greedy = QLearning { epsilon: Schedule::Constant(0.0), ..decaying_epsilon(100) };
    let eps = QLearning { epsilon: Schedule::Constant(0.1), ..decaying_epsilon(100) };
    let mut stuck = 0;
    for seed in 0..20 {
        let run = t.run(&greedy, &mut rng::seeded(seed, 0)).unwrap();
        if !run.ever_reached_goal() {
            stuck += 1;
            // Stuck means looping: every episode runs into the time limit, and the greedy
            // walk from S1 revisits a state instead of reaching S9.
            assert!(run.episodes.iter().all(|e| e.steps == 100));
            let (path, reached) = t.greedy_path(&run.q);
            assert!(!reached && path.len() <= 9, "{path:?}");
        }
        assert!(t.run(&eps, &mut rng::seeded(seed, 0)).unwrap().ever_reached_goal(), "ε-greedy, seed {seed}");
    }
    // A lucky first walk can stumble into the goal before any loop closes (about 1 in 8).
    assert!(stuck >= 14, "only {stuck} of 20 greedy runs got stuck");
}

#[test]
fn step_cost_makes_zero_values_optimistic() {
    // With a cost per move, untried actions (0) look better than tried ones, so even
    // ε = 0 explores its way to the goal on every seed.
    let t = MazeTask::new(Maze::seed(), Rewards::step_cost(), 0.0, 100, 0.99).unwrap();
    let greedy = QLearning {
        episodes: 50,
        gamma: 0.99,
        epsilon: Schedule::Constant(0.0),
        alpha: StepSize::Constant(0.5),
        step_budget: None,
    };
    for seed in 0..20 {
        let run = t.run(&greedy, &mut rng::seeded(seed, 0)).unwrap();
        let (path, reached) = t.greedy_path(&run.q);
        assert!(t.is_optimal(&path, reached), "seed {seed}: {path:?}");
    }
}

#[test]
fn same_seed_same_run() {
    let t = seed_task();
    let a = t.run(&decaying_epsilon(200), &mut rng::seeded(7, 0)).unwrap();
    let b = t.run(&decaying_epsilon(200), &mut rng::seeded(7, 0)).unwrap();
    assert_eq!(a.episodes, b.episodes);
    assert_eq!(a.q, b.q);
}

// ---------------------------------------------------------------- maze files

fn parse_err(text: &str) -> String {
    Maze::parse(text, "m.txt").expect_err("must be rejected").to_string()
}

#[test]
fn malformed_mazes_name_the_problem_and_place() {
    let cases = [
        ("S.#\n.x.\n#.G\n", "line 2, column 2: unknown character 'x'"),
        ("S . #\n. . .\n# . G .\n", "line 3: this row has 4 cells but the first row (line 1) has 3"),
        ("...\n...\n..G\n", "no start cell 'S'"),
        ("S..\n...\n...\n", "no goal cell 'G'"),
        ("S.#\n##.\n#.G\n", "line 3, column 3: the goal cannot be reached from the start"),
        ("S.S\n..G\n", "line 1, column 3: a second start 'S'; the first is at line 1, column 1"),
        ("; only a comment\n\n", "the file has no rows"),
    ];
    for (text, expected) in cases {
        let err = parse_err(text);
        assert!(err.contains(expected), "{text:?}: got {err:?}, expected {expected:?}");
        assert!(err.starts_with("bad maze m.txt"), "{err}");
    }
}

#[test]
fn shipped_mazes_parse_and_the_seed_file_is_the_seed_maze() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mazes");
    let mut big = false;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let maze = Maze::load(&path).unwrap_or_else(|e| panic!("{e}"));
        big |= maze.width() >= 8 && maze.height() >= 8;
    }
    assert!(big, "ship at least one maze of 8x8 or more");
    assert_eq!(Maze::load(&dir.join("article-3x3.txt")).unwrap(), Maze::seed());
}

// ---------------------------------------------------------------- the binary

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("ch01", name)
}

fn ch01(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch01-q-learning")).args(args).output().unwrap()
}

#[test]
fn binary_writes_its_outputs_and_is_deterministic() {
    let (a, b) = (temp_dir("a"), temp_dir("b"));
    for dir in [&a, &b] {
        let out = ch01(&["--quick", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let read = |d: &PathBuf| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("ch01-q-learning/summary.json")).unwrap()).unwrap();
        // Timings differ between runs; everything else must not.
        v["wall_time_s"] = 0.into();
        v["headline"]["env_steps_per_s"] = 0.into();
        v
    };
    let (sa, sb) = (read(&a), read(&b));
    assert_eq!(sa, sb);
    let csv = |d: &PathBuf| std::fs::read_to_string(d.join("ch01-q-learning/metrics.csv")).unwrap();
    assert_eq!(csv(&a), csv(&b));
    // Every headline key, with its type: a missing or renamed key fails here.
    let h: Headline = serde_json::from_value(sa["headline"].clone()).unwrap();
    assert_eq!(h.greedy_path_length, 4);
    assert_eq!(h.greedy_path.len(), 5);
    assert!(h.greedy_path_optimal);
    assert!(h.episodes_to_optimal_median.is_some(), "{h:?}");
    assert!(h.q_error_final.is_finite(), "{h:?}");
    assert_eq!(sa["chapter"], "ch01-q-learning");
    let figures = sa["figures"].as_array().unwrap();
    assert!(figures.len() >= 8, "{figures:?}");
    for f in figures {
        let path = a.join("ch01-q-learning").join(f.as_str().unwrap());
        assert!(std::fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false), "{}", path.display());
    }
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn binary_runs_on_a_maze_file() {
    let out_dir = temp_dir("file");
    let maze = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mazes/rooms-8x8.txt");
    let out = ch01(&["--quick", "--maze", maze.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("ch01-q-learning/summary.json")).unwrap()).unwrap();
    let h: Headline = serde_json::from_value(s["headline"].clone()).unwrap();
    assert_eq!(h.shortest_path_length, 14);
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn bad_input_exits_with_code_2_and_one_clear_line() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "S.#\n.?.\n#.G\n").unwrap();
    // A 10,000 x 10,000 maze (100 MB) is refused by its size, before it is read.
    let huge = dir.join("huge.txt");
    let row = format!("S{}G\n", ".".repeat(9_998));
    std::fs::write(&huge, row.repeat(10_000)).unwrap();
    // One line of a million cells is refused at its 41st cell.
    let wide = dir.join("wide.txt");
    std::fs::write(&wide, format!("S{}G\n", ".".repeat(1_000_000))).unwrap();
    let out_flag = dir.join("out");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--maze".into(), bad.display().to_string()], "line 2, column 2: unknown character '?'"),
        (vec!["--maze".into(), dir.join("missing.txt").display().to_string()], "missing.txt"),
        (vec!["--gamma".into(), "1.5".into()], "invalid value '1.5' for --gamma"),
        (vec!["--epsilon".into(), "-0.1".into()], "--epsilon"),
        (vec!["--alpha".into(), "0".into()], "--alpha"),
        (vec!["--seeds".into(), "0".into()], "--seeds"),
        (vec!["--episodes".into(), "many".into()], "--episodes"),
        // Issue 19: every count bounded, products of flags bounded, huge mazes refused.
        (vec!["--max-steps".into(), "1000000000".into()], "for --max-steps: must lie in [1, 100000]"),
        (vec!["--max-steps".into(), "100000".into(), "--seeds".into(), "100".into()], "for --max-steps: with"),
        (vec!["--max-steps".into(), "1".into(), "--seeds".into(), "100".into()], "for --seeds: with"),
        (vec!["--max-steps".into(), "0".into()], "--max-steps"),
        (vec!["--max-steps".into(), "-1".into()], "--max-steps"),
        (vec!["--max-steps".into(), "".into()], "--max-steps"),
        (vec!["--episodes".into(), "18446744073709551615".into()], "for --episodes: must lie in [1, 100000]"),
        (vec!["--episodes".into(), "100001".into()], "--episodes"),
        (vec!["--episodes".into(), "0".into()], "--episodes"),
        (vec!["--episodes".into(), "-1".into()], "--episodes"),
        (vec!["--episodes".into(), "nan".into()], "--episodes"),
        (vec!["--step-size-steps".into(), "18446744073709551615".into()], "for --step-size-steps: must lie in"),
        (vec!["--step-size-steps".into(), "10000001".into()], "--step-size-steps"),
        (vec!["--step-size-steps".into(), "99".into()], "--step-size-steps"),
        (vec!["--step-size-steps".into(), "-inf".into()], "--step-size-steps"),
        (vec!["--epsilon-decay-episodes".into(), "0".into()], "--epsilon-decay-episodes"),
        (vec!["--epsilon-decay-episodes".into(), "1000000".into()], "--epsilon-decay-episodes"),
        (vec!["--gamma".into(), "inf".into()], "for --gamma: must lie in [0, 1]"),
        (vec!["--gamma".into(), "-inf".into()], "--gamma"),
        (vec!["--gamma".into(), "nan".into()], "--gamma"),
        (vec!["--gamma".into(), "".into()], "--gamma"),
        (vec!["--alpha".into(), "-1".into()], "--alpha"),
        (vec!["--alpha-omega".into(), "0.5".into()], "--alpha-omega"),
        (vec!["--slip".into(), "1e400".into()], "--slip"),
        (vec!["--epsilon-start".into(), "2".into()], "--epsilon-start"),
        (vec!["--epsilon-end".into(), "nan".into()], "--epsilon-end"),
        (vec!["--reward-goal".into(), "inf".into()], "--reward-goal"),
        (vec!["--reward-step".into(), "1e7".into()], "--reward-step"),
        (vec!["--reward-bump".into(), "-nan".into()], "--reward-bump"),
        (vec!["--seed".into(), "18446744073709551615".into(), "--seeds".into(), "2".into()], "--seed"),
        (vec!["--maze".into(), huge.display().to_string()], "larger than"),
        (vec!["--maze".into(), wide.display().to_string()], "limited to 40x40"),
    ];
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch01-q-learning"), &out_flag, &cases);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn q_error_is_resampled_onto_a_step_grid() {
    use rl_sandbox::tabular::{EpisodeRecord, MazeRun, QTable};
    let ep = |env_steps, q_error| EpisodeRecord {
        env_steps,
        steps: 0,
        ret: 0.0,
        reached_goal: true,
        q_error,
        greedy_optimal: false,
    };
    let run = MazeRun { episodes: vec![ep(3, 5.0), ep(10, 2.0), ep(12, 1.0)], q: QTable::zeros(1, 4) };
    let on = run.q_error_on_grid(&[2.0, 3.0, 9.0, 11.0, 20.0]);
    assert!(on[0].is_nan());
    assert_eq!(&on[1..], &[5.0, 5.0, 2.0, 1.0]);
}

/// Without `--quick` (which shortens the defaults), products of flags are bounded too:
/// the refusal names a flag that was given.
#[test]
fn products_of_flags_are_bounded_without_quick() {
    let out_dir = temp_dir("budget");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--max-steps", "100000", "--episodes", "1000"],
            "invalid value '1000' for --episodes: with --max-steps 100000",
        ),
        (&["--step-size-steps", "10000000", "--seeds", "100"], "for --step-size-steps: with --seeds 100"),
        (&["--episodes", "100000", "--seeds", "100"], "for --episodes: with"),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["--out", out_dir.to_str().unwrap()]);
        let out = ch01(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
