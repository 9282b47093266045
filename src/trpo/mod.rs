//! TRPO (chapter 3): the Fisher-vector product, the conjugate-gradient solver, the step
//! scaled to the trust region, the line search that checks it, the training loop, and
//! the chapter's experiments and figures.

pub mod cg;
pub mod experiments;
pub mod figures;
pub mod fisher;
pub mod line_search;
pub mod train;

pub use cg::{conjugate_gradient, trust_region_scale, CgResult};
pub use fisher::{fisher_vector_product, mean_kl};
pub use line_search::{backtracking_line_search, LineSearch};
pub use train::{train, StepRule, TrpoConfig, TrpoRun, TrpoUpdateLog};
