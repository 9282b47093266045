//! A trained agent you can watch, keep and reload.
//!
//! - [`watch`]: one episode of a policy drawn as an animated GIF (the maze walk, the
//!   cart and its pole, the pendulum), before and after training;
//! - `--save DIR` (chapters 2, 3 and 4): the trained agent of the chapter's first seed
//!   is written to `DIR` (policy and value networks in safetensors, a JSON beside them,
//!   see [`crate::nn::saved`]);
//! - `--load DIR --episodes N`: no training; the saved agent is evaluated over N
//!   episodes (its most likely action, resets from `--seed`) and animated, into
//!   `<out>/<chapter>-load/`.

pub mod watch;

use crate::cli::CommonArgs;
use crate::error::{check_count, Result};
use crate::nn::saved::{self, Agent, Expect};
use crate::nn::Mlp;
use crate::report::{RunDir, Summary};
use crate::stats;
use candle_core::DType;
use std::path::PathBuf;
use watch::{cartpole_animation, cartpole_episode, pendulum_animation, pendulum_episode, watch_rng, Episode};

/// The most episodes `--load` evaluates.
pub const MAX_EPISODES: usize = 1000;

/// `--save`, `--load`, `--episodes`: flattened into chapters 2, 3 and 4.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AgentFlags {
    /// Save the trained agent into this folder: the first seed of the chapter's main
    /// CartPole experiment (ch02: REINFORCE with baseline, ch03: TRPO, ch04: PPO-clip,
    /// and ch04's first Pendulum seed), policy and value weights as
    /// cartpole.safetensors (pendulum.safetensors) with a .json beside each
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Evaluate and animate an agent saved with --save, without training (training
    /// flags and --quick are ignored; --seed sets the episodes' start states; outputs go
    /// to <out>/<chapter>-load/)
    #[arg(long, value_name = "DIR", conflicts_with = "save")]
    pub load: Option<PathBuf>,
    /// Episodes of the --load evaluation (needs --load) [1, 1000] [default: 10]
    #[arg(long, value_name = "N")]
    pub episodes: Option<usize>,
}

impl AgentFlags {
    /// A training run refuses `--episodes`: it only counts `--load`'s evaluation.
    pub fn validate(&self) -> Result<()> {
        match self.episodes {
            Some(n) if self.load.is_none() => Err(crate::error::Error::invalid(
                "--episodes",
                n,
                "counts the episodes of --load DIR's evaluation, and --load is not given",
            )),
            _ => Ok(()),
        }
    }
}

/// An environment an agent can be saved for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    CartPole,
    Pendulum,
}

impl Task {
    /// The agent's file name in the save folder.
    pub fn file(self) -> &'static str {
        match self {
            Task::CartPole => "cartpole",
            Task::Pendulum => "pendulum",
        }
    }

    pub fn env(self) -> &'static str {
        match self {
            Task::CartPole => "CartPole-v1",
            Task::Pendulum => "Pendulum-v1",
        }
    }

    fn expect(self, chapter: &str) -> Expect<'_> {
        match self {
            Task::CartPole => Expect { chapter, env: self.env(), obs_dim: 4, outputs: 2, gaussian: false },
            Task::Pendulum => Expect { chapter, env: self.env(), obs_dim: 3, outputs: 1, gaussian: true },
        }
    }

    /// One episode of the agent's most likely action (mean torque for Pendulum).
    fn greedy_episode(self, agent: &saved::PlainAgent, rng: &mut rand::rngs::StdRng) -> Recorded {
        match self {
            Task::CartPole => Recorded::Cart(cartpole_episode(rng, |o, _| agent.greedy_action(o))),
            Task::Pendulum => Recorded::Pendulum(pendulum_episode(rng, |o, _| agent.mean_action(o))),
        }
    }
}

enum Recorded {
    Cart(Episode<[f64; 4]>),
    Pendulum(Episode<[f64; 2]>),
}

impl Recorded {
    fn total(&self) -> f64 {
        match self {
            Recorded::Cart(e) => e.total(),
            Recorded::Pendulum(e) => e.total(),
        }
    }
}

/// Reads the agent of `task` saved by `chapter` from `dir`, checked (see
/// [`saved::load`]).
pub fn load(dir: &std::path::Path, chapter: &str, task: Task) -> Result<(Agent, saved::AgentMeta)> {
    saved::load(dir, task.file(), &task.expect(chapter))
}

/// With `--save`, writes `agent` (trained on `task` by `algorithm` with `seed`) into
/// the save folder; without, does nothing.
pub fn save(flags: &AgentFlags, chapter: &str, task: Task, algorithm: &str, seed: u64, agent: &Agent) -> Result<()> {
    let Some(dir) = &flags.save else { return Ok(()) };
    saved::save(agent, &saved::describe(agent, chapter, task.env(), algorithm, seed), dir, task.file())?;
    crate::say!("saved the {algorithm} agent of seed {seed} ({}) to {}", task.env(), dir.display());
    Ok(())
}

/// The policy before training: a network of the same shape as `trained`, drawn from
/// the watch stream with the small last layer training starts from (almost uniform).
fn untrained(trained: &Mlp, seed: u64) -> Result<Mlp> {
    let mut rng = crate::rng::seeded(seed, watch::WATCH_STREAM + 1);
    Mlp::new(trained.sizes(), trained.activation(), 0.01, DType::F32, &mut rng)
        .map_err(crate::nn::candle_error("the untrained policy"))
}

/// `cartpole.gif`: the untrained policy (actions sampled) and the trained one (its
/// most likely action) of `seed`, from the same start state, side by side.
pub fn cartpole_before_after(dir: &std::path::Path, algorithm: &str, seed: u64, trained: &Mlp) -> Result<Vec<String>> {
    let before = untrained(trained, seed)?.plain().map_err(crate::nn::candle_error("the untrained policy"))?;
    let after = trained.plain().map_err(crate::nn::candle_error("the trained policy"))?;
    let ep_before =
        cartpole_episode(&mut watch_rng(seed), |o, rng| crate::nn::sample_categorical(&before.forward(o), rng));
    let ep_after = cartpole_episode(&mut watch_rng(seed), |o, _| argmax(&after.forward(o)));
    let title = format!(
        "CartPole, seed {seed}: untrained {} steps, trained {algorithm} policy {} steps",
        ep_before.steps(),
        ep_after.steps()
    );
    let panels = [("untrained (random weights)".to_string(), &ep_before), (format!("trained {algorithm}"), &ep_after)];
    cartpole_animation(dir, "cartpole", &title, &panels)
}

/// `pendulum.gif`: the trained Gaussian policy's mean torque, from the start farthest
/// from upright among the first 8 episodes of the watch stream (a swing-up, not a start
/// that is already balanced).
pub fn pendulum_trained(dir: &std::path::Path, algorithm: &str, seed: u64, agent: &Agent) -> Result<Vec<String>> {
    let plain = agent.plain()?;
    let mut rng = watch_rng(seed);
    let from_upright = |e: &Episode<[f64; 2]>| crate::env::pendulum::angle_normalize(e.states[0][0]).abs();
    let mut shown: Option<Episode<[f64; 2]>> = None;
    for _ in 0..8 {
        let ep = pendulum_episode(&mut rng, |o, _| plain.mean_action(o));
        if shown.as_ref().is_none_or(|s| from_upright(&ep) > from_upright(s)) {
            shown = Some(ep);
        }
    }
    let Some(ep) = shown else { return Ok(vec![]) };
    let title = format!("Pendulum swing-up, trained {algorithm} policy, seed {seed}: return {:.1}", ep.total());
    pendulum_animation(dir, "pendulum", &title, "the policy's mean torque (lowest of 8 starts)", &ep)
}

/// `maze_walk.gif`: a walk of the untrained policy (uniform random moves) and one of
/// the trained policy `act` of `seed`, side by side, each at most
/// [`watch::MAZE_CAP`] moves.
pub fn maze_before_after(
    dir: &std::path::Path,
    task: &crate::tabular::MazeTask,
    seed: u64,
    trained: &str,
    act: impl FnMut(&usize, &mut rand::rngs::StdRng) -> usize,
) -> Result<Vec<String>> {
    use rand::RngExt;
    let before = watch::maze_walk(task, watch::MAZE_CAP, &mut watch_rng(seed), |_, rng| rng.random_range(0..4));
    let after = watch::maze_walk(task, watch::MAZE_CAP, &mut watch_rng(seed), act);
    let moves = |e: &Episode<usize>| {
        let reached = if e.terminated { "" } else { " without reaching the goal" };
        format!("{} moves{reached}", e.steps())
    };
    let title = format!("Maze, seed {seed}: untrained {}, trained {}", moves(&before), moves(&after));
    let panels = [("untrained: random moves".to_string(), &before), (trained.to_string(), &after)];
    watch::maze_animation(dir, "maze_walk", &title, task, &panels)
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, a| if v[a] > v[best] { a } else { best })
}

/// The agent of a categorical policy network alone (no value network).
pub fn categorical(policy: &Mlp, value: Option<&Mlp>) -> Agent {
    Agent { policy: policy.clone(), log_std: None, value: value.cloned() }
}

/// `--load`: reads every agent of `tasks` from the folder (all checked before anything
/// runs), evaluates each over `--episodes` episodes of its most likely action with
/// resets from `--seed`, animates the first episode, and writes
/// `<out>/<chapter>-load/` (the animations and a summary.json).
pub fn replay(chapter: &str, common: &CommonArgs, flags: &AgentFlags, tasks: &[Task]) -> Result<Summary> {
    let n = flags.episodes.unwrap_or(10);
    check_count("--episodes", n as u64, 1, MAX_EPISODES as u64)?;
    let dir = flags.load.clone().unwrap_or_default();
    let agents = tasks.iter().map(|&t| load(&dir, chapter, t).map(|a| (t, a))).collect::<Result<Vec<_>>>()?;
    let started = std::time::Instant::now();
    let out = RunDir::create(&common.out, &format!("{chapter}-load"))?;
    let mut summary = Summary::new(
        &format!("{chapter}-load"),
        &[common.seed],
        false,
        serde_json::json!({
            "load": dir.display().to_string(),
            "episodes": n,
        }),
    );
    let mut details = serde_json::Map::new();
    for (task, (agent, meta)) in &agents {
        let plain = agent.plain()?;
        let mut rng = watch_rng(common.seed);
        let episodes: Vec<Recorded> = (0..n).map(|_| task.greedy_episode(&plain, &mut rng)).collect();
        let returns: Vec<f64> = episodes.iter().map(Recorded::total).collect();
        let (mean, std) = (stats::mean(&returns), stats::std(&returns));
        let who = format!("saved {} agent (trained with seed {})", meta.algorithm, meta.seed);
        summary.figures.extend(match &episodes[0] {
            Recorded::Cart(e) => {
                let title = format!("CartPole, {who}, episode seed {}: {} steps", common.seed, e.steps());
                cartpole_animation(&out.dir, "cartpole", &title, &[("most likely action".to_string(), e)])?
            }
            Recorded::Pendulum(e) => {
                let title = format!("Pendulum, {who}, episode seed {}: return {:.1}", common.seed, e.total());
                pendulum_animation(&out.dir, "pendulum", &title, "mean torque", e)?
            }
        });
        let name = task.file();
        summary.headline.insert(format!("{name}_return_mean"), mean.into());
        summary.headline.insert(format!("{name}_return_std"), std.into());
        details.insert(name.into(), serde_json::json!({ "agent": meta, "returns": returns }));
        crate::say!(
            "{}: {who}: return {mean:.1} ± {std:.1} (mean ± std over {n} episodes, seed {})",
            task.env(),
            common.seed
        );
    }
    summary.details = details.into();
    summary.wall_time_s = started.elapsed().as_secs_f64();
    summary.write(&out)?;
    crate::say!("wrote {}", out.dir.display());
    Ok(summary)
}
