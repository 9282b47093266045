//! Chapter 1's diagrams: the agent–environment loop, and a backup diagram drawn from
//! the maze's own rewards.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::shapes::{arrow, boxed, label, px, text, titled, Look, Pt, Rect, FROZEN, INK, MUTED, TRAINED};
use crate::env::maze::{Action, Cell, Maze, Rewards, ACTIONS};
use crate::plot::style::{PlotError, FIGURE_TITLE, TEXT};

pub(super) const LOOP_SIZE: (u32, u32) = (1000, 560);

/// The agent–environment loop of Sutton & Barto's Figure 3.1, in the course's
/// reward convention: r_t is the reward that follows a_t in s_t.
pub(super) fn draw_loop<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let area = titled(root, "The agent–environment loop", FIGURE_TITLE)?;
    let agent = Rect { x0: 360.0, y0: 50.0, x1: 640.0, y1: 180.0 };
    let env = Rect { x0: 360.0, y0: 290.0, x1: 640.0, y1: 420.0 };
    boxed(&area, agent, TRAINED, &[("Agent", 28.0), ("policy π(a|s)", 23.0)])?;
    boxed(&area, env, FROZEN, &[("Environment", 28.0), ("p(s_{t+1}, r_t | s_t, a_t)", 21.0)])?;
    // The action leaves on the right; state and reward come back on the left, the
    // reward's path nested inside the state's so that they never cross.
    let (ay, ey) = (agent.cy(), env.cy());
    arrow(&area, &[agent.right(), (800.0, ay), (800.0, ey), env.right()], INK, false)?;
    let (outer, inner) = (150.0, 240.0);
    arrow(&area, &[(env.x0, ey + 30.0), (outer, ey + 30.0), (outer, ay - 30.0), (agent.x0, ay - 30.0)], INK, false)?;
    arrow(&area, &[(env.x0, ey - 10.0), (inner, ey - 10.0), (inner, ay + 10.0), (agent.x0, ay + 10.0)], INK, false)?;
    let mid = (ay + ey) / 2.0;
    let size = 23.0;
    text(&area, "action", size, TEXT, (815.0, mid - 16.0), (HPos::Left, VPos::Center))?;
    text(&area, "a_t", size + 3.0, TEXT, (815.0, mid + 16.0), (HPos::Left, VPos::Center))?;
    text(&area, "next state", size, TEXT, (outer - 12.0, mid - 16.0), (HPos::Right, VPos::Center))?;
    text(&area, "s_{t+1}", size + 3.0, TEXT, (outer - 12.0, mid + 16.0), (HPos::Right, VPos::Center))?;
    text(&area, "reward", size, TEXT, (inner + 12.0, mid - 16.0), (HPos::Left, VPos::Center))?;
    text(&area, "r_t", size + 3.0, TEXT, (inner + 12.0, mid + 16.0), (HPos::Left, VPos::Center))?;
    let note = "r_t is the reward that follows action a_t in state s_t; then t ← t + 1";
    text(&area, note, 20.0, TEXT, (500.0, 470.0), (HPos::Center, VPos::Center))?;
    Ok(())
}

/// One branch of the backup diagram: an action and what it leads to.
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub action: Action,
    pub next: usize,
    pub reward: f64,
    pub terminal: bool,
}

/// The state of the backup diagram and its four branches, read from the maze: the
/// first decision state whose actions earn the most different rewards (on the
/// article's maze, S6: a bump, a move and the goal).
pub fn backup_branches(maze: &Maze, rewards: &Rewards) -> (usize, Vec<Branch>) {
    let branches = |s: usize| -> Vec<Branch> {
        ACTIONS
            .iter()
            .map(|&action| {
                let (next, reward, terminal) = maze.outcome(s, action, rewards);
                Branch { action, next, reward, terminal }
            })
            .collect()
    };
    let distinct = |bs: &[Branch]| {
        let mut r: Vec<f64> = bs.iter().map(|b| b.reward).collect();
        r.sort_by(f64::total_cmp);
        r.dedup();
        r.len()
    };
    let s = (0..maze.n_cells())
        .filter(|&s| maze.is_decision_state(s))
        // max_by_key keeps the last of equals: reverse so the first state wins ties.
        .rev()
        .max_by_key(|&s| distinct(&branches(s)))
        .unwrap_or(maze.start());
    (s, branches(s))
}

pub(super) const BACKUP_SIZE: (u32, u32) = (1000, 740);

/// "+1", "−1", "+20": rewards as the lesson writes them.
fn signed(v: f64) -> String {
    let s = if v.fract() == 0.0 { format!("{}", v.abs() as i64) } else { format!("{}", v.abs()) };
    if v < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// The backup diagram from state `s` of the maze: the four actions with their reward
/// and next state, the max over a′ below every state that does not end the episode,
/// and the two backups written out underneath.
pub(super) fn draw_backup<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    maze: &Maze,
    rewards: &Rewards,
) -> Result<(), PlotError> {
    let (s, branches) = backup_branches(maze, rewards);
    let name = maze.name(s);
    let area = titled(root, &format!("Backup diagram from state {name} of the maze"), FIGURE_TITLE)?;
    draw_maze_inset(&area, maze, rewards, s, (20.0, 40.0), 64.0)?;

    // Levels of the tree, named at the left of the tree.
    let (y_s, y_a, y_next, y_a2) = (60.0, 180.0, 320.0, 440.0);
    let xs: Vec<f64> = (0..branches.len()).map(|i| 445.0 + 145.0 * i as f64).collect();
    let root_at = ((xs[0] + xs[xs.len() - 1]) / 2.0, y_s);
    let small = 18.0;
    for (y, what) in
        [(y_s, "state s"), (y_a, "action a ~ π(a|s)"), (y_next, "reward r, next s′"), (y_a2, "max over a′")]
    {
        text(&area, what, small, MUTED, (232.0, y), (HPos::Left, VPos::Center))?;
    }
    for (b, &x) in branches.iter().zip(&xs) {
        let line = INK.stroke_width(2);
        area.draw(&PathElement::new(vec![px(root_at), px((x, y_a))], line))?;
        area.draw(&PathElement::new(vec![px((x, y_a)), px((x, y_next))], line))?;
        area.draw(&Circle::new(px((x, y_a)), 9, INK.filled()))?;
        let act = format!("{} {}", b.action.arrow(), b.action.name());
        text(&area, &act, 20.0, TEXT, (x + 14.0, y_a + 6.0), (HPos::Left, VPos::Top))?;
        label(
            &area,
            &format!("r = {}", signed(b.reward)),
            20.0,
            TEXT,
            (x, (y_a + y_next) / 2.0),
            (HPos::Center, VPos::Center),
        )?;
        state_node(&area, maze, b.next, b.terminal, (x, y_next))?;
        let note = if b.terminal {
            ["goal:", "ends"]
        } else if b.next == s {
            ["bump:", "stays"]
        } else {
            ["moves", ""]
        };
        for (i, n) in note.iter().enumerate() {
            let y = y_next - 10.0 + 21.0 * i as f64;
            text(&area, n, 17.0, MUTED, (x + 32.0, y), (HPos::Left, VPos::Center))?;
        }
        if b.terminal {
            text(&area, "nothing after:", 16.0, MUTED, (x, y_a2 - 22.0), (HPos::Center, VPos::Center))?;
            text(&area, "V = 0", 16.0, MUTED, (x, y_a2), (HPos::Center, VPos::Center))?;
        } else {
            max_fan(&area, (x, y_next + 25.0), y_a2)?;
        }
    }
    state_node(&area, maze, s, false, root_at)?;

    // The two backups, with this state's name and the maze's real rewards.
    let goal = branches.iter().find(|b| b.terminal);
    let moved = branches.iter().find(|b| !b.terminal && b.next != s);
    let (w, _) = area.dim_in_pixel();
    let (y0, y1) = (505.0, 675.0);
    let left = Rect { x0: 20.0, y0, x1: w as f64 / 2.0 - 8.0, y1 };
    let right = Rect { x0: w as f64 / 2.0 + 8.0, y0, x1: w as f64 - 20.0, y1 };
    let mut expectation = vec![
        ("Bellman expectation: average over π".to_string(), 23.0),
        ("V^π(s) = Σ_a π(a|s) [ r + γ V^π(s′) ]".to_string(), 22.0),
    ];
    let mut optimality = vec![
        ("Q-learning / optimality: max over a′".to_string(), 23.0),
        ("Q(s,a) ← Q(s,a) + α [ r + γ max_{a′} Q(s′,a′) − Q(s,a) ]".to_string(), 22.0),
    ];
    if let Some(m) = moved {
        let (a, r, n) = (m.action.arrow(), signed(m.reward), maze.name(m.next));
        expectation.push((format!("the {a} branch adds π({a}|{name}) · ({r} + γ V^π({n}))"), 20.0));
        optimality.push((format!("target for ({name}, {a}):  {r} + γ max_{{a′}} Q({n}, a′)"), 20.0));
    }
    if let Some(g) = goal {
        let (a, r) = (g.action.arrow(), signed(g.reward));
        expectation.push((format!("the {a} branch adds π({a}|{name}) · ({r}): the goal ends it"), 20.0));
        optimality.push((format!("target for ({name}, {a}):  {r}, nothing to bootstrap"), 20.0));
    }
    for (r, look, lines) in [(left, FROZEN, &expectation), (right, TRAINED, &optimality)] {
        let lines: Vec<(&str, f64)> = lines.iter().map(|(t, size)| (t.as_str(), *size)).collect();
        boxed(&area, r, Look { fill: WHITE, ..look }, &lines)?;
    }
    Ok(())
}

/// A state node: an open circle with the cell's name; the goal (terminal) as a square.
fn state_node<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    maze: &Maze,
    s: usize,
    terminal: bool,
    at: Pt,
) -> Result<(), PlotError> {
    let r = 25.0;
    if terminal {
        let rect = [px((at.0 - r, at.1 - r)), px((at.0 + r, at.1 + r))];
        area.draw(&Rectangle::new(rect, GOAL.filled()))?;
        area.draw(&Rectangle::new(rect, INK.stroke_width(2)))?;
    } else {
        area.draw(&Circle::new(px(at), r as i32, WHITE.filled()))?;
        area.draw(&Circle::new(px(at), r as i32, INK.stroke_width(2)))?;
    }
    text(area, &maze.name(s), 20.0, TEXT, (at.0, at.1 + 1.5), (HPos::Center, VPos::Center))
}

const GOAL: RGBColor = RGBColor(255, 234, 150);

/// Four next-action dots under a state, joined by an arc: the max over a′.
fn max_fan<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, (x, y): Pt, y_dots: f64) -> Result<(), PlotError> {
    let spread = [-42.0, -14.0, 14.0, 42.0];
    let top = (x, y);
    for dx in spread {
        area.draw(&PathElement::new(vec![px(top), px((x + dx, y_dots))], MUTED.stroke_width(1)))?;
        area.draw(&Circle::new(px((x + dx, y_dots)), 5, MUTED.filled()))?;
    }
    // The arc across the four edges, a third of the way down: Sutton & Barto's max.
    let depth = (y_dots - top.1) * 0.45;
    let arc: Vec<(i32, i32)> = (0..=24)
        .map(|i| {
            let t = -1.0 + 2.0 * i as f64 / 24.0;
            let ax = x + t * 42.0 * depth / (y_dots - top.1);
            let ay = top.1 + depth + 6.0 * (1.0 - t * t);
            px((ax, ay))
        })
        .collect();
    area.draw(&PathElement::new(arc, INK.stroke_width(2)))?;
    Ok(())
}

/// The maze with cell names, walls dark, the goal yellow and state `s` framed.
fn draw_maze_inset<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    maze: &Maze,
    rewards: &Rewards,
    s: usize,
    (x0, y0): Pt,
    cell: f64,
) -> Result<(), PlotError> {
    for k in 0..maze.n_cells() {
        let (col, row) = ((k % maze.width()) as f64, (k / maze.width()) as f64);
        let r =
            Rect { x0: x0 + col * cell, y0: y0 + row * cell, x1: x0 + (col + 1.0) * cell, y1: y0 + (row + 1.0) * cell };
        let (fill, ink) = match maze.cell(k) {
            Cell::Wall => (RGBColor(70, 70, 70), RGBColor(215, 215, 215)),
            Cell::Goal => (GOAL, TEXT),
            _ => (WHITE, TEXT),
        };
        area.draw(&Rectangle::new([px((r.x0, r.y0)), px((r.x1, r.y1))], fill.filled()))?;
        area.draw(&Rectangle::new([px((r.x0, r.y0)), px((r.x1, r.y1))], RGBColor(165, 165, 165)))?;
        text(area, &maze.name(k), 18.0, ink, (r.cx(), r.cy() - 8.0), (HPos::Center, VPos::Center))?;
        let tag = match maze.cell(k) {
            Cell::Start => "start",
            Cell::Goal => "goal",
            Cell::Wall => "wall",
            Cell::Free => "",
        };
        text(area, tag, 14.0, ink, (r.cx(), r.cy() + 16.0), (HPos::Center, VPos::Center))?;
        if k == s {
            let inset = Rect { x0: r.x0 + 3.0, y0: r.y0 + 3.0, x1: r.x1 - 3.0, y1: r.y1 - 3.0 };
            let edge = TRAINED.edge;
            area.draw(&Rectangle::new([px((inset.x0, inset.y0)), px((inset.x1, inset.y1))], edge.stroke_width(4)))?;
        }
    }
    let (w, h) = (cell * maze.width() as f64, cell * maze.height() as f64);
    area.draw(&Rectangle::new([px((x0, y0)), px((x0 + w, y0 + h))], RGBColor(90, 90, 90).stroke_width(2)))?;
    let lines = [
        format!("move {}", signed(rewards.step)),
        format!("bump (edge or wall) {}", signed(rewards.bump)),
        format!("enter the goal {}", signed(rewards.goal)),
    ];
    text(area, "rewards:", 17.0, TEXT, (x0, y0 + h + 22.0), (HPos::Left, VPos::Center))?;
    for (i, l) in lines.iter().enumerate() {
        text(area, l, 17.0, TEXT, (x0, y0 + h + 46.0 + 22.0 * i as f64), (HPos::Left, VPos::Center))?;
    }
    Ok(())
}
