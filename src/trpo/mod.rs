//! TRPO's building blocks (chapter 3): the conjugate-gradient solver and the step
//! scaled to the trust region.

pub mod cg;

pub use cg::{conjugate_gradient, trust_region_scale, CgResult};
