"""A self-contained HTML page of a diagnosed run: what was found, and every figure.

Reads what ``Diagnostics.to_json`` wrote (``gradstep train --diagnose`` writes
``diagnostics/diagnostics.json``); ``gradstep report`` calls it for such a file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from gradstep.diagnostics_plots import TITLES, figure
from gradstep.lab.report import page_head


def is_diagnostics(path) -> bool:
    """Whether ``path`` holds a diagnostics record (rather than a comparison)."""
    try:
        return json.loads(Path(path).read_text()).get("kind") == "diagnostics"
    except (OSError, ValueError, AttributeError):
        return False


def write_report(source, output, title="gradstep diagnostics") -> Path:
    """The findings, a table of each layer's last values, and one figure per quantity."""
    record = json.loads(Path(source).read_text())
    records, every = record["records"], record.get("every")
    findings = record.get("findings", [])
    parts = [
        *page_head(title),
        "<h2>What the numbers say</h2>",
        _findings(findings),
        "<h2>Each layer at the end</h2>",
        _last_values(records),
    ]
    for quantity, caption in TITLES.items():
        if any(r["quantity"] == quantity for r in records):
            parts.append(f"<h2>{html.escape(caption)}</h2>")
            data = _png(figure(records, every, quantity))
            parts.append(f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    output = Path(output)
    output.write_text("\n".join(parts), encoding="utf-8")
    return output


def _findings(findings) -> str:
    if not findings:
        return '<p id="findings">Nothing wrong found.</p>'
    items = "".join(f"<li>{html.escape(finding['text'])}</li>" for finding in findings)
    return f'<ul id="findings">{items}</ul>'


def _last_values(records) -> str:
    last: dict[str, dict[str, float]] = {}
    for record in records:
        last.setdefault(record["layer"], {})[record["quantity"]] = record["value"]
    quantities = [q for q in TITLES if any(q in values for values in last.values())]
    head = "<tr><th>layer</th>" + "".join(f"<th>{html.escape(q)}</th>" for q in quantities)
    rows = "".join(
        f"<tr><td>{html.escape(layer)}</td>"
        + "".join(f"<td>{values[q]:.4g}</td>" if q in values else "<td>-</td>" for q in quantities)
        + "</tr>"
        for layer, values in last.items()
    )
    return f'<table id="layers"><thead>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _png(plot) -> str:
    buffer = io.BytesIO()
    plot.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
