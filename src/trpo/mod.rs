//! TRPO's building blocks (chapter 3): the conjugate-gradient solver, the step scaled
//! to the trust region, and the line search that checks it.

pub mod cg;
pub mod line_search;

pub use cg::{conjugate_gradient, trust_region_scale, CgResult};
pub use line_search::{backtracking_line_search, LineSearch};
