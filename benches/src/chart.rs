//! The ratio chart (`ratios.svg`): one row per workload, one horizontal bar
//! per emulated configuration, length = median time / native time on a log
//! scale, with a line at 1 (native speed). A failed run is marked `fail`.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::config::ConfigId;
use crate::results::Results;
use crate::summary;

/// Bar colour of a configuration.
fn color(config: ConfigId) -> RGBColor {
    match config {
        ConfigId::Native => RGBColor(120, 120, 120),
        ConfigId::Tern => RGBColor(31, 119, 180),
        ConfigId::TernBaseline => RGBColor(140, 190, 230),
        ConfigId::TernTraces => RGBColor(40, 90, 160),
        ConfigId::Qemu => RGBColor(230, 120, 20),
        ConfigId::Valgrind => RGBColor(60, 160, 60),
    }
}

/// A row of the chart: workload name and, per configuration, its median
/// ratio (`Ok`) or whether it failed (`Err(true)`) or was not run (`Err(false)`).
type Row = (String, Vec<Result<f64, bool>>);

/// Draws the chart of `results` into the SVG file `path`.
pub fn write_svg(results: &Results, path: &Path) -> Result<()> {
    let configs: Vec<ConfigId> =
        results.meta.settings.configs.iter().copied().filter(|&c| c != ConfigId::Native).collect();
    let rows: Vec<Row> = results
        .workloads
        .iter()
        .map(|w| {
            let cells = configs
                .iter()
                .map(|&c| match summary::ratio(w, c) {
                    Some(s) => Ok(s.median),
                    None => Err(w.config(c).is_some_and(|r| r.failure.is_some())),
                })
                .collect();
            (w.name.clone(), cells)
        })
        .collect();
    draw(&configs, &rows, path).map_err(|e| anyhow!("drawing {}: {e}", path.display()))
}

fn draw(configs: &[ConfigId], rows: &[Row], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = rows.len().max(1);
    let slots = configs.len().max(1);
    let row_px = 9 * slots as u32 + 8;
    let size = (1100, 130 + n as u32 * row_px);
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let ratios: Vec<f64> =
        rows.iter().flat_map(|(_, c)| c.iter().filter_map(|r| r.as_ref().ok().copied())).collect();
    let lo = ratios.iter().copied().fold(1.0, f64::min) / 1.6;
    let hi = ratios.iter().copied().fold(1.0, f64::max) * 1.6;
    let mut chart = ChartBuilder::on(&root)
        .caption("Time relative to native (median, log scale; lower is better)", ("sans-serif", 20))
        .margin(12)
        .set_label_area_size(LabelAreaPosition::Left, 160)
        .set_label_area_size(LabelAreaPosition::Bottom, 40)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_label_formatter(&|x| format!("{x}×"))
        .x_desc("time / native time")
        .draw()?;
    let slot_h = 0.8 / slots as f64;
    // Row i is drawn top-down; slot j of row i spans [bottom, bottom + slot_h).
    let slot_bottom = |i: usize, j: usize| (n - i) as f64 - 0.1 - (j + 1) as f64 * slot_h;
    for (j, &config) in configs.iter().enumerate() {
        let c = color(config);
        let bars = rows.iter().enumerate().filter_map(|(i, (_, cells))| {
            let y = slot_bottom(i, j);
            cells[j].as_ref().ok().map(|&v| Rectangle::new([(lo, y), (v, y + slot_h)], c.filled()))
        });
        chart
            .draw_series(bars)?
            .label(config.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        let fails = rows.iter().enumerate().filter(|(_, (_, cells))| cells[j] == Err(true)).map(|(i, _)| {
            let style = ("sans-serif", 10).into_font().color(&RED).pos(Pos::new(HPos::Left, VPos::Center));
            Text::new(
                format!("{} failed", config.name()),
                (lo * 1.02, slot_bottom(i, j) + slot_h / 2.0),
                style,
            )
        });
        chart.draw_series(fails)?;
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, 0.0), (1.0, n as f64)],
        BLACK.stroke_width(1),
    )))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    // Workload names, right-aligned against the plot's left edge.
    let name_style = ("sans-serif", 12).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, (name, _)) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(lo, (n - i) as f64 - 0.5));
        root.draw(&Text::new(name.as_str(), (x - 6, y), name_style.clone()))?;
    }
    root.present()?;
    Ok(())
}
