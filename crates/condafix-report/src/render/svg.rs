//! Inline SVG charts with their numbers beside the bars: horizontal bars (one row per value,
//! split by verdict) and columns per day. Colours come from the page's CSS classes; every
//! chart is followed by a table with the same numbers (the text alternative).

use super::html::esc;

/// One row of a bar chart: a label, its parts (count and CSS class), and the text beside it.
pub struct Bar {
    pub label: String,
    pub parts: Vec<(u64, &'static str)>,
    pub value: String,
}

const WIDTH: u32 = 800;
const LABEL: u32 = 250;
const AREA: u32 = 380;
const ROW: u32 = 24;

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// A horizontal bar chart.
pub fn bars(id: &str, title: &str, rows: &[Bar]) -> String {
    let max = rows
        .iter()
        .map(|r| r.parts.iter().map(|p| p.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW * rows.len().max(1) as u32 + 8;
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(title),
        esc(title)
    );
    for (n, r) in rows.iter().enumerate() {
        let y = 4 + n as u32 * ROW;
        s.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 8,
            y + 16,
            esc(&shorten(&r.label, 36))
        ));
        let mut x = f64::from(LABEL);
        for (count, class) in &r.parts {
            if *count == 0 {
                continue;
            }
            let w = (*count as f64 / max as f64 * f64::from(AREA)).max(1.0);
            s.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\"><title>{} {}</title></rect>",
                y + 3,
                ROW - 8,
                count,
                class.replace('_', " ")
            ));
            x += w;
        }
        s.push_str(&format!(
            "<text class=\"value\" x=\"{:.1}\" y=\"{}\">{}</text>",
            x + 6.0,
            y + 16,
            esc(&r.value)
        ));
    }
    s.push_str("</svg>");
    s
}

/// Columns per day, each split by state.
pub fn columns(id: &str, title: &str, days: &[(String, Vec<(u64, &'static str)>)]) -> String {
    let n = days.len().max(1) as u32;
    let plot_h = 180u32;
    let height = plot_h + 60;
    let step = (f64::from(WIDTH - 60) / f64::from(n)).min(60.0);
    let bar_w = (step * 0.7).max(2.0);
    let max = days
        .iter()
        .map(|d| d.1.iter().map(|p| p.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(title),
        esc(title)
    );
    s.push_str(&format!(
        "<line class=\"axis\" x1=\"40\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"value\" x=\"36\" y=\"24\" text-anchor=\"end\">{max}</text><text class=\"value\" x=\"36\" y=\"{}\" text-anchor=\"end\">0</text>",
        plot_h + 10,
        WIDTH - 10,
        plot_h + 10,
        plot_h + 10
    ));
    let label_every = (days.len() / 12).max(1);
    for (i, (date, parts)) in days.iter().enumerate() {
        let x = 44.0 + i as f64 * step;
        let mut y = f64::from(plot_h + 10);
        let total: u64 = parts.iter().map(|p| p.0).sum();
        for (count, class) in parts {
            if *count == 0 {
                continue;
            }
            let h = *count as f64 / max as f64 * f64::from(plot_h - 10);
            y -= h;
            s.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\"><title>{} {} {}</title></rect>",
                esc(date),
                count,
                class.replace('_', " ")
            ));
        }
        if days.len() <= 31 {
            s.push_str(&format!(
                "<text class=\"value small\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{total}</text>",
                x + bar_w / 2.0,
                y - 3.0
            ));
        }
        if i % label_every == 0 {
            s.push_str(&format!(
                "<text class=\"label small\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar_w / 2.0,
                plot_h + 26,
                esc(date.get(5..).unwrap_or(date))
            ));
        }
    }
    s.push_str("</svg>");
    s
}
