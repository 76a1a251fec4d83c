//! A small SVG line chart: one panel per series group, shared time axis in seconds. Written by
//! hand so the benchmark needs no plotting crate and no fonts.

use std::fmt::Write as _;

/// One line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend.
    pub label: String,
    /// CSS colour.
    pub colour: &'static str,
    /// `(seconds, value)` points.
    pub points: Vec<(f64, f64)>,
}

/// One panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title (with the unit).
    pub title: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 260.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_RIGHT: f64 = 20.0;
const MARGIN_TOP: f64 = 40.0;
const MARGIN_BOTTOM: f64 = 35.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the panels one under the other.
pub fn render(panels: &[Panel]) -> String {
    let height = PANEL_HEIGHT * panels.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (index, panel) in panels.iter().enumerate() {
        render_panel(&mut svg, panel, index as f64 * PANEL_HEIGHT);
    }
    svg.push_str("</svg>\n");
    svg
}

fn render_panel(svg: &mut String, panel: &Panel, top: f64) {
    let points = panel.lines.iter().flat_map(|l| l.points.iter());
    let (x_max, y_max) = points.fold((1.0_f64, 1.0_f64), |(x, y), (px, py)| {
        (x.max(*px), y.max(*py))
    });
    let y_max = y_max * 1.1;
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_h = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let x_of = |x: f64| MARGIN_LEFT + x / x_max * plot_w;
    let y_of = |y: f64| top + MARGIN_TOP + plot_h - y / y_max * plot_h;
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN_LEFT}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        top + 22.0,
        escape(&panel.title)
    );
    for tick in 0..=4 {
        let value = y_max * f64::from(tick) / 4.0;
        let y = y_of(value);
        let _ = writeln!(
            svg,
            "<line x1=\"{MARGIN_LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value:.0}</text>",
            WIDTH - MARGIN_RIGHT,
            MARGIN_LEFT - 6.0,
            y + 4.0
        );
    }
    for tick in 0..=5 {
        let value = x_max * f64::from(tick) / 5.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{value:.0} s</text>",
            x_of(value),
            top + PANEL_HEIGHT - 12.0
        );
    }
    for (index, line) in panel.lines.iter().enumerate() {
        let path: Vec<String> = line
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", x_of(*x), y_of(*y)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
            line.colour,
            path.join(" "),
            WIDTH - MARGIN_RIGHT - 260.0,
            top + 22.0 + 15.0 * index as f64,
            line.colour,
            escape(&line.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_panel_and_line() {
        let svg = render(&[
            Panel {
                title: "orders/s".into(),
                lines: vec![Line {
                    label: "drain <pipeline>".into(),
                    colour: "#1f77b4",
                    points: vec![(0.0, 0.0), (1.0, 2_000.0), (2.0, 2_500.0)],
                }],
            },
            Panel {
                title: "p99 ms".into(),
                lines: vec![Line {
                    label: "500/s".into(),
                    colour: "#d62728",
                    points: vec![(0.0, 10.0)],
                }],
            },
        ]);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("drain &lt;pipeline&gt;"));
        assert!(svg.contains("height=\"520\""));
    }
}
