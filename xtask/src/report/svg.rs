//! The report's charts as inline SVG, written by hand.
//!
//! Two shapes cover every chart: a horizontal bar per tier (pass rate, cost, time)
//! and a ten-bin score histogram per tier. Hand-written SVG was chosen over the
//! `plotters` crate's SVG backend: the two shapes take under 150 lines, the text
//! stays real `<text>` (selectable, sharp in print, no font files to bundle), the
//! output is byte-for-byte deterministic for tests, and the build on a shared
//! two-core machine does not grow by a plotting stack.

use std::fmt::Write as _;

use super::html::escape;

const WIDTH: f64 = 360.0;
const LABEL_WIDTH: f64 = 44.0;
const VALUE_WIDTH: f64 = 86.0;
const BAR_HEIGHT: f64 = 18.0;
const GAP: f64 = 6.0;
const TOP: f64 = 24.0;
const BAR_COLOUR: &str = "#3f6fae";
const PASS_COLOUR: &str = "#2e7d4f";
const FAIL_COLOUR: &str = "#b5523b";

/// One bar: its label (a tier), its value (None: unknown) and the value's text.
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub text: String,
}

/// Horizontal bars on a common scale `0..=max` (shared across experiments, so
/// side-by-side charts compare by length).
pub fn bar_chart(id: &str, title: &str, bars: &[Bar], max: f64) -> String {
    let height = TOP + bars.len() as f64 * (BAR_HEIGHT + GAP) + GAP;
    let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut svg = open(id, title, height);
    for (index, bar) in bars.iter().enumerate() {
        let y = TOP + index as f64 * (BAR_HEIGHT + GAP);
        let text_y = y + BAR_HEIGHT * 0.72;
        let _ = write!(
            svg,
            r#"<text x="0" y="{text_y:.1}" class="label">{}</text>"#,
            escape(&bar.label)
        );
        let length = match bar.value {
            Some(value) if max > 0.0 => (value / max).clamp(0.0, 1.0) * span,
            _ => 0.0,
        };
        if bar.value.is_some() {
            let _ = write!(
                svg,
                r#"<rect x="{LABEL_WIDTH}" y="{y:.1}" width="{length:.1}" height="{BAR_HEIGHT}""#
            );
            let _ = write!(
                svg,
                r#" fill="{BAR_COLOUR}"><title>{}: {}</title></rect>"#,
                escape(&bar.label),
                escape(&bar.text)
            );
        }
        let value_x = LABEL_WIDTH + length + 4.0;
        let _ = write!(
            svg,
            r#"<text x="{value_x:.1}" y="{text_y:.1}" class="value">{}</text>"#,
            escape(&bar.text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Ten bins over 0..1 (the last one holds 1.0), bars left of the pass threshold
/// in the fail colour; the y scale is the tallest bin.
pub fn score_histogram(id: &str, title: &str, scores: &[f64], threshold: Option<f64>) -> String {
    let height = 150.0;
    let (left, right, bottom) = (28.0, WIDTH - 8.0, height - 22.0);
    let mut bins = [0usize; 10];
    for score in scores {
        bins[((score.clamp(0.0, 1.0) * 10.0) as usize).min(9)] += 1;
    }
    let tallest = bins.iter().copied().max().unwrap_or(0).max(1);
    // Room above the tallest bar for its count, below the title line.
    let top = TOP + 12.0;
    let bin_width = (right - left) / 10.0;
    let scale = (bottom - top) / tallest as f64;
    let mut svg = open(id, title, height);
    for (index, count) in bins.iter().enumerate() {
        let low = index as f64 / 10.0;
        let colour = match threshold {
            Some(threshold) if low + 0.1 <= threshold => FAIL_COLOUR,
            _ => PASS_COLOUR,
        };
        let bar = *count as f64 * scale;
        let x = left + index as f64 * bin_width;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bar:.1}" fill="{colour}">"#,
            x + 1.0,
            bottom - bar,
            bin_width - 2.0
        );
        let _ = write!(svg, r#"<title>{low:.1}–{:.1}: {count} run(s)</title></rect>"#, low + 0.1);
        if *count > 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="count">{count}</text>"#,
                x + bin_width / 2.0,
                bottom - bar - 3.0
            );
        }
    }
    let _ =
        write!(svg, r#"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>"#);
    for tick in 0..=5 {
        let x = left + tick as f64 * 2.0 * bin_width;
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" class="tick">{:.1}</text>"#,
            bottom + 14.0,
            tick as f64 * 0.2
        );
    }
    if let Some(threshold) = threshold {
        let x = left + threshold.clamp(0.0, 1.0) * (right - left);
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" class="threshold">"#
        );
        let _ = write!(svg, "<title>pass threshold {threshold}</title></line>");
    }
    let _ = write!(svg, r#"<text x="{right}" y="14" class="tick end">n = {}</text>"#, scores.len());
    svg.push_str("</svg>");
    svg
}

fn open(id: &str, title: &str, height: f64) -> String {
    let mut svg =
        format!(r#"<svg id="{}" class="chart" xmlns="http://www.w3.org/2000/svg""#, escape(id));
    let _ =
        write!(svg, r#" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}""#);
    let _ = write!(svg, r#" role="img" aria-label="{}">"#, escape(title));
    let _ = write!(svg, r#"<text x="0" y="14" class="title">{}</text>"#, escape(title));
    svg
}
