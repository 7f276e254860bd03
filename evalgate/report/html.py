"""report.html: one self-contained page a reviewer can click through.

Everything is inside the file — styles, script, data, pictures — so it opens from a
downloaded artifact with no network. Per suite: the verdict, its interval, and a small SVG
of the anytime-valid interval narrowing over the cases read, with the threshold and the
point where the verdict settled; failing suites first. Below, every case: input, expected,
output, score, explanation, cached or called, latency, tokens — with search and filters
(failed, errored, flipped against the baseline), rendered a page at a time so a
10,000-case report stays responsive.

Model output, inputs and file names are untrusted. They travel as JSON inside a
``<script type="application/json">`` block with every ``<``, ``>`` and ``&`` escaped (so
nothing can close the block), and the page's script only ever sets ``textContent``. A
Content-Security-Policy allows exactly the page's own script (by its hash), so even text
that slipped through as markup could run nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalgate.cases import CaseText
from evalgate.report.cost import Prices, cost_line, suite_costs, tokens
from evalgate.report.table import SLICE_HEADERS, gap_line, headline, percent, slice_rows, urgency
from evalgate.results import CaseResult, variant_label
from evalgate.verdict.gate import SuiteVerdict, interval_trajectory


def report_html(
    verdicts: Sequence[SuiteVerdict],
    results: Sequence[CaseResult],
    tier: str,
    cases: Mapping[tuple[str, str], CaseText] | None = None,
    prices: Mapping[str, Prices] | None = None,
    shard: str | None = None,
) -> str:
    """The whole page."""
    ordered = sorted(verdicts, key=urgency)
    costs = suite_costs(ordered, results, prices)
    flips = _flips(ordered)
    cases = cases or {}
    data = {
        "cases": [_case(result, cases.get((result.suite, result.row_id)), flips) for result in results],
        "suites": [v.suite for v in ordered],
    }
    title = f"evalgate: {headline(ordered, shard)}"
    sections = "\n".join(_suite_section(verdict, cost_line(costs[verdict.suite])) for verdict in ordered)
    script = _SCRIPT
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"
    return _PAGE.format(
        policy=html.escape(policy),
        title=html.escape(title),
        tier=html.escape(tier),
        sections=sections,
        data=_json_for_script(data),
        script=script,
        style=_STYLE,
    )


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` block or open another: ``<``, ``>``, ``&`` and
    the two JavaScript line separators written as JSON unicode escapes (``<`` as ``\\u003c``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _flips(verdicts: Sequence[SuiteVerdict]) -> dict[tuple[str, str], str]:
    flips: dict[tuple[str, str], str] = {}
    for verdict in verdicts:
        if verdict.baseline is not None:
            flips.update({(verdict.suite, case): "now failing" for case in verdict.baseline.worse_cases})
            flips.update({(verdict.suite, case): "now passing" for case in verdict.baseline.better_cases})
        if verdict.consistency is not None:
            flips.update({(verdict.suite, variant_label(flip.case, flip.variant)): "flipped by its variant"
                          for flip in verdict.consistency.flips})
    return flips


def _case(result: CaseResult, text: CaseText | None, flips: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    counted = tokens(result.usage)
    status = "errored" if result.errored else ("passed" if result.passed else "failed")
    return {
        "suite": result.suite,
        "id": result.row_id + (f" #{result.repeat + 1}" if result.repeat else ""),
        "input": text.input if text else None,
        "expected": text.expected if text else None,
        "output": result.output,
        "status": status,
        "score": result.score,
        "why": result.error.message if result.error else result.explanation,
        "cached": result.cached,
        "latency": round(result.latency, 3),
        "tokens": f"{counted[0]} / {counted[1]}" if counted else None,
        "flip": flips.get((result.suite, result.row_id)),
    }


def _suite_section(verdict: SuiteVerdict, cost: str) -> str:
    low, high = verdict.interval
    blocks = " blocks" if verdict.blocks_merge else ""
    where = f" · {html.escape(verdict.file)}" if verdict.file else ""
    return (
        f'<section class="suite {verdict.verdict.lower()}{blocks}">'
        f"<h2><span class=\"badge\">{verdict.verdict}</span> {html.escape(verdict.suite)}"
        f'<small>{where}</small></h2>'
        f"<p>{html.escape(verdict.reason)}</p>"
        f"<p class=\"numbers\">pass rate {percent(verdict.pass_rate)} · interval [{percent(low)}, {percent(high)}] "
        f"({html.escape(verdict.method)}) · threshold {percent(verdict.threshold)} · "
        f"{verdict.counted}/{verdict.population} cases read · {html.escape(cost)}</p>"
        f"{_slices_table(verdict)}{_picture(verdict)}</section>"
    )


def _slices_table(verdict: SuiteVerdict) -> str:
    """The suite's slices, failing first (tags come from data files: escaped)."""
    if not verdict.slices:
        return ""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in SLICE_HEADERS)
    body = "".join(
        f'<tr class="{html.escape(cells[1].replace(" ", "-").lower())}">' + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
        for cells in slice_rows(verdict)
    )
    gap = gap_line(verdict)
    note = f"<p class=\"numbers\">{html.escape(gap)}</p>" if gap else ""
    return f'<table class="slices"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}'



def _picture(verdict: SuiteVerdict, width: int = 480, height: int = 120) -> str:
    """The interval after each prefix as a band, the threshold as a line, and the point
    where the verdict settled."""
    trajectory = interval_trajectory(verdict)
    if not trajectory:
        return ""
    population = max(verdict.population, 1)

    def x(k: float) -> float:
        return 30 + (width - 40) * k / population

    def y(rate: float) -> float:
        return 10 + (height - 30) * (1 - rate)

    upper = " ".join(f"{x(k):.1f},{y(high):.1f}" for k, _, high in trajectory)
    lower = " ".join(f"{x(k):.1f},{y(low):.1f}" for k, low, _ in reversed(trajectory))
    parts = [
        f'<svg class="cs" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="interval narrowing over the cases read">',
        f'<rect x="30" y="10" width="{width - 40}" height="{height - 30}" class="frame"/>',
        f'<polygon points="{upper} {lower}" class="band"/>',
        f'<line x1="30" x2="{width - 10}" y1="{y(verdict.threshold):.1f}" y2="{y(verdict.threshold):.1f}" class="threshold"/>',
        f'<text x="2" y="{y(verdict.threshold) + 4:.1f}" class="label">{percent(verdict.threshold)}</text>',
        f'<text x="30" y="{height - 4}" class="label">0</text>',
        f'<text x="{width - 10}" y="{height - 4}" class="label end">{verdict.population} cases</text>',
    ]
    if verdict.decided_at:
        stop = x(verdict.decided_at)
        parts.append(f'<line x1="{stop:.1f}" x2="{stop:.1f}" y1="10" y2="{height - 20}" class="stop"/>')
        parts.append(f'<text x="{stop + 3:.1f}" y="22" class="label">settled at {verdict.decided_at}</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24}
h1{font-size:20px}h2{font-size:16px;margin:.2em 0}h2 small{color:#57606a;font-weight:normal}
.suite{border-left:4px solid #8c959f;padding:.4em .8em;margin:.8em 0;background:#f6f8fa}
.suite.pass{border-color:#1a7f37}.suite.blocks{border-color:#cf222e}.suite.undecided{border-color:#9a6700}
.badge{font-size:12px;padding:1px 6px;border-radius:8px;background:#d0d7de}
.numbers{color:#57606a}
svg.cs .frame{fill:#fff;stroke:#d0d7de}svg.cs .band{fill:#54aeff;fill-opacity:.45;stroke:#0969da}
svg.cs .threshold{stroke:#cf222e;stroke-dasharray:4 3}svg.cs .stop{stroke:#1b1f24}
svg.cs .label{font-size:10px;fill:#57606a}svg.cs .end{text-anchor:end}
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;display:flex;gap:.5em;align-items:center}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}
td.text{white-space:pre-wrap;word-break:break-word;max-width:28em}
tr.failed td.status{color:#cf222e}tr.errored td.status{color:#9a6700}tr.passed td.status{color:#1a7f37}
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("evalgate-data").textContent);
  var PAGE = 200, shown = PAGE;
  var search = document.getElementById("search"), filter = document.getElementById("filter");
  var suite = document.getElementById("suite"), body = document.getElementById("rows");
  var count = document.getElementById("count"), more = document.getElementById("more");
  data.suites.forEach(function (name) {
    var option = document.createElement("option");
    option.value = name; option.textContent = name; suite.appendChild(option);
  });
  function text(value) { return value === null || value === undefined ? "" : String(value); }
  function matches(c, needle) {
    if (suite.value && c.suite !== suite.value) return false;
    var f = filter.value;
    if (f === "flipped" ? !c.flip : (f && c.status !== f)) return false;
    if (!needle) return true;
    return [c.id, c.input, c.expected, c.output, c.why].some(function (v) {
      return text(v).toLowerCase().indexOf(needle) !== -1;
    });
  }
  function cell(row, value, cls) {
    var td = document.createElement("td");
    td.textContent = text(value);
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function render() {
    var needle = search.value.trim().toLowerCase();
    var hits = data.cases.filter(function (c) { return matches(c, needle); });
    var rows = document.createDocumentFragment();
    hits.slice(0, shown).forEach(function (c) {
      var tr = document.createElement("tr");
      tr.className = c.status;
      cell(tr, c.suite); cell(tr, c.id);
      cell(tr, c.status + (c.flip ? " (" + c.flip + ")" : ""), "status");
      cell(tr, c.input, "text"); cell(tr, c.expected, "text"); cell(tr, c.output, "text");
      cell(tr, c.score); cell(tr, c.why, "text");
      cell(tr, c.cached ? "cached" : "called"); cell(tr, c.latency); cell(tr, c.tokens);
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
    count.textContent = Math.min(shown, hits.length) + " of " + hits.length + " case run(s)";
    more.hidden = hits.length <= shown;
    document.body.dataset.rendered = String(hits.length);
  }
  function again() { shown = PAGE; render(); }
  search.addEventListener("input", again);
  filter.addEventListener("change", again);
  suite.addEventListener("change", again);
  more.addEventListener("click", function () { shown += PAGE; render(); });
  render();
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
<h1>{title}</h1>
<p>Tier: <code>{tier}</code></p>
{sections}
<h2>Cases</h2>
<div id="controls">
<input id="search" type="search" placeholder="search id, input, output…" aria-label="search">
<select id="filter" aria-label="show"><option value="">all</option><option value="failed">failed</option>
<option value="errored">errored</option><option value="flipped">flipped vs baseline</option>
<option value="passed">passed</option></select>
<select id="suite" aria-label="suite"><option value="">every suite</option></select>
<span id="count"></span></div>
<table><thead><tr><th>suite</th><th>case</th><th>status</th><th>input</th><th>expected</th><th>output</th>
<th>score</th><th>why</th><th>source</th><th>latency s</th><th>tokens in / out</th></tr></thead>
<tbody id="rows"></tbody></table>
<button id="more" type="button" hidden>show more</button>
<script type="application/json" id="evalgate-data">{data}</script>
<script>{script}</script>
</body></html>
"""
