//! `report.html`: one self-contained page (inline CSS and SVG, no script, nothing
//! fetched), readable on screen and printable. Several experiments are laid out
//! in columns with the same charts on the same scales.

use std::fmt::Write as _;

use super::results::{Aggregate, Experiment};
use super::svg::{bar_chart, score_histogram, Bar};
use super::tables::{self, Table};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    crate::output::escape_markup(text)
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#1d2430;}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:18px 0 8px}\
h3{font-size:15px;margin:14px 0 6px}
.meta{color:#555;font-size:13px;margin:0 0 12px}
.note{font-size:13px;margin:0 0 12px;padding:4px 8px;border-left:3px solid #b8860b;\
background:#fdf6e3}
.columns{display:grid;gap:24px;grid-template-columns:repeat(var(--n),minmax(0,1fr))}
.charts{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;break-inside:avoid}
.chart text{font-size:11px;fill:#1d2430}.chart .title{font-size:12px;font-weight:600}
.chart .count,.chart .tick{text-anchor:middle;font-size:10px}.chart .end{text-anchor:end}
.chart .axis{stroke:#777}.chart .threshold{stroke:#1d2430;stroke-dasharray:4 3}
table{border-collapse:collapse;font-size:12px;margin:4px 0 12px}
th,td{border:1px solid #c9ced6;padding:3px 6px;text-align:left;vertical-align:top}
#provenance td{overflow-wrap:anywhere}
th{background:#eef1f5}td a,td:first-child{white-space:nowrap}
.wide{overflow-x:auto}
@media print{body{margin:8mm}.wide{overflow:visible}a{color:inherit}
section,figure,table{break-inside:avoid}}
@page{size:A4 landscape}
";

/// The whole page; `prefixes[i]` leads from the page to experiment `i`'s directory.
pub fn render(experiments: &[Experiment], prefixes: &[String], generated_at: &str) -> String {
    let ids: Vec<&str> = experiments.iter().map(|e| e.id.as_str()).collect();
    let title = format!("Experiment report: {}", ids.join(" vs "));
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n\
         <p class=\"meta\">Generated {} by <code>cargo xtask report</code> from results/.</p>\n",
        escape(&title),
        escape(&title),
        escape(generated_at)
    );
    let scales = Scales::of(experiments);
    let columns = |page: &mut String, section: &dyn Fn(&Experiment, &str) -> String| {
        let _ = write!(page, "<div class=\"columns\" style=\"--n:{}\">", experiments.len());
        for (experiment, prefix) in experiments.iter().zip(prefixes) {
            page.push_str("<div>");
            page.push_str(&section(experiment, prefix));
            page.push_str("</div>");
        }
        page.push_str("</div>\n");
    };
    // One row per part, one column per experiment: the same chart lines up
    // across experiments.
    page.push_str("<section id=\"summary\"><h2>Per tier</h2>");
    columns(&mut page, &|experiment, _| summary_header(experiment));
    columns(&mut page, &|experiment, _| histograms(experiment));
    if experiments.len() == 1 {
        // Alone, the charts wrap side by side instead of one per line.
        columns(&mut page, &|experiment, _| {
            let charts: String =
                METRICS.iter().map(|m| metric_chart(experiment, *m, &scales)).collect();
            format!("<div class=\"charts\">{charts}</div>")
        });
    } else {
        for metric in METRICS {
            columns(&mut page, &|experiment, _| metric_chart(experiment, metric, &scales));
        }
    }
    page.push_str("</section>\n<section id=\"runs\"><h2>Runs</h2>");
    for (experiment, prefix) in experiments.iter().zip(prefixes) {
        let _ = write!(page, "<h3>{}</h3>", escape(&experiment.id));
        page.push_str(&table_html(&tables::runs_table(experiment, prefix)));
    }
    page.push_str("</section>\n<section id=\"provenance\"><h2>Provenance</h2>");
    columns(&mut page, &|experiment, _| {
        format!(
            "<h3>{}</h3>{}",
            escape(&experiment.id),
            table_html(&tables::provenance_table(experiment))
        )
    });
    page.push_str("</section>\n</body></html>\n");
    page
}

/// Scale maxima shared by every experiment on the page.
struct Scales {
    cost: f64,
    cost_per_pass: f64,
    agent: f64,
    judge: f64,
}

impl Scales {
    fn of(experiments: &[Experiment]) -> Scales {
        let aggs: Vec<Aggregate> = experiments
            .iter()
            .flat_map(|e| e.tiers().into_iter().map(|t| Aggregate::of(e.tier_runs(t))))
            .collect();
        let max = |f: &dyn Fn(&Aggregate) -> Option<f64>| {
            aggs.iter().filter_map(f).fold(0.0_f64, f64::max)
        };
        Scales {
            cost: max(&Aggregate::mean_cost),
            cost_per_pass: max(&Aggregate::cost_per_pass),
            agent: max(&Aggregate::mean_agent_seconds),
            judge: max(&Aggregate::mean_judge_seconds),
        }
    }
}

fn summary_header(experiment: &Experiment) -> String {
    let total = Aggregate::of(&experiment.runs);
    let mut out = format!(
        "<h3>{}</h3><p class=\"meta\">{} run(s), {} passed, {} errored; started {}</p>",
        escape(&experiment.id),
        total.runs,
        total.passed,
        total.errors,
        escape(experiment.started_at().unwrap_or(tables::UNKNOWN))
    );
    if let Some(note) = tables::experiment_note(experiment) {
        let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str(&table_html(&tables::tier_table(experiment)));
    out
}

fn histograms(experiment: &Experiment) -> String {
    let mut out = String::from("<div class=\"charts\">");
    for tier in experiment.tiers() {
        let runs: Vec<_> = experiment.tier_runs(tier).collect();
        let scores: Vec<f64> =
            runs.iter().filter(|r| r.completed()).filter_map(|r| r.f64("score")).collect();
        let threshold = runs.iter().find_map(|r| r.f64("pass_threshold"));
        let chart_id = format!("chart-{}-{tier}", experiment.id);
        let title = format!("{tier}: score distribution");
        let chart = score_histogram(&chart_id, &title, &scores, threshold);
        let _ = write!(out, "<figure>{chart}</figure>");
    }
    out.push_str("</div>");
    out
}

/// The bar charts: id stem and title.
const METRICS: [(&str, &str); 5] = [
    ("pass-rate", "Pass rate"),
    ("mean-cost", "Mean cost per run"),
    ("cost-per-pass", "Cost of a pass (total cost / passes)"),
    ("agent-time", "Mean agent time"),
    ("judge-time", "Mean judge time"),
];

/// A tier's figure for a chart: its value (None: unknown) and the value's text.
type Figure = fn(&Aggregate) -> (Option<f64>, String);

fn metric_chart(experiment: &Experiment, (name, title): (&str, &str), scales: &Scales) -> String {
    let (max, value): (f64, Figure) = match name {
        "pass-rate" => (1.0, |a| (a.pass_rate(), tables::percent(a.pass_rate()))),
        "mean-cost" => (scales.cost, |a| (a.mean_cost(), or_unknown(tables::money(a.mean_cost())))),
        "cost-per-pass" => (scales.cost_per_pass, |a| (a.cost_per_pass(), short_cost_per_pass(a))),
        "agent-time" => {
            (scales.agent, |a| (a.mean_agent_seconds(), tables::seconds(a.mean_agent_seconds())))
        }
        _ => (scales.judge, |a| (a.mean_judge_seconds(), tables::seconds(a.mean_judge_seconds()))),
    };
    let bars: Vec<Bar> = experiment
        .tiers()
        .into_iter()
        .map(|tier| {
            let (value, text) = value(&Aggregate::of(experiment.tier_runs(tier)));
            Bar { label: tier.to_string(), value, text }
        })
        .collect();
    let chart_id = format!("{name}-{}", experiment.id);
    format!("<figure>{}</figure>", bar_chart(&chart_id, title, &bars, max))
}

fn or_unknown(text: String) -> String {
    if text == "-" {
        tables::UNKNOWN.to_string()
    } else {
        text
    }
}

fn short_cost_per_pass(agg: &Aggregate) -> String {
    match agg.cost_per_pass() {
        Some(cost) => tables::money(Some(cost)),
        None if agg.passed == 0 => "no pass".to_string(),
        None => tables::UNKNOWN.to_string(),
    }
}

fn table_html(table: &Table) -> String {
    let mut out = String::from("<div class=\"wide\"><table><thead><tr>");
    for header in &table.headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str("<td>");
            out.push_str(&escape(&cell.text));
            for (label, href) in &cell.links {
                let _ =
                    write!(out, " <a href=\"{}\">{}</a>", escape(&url_path(href)), escape(label));
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Percent-encodes what a relative URL path cannot hold as is.
pub fn url_path(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~+".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
