//! Keeping and reloading a trained agent (`--save DIR`, `--load DIR --episodes N`, in
//! chapters 2, 3 and 4): the agent read back acts exactly as the one trained, and a
//! missing, truncated or mismatched file is refused with one line and exit code 2.

mod common;

use clap::Parser;
use rl_sandbox::agent::watch::{cartpole_episode, pendulum_episode, watch_rng};
use rl_sandbox::agent::{self, AgentFlags, Task};
use rl_sandbox::course::{ch02_policy_gradient as ch02, ch03_trpo as ch03, ch04_ppo as ch04};
use rl_sandbox::nn::saved::{self, Agent};
use rl_sandbox::nn::{Activation, Mlp};
use rl_sandbox::run::ChapterArgs;
use std::path::{Path, PathBuf};

fn save_to(dir: &Path) -> AgentFlags {
    AgentFlags { save: Some(dir.to_path_buf()), ..Default::default() }
}

/// The greedy actions of `a` and `b` over one CartPole episode of seed 3 (the actions
/// of `a` drive both environments, so any difference shows at once).
fn same_cartpole_actions(a: &Agent, b: &Agent) -> usize {
    let (pa, pb) = (a.plain().unwrap(), b.plain().unwrap());
    let ep = cartpole_episode(&mut watch_rng(3), |o, _| {
        let act = pa.greedy_action(o);
        assert_eq!(act, pb.greedy_action(o), "the loaded agent acts differently at {o:?}");
        act
    });
    assert!(ep.steps() > 5);
    let (va, vb) = (a.value.as_ref().unwrap(), b.value.as_ref().unwrap());
    assert_eq!(va.values(&[0.01, 0.2, -0.03, 0.4]).unwrap(), vb.values(&[0.01, 0.2, -0.03, 0.4]).unwrap());
    ep.steps()
}

#[test]
fn ch02_agent_round_trip() {
    let dir = common::temp_dir("ch02", "save");
    let mut args = ch02::Args::parse_from(["ch02", "--quick", "--cartpole-steps", "3000"]);
    args.prepare();
    let runs = rl_sandbox::pg::experiments::cartpole(&args.cartpole, &[0]).unwrap();
    rl_sandbox::pg::experiments::save_cartpole(ch02::CHAPTER, &runs, &[0], &save_to(&dir)).unwrap();
    let (loaded, meta) = agent::load(&dir, ch02::CHAPTER, Task::CartPole).unwrap();
    assert_eq!((meta.seed, meta.env.as_str()), (0, "CartPole-v1"));
    let trained = agent::categorical(&runs.with[0].policy, Some(&runs.with[0].value));
    same_cartpole_actions(&trained, &loaded);
    // Another chapter's reader refuses it.
    let e = agent::load(&dir, ch03::CHAPTER, Task::CartPole).unwrap_err().to_string();
    assert!(e.contains("ch02-policy-gradient") && e.contains("ch03-trpo"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ch03_agent_round_trip() {
    let dir = common::temp_dir("ch03", "save");
    let mut args = ch03::Args::parse_from(["ch03", "--quick", "--total-steps", "4096", "--compare-seeds", "1"]);
    args.prepare();
    let exps = rl_sandbox::trpo::experiments::TrpoExperiments::run(&args.trpo, &args.step_sizes, &[0]).unwrap();
    let figures = exps.watch_and_save(&dir, ch03::CHAPTER, &save_to(&dir)).unwrap();
    assert_eq!(figures, vec!["cartpole.gif".to_string()]);
    let (loaded, meta) = agent::load(&dir, ch03::CHAPTER, Task::CartPole).unwrap();
    // TRPO's policy is kept in f64: saved and read back in f64.
    assert_eq!(meta.policy.dtype, "F64");
    let run = exps.trpo()[0];
    same_cartpole_actions(&agent::categorical(&run.policy, Some(&run.value)), &loaded);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ch04_agents_round_trip_and_reload_from_the_command_line() {
    let dir = common::temp_dir("ch04", "save");
    let mut args = ch04::Args::parse_from(["ch04", "--quick", "--lambdas", "0.9"]);
    args.prepare();
    let exps = rl_sandbox::ppo::experiments::PpoExperiments::run(&args.ppo, &[0]).unwrap();
    let figures = exps.watch_and_save(&dir, ch04::CHAPTER, &save_to(&dir)).unwrap();
    assert_eq!(figures, vec!["cartpole.gif".to_string(), "pendulum.gif".to_string()]);
    for gif in &figures {
        let size = std::fs::metadata(dir.join(gif)).unwrap().len();
        assert!((1000..1_000_000).contains(&size), "{gif}: {size} bytes");
    }
    let (cartpole, _) = agent::load(&dir, ch04::CHAPTER, Task::CartPole).unwrap();
    same_cartpole_actions(&exps.cartpole(rl_sandbox::ppo::Objective::Clip)[0].agent, &cartpole);
    let (pendulum, meta) = agent::load(&dir, ch04::CHAPTER, Task::Pendulum).unwrap();
    let trained = &exps.pendulum()[0].agent;
    assert!(meta.gaussian);
    assert_eq!(pendulum.log_std, trained.log_std);
    let (pa, pb) = (trained.plain().unwrap(), pendulum.plain().unwrap());
    let ep = pendulum_episode(&mut watch_rng(3), |o, _| {
        assert_eq!(pa.mean_action(o), pb.mean_action(o));
        pa.mean_action(o)
    });
    assert_eq!(ep.steps(), 200);

    // --load evaluates both agents without training, the same with the same seed.
    let out = common::temp_dir("ch04", "load-out");
    let load = |seed: &str| {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_ch04-ppo"))
            .args(["--load", dir.to_str().unwrap(), "--episodes", "3", "--seed", seed, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("ch04-ppo-load/summary.json")).unwrap()).unwrap();
        assert_eq!(summary["figures"], serde_json::json!(["cartpole.gif", "pendulum.gif"]));
        (String::from_utf8_lossy(&run.stdout).into_owned(), summary["details"].clone())
    };
    let (stdout, details) = load("5");
    assert!(stdout.contains("mean ± std over 3 episodes, seed 5"), "{stdout}");
    assert_eq!(details["pendulum"]["returns"].as_array().unwrap().len(), 3);
    assert_eq!(load("5").1, details);
    assert_ne!(load("6").1["pendulum"], details["pendulum"]);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&out);
}

/// An agent of `chapter` for `task` with random weights, saved into `dir`.
fn random_agent(dir: &Path, chapter: &str, env: &str, name: &str, sizes: &[usize], gaussian: bool) {
    let mut rng = rl_sandbox::rng::seeded(1, 0);
    let policy = Mlp::new(sizes, Activation::Tanh, 1.0, candle_core::DType::F32, &mut rng).unwrap();
    let value_sizes = [&sizes[..sizes.len() - 1], &[1]].concat();
    let value = Mlp::new(&value_sizes, Activation::Tanh, 1.0, candle_core::DType::F32, &mut rng).unwrap();
    let a = Agent { policy, log_std: gaussian.then(|| vec![0.0]), value: Some(value) };
    saved::save(&a, &saved::describe(&a, chapter, env, "test", 0), dir, name).unwrap();
}

/// A copy of `from` (cartpole.json and .safetensors) in a new folder, with `edit`
/// applied to the two files' bytes.
fn variant(root: &Path, from: &Path, name: &str, edit: impl Fn(&mut Vec<u8>, &mut String)) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut weights = std::fs::read(from.join("cartpole.safetensors")).unwrap();
    let mut json = std::fs::read_to_string(from.join("cartpole.json")).unwrap();
    edit(&mut weights, &mut json);
    std::fs::write(dir.join("cartpole.safetensors"), weights).unwrap();
    std::fs::write(dir.join("cartpole.json"), json).unwrap();
    dir
}

#[test]
fn bad_saved_agents_are_refused_with_one_line() {
    let root = common::temp_dir("agents", "bad");
    let good = root.join("good");
    random_agent(&good, ch03::CHAPTER, "CartPole-v1", "cartpole", &[4, 8, 2], false);
    let pendulum = root.join("pendulum-as-cartpole");
    random_agent(&pendulum, ch03::CHAPTER, "Pendulum-v1", "cartpole", &[3, 8, 1], true);
    let other_chapter = root.join("ch02");
    random_agent(&other_chapter, ch02::CHAPTER, "CartPole-v1", "cartpole", &[4, 8, 2], false);
    let truncated = variant(&root, &good, "truncated", |w, _| w.truncate(w.len() / 2));
    let short = variant(&root, &good, "short", |w, _| w.truncate(5));
    let json = variant(&root, &good, "json", |_, j| j.truncate(j.len() / 2));
    let shapes = variant(&root, &good, "shapes", |_, j| *j = j.replace("\n      8,", "\n      16,"));
    let huge = variant(&root, &good, "huge", |_, j| *j = j.replace("\n      8,", "\n      100000,"));
    let nan = variant(&root, &good, "nan", |w, _| {
        let n = w.len();
        w[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let only_json = variant(&root, &good, "no-weights", |_, _| {});
    std::fs::remove_file(only_json.join("cartpole.safetensors")).unwrap();
    let s = |p: &Path| p.display().to_string();
    let load = |dir: &Path, why: &'static str| (vec!["--load".to_string(), s(dir)], why);
    let mut cases = vec![
        load(&root.join("missing"), "no saved agent here"),
        load(&only_json, "no saved agent here"),
        load(&truncated, "not a readable safetensors file"),
        load(&short, "shorter than the 8-byte header"),
        load(&json, "not a saved agent"),
        load(&shapes, "has shape"),
        load(&huge, "a layer of 100000 units"),
        load(&nan, "non-finite"),
        load(&pendulum, "this needs one of ch03-trpo for CartPole-v1"),
        load(&other_chapter, "an agent of ch02-policy-gradient"),
    ];
    for episodes in ["0", "1001", "-1", "nan", "abc", ""] {
        cases.push((vec!["--load".into(), s(&good), "--episodes".into(), episodes.into()], "--episodes"));
    }
    cases.push((vec!["--episodes".into(), "3".into()], "--episodes: counts the episodes of --load"));
    cases.push((vec!["--load".into(), s(&good), "--save".into(), s(&root)], "--save"));
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch03-trpo"), &root.join("out"), &cases);
    // The good one loads.
    assert!(agent::load(&good, ch03::CHAPTER, Task::CartPole).is_ok());
    // Chapter 2 and 4 refuse a bad folder the same way.
    let bad =
        [load(&json, "not a saved agent"), load(&root.join("missing"), "no saved agent"), load(&good, "ch03-trpo")];
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch02-policy-gradient"), &root.join("out"), &bad);
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch04-ppo"), &root.join("out"), &bad);
    let _ = std::fs::remove_dir_all(&root);
}
