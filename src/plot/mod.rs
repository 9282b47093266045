//! Figures for the lessons: learning curves with mean ± std bands over seeds, bar
//! charts, and grid worlds drawn as pictures (values, policies, Q values).
//!
//! Every public drawing function writes `<stem>.png` and `<stem>.svg` from the same
//! drawing code, creates the parent folder if needed, and returns the two file names.
//! Text is drawn with DejaVu Sans embedded in the binary, so no system font library
//! is needed at build or run time.

pub mod animation;
mod bars;
mod curves;
mod grid;
mod legend;
mod maze;
pub(crate) mod style;

pub use animation::{animation, Animation, Scene, Shot};
pub use bars::{bars, bars_panels, Bars};
pub use curves::{curves, curves_panels, moving_average, Band, CurvePlot};
pub use curves::{curves_panels_with, CurveOptions, Spread};
pub use grid::{grid, grid_panels, CellKind, Dir, GridCell, GridPicture};
pub use maze::{cell_kind, maze_picture, path_picture};
pub use style::{color, PlotError};
