//! Q-learning throughput: environment steps per second, one thread, including the
//! ε-greedy choice and the Bellman update of every step (`cargo bench`).

use rl_sandbox::env::maze::{Maze, Rewards};
use rl_sandbox::tabular::{MazeTask, QLearning, Schedule, StepSize};
use rl_sandbox::{rng, stats};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let steps = if quick { 1_000_000 } else { 20_000_000 };
    let rooms = Maze::parse(include_str!("../assets/mazes/rooms-8x8.txt"), "rooms-8x8").expect("shipped maze");
    let cases = [
        ("article 3x3, ε = 0.1", MazeTask::new(Maze::seed(), Rewards::article(), 0.0, 100, 0.9), 0.1),
        ("article 3x3, ε = 1 (every step random)", MazeTask::new(Maze::seed(), Rewards::article(), 0.0, 100, 0.9), 1.0),
        ("rooms 8x8, ε = 0.1, step cost", MazeTask::new(rooms, Rewards::step_cost(), 0.0, 400, 0.99), 0.1),
    ];
    println!("Q-learning environment steps per second (single thread, {steps} steps per trial, median of 5)");
    for (name, task, epsilon) in cases {
        let task = task.expect("the shipped mazes solve");
        let cfg = QLearning {
            episodes: usize::MAX,
            gamma: task.gamma,
            epsilon: Schedule::Constant(epsilon),
            alpha: StepSize::Constant(0.5),
            step_budget: Some(steps),
        };
        let rates: Vec<f64> =
            (0..5).map(|i| task.steps_per_second(&cfg, &mut rng::seeded(i, 0)).expect("finite").1).collect();
        println!(
            "  {name:<42} {:>6.1} M steps/s  (min {:.1}, max {:.1})",
            stats::median(&rates) / 1e6,
            rates.iter().copied().fold(f64::INFINITY, f64::min) / 1e6,
            rates.iter().copied().fold(0.0, f64::max) / 1e6
        );
    }
}
