//! Animated episodes: a cart with its pole, a pendulum or a grid world, drawn frame by
//! frame and written as a small GIF.
//!
//! Frames are drawn with the same plotters primitives (and the same embedded font) as
//! the figures, into an RGB buffer. The GIF is kept small on purpose, so it can sit in
//! a lesson: one fixed palette (a 6×6×6 colour cube and 32 greys), and every frame after
//! the first stores only the rectangle that changed, with unchanged pixels transparent.

use std::borrow::Cow;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{self, color, fit_size, text_style, titled, PlotError, FRAME, TEXT};
use super::CellKind;

/// What one panel shows at one moment.
#[derive(Clone, Debug, PartialEq)]
pub enum Scene {
    /// A cart on a track with a pole hinged on top: cart position `x` (m), pole angle
    /// `theta` (rad, 0 = upright, positive = leaning right), the track's ends at
    /// ±`x_limit` (m), the pole's drawn length (m), and the push just applied (−1, 0, +1).
    Cart { x: f64, theta: f64, x_limit: f64, pole: f64, push: i8 },
    /// A pendulum: angle `theta` (rad, 0 = upright, counter-clockwise positive) and the
    /// torque applied, as a share of the largest torque in [−1, 1].
    Pendulum { theta: f64, torque: f64 },
    /// A grid world: `cells` row-major, the agent's cell, and the cells walked so far.
    Grid { width: usize, height: usize, cells: Vec<CellKind>, agent: usize, trail: Vec<usize> },
}

/// One panel of one frame: the scene and the line under the panel's caption
/// (e.g. "step 120   return 120").
#[derive(Clone, Debug, PartialEq)]
pub struct Shot {
    pub scene: Scene,
    pub counter: String,
}

/// An animation: a title over every frame, one caption per panel, and per frame one
/// shot per panel.
#[derive(Clone, Debug, Default)]
pub struct Animation {
    pub title: String,
    pub captions: Vec<String>,
    pub frames: Vec<Vec<Shot>>,
    /// Width and height of one panel in pixels.
    pub panel: (u32, u32),
    /// Time each frame is shown, in hundredths of a second.
    pub delay_cs: u16,
    /// Extra time the last frame is shown before the animation loops.
    pub hold_cs: u16,
}

/// Most frames an animation may have (a bound on the file's size and the drawing time).
pub const MAX_FRAMES: usize = 2000;

impl Animation {
    /// The size of a whole frame in pixels.
    pub fn size(&self) -> (u32, u32) {
        let n = self.captions.len().max(1) as u32;
        (self.panel.0 * n, self.panel.1 + TITLE_BAND)
    }

    fn check(&self) -> Result<(), PlotError> {
        if self.frames.is_empty() || self.frames.len() > MAX_FRAMES {
            return Err(PlotError::new(format!(
                "an animation needs 1 to {MAX_FRAMES} frames, not {}",
                self.frames.len()
            )));
        }
        if self.frames.iter().any(|f| f.len() != self.captions.len()) {
            return Err(PlotError::new("every frame needs one shot per caption"));
        }
        let (w, h) = self.size();
        if !(40..=2000).contains(&w) || !(40..=2000).contains(&h) {
            return Err(PlotError::new(format!("an animation frame of {w}×{h} pixels is out of range")));
        }
        Ok(())
    }

    /// Frame `index` as RGB bytes, row by row.
    pub fn render(&self, index: usize) -> Result<Vec<u8>, PlotError> {
        self.check()?;
        style::ensure_font()?;
        let (w, h) = self.size();
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.fill(&WHITE)?;
            let body = titled(&root, &self.title, TITLE_SIZE)?;
            let panels = body.split_evenly((1, self.captions.len()));
            for ((area, caption), shot) in panels.iter().zip(&self.captions).zip(&self.frames[index]) {
                draw_shot(area, caption, shot)?;
            }
            root.present()?;
        }
        Ok(rgb)
    }
}

const TITLE_SIZE: f64 = 15.0;
const TITLE_BAND: u32 = 29;

/// Writes `<stem>.gif` and returns its file name.
pub fn animation(stem: &Path, anim: &Animation) -> Result<Vec<String>, PlotError> {
    anim.check()?;
    let name = stem
        .file_name()
        .map(|n| format!("{}.gif", n.to_string_lossy()))
        .ok_or_else(|| PlotError::new(format!("'{}' does not end in a file name", stem.display())))?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| PlotError::new(format!("cannot create folder '{}': {e}", dir.display())))?;
    }
    let path = stem.with_file_name(&name);
    let tmp = crate::report::temporary_sibling(&path);
    let written = encode(&tmp, anim).and_then(|_| {
        std::fs::rename(&tmp, &path).map_err(|e| PlotError::new(format!("writing '{}': {e}", path.display())))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|_| vec![name])
}

/// Writes frame `index` as a PNG (to look at one frame without a GIF viewer).
pub fn frame_png(path: &Path, anim: &Animation, index: usize) -> Result<(), PlotError> {
    let rgb = anim.render(index.min(anim.frames.len().saturating_sub(1)))?;
    let (w, h) = anim.size();
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    for (i, px) in rgb.chunks(3).enumerate() {
        root.draw_pixel(((i as u32 % w) as i32, (i as u32 / w) as i32), &RGBColor(px[0], px[1], px[2]))?;
    }
    root.present()?;
    Ok(())
}

/// The palette index left out of every colour: "unchanged since the last frame".
const TRANSPARENT: u8 = 255;
const GREYS: usize = 32;

/// The fixed palette: a 6×6×6 colour cube (216 entries), then 32 greys, padded to 256.
fn palette() -> Vec<u8> {
    let mut p = Vec::with_capacity(256 * 3);
    for r in 0..6u32 {
        for g in 0..6u32 {
            for b in 0..6u32 {
                p.extend([r, g, b].map(|c| (c * 51) as u8));
            }
        }
    }
    for k in 0..GREYS as u32 {
        p.extend([(k * 255 / (GREYS as u32 - 1)) as u8; 3]);
    }
    p.resize(256 * 3, 0);
    p
}

/// The palette index of a colour: greys (anti-aliased text) on the finer grey ramp,
/// every other colour on the nearest level of the cube.
fn index_of(px: &[u8]) -> u8 {
    let (lo, hi) = (px.iter().min().copied().unwrap_or(0), px.iter().max().copied().unwrap_or(0));
    if hi - lo < 12 {
        let v = (u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2])) / 3;
        return (216 + (v * (GREYS as u32 - 1) + 127) / 255) as u8;
    }
    let level = |c: u8| (u32::from(c) * 5 + 127) / 255;
    (level(px[0]) * 36 + level(px[1]) * 6 + level(px[2])) as u8
}

fn encode(path: &Path, anim: &Animation) -> Result<(), PlotError> {
    let (w, h) = anim.size();
    let gif_error = |e: gif::EncodingError| PlotError::new(format!("writing '{}': {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| PlotError::new(format!("writing '{}': {e}", path.display())))?;
    let mut encoder =
        gif::Encoder::new(std::io::BufWriter::new(file), w as u16, h as u16, &palette()).map_err(gif_error)?;
    encoder.set_repeat(gif::Repeat::Infinite).map_err(gif_error)?;
    let mut previous: Option<Vec<u8>> = None;
    let n = anim.frames.len();
    for k in 0..n {
        let indexed: Vec<u8> = anim.render(k)?.chunks(3).map(index_of).collect();
        let delay = anim.delay_cs.saturating_add(if k + 1 == n { anim.hold_cs } else { 0 });
        let frame = match &previous {
            None => gif::Frame {
                width: w as u16,
                height: h as u16,
                buffer: Cow::Borrowed(&indexed),
                delay,
                ..Default::default()
            },
            Some(prev) => changed_rect(prev, &indexed, w as usize, delay),
        };
        encoder.write_frame(&frame).map_err(gif_error)?;
        previous = Some(indexed);
    }
    Ok(())
}

/// The smallest rectangle holding every pixel that differs from `prev`, with the
/// pixels that did not change made transparent (LZW then packs them into long runs).
fn changed_rect(prev: &[u8], next: &[u8], w: usize, delay: u16) -> gif::Frame<'static> {
    let h = next.len() / w;
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, (a, b)) in prev.iter().zip(next).enumerate() {
        if a != b {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    if x0 >= x1 {
        // Nothing changed: one transparent pixel that only holds the delay.
        (x0, y0, x1, y1) = (0, 0, 1, 1);
    }
    let mut buffer = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * w + x;
            buffer.push(if prev[i] == next[i] { TRANSPARENT } else { next[i] });
        }
    }
    gif::Frame {
        left: x0 as u16,
        top: y0 as u16,
        width: (x1 - x0) as u16,
        height: (y1 - y0) as u16,
        buffer: Cow::Owned(buffer),
        transparent: Some(TRANSPARENT),
        dispose: gif::DisposalMethod::Keep,
        delay,
        ..Default::default()
    }
}

fn draw_shot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, caption: &str, shot: &Shot) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let size = fit_size(area, caption, 14.0, w as i32 - 16)?;
    area.draw(&Text::new(caption.to_string(), (w as i32 / 2, 10), text_style(size, TEXT, HPos::Center, VPos::Center)))?;
    let counter = text_style(13.0, color(0), HPos::Center, VPos::Center);
    area.draw(&Text::new(shot.counter.clone(), (w as i32 / 2, 29), counter))?;
    let scene = area.clone().margin(40, 6, 8, 8);
    match &shot.scene {
        Scene::Cart { x, theta, x_limit, pole, push } => draw_cart(&scene, *x, *theta, *x_limit, *pole, *push),
        Scene::Pendulum { theta, torque } => draw_pendulum(&scene, *theta, *torque),
        Scene::Grid { width, height, cells, agent, trail } => draw_grid(&scene, *width, *height, cells, *agent, trail),
    }
}

fn draw_cart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: f64,
    theta: f64,
    x_limit: f64,
    pole: f64,
    push: i8,
) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as f64, h as f64);
    // Metres to pixels: the track (with a margin) fills the width.
    let scale = w / (2.0 * x_limit * 1.1);
    let px = |m: f64| (w / 2.0 + m * scale).round() as i32;
    let track_y = (h * 0.78) as i32;
    let (cart_w, cart_h) = ((0.5 * scale) as i32, (0.3 * scale) as i32);
    area.draw(&PathElement::new(vec![(px(-x_limit), track_y), (px(x_limit), track_y)], FRAME.stroke_width(2)))?;
    for end in [-x_limit, x_limit] {
        let stop = [(px(end), track_y - 8), (px(end), track_y + 8)];
        area.draw(&PathElement::new(stop.to_vec(), color(3).stroke_width(3)))?;
    }
    let cx = px(x);
    let top = track_y - cart_h - 4;
    area.draw(&Rectangle::new([(cx - cart_w / 2, top), (cx + cart_w / 2, track_y - 4)], TEXT.filled()))?;
    for wheel in [cx - cart_w / 3, cx + cart_w / 3] {
        area.draw(&Circle::new((wheel, track_y - 3), 3, FRAME.filled()))?;
    }
    // The push: an arrow on the side the force comes from.
    if push != 0 {
        let s = i32::from(push.signum());
        let from = cx - s * (cart_w / 2 + 26);
        let tip = cx - s * (cart_w / 2 + 4);
        let y = top + cart_h / 2;
        area.draw(&PathElement::new(vec![(from, y), (tip, y)], color(1).stroke_width(3)))?;
        area.draw(&Polygon::new(vec![(tip, y), (tip - s * 8, y - 6), (tip - s * 8, y + 6)], color(1).filled()))?;
    }
    let len = pole * scale;
    let end = (cx + (len * theta.sin()).round() as i32, top - (len * theta.cos()).round() as i32);
    area.draw(&PathElement::new(vec![(cx, top), end], RGBColor(204, 153, 102).stroke_width(7)))?;
    area.draw(&Circle::new((cx, top), 4, FRAME.filled()))?;
    Ok(())
}

fn draw_pendulum<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, theta: f64, torque: f64) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let (cx, cy) = (w as i32 / 2, h as i32 / 2 + 4);
    let len = (f64::from(w.min(h)) * 0.38) as i32;
    area.draw(&Circle::new((cx, cy), len + 10, GRID_RING.stroke_width(1)))?;
    // The upright goal, dashed by two short ticks above the pivot.
    area.draw(&PathElement::new(vec![(cx, cy - len - 16), (cx, cy - len - 4)], color(2).stroke_width(3)))?;
    // The torque: an arc around the pivot, its length the torque's share of the largest.
    let torque = torque.clamp(-1.0, 1.0);
    if torque.abs() > 0.02 {
        let r = 45.0;
        let sweep = torque * 1.5 * std::f64::consts::PI;
        let arc: Vec<(i32, i32)> = (0..=24)
            .map(|i| {
                let a = std::f64::consts::FRAC_PI_2 + sweep * f64::from(i) / 24.0;
                (cx + (r * a.cos()).round() as i32, cy - (r * a.sin()).round() as i32)
            })
            .collect();
        area.draw(&PathElement::new(arc, color(1).stroke_width(5)))?;
    }
    // theta = 0 is upright; counter-clockwise positive, as in Gymnasium.
    let end = (cx - (f64::from(len) * theta.sin()).round() as i32, cy - (f64::from(len) * theta.cos()).round() as i32);
    area.draw(&PathElement::new(vec![(cx, cy), end], RGBColor(204, 51, 51).stroke_width(9)))?;
    area.draw(&Circle::new((cx, cy), 5, TEXT.filled()))?;
    Ok(())
}

const GRID_RING: RGBColor = RGBColor(220, 220, 220);

fn draw_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    width: usize,
    height: usize,
    cells: &[CellKind],
    agent: usize,
    trail: &[usize],
) -> Result<(), PlotError> {
    let (w, h) = area.dim_in_pixel();
    let cell = ((w as usize / width.max(1)).min(h as usize / height.max(1)) as i32).max(4);
    let (ox, oy) = ((w as i32 - cell * width as i32) / 2, (h as i32 - cell * height as i32) / 2);
    let corner = |s: usize| (ox + (s % width) as i32 * cell, oy + (s / width) as i32 * cell);
    let centre = |s: usize| {
        let (x, y) = corner(s);
        (x + cell / 2, y + cell / 2)
    };
    for (s, kind) in cells.iter().enumerate() {
        let (x, y) = corner(s);
        let fill = match kind {
            CellKind::Wall => RGBColor(102, 102, 102),
            CellKind::Start => RGBColor(204, 230, 255),
            CellKind::Goal => RGBColor(204, 255, 204),
            CellKind::Free => WHITE,
        };
        area.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], fill.filled()))?;
        area.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], FRAME.stroke_width(1)))?;
        let tag = match kind {
            CellKind::Start => "start",
            CellKind::Goal => "goal",
            _ => "",
        };
        if !tag.is_empty() {
            let style = text_style(f64::from(cell) * 0.16, TEXT, HPos::Left, VPos::Top);
            area.draw(&Text::new(tag.to_string(), (x + 4, y + 3), style))?;
        }
    }
    if trail.len() > 1 {
        let line: Vec<(i32, i32)> = trail.iter().map(|&s| centre(s)).collect();
        area.draw(&PathElement::new(line, color(1).stroke_width(3)))?;
    }
    area.draw(&Circle::new(centre(agent), cell / 5, color(0).filled()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart(x: f64) -> Vec<Shot> {
        vec![Shot { scene: Scene::Cart { x, theta: 0.1, x_limit: 2.4, pole: 1.0, push: 1 }, counter: "step 1".into() }]
    }

    #[test]
    fn palette_indices_round_trip_the_colours_drawn() {
        let p = palette();
        assert_eq!(p.len(), 768);
        for rgb in [[255u8, 255, 255], [0, 0, 0], [204, 51, 51], [51, 102, 204]] {
            let i = index_of(&rgb) as usize;
            assert_ne!(i, TRANSPARENT as usize);
            assert_eq!(&p[i * 3..i * 3 + 3], &rgb, "{rgb:?}");
        }
    }

    #[test]
    fn later_frames_store_only_what_changed() {
        let prev = vec![1u8; 20 * 10];
        let mut next = prev.clone();
        next[3 * 20 + 5] = 7;
        next[4 * 20 + 8] = 9;
        let f = changed_rect(&prev, &next, 20, 4);
        assert_eq!((f.left, f.top, f.width, f.height), (5, 3, 4, 2));
        assert_eq!(f.buffer[0], 7);
        assert_eq!(f.buffer[1], TRANSPARENT);
        assert_eq!(f.buffer[7], 9);
        let same = changed_rect(&prev, &prev, 20, 4);
        assert_eq!((same.width, same.height), (1, 1));
    }

    #[test]
    fn an_animation_is_a_gif_that_moves() {
        let dir = std::env::temp_dir().join(format!("rl-sandbox-anim-{}", std::process::id()));
        let anim = Animation {
            title: "a cart".into(),
            captions: vec!["test".into()],
            frames: vec![cart(0.0), cart(1.0)],
            panel: (200, 150),
            delay_cs: 5,
            hold_cs: 0,
        };
        assert_ne!(anim.render(0).unwrap(), anim.render(1).unwrap());
        let names = animation(&dir.join("cart"), &anim).unwrap();
        assert_eq!(names, vec!["cart.gif".to_string()]);
        let bytes = std::fs::read(dir.join("cart.gif")).unwrap();
        assert_eq!(&bytes[..6], b"GIF89a");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(Animation { frames: vec![], ..anim }.render(0).is_err());
    }
}
