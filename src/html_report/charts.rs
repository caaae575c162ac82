//! The report's charts with axes, drawn to SVG with plotters at report time: a number field's
//! histogram, calls over time (stacked by result) and call lengths by result.
//!
//! The data comes from `page` (tested there); this module only draws it. Every text drawn is
//! ours (numbers, times, result names, a field name, which is an identifier): no value from the
//! CSV or the API reaches an SVG, so the SVG can go into the page as is. Sizes are the drawing's
//! own; the page's CSS scales each SVG to the width of its column. Colours are the Okabe–Ito
//! palette, which stays distinct with every common form of colour blindness, the same as the
//! page's CSS uses for the results.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::cost::LengthStats;
use super::page::{RESULTS, clock, plural, result_label};
use super::timing::OverTime;
use crate::answers::{Bin, number};

/// The colour of each of [`RESULTS`], in its order.
const RESULT_COLOURS: [RGBColor; 7] = [
    RGBColor(0x00, 0x9E, 0x73), // completed: bluish green
    RGBColor(0x56, 0xB4, 0xE9), // voicemail: sky blue
    RGBColor(0xE6, 0x9F, 0x00), // no answer: orange
    RGBColor(0xCC, 0x79, 0xA7), // declined: reddish purple
    RGBColor(0xD5, 0x5E, 0x00), // failed: vermillion
    RGBColor(0x7F, 0x7F, 0x7F), // unknown: grey
    RGBColor(0xF0, 0xE4, 0x42), // in flight: yellow
];
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const FONT: &str = "sans-serif";

/// Drawing failed: plotters reports it as text; the caller leaves the chart out.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn fail(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// `svg` with the size plotters wrote replaced by a `viewBox`, so CSS sizes it.
fn scalable(svg: &str, (w, h): (u32, u32)) -> String {
    svg.replacen(
        &format!("width=\"{w}\" height=\"{h}\" "),
        &format!(
            "width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"xMinYMin meet\" role=\"img\" "
        ),
        1,
    )
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws with `paint` on a white SVG of `size`, made to scale with CSS.
fn draw(
    size: (u32, u32),
    paint: impl FnOnce(&Area<'_>) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        paint(&root)?;
        root.present().map_err(fail)?;
    }
    Ok(scalable(&svg, size))
}

/// A number field's histogram: a bar per bin, its count above it.
pub fn histogram(field: &str, bins: &[Bin]) -> Result<String, ChartError> {
    let size = (640, 240);
    let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
        return Ok(String::new());
    };
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    draw(size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(first.from..last.to, 0u64..most + most / 8 + 1)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_desc(field)
            .y_desc("completed calls")
            .x_label_formatter(&|x| number(*x))
            .label_style((FONT, 16).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(bins.iter().map(|b| {
                let gap = (b.to - b.from) * 0.04;
                Rectangle::new([(b.from + gap, 0), (b.to - gap, b.count)], BLUE.filled())
            }))
            .map_err(fail)?;
        let above = Pos::new(HPos::Center, VPos::Bottom);
        chart
            .draw_series(bins.iter().filter(|b| b.count > 0).map(|b| {
                Text::new(
                    b.count.to_string(),
                    ((b.from + b.to) / 2.0, b.count),
                    (FONT, 15).into_font().color(&INK).pos(above),
                )
            }))
            .map_err(fail)?;
        Ok(())
    })
}

/// Calls placed per bucket of time, stacked by result, with the bucket starts on the x axis.
/// `label` formats a bucket's start.
pub fn over_time(over: &OverTime, label: &dyn Fn(usize) -> String) -> Result<String, ChartError> {
    let size = (720, 280);
    let n = over.counts.len();
    let most = over
        .counts
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    draw(size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..n as f64, 0u64..most + most / 10 + 1)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_labels(n.min(8))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    label(i as usize)
                } else {
                    String::new()
                }
            })
            .y_desc("calls placed")
            .label_style((FONT, 15).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()
            .map_err(fail)?;
        for (r, colour) in RESULT_COLOURS.iter().enumerate() {
            chart
                .draw_series(over.counts.iter().enumerate().filter_map(|(i, bucket)| {
                    let below: u64 = bucket[..r].iter().sum();
                    (bucket[r] > 0).then(|| {
                        Rectangle::new(
                            [
                                (i as f64 + 0.08, below),
                                (i as f64 + 0.92, below + bucket[r]),
                            ],
                            colour.filled(),
                        )
                    })
                }))
                .map_err(fail)?;
        }
        Ok(())
    })
}

/// Call lengths by result: a line from the shortest to the longest call, a box from the first
/// to the third quartile, a mark at the median; the result's name above each.
pub fn lengths(rows: &[LengthStats]) -> Result<String, ChartError> {
    let row_height = 46;
    let size = (720, 60 + row_height * rows.len().max(1) as u32);
    let longest = rows.iter().map(|r| r.max).max().unwrap_or(0).max(60) as f64 / 60.0;
    draw(size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(8)
            .build_cartesian_2d(0f64..longest * 1.05, 0f64..rows.len().max(1) as f64)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .light_line_style(WHITE.mix(0.0))
            .x_desc("minutes")
            .x_label_formatter(&|m| clock((m * 60.0).round() as u64))
            .label_style((FONT, 15).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()
            .map_err(fail)?;
        let count = rows.len() as f64;
        for (i, row) in rows.iter().enumerate() {
            // The first row at the top.
            let y = count - i as f64 - 1.0;
            let colour = RESULTS
                .iter()
                .position(|r| *r == row.result)
                .map_or(INK, |i| RESULT_COLOURS[i]);
            let m = |secs: u64| secs as f64 / 60.0;
            chart
                .draw_series([
                    PathElement::new(
                        vec![(m(row.min), y + 0.35), (m(row.max), y + 0.35)],
                        colour.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(m(row.min), y + 0.22), (m(row.min), y + 0.48)],
                        colour.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(m(row.max), y + 0.22), (m(row.max), y + 0.48)],
                        colour.stroke_width(2),
                    ),
                ])
                .map_err(fail)?;
            chart
                .draw_series([Rectangle::new(
                    [
                        (m(row.q1), y + 0.17),
                        (m(row.q3).max(m(row.q1) + 0.02), y + 0.53),
                    ],
                    colour.filled(),
                )])
                .map_err(fail)?;
            chart
                .draw_series([PathElement::new(
                    vec![(m(row.median), y + 0.12), (m(row.median), y + 0.58)],
                    INK.stroke_width(3),
                )])
                .map_err(fail)?;
            chart
                .draw_series([Text::new(
                    format!(
                        "{} ({}, median {})",
                        result_label(&row.result),
                        plural(row.calls, "call", "calls"),
                        clock(row.median)
                    ),
                    (0.0, y + 0.95),
                    (FONT, 16)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )])
                .map_err(fail)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_has_a_bar_per_bin_and_scales_with_css() {
        let bins = crate::answers::bins(1.0, 4.0)
            .into_iter()
            .zip([2, 0, 1, 5])
            .map(|(b, count)| Bin { count, ..b })
            .collect::<Vec<_>>();
        let svg = histogram("visits", &bins).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("preserveAspectRatio"), "{svg}");
        assert!(svg.contains("\nvisits\n"), "the axis is named: {svg}");
        assert_eq!(svg.matches("fill=\"#0072B2\"").count(), 4, "{svg}");
        assert_eq!(histogram("x", &[]).unwrap(), "");
    }

    #[test]
    fn calls_over_time_are_stacked_in_result_colours() {
        let zone = jiff::tz::TimeZone::UTC;
        let start: jiff::Timestamp = "2026-12-07T17:00:00Z".parse().unwrap();
        let mut over = OverTime::new(start, start, &zone);
        over.add(start, "completed", 3);
        over.add(start, "no_answer", 1);
        let svg = over_time(&over, &|i| format!("bucket {i}")).unwrap();
        assert!(svg.contains("fill=\"#009E73\""), "{svg}");
        assert!(svg.contains("fill=\"#E69F00\""), "{svg}");
        assert!(svg.contains("bucket 0"), "{svg}");
    }

    #[test]
    fn lengths_name_each_result() {
        let rows = [
            crate::html_report::cost::length_stats("completed", &[(60, 2), (178, 1)]).unwrap(),
            crate::html_report::cost::length_stats("voicemail", &[(18, 1)]).unwrap(),
        ];
        let svg = lengths(&rows).unwrap();
        assert!(svg.contains("completed (3 calls, median 1:00)"), "{svg}");
        assert!(svg.contains("voicemail (1 call, median 0:18)"), "{svg}");
    }
}
