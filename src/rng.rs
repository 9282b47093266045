//! Seeded randomness. Every random draw of a run comes from an RNG made here, so the
//! same seed gives the same numbers. candle's own RNG cannot be seeded: never use it.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The RNG of one run: `seed` is the run's seed, `stream` separates independent
/// experiments of the same seed so that adding one does not shift the others.
pub fn seeded(seed: u64, stream: u64) -> StdRng {
    // SplitMix64-style mixing so that nearby (seed, stream) pairs give unrelated seeds.
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}
