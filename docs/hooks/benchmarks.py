"""Renders the benchmark tables of the docs from the committed result files.

A page asks for a table with a marker on a line of its own:

    <!-- results: small_data_defaults -->

and this mkdocs hook replaces it, on every build, with the table of
`benchmarks/results/small_data_defaults.json` and one line naming the machine, the versions,
the command and the date. A marker may name a glob and say what to print when no file matches
yet (a benchmark not run so far):

    <!-- results: color_quality* | python benchmarks/color_quality.py -->

A result file holds `columns` (`key` and `label` of each) and `rows` (one object per row, keyed
by column; `"bold": [keys]` stresses those cells of the row), or, for a benchmark that writes its
own JSON, a list of row objects or one object of scalars; plus `machine`, `versions`, `command`,
`date` and optionally `title` and `notes`.

`<!-- figures: assets/color/*.png -->` shows every image that matches (none yet: nothing).
The examples' flags are rendered the same way from their source: `<!-- flags: examples/generate.py -->`.

Run it by hand to print every table: `python docs/hooks/benchmarks.py [NAME ...]`.
"""

import ast
import glob
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(REPO, "benchmarks", "results")
FIGURES_MARKER = re.compile(r"^<!-- figures: *(\S+) *-->$", re.MULTILINE)
FLAGS_MARKER = re.compile(r"^<!-- flags: *(\S+\.py) *-->$", re.MULTILINE)
MARKER = re.compile(r"^<!-- results: *([^|>]+?) *(?:\| *(.+?) *)?-->$", re.MULTILINE)


def _cell(value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _columns_and_rows(result):
    """The table of a result file, whichever of the accepted shapes it has."""
    if isinstance(result, list):
        rows = result
    elif "rows" in result:
        rows = result["rows"]
    else:
        rows = [{k: v for k, v in result.items() if not isinstance(v, (dict, list))}]
    if isinstance(result, dict) and "columns" in result:
        columns = [(c["key"], c["label"]) for c in result["columns"]]
    else:
        keys = []
        for row in rows:
            keys += [k for k, v in row.items() if k not in keys and not isinstance(v, (dict, list))]
        columns = [(k, k) for k in keys if k not in ("machine", "versions", "command", "date")]
    return columns, rows


def _fmt(value, digits=1):
    return f"{value:.{digits}f}" if isinstance(value, float) else ("" if value is None else str(value))


def _agreement_column(rows) -> list:
    """The group-agreement column, when a conditional run (or the real images) has one."""
    if any("group_agreement" in row for row in rows):
        return [{"key": "group_agreement", "label": "group agreement"}]
    return []


def _percent(value) -> str:
    return "" if value is None else f"{value:.1%}"


def color_quality_tables(result: dict, name: str) -> list:
    """`benchmarks/color_quality.py`'s own JSON (a header, `calibration`, `runs`) as result tables."""
    base = {"machine": result.get("machine") or result.get("cpu") or "not recorded",
            "versions": result.get("versions") or "not recorded",
            "date": result.get("date") or result.get("started") or "not recorded"}
    judge = result.get("judge", {})
    size = result.get("image_size", "?")
    tables = [dict(base, title=f"The judge's scale: real images and damaged copies ({size} px)",
                   command="python benchmarks/color_quality.py --calibrate_only",
                   notes=f"judge-FID of {result.get('num_samples', '?')} images in the features of "
                         f"`{judge.get('file', 'the judge')}` (held-out accuracy "
                         f"{judge.get('held_out_accuracy', '?')}); data: {judge.get('trained_on', '')}",
                   columns=[{"key": "images", "label": "images"}, {"key": "fid", "label": "judge-FID"},
                            {"key": "subgroups", "label": "subgroups"},
                            {"key": "duplicate_rate", "label": "duplicate rate"}]
                           + _agreement_column(result.get("calibration", {}).values()),
                   rows=[{"images": k, "fid": _fmt(v.get("fid")), "subgroups": _fmt(v.get("subgroups")),
                          "duplicate_rate": _fmt(v.get("duplicate_rate"), 3),
                          "group_agreement": _percent(v.get("group_agreement"))}
                         for k, v in result.get("calibration", {}).items()])]
    runs = list(result.get("runs", {}).values())
    if runs:
        rows = []
        for r in runs:
            final = r.get("final") or {}
            best = min(r.get("curve") or [final], key=lambda c: c.get("fid", float("inf")))
            rows.append({"recipe": r.get("recipe"), "seed": r.get("seed"), "fid": _fmt(final.get("fid")),
                         "fid_raw": _fmt(final.get("fid_raw", final.get("fid"))),
                         "best": f"{_fmt(best.get('fid'))} ({_fmt(best.get('seconds'), 0)} s)",
                         "subgroups": _fmt(final.get("subgroups")),
                         "duplicate_rate": _fmt(final.get("duplicate_rate"), 3),
                         "group_agreement": _percent(final.get("group_agreement")),
                         "seconds": _fmt(final.get("seconds"), 0), "steps": _fmt(final.get("steps")),
                         "steps_per_s": _fmt(r.get("steps_per_s")),
                         **{k: _fmt(v) for k, v in final.items() if k.startswith("fid_ema")}})
        labels = {"recipe": "recipe", "seed": "seed", "fid": "final judge-FID", "fid_raw": "raw-weight FID",
                  "best": "best FID (at s)", "subgroups": "subgroups", "duplicate_rate": "dup rate",
                  "seconds": "train s", "steps": "steps", "steps_per_s": "steps/s"}
        commands = sorted({r.get("command") for r in runs if r.get("command")})
        columns = [{"key": k, "label": v} for k, v in labels.items()]
        columns[7:7] = _agreement_column(r.get("final") or {} for r in runs)
        extra = sorted({k for r in runs for k in (r.get("final") or {}) if k.startswith("fid_ema")})
        columns[4:4] = [{"key": k, "label": f"FID, EMA {k[7:]}"} for k in extra]  # --extra_ema
        tables.append(dict(base, title=f"Recipes at {size} px, {_fmt(result.get('budget_s'), 0)} training s each",
                           command="; ".join(commands) or "python benchmarks/color_quality.py",
                           columns=columns, rows=rows))
    return tables


def render(result: dict, name: str) -> str:
    """One result file as Markdown: its provenance line, its table and its notes."""
    if isinstance(result, dict) and "calibration" in result and "rows" not in result:
        return "\n\n".join(render(table, name) for table in color_quality_tables(result, name))
    meta = result if isinstance(result, dict) else {}
    missing = [k for k in ("machine", "versions", "command", "date") if not meta.get(k)]
    if missing:
        raise ValueError(f"benchmarks/results/{name}.json has no {', '.join(missing)}; "
                         "every result file names its machine, versions, command and date.")
    columns, rows = _columns_and_rows(result)
    lines = []
    if meta.get("title"):
        lines += [f"**{meta['title']}**", ""]
    lines += [f"<small>Measured on {meta['machine']}; {meta['versions']}; {meta['date']}; "
              f"`{meta['command']}` (from `benchmarks/results/{name}.json`)</small>", ""]
    lines.append("| " + " | ".join(_cell(label) for _, label in columns) + " |")
    lines.append("| " + " | ".join("---" for _ in columns) + " |")
    for row in rows:
        bold = row.get("bold", [])  # the cells to stress, by key
        cells = [f"**{_cell(row.get(key, ''))}**" if key in bold and row.get(key, "") != ""
                 else _cell(row.get(key, "")) for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if meta.get("notes"):
        notes = meta["notes"].replace("<", "&lt;").replace(">", "&gt;")
        lines += ["", f"<small>{notes}</small>"]
    return "\n".join(lines)


def render_marker(pattern: str, missing_help: str | None) -> str:
    paths = sorted(glob.glob(os.path.join(RESULTS, pattern + ".json")))
    if not paths:
        if missing_help:
            return (f"!!! note \"No results yet\"\n    No `benchmarks/results/{pattern}.json` is "
                    f"committed yet. Run the benchmark to make it:\n\n    ```bash\n    {missing_help}\n    ```")
        raise FileNotFoundError(f"A docs page asks for benchmarks/results/{pattern}.json, which does "
                                f"not exist (files there: {', '.join(sorted(os.listdir(RESULTS)))}).")
    parts = []
    for path in paths:
        with open(path) as f:
            parts.append(render(json.load(f), os.path.basename(path)[:-5]))
    return "\n\n".join(parts)


def render_flags(script: str) -> str:
    """The absl flags an example defines (`flags.DEFINE_*` calls), as a table read from its source."""
    with open(os.path.join(REPO, script)) as f:
        tree = ast.parse(f.read())
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for node in sorted(ast.walk(tree), key=lambda n: getattr(n, "lineno", 0)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("DEFINE_") and len(node.args) >= 3):
            continue
        kind = node.func.attr[len("DEFINE_"):]
        name, default = ast.literal_eval(node.args[0]), node.args[1]
        try:
            value = ast.literal_eval(default)
            shown = "none" if value is None else repr(value) if isinstance(value, str) else str(value)
        except ValueError:
            shown = ast.unparse(default)
        helptext = node.args[3] if kind == "enum" else node.args[2]
        try:
            helptext = ast.literal_eval(helptext)
        except ValueError:  # computed: its first literal part, and where the rest is
            first = next((n.value for n in ast.walk(helptext)
                          if isinstance(n, ast.Constant) and isinstance(n.value, str)), "")
            helptext = f"{first.rstrip(': ')} (the rest: `python {script} --help`)."
        helptext = helptext.replace("<", "&lt;").replace(">", "&gt;")
        if kind == "enum":
            try:
                choices = ", ".join(f"`{v}`" for v in ast.literal_eval(node.args[2]))
            except ValueError:
                choices = f"`{ast.unparse(node.args[2])}`"
            helptext += f" One of: {choices}."
        lines.append(f"| `--{name}` | `{shown}` | {_cell(helptext)} |")
    return "\n".join(lines)


def render_figures(pattern: str, docs_dir: str, page_dir: str) -> str:
    """Every image matching `pattern` (relative to docs/), or nothing while there is none."""
    paths = sorted(glob.glob(os.path.join(docs_dir, pattern)))
    return "\n\n".join(f"![{os.path.splitext(os.path.basename(p))[0]}]"
                        f"({os.path.relpath(p, os.path.join(docs_dir, page_dir)).replace(os.sep, '/')})"
                        for p in paths)


def on_page_markdown(markdown, page, config, files):  # the mkdocs hook
    page_dir = os.path.dirname(page.file.src_uri)
    markdown = FIGURES_MARKER.sub(lambda m: render_figures(m.group(1), config["docs_dir"], page_dir), markdown)
    markdown = FLAGS_MARKER.sub(lambda m: render_flags(m.group(1)), markdown)
    return MARKER.sub(lambda m: render_marker(m.group(1), m.group(2)), markdown)


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p[:-5] for p in os.listdir(RESULTS) if p.endswith(".json"))
    for name in names:
        print(render_marker(name, None), end="\n\n")
