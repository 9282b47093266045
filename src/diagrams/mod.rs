//! Conceptual diagrams for the lessons, drawn by the same code and in the same style
//! as the figures (PNG and SVG side by side, the embedded font), so that they are
//! redrawn with every run. Where a diagram shows a computation, it calls the library
//! function the course trains with: the maze's rewards (chapter 1), TRPO's step
//! (chapter 3), PPO's clipped loss (chapter 4).

mod clipped;
mod llm;
mod mdp;
mod shapes;
mod trust_region;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::env::maze::{Maze, Rewards};
use crate::plot::style::{save, Figure, PlotError};

pub use clipped::{clipped_objective, CLIP_EPS};
pub use mdp::{backup_branches, Branch};
pub use trust_region::{trust_region_example, TrustRegionExample};

/// The diagrams of each chapter, by file stem.
pub const DIAGRAMS: &[(&str, &[&str])] = &[
    ("ch01-q-learning", &["agent_environment_loop", "backup_diagram"]),
    ("ch03-trpo", &["trust_region"]),
    ("ch04-ppo", &["clipped_objective"]),
    ("ch07-r1-pipeline", &["ppo_vs_grpo_models", "r1_pipeline"]),
];

/// Draws the diagrams of chapter `chapter_id` into `dir` and returns the names of the
/// files written (PNG and SVG of each); a chapter without diagrams gets none.
pub fn draw_for_chapter(chapter_id: &str, dir: &Path) -> Result<Vec<String>, PlotError> {
    let stems = DIAGRAMS.iter().find(|(c, _)| *c == chapter_id).map_or(&[][..], |(_, s)| *s);
    let mut names = Vec::new();
    for stem in stems {
        names.extend(draw_one(stem, &dir.join(stem))?);
    }
    Ok(names)
}

fn draw_one(name: &str, stem: &Path) -> Result<Vec<String>, PlotError> {
    match name {
        "agent_environment_loop" => save(stem, &Diagram::Loop),
        "backup_diagram" => save(stem, &Diagram::Backup(&Maze::seed(), &Rewards::article())),
        "trust_region" => save(stem, &Diagram::TrustRegion(&trust_region_example())),
        "clipped_objective" => save(stem, &Diagram::Clipped(&clipped::curves()?)),
        "ppo_vs_grpo_models" => save(stem, &Diagram::Models),
        "r1_pipeline" => save(stem, &Diagram::Pipeline),
        other => Err(PlotError::new(format!("no diagram named '{other}'"))),
    }
}

/// Every diagram, with the data it is drawn from, as one [`Figure`].
enum Diagram<'a> {
    Loop,
    Backup(&'a Maze, &'a Rewards),
    TrustRegion(&'a TrustRegionExample),
    Clipped(&'a clipped::Curves),
    Models,
    Pipeline,
}

impl Figure for Diagram<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Diagram::Loop => mdp::LOOP_SIZE,
            Diagram::Backup(..) => mdp::BACKUP_SIZE,
            Diagram::TrustRegion(_) => trust_region::SIZE,
            Diagram::Clipped(_) => clipped::SIZE,
            Diagram::Models => llm::MODELS_SIZE,
            Diagram::Pipeline => llm::PIPELINE_SIZE,
        }
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        match self {
            Diagram::Loop => mdp::draw_loop(root),
            Diagram::Backup(maze, rewards) => mdp::draw_backup(root, maze, rewards),
            Diagram::TrustRegion(ex) => trust_region::draw(root, ex),
            Diagram::Clipped(c) => clipped::draw(root, c),
            Diagram::Models => llm::draw_models(root),
            Diagram::Pipeline => llm::draw_pipeline(root),
        }
    }
}
