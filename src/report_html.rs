//! The report as one self-contained HTML page (no external resource, no script): readable on
//! a phone, printable to PDF. The verdict first, then one card per alert (what was seen, why
//! it matters, what to do, then the evidence), then the connections table. Every value that
//! comes from the capture is escaped: names in traffic are chosen by whoever sent them.

use std::fmt::Write as _;

use tcheck_engine::verdict::{Alert, Lang, Level, Report};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:1rem;
  max-width:48rem;margin:auto;color:#1b1b1b;background:#fff;line-height:1.45}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
.verdict{padding:1rem;border-radius:.6rem;font-size:1.15rem;margin-bottom:1.2rem}
.v-high{background:#fde2e1;border:2px solid #b3261e}
.v-moderate{background:#fff1d6;border:2px solid #b26a00}
.v-low,.v-none{background:#e3f4e6;border:2px solid #2e7d32}
.card{border:1px solid #ccc;border-left-width:.5rem;border-radius:.4rem;padding:.7rem 1rem;
  margin:.8rem 0;break-inside:avoid}
.l-high{border-left-color:#b3261e}.l-moderate{border-left-color:#b26a00}
.l-low{border-left-color:#5f6b7a}
.level{font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.05em}
.card h2{font-size:1.05rem;margin:.2rem 0 .4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;font-size:.85rem;
  margin:.5rem 0 0;color:#333}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top;
  overflow-wrap:anywhere}
.meta{font-size:.85rem;color:#444}
@media print{body{max-width:none}.card{page-break-inside:avoid}}
";

fn level_name(l: Level) -> &'static str {
    match l {
        Level::High => "high",
        Level::Moderate => "moderate",
        Level::Low => "low",
    }
}

fn evidence(a: &Alert) -> Vec<(&'static str, String)> {
    let mut e = Vec::new();
    if let Some(d) = &a.domain {
        e.push(("ev.name", d.clone()));
    }
    if let Some(s) = &a.sni {
        e.push(("ev.sni", s.clone()));
    }
    if let Some(ip) = a.ip {
        e.push(("ev.address", ip.to_string()));
    }
    if let Some(p) = a.port {
        e.push(("ev.port", p.to_string()));
    }
    if let Some(app) = &a.app {
        e.push(("ev.app", app.clone()));
    }
    if let Some(t) = &a.tag {
        e.push(("ev.tag", t.clone()));
    }
    if let Some(i) = &a.ioc {
        e.push((
            "ev.indicator",
            format!("{} {} ({})", i.kind, i.value, i.source),
        ));
    }
    if let Some(w) = &a.whitelisted {
        e.push(("ev.whitelisted", w.clone()));
    }
    if let Some(c) = &a.cert_sha1 {
        e.push(("ev.cert", c.clone()));
    }
    if let Some(sid) = a.sid {
        e.push(("ev.rule", sid.to_string()));
    }
    if let Some(f) = &a.first_seen {
        e.push(("ev.first_seen", f.clone()));
    }
    if !a.flow_ids.is_empty() {
        let ids: Vec<String> = a.flow_ids.iter().map(u64::to_string).collect();
        e.push(("ev.flows", ids.join(", ")));
    }
    e.push(("ev.check", a.check.to_string()));
    e
}

/// Renders `r` as a complete HTML document, in the report's language.
pub fn render(r: &Report) -> String {
    let lang = Lang::get(&r.language).unwrap_or_default();
    let t = |k: &str| escape(lang.t(k));
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n\
         <h1>{}</h1>\n<div class=\"verdict v-{}\">{}</div>\n",
        lang.code(),
        t("html.title"),
        t("html.title"),
        escape(r.verdict.level),
        escape(&r.verdict.summary)
    );
    if r.alerts.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", t("html.no_alert"));
    }
    for a in &r.alerts {
        let l = level_name(a.level);
        let _ = write!(
            h,
            "<section class=\"card l-{l}\"><div class=\"level\">{}</div><h2>{}</h2><p>{}</p><dl>",
            t(&format!("level.{l}")),
            escape(&a.title),
            escape(&a.description)
        );
        for (k, v) in evidence(a) {
            let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", t(k), escape(&v));
        }
        h.push_str("</dl></section>\n");
    }
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th></tr></thead><tbody>",
        t("html.servers"),
        t("html.col.address"),
        t("html.col.names"),
        t("html.col.ports"),
        t("html.col.sent"),
        t("html.col.received"),
        t("html.col.alerts")
    );
    for c in &r.connections {
        let alerts: Vec<String> = c
            .alerts
            .iter()
            .rev()
            .map(|(l, n)| format!("{n} {}", lang.t(&format!("level.{}", level_name(*l)))))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.ip.to_string()),
            escape(&c.names.join(", ")),
            escape(&c.ports.join(", ")),
            c.bytes_up,
            c.bytes_down,
            escape(&alerts.join(", "))
        );
    }
    let _ = write!(
        h,
        "</tbody></table>\n<h2>{}</h2>\n<dl class=\"meta\">",
        t("html.about")
    );
    let cap = &r.capture;
    let mut meta = vec![
        ("meta.capture", cap.file.clone()),
        ("meta.sha256", cap.sha256.clone()),
        ("meta.packets", cap.packets.to_string()),
        (
            "meta.time",
            lang.f(
                "meta.time_range",
                &[
                    ("start", cap.start.as_deref().unwrap_or("?")),
                    ("end", cap.end.as_deref().unwrap_or("?")),
                ],
            ),
        ),
    ];
    if !r.device.names.is_empty() {
        meta.push(("meta.device", r.device.names.join(", ")));
    }
    if !r.device.macs.is_empty() {
        meta.push(("meta.mac", r.device.macs.join(", ")));
    }
    let ind: Vec<String> = r
        .indicators
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    meta.push(("meta.indicators", ind.join(", ")));
    for (k, v) in meta {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", t(k), escape(&v));
    }
    h.push_str("</dl>\n<ul class=\"meta\">");
    for l in &r.limits {
        let _ = write!(h, "<li>{}</li>", escape(l));
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{7}b"), "a\u{fffd}b");
    }
}
