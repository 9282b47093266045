//! Grid mazes: the 3x3 maze of the source article and mazes read from text files.
//!
//! Cells are numbered row by row from 0; the article calls cell `s` "S{s+1}".
//! Moving off the grid or into a wall leaves the agent where it was (a "bump").
//! Entering the goal ends the episode.
//!
//! # Text format
//! One line per row, one character per cell, spaces between cells allowed:
//! `S` start (exactly one), `G` goal (exactly one), `.` free, `#` wall.
//! Lines starting with `;` are comments; blank lines are ignored.
//!
//! ```text
//! ; the article's maze
//! S . #
//! . . .
//! # . G
//! ```

use super::{Env, Step};
use super::{Model, Outcome};
pub use crate::error::MazeError;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use std::collections::VecDeque;
use std::path::Path;

/// The four moves, in the column order of the article's Q-table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Up = 0,
    Down = 1,
    Left = 2,
    Right = 3,
}

pub const ACTIONS: [Action; 4] = [Action::Up, Action::Down, Action::Left, Action::Right];

impl Action {
    pub fn from_index(i: usize) -> Action {
        ACTIONS[i]
    }

    /// Row and column change.
    pub fn delta(self) -> (isize, isize) {
        match self {
            Action::Up => (-1, 0),
            Action::Down => (1, 0),
            Action::Left => (0, -1),
            Action::Right => (0, 1),
        }
    }

    pub fn arrow(self) -> char {
        ['↑', '↓', '←', '→'][self as usize]
    }

    pub fn name(self) -> &'static str {
        ["up", "down", "left", "right"][self as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Free,
    Wall,
    Start,
    Goal,
}

/// The largest side accepted from a file: bigger mazes make unreadable figures.
pub const MAX_SIDE: usize = 40;

/// The largest maze file read: room for a 40x40 maze with spaces and comments.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A rectangular grid with one start and one goal.
#[derive(Clone, Debug, PartialEq)]
pub struct Maze {
    width: usize,
    height: usize,
    cells: Vec<Cell>,
    start: usize,
    goal: usize,
}

/// The article's maze: S1 start, S3 and S7 walls, S9 goal.
pub const SEED_MAZE: &str = "S . #\n. . .\n# . G\n";

impl Maze {
    /// The 3x3 maze of the source article.
    pub fn seed() -> Maze {
        Maze::parse(SEED_MAZE, "(built in)").expect("the built-in maze is valid")
    }

    /// Reads a maze file; any problem becomes a [`MazeError`] naming the file.
    /// The file is read only up to [`MAX_FILE_BYTES`]: a bigger one is refused before
    /// anything is allocated for it.
    pub fn load(path: &Path) -> crate::error::Result<Maze> {
        use std::io::Read;
        let io = |e| crate::error::Error::io(path, e);
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(io)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            let message = format!(
                "the file is larger than {MAX_FILE_BYTES} bytes (mazes are limited to {MAX_SIDE}x{MAX_SIDE} cells)"
            );
            return Err(MazeError { source: path.display().to_string(), line: None, column: None, message }.into());
        }
        Ok(Maze::parse(&text, &path.display().to_string())?)
    }

    /// Parses the text format described in the module docs. `source` names the text
    /// in error messages (usually the file path).
    pub fn parse(text: &str, source: &str) -> Result<Maze, MazeError> {
        let err = |line: Option<usize>, column: Option<usize>, message: String| MazeError {
            source: source.to_string(),
            line,
            column,
            message,
        };
        let mut cells = Vec::new();
        let mut width = 0;
        let mut height = 0;
        let mut first_row_line = 0;
        let mut start: Option<(usize, usize, usize)> = None; // (cell, line, column)
        let mut goal: Option<(usize, usize, usize)> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with(';') {
                continue;
            }
            let mut row_len = 0;
            for (j, ch) in line.chars().enumerate() {
                let col_no = j + 1;
                let cell = match ch {
                    ' ' | '\t' => continue,
                    '.' => Cell::Free,
                    '#' => Cell::Wall,
                    'S' => Cell::Start,
                    'G' => Cell::Goal,
                    other => {
                        return Err(err(
                            Some(line_no),
                            Some(col_no),
                            format!("unknown character {other:?} (use S start, G goal, . free, # wall)"),
                        ))
                    }
                };
                let index = cells.len();
                let slot = match cell {
                    Cell::Start => Some(("start 'S'", &mut start)),
                    Cell::Goal => Some(("goal 'G'", &mut goal)),
                    _ => None,
                };
                if let Some((what, slot)) = slot {
                    if let Some((_, l, c)) = *slot {
                        return Err(err(
                            Some(line_no),
                            Some(col_no),
                            format!("a second {what}; the first is at line {l}, column {c}"),
                        ));
                    }
                    *slot = Some((index, line_no, col_no));
                }
                cells.push(cell);
                row_len += 1;
                if row_len > MAX_SIDE {
                    let message = format!("mazes are limited to {MAX_SIDE}x{MAX_SIDE} cells");
                    return Err(err(Some(line_no), Some(col_no), message));
                }
            }
            if height == 0 {
                width = row_len;
                first_row_line = line_no;
            } else if row_len != width {
                return Err(err(
                    Some(line_no),
                    None,
                    format!("this row has {row_len} cells but the first row (line {first_row_line}) has {width}"),
                ));
            }
            height += 1;
            if width > MAX_SIDE || height > MAX_SIDE {
                return Err(err(Some(line_no), None, format!("mazes are limited to {MAX_SIDE}x{MAX_SIDE} cells")));
            }
        }
        if height == 0 {
            return Err(err(None, None, "the file has no rows".to_string()));
        }
        let (start, ..) = start.ok_or_else(|| err(None, None, "no start cell 'S'".to_string()))?;
        let (goal, gl, gc) = goal.ok_or_else(|| err(None, None, "no goal cell 'G'".to_string()))?;
        let maze = Maze { width, height, cells, start, goal };
        if maze.distances_to_goal()[start].is_none() {
            return Err(err(Some(gl), Some(gc), "the goal cannot be reached from the start".to_string()));
        }
        Ok(maze)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of cells, walls included (wall cells are never occupied).
    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }

    pub fn cell(&self, s: usize) -> Cell {
        self.cells[s]
    }

    pub fn start(&self) -> usize {
        self.start
    }

    pub fn goal(&self) -> usize {
        self.goal
    }

    /// True for cells where the agent can stand and act (not a wall, not the goal).
    pub fn is_decision_state(&self, s: usize) -> bool {
        self.cells[s] != Cell::Wall && s != self.goal
    }

    /// The article's name for a cell: S1, S2, ... row by row.
    pub fn name(&self, s: usize) -> String {
        format!("S{}", s + 1)
    }

    /// The cell that action `a` leads to from `s`, or `None` for a bump (edge or wall).
    pub fn target(&self, s: usize, a: Action) -> Option<usize> {
        let (dr, dc) = a.delta();
        let r = (s / self.width) as isize + dr;
        let c = (s % self.width) as isize + dc;
        if r < 0 || c < 0 || r >= self.height as isize || c >= self.width as isize {
            return None;
        }
        let next = r as usize * self.width + c as usize;
        (self.cells[next] != Cell::Wall).then_some(next)
    }

    /// Number of moves from each cell to the goal (`None`: a wall or unreachable).
    pub fn distances_to_goal(&self) -> Vec<Option<usize>> {
        let mut dist = vec![None; self.cells.len()];
        dist[self.goal] = Some(0);
        let mut queue = VecDeque::from([self.goal]);
        while let Some(s) = queue.pop_front() {
            let d = dist[s].unwrap_or(0);
            // Moves are reversible, so the cells one step from `s` are its targets.
            for a in ACTIONS {
                if let Some(n) = self.target(s, a) {
                    if dist[n].is_none() {
                        dist[n] = Some(d + 1);
                        queue.push_back(n);
                    }
                }
            }
        }
        dist
    }

    /// Every shortest path from the start to the goal (as cell lists), at most `limit`
    /// of them, in a fixed order (by action index at each fork).
    pub fn shortest_paths(&self, limit: usize) -> Vec<Vec<usize>> {
        let dist = self.distances_to_goal();
        let mut paths = Vec::new();
        let mut path = vec![self.start];
        self.extend_shortest(&dist, &mut path, &mut paths, limit);
        paths
    }

    /// How many shortest paths lead from the start to the goal (counted, not listed:
    /// an open room has too many to enumerate).
    pub fn count_shortest_paths(&self) -> u128 {
        let dist = self.distances_to_goal();
        // Cells in order of increasing distance: each one's count is the sum over
        // its neighbours one step closer to the goal.
        let mut order: Vec<usize> = (0..self.cells.len()).filter(|&s| dist[s].is_some()).collect();
        order.sort_by_key(|&s| dist[s]);
        let mut count = vec![0u128; self.cells.len()];
        count[self.goal] = 1;
        for &s in order.iter().skip(1) {
            count[s] = ACTIONS
                .iter()
                .filter_map(|&a| self.target(s, a))
                .filter(|&n| dist[n].is_some() && dist[n] < dist[s])
                .map(|n| count[n])
                .fold(0u128, |acc, c| acc.saturating_add(c));
        }
        count[self.start]
    }

    fn extend_shortest(&self, dist: &[Option<usize>], path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>, limit: usize) {
        if out.len() >= limit {
            return;
        }
        let s = *path.last().expect("paths start at the start cell");
        if s == self.goal {
            out.push(path.clone());
            return;
        }
        for a in ACTIONS {
            if let Some(n) = self.target(s, a) {
                if dist[n].is_some() && dist[n] < dist[s] {
                    path.push(n);
                    self.extend_shortest(dist, path, out, limit);
                    path.pop();
                }
            }
        }
    }

    /// The MDP as an explicit model for dynamic programming. With `slip > 0` the
    /// intended action is replaced by a uniformly random one with probability `slip`.
    pub fn model(&self, rewards: &Rewards, slip: f64) -> Model {
        let n = self.cells.len();
        let mut outcomes = vec![Vec::new(); n * 4];
        for s in (0..n).filter(|&s| self.is_decision_state(s)) {
            for a in ACTIONS {
                let mut list: Vec<Outcome> = Vec::new();
                for b in ACTIONS {
                    let p = if a == b { 1.0 - slip + slip / 4.0 } else { slip / 4.0 };
                    if p == 0.0 {
                        continue;
                    }
                    let (next, reward, terminal) = self.outcome(s, b, rewards);
                    list.push(Outcome { prob: p, next, reward, terminal });
                }
                outcomes[s * 4 + a as usize] = list;
            }
        }
        let decision: Vec<bool> = (0..n).map(|s| self.is_decision_state(s)).collect();
        Model { n_states: n, n_actions: 4, outcomes, decision }
    }

    /// Deterministic effect of action `a` in cell `s`: next cell, reward, terminal.
    pub fn outcome(&self, s: usize, a: Action, rewards: &Rewards) -> (usize, f64, bool) {
        match self.target(s, a) {
            None => (s, rewards.bump, false),
            Some(n) if n == self.goal => (n, rewards.goal, true),
            Some(n) => (n, rewards.step, false),
        }
    }
}

/// The rewards of the maze.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Rewards {
    pub step: f64,
    pub bump: f64,
    pub goal: f64,
}

impl Rewards {
    /// The article's scores: a move +1, a bump -1, and +20 for entering the goal.
    /// With γ = 0.9, wandering forever is worth at most 1/(1-γ) = 10, so reaching the
    /// goal (worth 10 + γ^(d-1)·10 from d moves away) is always better and shortest
    /// paths are optimal; but an agent that has not found the goal yet sees every move
    /// it made pay +1, more than the 0 of an untried move, and happily loops.
    pub fn article() -> Rewards {
        Rewards { step: 1.0, bump: -1.0, goal: 20.0 }
    }

    /// A step cost: every move -0.1, a bump -1, the goal +1 (use with γ = 0.99).
    /// Now an untried move (0) looks better than any tried one, so even a purely
    /// greedy agent keeps trying new moves: optimism drives exploration.
    pub fn step_cost() -> Rewards {
        Rewards { step: -0.1, bump: -1.0, goal: 1.0 }
    }
}

impl Default for Rewards {
    fn default() -> Self {
        Rewards::article()
    }
}

/// The maze as an environment: observation = cell index, action = index into [`ACTIONS`].
pub struct MazeEnv {
    /// (next, reward, terminal) for every (cell, action): the hot loop only indexes.
    table: Vec<(usize, f64, bool)>,
    start: usize,
    slip: f64,
    max_steps: usize,
    state: usize,
    t: usize,
    noise: StdRng,
}

impl MazeEnv {
    /// `max_steps` truncates an episode (Gymnasium's TimeLimit).
    pub fn new(maze: &Maze, rewards: Rewards, slip: f64, max_steps: usize) -> MazeEnv {
        let table = (0..maze.n_cells()).flat_map(|s| ACTIONS.map(|a| maze.outcome(s, a, &rewards))).collect();
        MazeEnv {
            table,
            start: maze.start(),
            slip,
            max_steps,
            state: maze.start(),
            t: 0,
            noise: StdRng::seed_from_u64(0),
        }
    }

    pub fn state(&self) -> usize {
        self.state
    }
}

impl Env for MazeEnv {
    type Obs = usize;
    type Action = usize;

    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        if self.slip > 0.0 {
            self.noise = StdRng::seed_from_u64(rng.next_u64());
        }
        self.state = self.start;
        self.t = 0;
        self.state
    }

    #[inline]
    fn step(&mut self, action: usize) -> Step<usize> {
        let action =
            if self.slip > 0.0 && self.noise.random_bool(self.slip) { self.noise.random_range(0..4) } else { action };
        let (next, reward, terminated) = self.table[self.state * 4 + action];
        self.state = next;
        self.t += 1;
        Step { obs: next, reward, terminated, truncated: !terminated && self.t >= self.max_steps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_maze_layout() {
        let m = Maze::seed();
        assert_eq!((m.width(), m.height()), (3, 3));
        assert_eq!(m.start(), 0);
        assert_eq!(m.goal(), 8);
        assert_eq!(m.cell(2), Cell::Wall);
        assert_eq!(m.cell(6), Cell::Wall);
    }
}
