//! Watching an agent: one episode of a policy, recorded state by state, and drawn as an
//! animated GIF (see [`crate::plot::animation`]).
//!
//! Every episode draws its randomness (the start state, sampled actions, slips) from
//! `rng::seeded(seed, WATCH_STREAM)`, a stream no training run uses: the animations are
//! reproducible and adding them changed no number of any experiment.

use crate::env::cartpole::{self, CartPole};
use crate::env::pendulum::{self, Pendulum};
use crate::env::Env;
use crate::error::Result;
use crate::plot::{animation, Animation, Scene, Shot};
use crate::tabular::MazeTask;
use rand::rngs::StdRng;
use std::path::Path;

/// The RNG stream of every watched episode (and of `--load`'s evaluation).
pub const WATCH_STREAM: u64 = 1000;

/// The RNG of the watched episodes of `seed`.
pub fn watch_rng(seed: u64) -> StdRng {
    crate::rng::seeded(seed, WATCH_STREAM)
}

/// One episode: the state before every step and after the last, the action of every
/// step (as a number: an index or a torque) and its reward.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode<S> {
    pub states: Vec<S>,
    pub actions: Vec<f64>,
    pub rewards: Vec<f64>,
    /// True when the episode ended in a terminal state (false: the time limit, or a cap).
    pub terminated: bool,
}

impl<S> Episode<S> {
    pub fn steps(&self) -> usize {
        self.rewards.len()
    }

    pub fn total(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// The counter shown at step `t`; after the last step it says how the episode ended.
    fn counter(&self, t: usize, ended: &str, fmt_return: fn(f64) -> String) -> String {
        let t = t.min(self.steps());
        let ret = fmt_return(self.rewards[..t].iter().sum());
        if t == self.steps() {
            let how = if self.terminated { ended } else { "time limit" };
            format!("{how} at step {t} · return {ret}")
        } else {
            format!("step {t} · return {ret}")
        }
    }
}

/// Runs one episode of `env` with `act` (which may draw from the RNG), at most `cap`
/// steps; `state` reads the state to draw.
fn record<E, S>(
    env: &mut E,
    rng: &mut StdRng,
    cap: usize,
    state: impl Fn(&E) -> S,
    to_f64: impl Fn(&E::Action) -> f64,
    mut act: impl FnMut(&E::Obs, &mut StdRng) -> E::Action,
) -> Episode<S>
where
    E: Env,
{
    let mut obs = env.reset(rng);
    let mut ep = Episode { states: vec![state(env)], actions: vec![], rewards: vec![], terminated: false };
    for _ in 0..cap {
        let a = act(&obs, rng);
        ep.actions.push(to_f64(&a));
        let out = env.step(a);
        ep.states.push(state(env));
        ep.rewards.push(out.reward);
        if out.done() {
            ep.terminated = out.terminated;
            break;
        }
        obs = out.obs;
    }
    ep
}

/// One CartPole-v1 episode of `act` (observation → action index).
pub fn cartpole_episode(rng: &mut StdRng, act: impl FnMut(&[f32; 4], &mut StdRng) -> usize) -> Episode<[f64; 4]> {
    record(&mut CartPole::new(), rng, usize::MAX, CartPole::state, |&a| a as f64, act)
}

/// One Pendulum-v1 episode of `act` (observation → torque).
pub fn pendulum_episode(rng: &mut StdRng, act: impl FnMut(&[f32; 3], &mut StdRng) -> f64) -> Episode<[f64; 2]> {
    record(&mut Pendulum::new(), rng, usize::MAX, Pendulum::state, |&a| a, act)
}

/// One walk in the maze of `task` (cell → action index), at most `cap` moves.
pub fn maze_walk(
    task: &MazeTask,
    cap: usize,
    rng: &mut StdRng,
    act: impl FnMut(&usize, &mut StdRng) -> usize,
) -> Episode<usize> {
    record(&mut task.env(), rng, cap, |e| e.state(), |&a| a as f64, act)
}

/// Most moves of a maze walk shown (an untrained walk can wander for long).
pub const MAZE_CAP: usize = 40;

/// How one panel of an animation is drawn from its episode.
struct Panel<'a, S> {
    caption: String,
    episode: &'a Episode<S>,
    ended: &'static str,
}

/// Frames every `skip` steps of the longest episode, each panel frozen after its end.
fn frames<S>(
    panels: &[Panel<'_, S>],
    skip: usize,
    fmt: fn(f64) -> String,
    scene: impl Fn(&Episode<S>, usize) -> Scene,
) -> Vec<Vec<Shot>> {
    let longest = panels.iter().map(|p| p.episode.steps()).max().unwrap_or(0);
    let mut ts: Vec<usize> = (0..=longest).step_by(skip.max(1)).collect();
    if ts.last() != Some(&longest) {
        ts.push(longest);
    }
    ts.iter()
        .map(|&t| {
            let shot = |p: &Panel<S>| Shot {
                scene: scene(p.episode, t.min(p.episode.steps())),
                counter: p.episode.counter(t, p.ended, fmt),
            };
            panels.iter().map(shot).collect()
        })
        .collect()
}

fn write(dir: &Path, stem: &str, anim: &Animation) -> Result<Vec<String>> {
    Ok(animation(&dir.join(stem), anim)?)
}

/// CartPole episodes side by side, every 4th step (80 ms a frame: real time, as the
/// environment steps 20 ms).
pub fn cartpole_animation(
    dir: &Path,
    stem: &str,
    title: &str,
    panels: &[(String, &Episode<[f64; 4]>)],
) -> Result<Vec<String>> {
    let panels: Vec<Panel<[f64; 4]>> =
        panels.iter().map(|(c, e)| Panel { caption: c.clone(), episode: e, ended: "fell" }).collect();
    let scene = |e: &Episode<[f64; 4]>, t: usize| {
        let s = e.states[t];
        let push = e.actions.get(t.saturating_sub(1)).filter(|_| t > 0).map_or(0, |&a| if a > 0.5 { 1 } else { -1 });
        Scene::Cart { x: s[0], theta: s[2], x_limit: cartpole::X_THRESHOLD, pole: 2.0 * cartpole::LENGTH, push }
    };
    let frames = frames(&panels, 4, |r| format!("{r:.0}"), scene);
    let captions = panels.into_iter().map(|p| p.caption).collect();
    write(dir, stem, &Animation { title: title.into(), captions, frames, panel: (300, 190), delay_cs: 8, hold_cs: 150 })
}

/// A Pendulum episode, every 2nd step (100 ms a frame: real time, as the environment
/// steps 50 ms).
pub fn pendulum_animation(
    dir: &Path,
    stem: &str,
    title: &str,
    caption: &str,
    ep: &Episode<[f64; 2]>,
) -> Result<Vec<String>> {
    let panels = [Panel { caption: caption.into(), episode: ep, ended: "ended" }];
    let scene = |e: &Episode<[f64; 2]>, t: usize| Scene::Pendulum {
        theta: e.states[t][0],
        torque: e
            .actions
            .get(t.saturating_sub(1))
            .filter(|_| t > 0)
            .map_or(0.0, |&u| f64::from(pendulum::clip_torque(u)) / f64::from(pendulum::MAX_TORQUE)),
    };
    let frames = frames(&panels, 2, |r| format!("{r:.1}"), scene);
    let captions = vec![caption.to_string()];
    write(
        dir,
        stem,
        &Animation { title: title.into(), captions, frames, panel: (420, 300), delay_cs: 10, hold_cs: 150 },
    )
}

/// Maze walks side by side, one move a frame.
pub fn maze_animation(
    dir: &Path,
    stem: &str,
    title: &str,
    task: &MazeTask,
    panels: &[(String, &Episode<usize>)],
) -> Result<Vec<String>> {
    let panels: Vec<Panel<usize>> =
        panels.iter().map(|(c, e)| Panel { caption: c.clone(), episode: e, ended: "goal" }).collect();
    let maze = &task.maze;
    let cells: Vec<_> = (0..maze.n_cells()).map(|s| crate::plot::cell_kind(maze.cell(s))).collect();
    let scene = |e: &Episode<usize>, t: usize| Scene::Grid {
        width: maze.width(),
        height: maze.height(),
        cells: cells.clone(),
        agent: e.states[t],
        trail: e.states[..=t].to_vec(),
    };
    // Returns to two decimals, without trailing zeros (the article's rewards are whole).
    let fmt = |r: f64| format!("{r:.2}").trim_end_matches('0').trim_end_matches('.').to_string();
    let frames = frames(&panels, 1, fmt, scene);
    let captions = panels.into_iter().map(|p| p.caption).collect();
    write(
        dir,
        stem,
        &Animation { title: title.into(), captions, frames, panel: (260, 280), delay_cs: 45, hold_cs: 200 },
    )
}
