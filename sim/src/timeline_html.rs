//! Draws a `Timeline` as one self-contained HTML page (inline SVG, CSS and a little JS; nothing
//! fetched): a time axis, one `<g class="lane" data-node=…>` per node with its state spans, fault
//! bands (`rect.fault.<kind>`), markers (`g.marker`; `g.marker.failover` for `+switch-master`)
//! and write bars (`g.writes`); each failover also as a line across every lane
//! (`g.failover-line`); a legend that hides fault kinds, a cursor with the time under the
//! pointer, and the trace below. Every element carries its text in a `<title>` (tooltip).

use crate::check::secs;
use crate::timeline::{Lane, Marker, Span, Timeline};
use std::fmt::Write;

const LABEL_W: f64 = 110.0;
const PLOT_W: f64 = 1100.0;
const RIGHT_PAD: f64 = 30.0;
const AXIS_H: f64 = 30.0;
const LANE_H: f64 = 44.0;
const STATE_Y: f64 = 4.0;
const STATE_H: f64 = 14.0;
const WRITES_Y: f64 = 20.0;
const WRITES_H: f64 = 11.0;
/// Narrowest drawn band (a clock jump is a moment).
const MIN_BAND_W: f64 = 3.0;
/// Width of one character of a fault's name written along its band.
const BAND_LABEL_CHAR_W: f64 = 6.5;
/// Trace lines embedded in the page at most.
const MAX_TRACE_LINES: usize = 20_000;
/// Fault kinds in the legend.
const FAULTS: [&str; 6] = [
    "crash",
    "kill",
    "partition",
    "pause",
    "clock-jump",
    "disk-fail",
];

const STYLE: &str = r#"
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:17px;margin:0 0 4px} .meta{margin:2px 0;color:#444}
.pass{color:#1a7f37} .fail{color:#c62828;font-weight:bold}
#legend{margin:8px 0;display:flex;flex-wrap:wrap;gap:12px;align-items:center}
#legend .sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:3px;border:1px solid #888}
#readout,#info,#stats{font-family:ui-monospace,monospace;color:#333;min-height:1.2em}
svg text{font:11px ui-monospace,monospace;fill:#222}
.grid{stroke:#e4e4e4} .axis text{fill:#666}
.lane-bg{fill:#fafafa} .lane:nth-child(even) .lane-bg{fill:#f2f2f2}
.state.master{fill:#1f6fd1} .state.replica{fill:#79b6ee} .state.replica-down{fill:#c3dbf3}
.state.down{fill:#3a3a3a} .state.up{fill:#c8c8c8}
.state.link-up{fill:#6dbb6d} .state.link-down{fill:#dedede} .state.refused{fill:#f0a640} .state.stopped{fill:#f4f4f4}
.state.watching{fill:#c7b2e8} .state.sdown{fill:#f2c462} .state.odown{fill:#e7822f}
.state.failover{fill:#d8433f} .state.tilt{fill:#8d8d8d}
.fault{fill-opacity:.4;stroke-width:1.2;stroke-opacity:.9}
.fault.crash{fill:#e53935;stroke:#b71c1c} .fault.kill{fill:#8e24aa;stroke:#4a148c}
.fault.partition{fill:#fb8c00;stroke:#e65100} .fault.pause{fill:#00897b;stroke:#004d40}
.fault.clock-jump{fill:#fdd835;stroke:#f57f17;fill-opacity:.9} .fault.disk-fail{fill:#6d4c41;stroke:#3e2723}
.writes .acked{fill:#9ccc9c} .writes .lost{fill:#d32f2f}
.marker path{stroke:#222;stroke-width:.6} .marker.down path{fill:#e53935} .marker.up path{fill:#43a047}
.marker.step path{fill:#7e57c2} .marker.action path{fill:#fff;stroke:#1f6fd1;stroke-width:1.5}
.marker.failover path{fill:#ffd600;stroke:#b71c1c;stroke-width:1.5}
g.failover-line line{stroke:#c62828;stroke-width:2;stroke-dasharray:6 3} g.failover-line text{fill:#c62828;font-weight:bold}
.band-label{font-size:10px;fill:#5a1010;pointer-events:none}
#cursor{stroke:#000;stroke-opacity:.35;pointer-events:none}
svg.hide-crash .fault.crash,svg.hide-kill .fault.kill,svg.hide-partition .fault.partition,
svg.hide-pause .fault.pause,svg.hide-clock-jump .fault.clock-jump,svg.hide-disk-fail .fault.disk-fail{display:none}
pre#trace{max-height:420px;overflow:auto;background:#f7f7f7;padding:8px;border:1px solid #ddd}
"#;

const SCRIPT: &str = r#"
(function(){
  var svg=document.getElementById('timeline');
  var x0=+svg.dataset.plotX, w=+svg.dataset.plotW, end=+svg.dataset.endMs;
  var cursor=document.getElementById('cursor'), readout=document.getElementById('readout');
  var info=document.getElementById('info');
  svg.addEventListener('mousemove',function(e){
    var p=svg.createSVGPoint(); p.x=e.clientX; p.y=e.clientY;
    var q=p.matrixTransform(svg.getScreenCTM().inverse()), t=(q.x-x0)/w*end;
    if(t<0||t>end){cursor.setAttribute('visibility','hidden');return;}
    cursor.setAttribute('x1',q.x); cursor.setAttribute('x2',q.x);
    cursor.setAttribute('visibility','visible');
    readout.textContent='t = '+(t/1000).toFixed(3)+'s';
  });
  svg.addEventListener('click',function(e){
    var el=e.target.closest('rect,g.marker,g.failover-line');
    var title=el&&el.querySelector('title');
    if(title) info.textContent=title.textContent;
  });
  document.querySelectorAll('#legend input').forEach(function(i){
    i.addEventListener('change',function(){svg.classList.toggle('hide-'+i.value,!i.checked);});
  });
  function n(s){return svg.querySelectorAll(s).length;}
  document.getElementById('stats').textContent=n('g.lane')+' lanes, '+n('rect.fault')+
    ' fault bands, '+n('g.marker')+' markers, '+n('g.marker.failover')+' failovers';
  svg.dataset.rendered='yes';
})();
"#;

/// The page for `t`.
pub fn render(t: &Timeline) -> String {
    let height = AXIS_H + LANE_H * t.lanes.len() as f64 + 8.0;
    let width = LABEL_W + PLOT_W + RIGHT_PAD;
    let verdict_class = if t.verdict == "PASS" { "pass" } else { "fail" };
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>redsim timeline: {title} (seed {seed})</title><style>{STYLE}</style></head>\n<body>\n\
         <h1>{title}</h1>\n<p class=\"meta\">seed {seed} &middot; <span id=\"verdict\" class=\"{verdict_class}\">{verdict}</span></p>\n\
         <p class=\"meta\" id=\"summary\">{summary}</p>\n",
        title = esc(&t.title),
        seed = t.seed,
        verdict = esc(&t.verdict),
        summary = esc(&t.summary),
    );
    legend(&mut h);
    let _ = write!(
        h,
        "<div id=\"stats\"></div><div id=\"readout\">move the pointer over the picture; click an element for its details</div>\
         <div id=\"info\"></div>\n\
         <svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" data-plot-x=\"{LABEL_W}\" data-plot-w=\"{PLOT_W}\" data-end-ms=\"{end}\" \
         data-bucket-ms=\"{bucket}\">\n",
        end = t.end_ms,
        bucket = t.bucket_ms,
    );
    axis(&mut h, t, height);
    let max_writes = t
        .lanes
        .iter()
        .flat_map(|l| l.acked.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    h.push_str("<g class=\"lanes\">\n");
    for (i, lane) in t.lanes.iter().enumerate() {
        draw_lane(&mut h, t, lane, AXIS_H + LANE_H * i as f64, max_writes);
    }
    h.push_str("</g>\n<g class=\"failovers\">\n");
    for f in &t.failovers {
        let x = x_of(t, f.at_ms);
        let _ = writeln!(
            h,
            "<g class=\"failover-line\" data-node=\"{node}\" data-at-ms=\"{at}\"><title>{title}</title>\
             <line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y1}\" y2=\"{height}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty}\">failover</text></g>",
            node = esc(&f.node),
            at = f.at_ms,
            title = esc(&format!("{} {}: {}", secs(f.at_ms), f.node, f.label)),
            y1 = AXIS_H - 12.0,
            tx = x + 3.0,
            ty = AXIS_H - 3.0,
        );
    }
    let _ = write!(
        h,
        "</g>\n<line id=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{AXIS_H}\" y2=\"{height}\" visibility=\"hidden\"/>\n</svg>\n"
    );
    if t.markers_left_out > 0 {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{} more events not drawn</p>",
            t.markers_left_out
        );
    }
    let lines: Vec<&str> = t.trace.lines().collect();
    let shown = &lines[..lines.len().min(MAX_TRACE_LINES)];
    let _ = write!(
        h,
        "<details><summary>trace ({} lines{})</summary><pre id=\"trace\">{}</pre></details>\n\
         <script>{SCRIPT}</script>\n</body></html>\n",
        lines.len(),
        if shown.len() < lines.len() {
            format!(", first {} shown", shown.len())
        } else {
            String::new()
        },
        esc(&shown.join("\n")),
    );
    h
}

fn legend(h: &mut String) {
    h.push_str("<div id=\"legend\"><span>faults:</span>");
    for f in FAULTS {
        let _ = write!(
            h,
            "<label><input type=\"checkbox\" value=\"{f}\" checked><svg width=\"12\" height=\"12\">\
             <rect class=\"swatch fault {f}\" width=\"12\" height=\"12\"/></svg> {f}</label>"
        );
    }
    h.push_str("<span>states:</span>");
    for (class, what) in [
        ("master", "master"),
        ("replica", "replica"),
        ("replica-down", "replica, link down"),
        ("down", "down"),
        ("up", "up, role not traced"),
        ("link-up", "client connected"),
        ("refused", "writes refused"),
        ("watching", "sentinel monitoring"),
        ("sdown", "+sdown"),
        ("odown", "+odown"),
        ("failover", "failing over"),
    ] {
        let _ = write!(
            h,
            "<span><svg width=\"12\" height=\"12\"><rect class=\"swatch state {class}\" width=\"12\" height=\"12\"/></svg> {what}</span>"
        );
    }
    h.push_str(
        "<span><svg width=\"12\" height=\"12\"><rect class=\"lost\" style=\"fill:#d32f2f\" width=\"12\" height=\"12\"/></svg> lost writes \
         (bars: acknowledged writes per bucket)</span></div>\n",
    );
}

fn axis(h: &mut String, t: &Timeline, height: f64) {
    let step = [
        100u64, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 300_000,
    ]
    .into_iter()
    .find(|s| t.end_ms / s <= 12)
    .unwrap_or(t.end_ms / 12 + 1);
    h.push_str("<g class=\"axis\">");
    for at in (0..=t.end_ms).step_by(step as usize) {
        let x = x_of(t, at);
        let _ = write!(
            h,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y:.1}\" y2=\"{height}\"/>\
             <text x=\"{x:.1}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
            y = AXIS_H - 4.0,
            ty = AXIS_H - 16.0,
            label = format_args!("{}s", at as f64 / 1000.0),
        );
    }
    h.push_str("</g>\n");
}

/// A lane: fault bands behind its state bar, write bars under it, fault names along the bottom
/// (skipping those with no room), markers on top.
fn draw_lane(h: &mut String, t: &Timeline, lane: &Lane, y: f64, max_writes: u32) {
    let _ = write!(
        h,
        "<g class=\"lane\" data-node=\"{node}\" data-kind=\"{kind}\" transform=\"translate(0,{y})\">\
         <rect class=\"lane-bg\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{LANE_H}\"/>\
         <text class=\"lane-label\" x=\"6\" y=\"{ly}\">{node}</text>\
         <text x=\"6\" y=\"{ky}\" style=\"fill:#888\">{kind}</text>\n<g class=\"faults\">",
        node = esc(&lane.node),
        kind = lane.kind.word(),
        w = LABEL_W + PLOT_W,
        ly = STATE_Y + 11.0,
        ky = WRITES_Y + 10.0,
    );
    for f in &lane.faults {
        span_rect(h, t, f, "fault", 1.0, LANE_H - 2.0, MIN_BAND_W);
    }
    h.push_str("</g>\n<g class=\"states\">");
    for s in &lane.states {
        span_rect(h, t, s, "state", STATE_Y, STATE_H, 0.0);
    }
    h.push_str("</g>\n<g class=\"writes\">");
    for (i, (&acked, &lost)) in lane.acked.iter().zip(&lane.lost).enumerate() {
        if acked == 0 {
            continue;
        }
        let from = i as u64 * t.bucket_ms;
        let (x, w) = (x_of(t, from), PLOT_W * t.bucket_ms as f64 / t.end_ms as f64);
        let title = format!(
            "{}..{}: {acked} acknowledged writes, {lost} lost",
            secs(from),
            secs(from + t.bucket_ms)
        );
        for (class, n) in [("acked", acked), ("lost", lost)] {
            if n == 0 {
                continue;
            }
            let bh = (WRITES_H * n as f64 / max_writes as f64).max(1.0);
            let _ = write!(
                h,
                "<rect class=\"{class}\" data-from-ms=\"{from}\" data-count=\"{n}\" x=\"{x:.1}\" y=\"{by:.1}\" \
                 width=\"{bw:.1}\" height=\"{bh:.1}\"><title>{title}</title></rect>",
                by = WRITES_Y + WRITES_H - bh,
                bw = (w - 0.5).max(0.5),
            );
        }
    }
    h.push_str("</g>\n<g class=\"band-labels\">");
    let mut free_x = 0.0;
    for f in &lane.faults {
        let (from, to) = (x_of(t, f.from_ms), x_of(t, f.to_ms));
        let x = (from + 3.0).max(free_x);
        let text_w = BAND_LABEL_CHAR_W * f.class.len() as f64;
        if x + text_w <= to {
            let _ = write!(
                h,
                "<text class=\"band-label\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
                LANE_H - 3.0,
                f.class
            );
            free_x = x + text_w + 4.0;
        }
    }
    h.push_str("</g>\n<g class=\"markers\">");
    for m in &lane.markers {
        marker(h, t, m);
    }
    h.push_str("</g></g>\n");
}

fn span_rect(h: &mut String, t: &Timeline, s: &Span, kind: &str, y: f64, height: f64, min_w: f64) {
    let x = x_of(t, s.from_ms);
    let w = (x_of(t, s.to_ms) - x).max(min_w);
    let x = if s.to_ms == s.from_ms { x - w / 2.0 } else { x };
    let title = format!("{}..{} {}", secs(s.from_ms), secs(s.to_ms), s.label);
    let _ = write!(
        h,
        "<rect class=\"{kind} {class}\" data-from-ms=\"{from}\" data-to-ms=\"{to}\" x=\"{x:.1}\" y=\"{y}\" \
         width=\"{w:.1}\" height=\"{height}\"><title>{title}</title></rect>",
        class = s.class,
        from = s.from_ms,
        to = s.to_ms,
        title = esc(&title),
    );
}

fn marker(h: &mut String, t: &Timeline, m: &Marker) {
    let (x, y) = (x_of(t, m.at_ms), STATE_Y + STATE_H / 2.0);
    // Failovers are large stars; other events small diamonds or triangles.
    let path = match m.class {
        "failover" => star(x, y, 9.0),
        "down" => format!(
            "M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z",
            y + 6.0,
            x - 5.0,
            y - 5.0,
            x + 5.0,
            y - 5.0
        ),
        "up" => format!(
            "M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z",
            y - 6.0,
            x - 5.0,
            y + 5.0,
            x + 5.0,
            y + 5.0
        ),
        _ => format!(
            "M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z",
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0
        ),
    };
    let _ = write!(
        h,
        "<g class=\"marker {class}\" data-event=\"{event}\" data-at-ms=\"{at}\"><title>{title}</title><path d=\"{path}\"/></g>",
        class = m.class,
        event = esc(&m.event),
        at = m.at_ms,
        title = esc(&format!("{} {}: {}", secs(m.at_ms), m.node, m.label)),
    );
}

/// A five-pointed star around (x, y).
fn star(x: f64, y: f64, r: f64) -> String {
    let mut d = String::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { r * 0.45 };
        let a = std::f64::consts::PI * (i as f64 / 5.0 - 0.5);
        let _ = write!(
            d,
            "{}{:.1},{:.1}",
            if i == 0 { 'M' } else { 'L' },
            x + radius * a.cos(),
            y + radius * a.sin()
        );
    }
    d.push('Z');
    d
}

fn x_of(t: &Timeline, at_ms: u64) -> f64 {
    LABEL_W + PLOT_W * at_ms.min(t.end_ms) as f64 / t.end_ms as f64
}

/// Text made safe for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
