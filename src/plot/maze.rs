//! Mazes as grid pictures: a Q-table drawn on its maze, and paths.

use super::{CellKind, Dir, GridCell, GridPicture};
use crate::env::maze::{Action, Cell, Maze, ACTIONS};
use crate::tabular::QTable;

/// How a maze cell is drawn.
pub fn cell_kind(cell: Cell) -> CellKind {
    match cell {
        Cell::Free => CellKind::Free,
        Cell::Wall => CellKind::Wall,
        Cell::Start => CellKind::Start,
        Cell::Goal => CellKind::Goal,
    }
}

fn dir(a: Action) -> Dir {
    match a {
        Action::Up => Dir::Up,
        Action::Down => Dir::Down,
        Action::Left => Dir::Left,
        Action::Right => Dir::Right,
    }
}

fn blank(maze: &Maze, s: usize) -> GridCell {
    GridCell { kind: cell_kind(maze.cell(s)), name: maze.name(s), value: None, arrows: vec![], q: None }
}

/// The maze with a Q-table: colour = max_a Q(s,a), arrows = greedy actions (several
/// when tied within 1e-6), and with `show_q` the four Q values of each cell. A row
/// that is still all zero was never updated: it gets no colour and no arrow.
pub fn maze_picture(maze: &Maze, title: &str, q: Option<&QTable>, show_q: bool) -> GridPicture {
    let cells = (0..maze.n_cells())
        .map(|s| {
            let mut cell = blank(maze, s);
            if let Some(q) = q.filter(|_| maze.is_decision_state(s)) {
                let row = q.row(s);
                if row.iter().any(|&v| v != 0.0) {
                    cell.value = Some(q.max(s));
                    cell.arrows = q.best_actions(s, 1e-6).into_iter().map(|a| dir(ACTIONS[a])).collect();
                }
                if show_q {
                    cell.q = Some([row[0], row[1], row[2], row[3]]);
                }
            }
            cell
        })
        .collect();
    GridPicture {
        title: title.to_string(),
        width: maze.width(),
        height: maze.height(),
        cells,
        value_label: "max_a Q(s,a)".to_string(),
    }
}

/// The maze with one path drawn as arrows; colour = how many moves into the path.
pub fn path_picture(maze: &Maze, title: &str, path: &[usize]) -> GridPicture {
    let mut cells: Vec<GridCell> = (0..maze.n_cells()).map(|s| blank(maze, s)).collect();
    for (i, pair) in path.windows(2).enumerate() {
        let (s, next) = (pair[0], pair[1]);
        if let Some(a) = ACTIONS.into_iter().find(|&a| maze.target(s, a) == Some(next)) {
            cells[s].arrows.push(dir(a));
        }
        cells[s].value = Some(i as f64);
    }
    GridPicture {
        title: title.to_string(),
        width: maze.width(),
        height: maze.height(),
        cells,
        value_label: "moves from the start".to_string(),
    }
}
