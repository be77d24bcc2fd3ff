//! `report.md`: the page's tables in GitHub-flavoured Markdown, for pull requests.

use super::html::url_path;
use super::results::Experiment;
use super::tables::{self, Table};

/// The same tables as `report.html`, without the charts.
pub fn render(experiments: &[Experiment], prefixes: &[String], generated_at: &str) -> String {
    let ids: Vec<&str> = experiments.iter().map(|e| e.id.as_str()).collect();
    let mut out = format!(
        "# Experiment report: {}\n\n\
         Generated {generated_at} by `cargo xtask report` from results/.\n",
        ids.join(" vs ")
    );
    for (experiment, prefix) in experiments.iter().zip(prefixes) {
        out.push_str(&format!("\n## {}\n\n", experiment.id));
        if let Some(note) = tables::experiment_note(experiment) {
            out.push_str(&format!("> {note}\n\n"));
        }
        out.push_str("### Per tier\n\n");
        out.push_str(&table_markdown(&tables::tier_table(experiment)));
        out.push_str("\n### Runs\n\n");
        out.push_str(&table_markdown(&tables::runs_table(experiment, prefix)));
        out.push_str("\n### Provenance\n\n");
        out.push_str(&table_markdown(&tables::provenance_table(experiment)));
    }
    out
}

fn table_markdown(table: &Table) -> String {
    let mut out = format!("| {} |\n", table.headers.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(table.headers.len())));
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| {
                let mut text = cell_text(&cell.text);
                for (label, href) in &cell.links {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&format!("[{}]({})", cell_text(label), url_path(href)));
                }
                text
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// A cell's text on one line, with the table's own delimiter escaped.
fn cell_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}
