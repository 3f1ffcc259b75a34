"""PCK reports: per-group and per-joint tables for one or several methods.

A *result* is a dict of fractions as returned by :func:`evaluation.pck.pck`
or :func:`evaluation.pck_ccssl.ccssl_pck`: ``per_joint`` (``(K,)`` array or
``{joint: value}``), optionally ``counts`` (``(K,)``), ``mean``, ``groups``,
``auc`` and ``curve`` (``{"alphas", "pck"}``).  Missing group scores are
``sum(pck * count) / sum(count)`` over the group's joints (the plain mean
without counts); a missing mean is the count-weighted (else plain) mean of
the joints.  Reports are in **percent**.

Groups come from the spec; when they are all paper groups they are shown in
the CC-SSL Table 1 order (Eye, Chin, Shoulder, Hip, Elbow, Knee, Hooves), then
Mean.  :func:`write_report` writes ``<stem>.md``, ``.csv``, ``.json`` and
``.png`` (plus ``<stem>_curve.png`` when results carry curves).
"""
from __future__ import annotations

import csv
import json
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    "GROUP_ORDER", "report_groups", "group_label", "method_scores", "report_json",
    "format_table", "markdown_report", "write_csv", "write_json", "plot_bars", "plot_curves", "write_report",
]

#: CC-SSL Table 1 column order of the quadruped groups.
GROUP_ORDER = ("eye", "chin", "shoulder", "hip", "elbow", "knee", "hoof")
_LABELS = {"hoof": "Hooves", "paw": "Paws", "mean": "Mean"}


def _spec(spec):
    if spec is None:
        return None
    from animalpose.keypoints import get_spec
    return get_spec(spec)


def report_groups(spec) -> List[str]:
    """Group names of ``spec`` in display order (paper order when all are paper groups)."""
    s = _spec(spec)
    if s is None or not s.groups:
        return []
    names = list(s.groups)
    if all(g in GROUP_ORDER for g in names):
        return [g for g in GROUP_ORDER if g in names]
    return names


def group_label(name: str) -> str:
    """Column header of a group (``hoof`` -> ``Hooves``, ``eye`` -> ``Eye``)."""
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def _f(v) -> float:
    v = float(v)
    return v if math.isfinite(v) else float("nan")


def method_scores(result: Mapping, spec=None) -> dict:
    """Normalise one result to ``{"mean", "per_joint": {joint: v}, "groups": {group: v}}`` (fractions)."""
    s = _spec(spec)
    pj = result["per_joint"]
    if isinstance(pj, Mapping):
        joints = list(s.joints) if s is not None else list(pj)
        missing = [j for j in joints if j not in pj]
        if missing:
            raise ValueError(f"result has no value for joints {missing[:3]} of spec {s.name}")
        vals = np.array([_f(pj[j]) for j in joints])
    else:
        vals = np.asarray(pj, dtype=np.float64).reshape(-1)
        if s is not None:
            joints = list(s.joints)
        else:
            joints = list(result.get("joints") or [f"joint_{i}" for i in range(vals.size)])
        if len(joints) != vals.size:
            raise ValueError(f"result has {vals.size} per-joint values, spec has {len(joints)} joints")
    counts = result.get("counts")
    c = None if counts is None else np.asarray(counts, dtype=np.float64).reshape(-1)
    if c is not None and c.size != vals.size:
        raise ValueError(f"result has {c.size} counts for {vals.size} joints")

    def pooled(idx):
        v = vals[idx]
        ok = ~np.isnan(v)
        if c is not None:
            w = c[idx] * ok
            return float((np.nan_to_num(v) * w).sum() / w.sum()) if w.sum() > 0 else float("nan")
        return float(v[ok].mean()) if ok.any() else float("nan")

    groups = {}
    given = result.get("groups") or {}
    for g in report_groups(s):
        groups[g] = _f(given[g]) if g in given else pooled(list(s.groups[g]))
    mean = _f(result["mean"]) if result.get("mean") is not None else pooled(list(range(vals.size)))
    return {"mean": mean, "per_joint": dict(zip(joints, vals.tolist())), "groups": groups}


def _pct(v: float) -> Optional[float]:
    return None if v is None or not math.isfinite(v) else 100.0 * v


def _as_methods(methods) -> Dict[str, Mapping]:
    if isinstance(methods, Mapping) and "per_joint" in methods:
        return {"model": methods}
    if not isinstance(methods, Mapping) or not methods:
        raise ValueError("methods must be a non-empty dict {name: result}")
    return dict(methods)


def report_json(methods, spec=None) -> dict:
    """``{"spec", "unit": "percent", "methods": {name: {"mean", "per_joint", "groups"[, "auc", "curve"]}}}``.

    NaN (never evaluated) becomes ``null``.
    """
    s = _spec(spec)
    out = {"spec": s.name if s is not None else None, "unit": "percent", "methods": {}}
    for name, res in _as_methods(methods).items():
        sc = method_scores(res, s)
        m = {"mean": _pct(sc["mean"]),
             "per_joint": {j: _pct(v) for j, v in sc["per_joint"].items()},
             "groups": {g: _pct(v) for g, v in sc["groups"].items()}}
        if res.get("auc") is not None:
            m["auc"] = _pct(_f(res["auc"]))
        if res.get("curve") is not None:
            m["curve"] = {"alphas": [float(a) for a in res["curve"]["alphas"]],
                          "pck": [_pct(_f(v)) for v in res["curve"]["pck"]]}
        out["methods"][name] = m
    return out


def _cell(v: Optional[float], digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _group_rows(methods, spec):
    """Header and rows (method, group values..., mean) in percent."""
    s = _spec(spec)
    groups = report_groups(s)
    header = ["Method"] + [group_label(g) for g in groups] + ["Mean"]
    rows = []
    for name, res in _as_methods(methods).items():
        sc = method_scores(res, s)
        rows.append([name] + [_pct(sc["groups"][g]) for g in groups] + [_pct(sc["mean"])])
    return header, rows


def _joint_rows(methods, spec):
    s = _spec(spec)
    ms = _as_methods(methods)
    scores = {n: method_scores(r, s) for n, r in ms.items()}
    joints = list(next(iter(scores.values()))["per_joint"])
    header = ["Joint"] + list(ms)
    rows = [[j] + [_pct(scores[n]["per_joint"].get(j, float("nan"))) for n in ms] for j in joints]
    return header, rows


def format_table(methods, spec=None, per_joint: bool = False, digits: int = 2) -> str:
    """Aligned terminal table (percent): methods x groups + Mean, and optionally joints x methods."""
    def render(header, rows):
        cells = [header] + [[r[0]] + [_cell(v, digits) for v in r[1:]] for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    text = render(*_group_rows(methods, spec))
    if per_joint:
        text += "\n\n" + render(*_joint_rows(methods, spec))
    return text


def _md(header, rows, digits=2) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join([str(r[0])] + [_cell(v, digits) for v in r[1:]]) + " |" for r in rows]
    return "\n".join(lines)


def markdown_report(methods, spec=None, title: str = "PCK", digits: int = 2) -> str:
    """Markdown: group table (rows = methods) then per-joint table (rows = joints), percent."""
    s = _spec(spec)
    ms = _as_methods(methods)
    parts = [f"# {title}" + (f" ({s.name})" if s is not None else ""), "",
             "Values in percent.", "", _md(*_group_rows(ms, s), digits), "",
             "## Per joint", "", _md(*_joint_rows(ms, s), digits), ""]
    aucs = {n: r.get("auc") for n, r in ms.items() if r.get("auc") is not None}
    if aucs:
        parts += ["## AUC", "", _md(["Method", "AUC"], [[n, _pct(_f(v))] for n, v in aucs.items()], digits), ""]
    return "\n".join(parts)


def write_csv(path: str, methods, spec=None) -> str:
    """One row per method: ``method, mean, group:<g>..., joint:<j>...`` (percent, empty = NaN)."""
    s = _spec(spec)
    ms = _as_methods(methods)
    scores = {n: method_scores(r, s) for n, r in ms.items()}
    first = next(iter(scores.values()))
    groups, joints = list(first["groups"]), list(first["per_joint"])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "mean"] + [f"group:{g}" for g in groups] + [f"joint:{j}" for j in joints])
        for n, sc in scores.items():
            vals = [sc["mean"]] + [sc["groups"][g] for g in groups] + [sc["per_joint"][j] for j in joints]
            w.writerow([n] + ["" if _pct(v) is None else f"{_pct(v):.6f}" for v in vals])
    return path


def write_json(path: str, methods, spec=None) -> str:
    """:func:`report_json` written to ``path``."""
    with open(path, "w") as f:
        json.dump(report_json(methods, spec), f, indent=2)
    return path


def _figure(w, h):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _bars(ax, labels: Sequence[str], series: Dict[str, List[Optional[float]]], ylabel: str):
    n = max(len(series), 1)
    x = np.arange(len(labels))
    width = 0.8 / n
    for i, (name, vals) in enumerate(series.items()):
        v = np.array([np.nan if u is None else u for u in vals], dtype=float)
        ax.bar(x - 0.4 + width * (i + 0.5), np.nan_to_num(v), width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45 if len(labels) > 9 else 0, ha="right" if len(labels) > 9 else "center")
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def plot_bars(path: str, methods, spec=None, title: str = "PCK") -> str:
    """PNG bar chart (percent): groups + mean on top (when the spec has groups), joints below."""
    s = _spec(spec)
    ms = _as_methods(methods)
    scores = {n: method_scores(r, s) for n, r in ms.items()}
    groups = report_groups(s)
    joints = list(next(iter(scores.values()))["per_joint"])
    nrows = 2 if groups else 1
    fig = _figure(max(8, 0.45 * len(joints) * max(1, len(ms)) ** 0.5 + 2), 4 * nrows)
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    if groups:
        _bars(axes[0], [group_label(g) for g in groups] + ["Mean"],
              {n: [_pct(sc["groups"][g]) for g in groups] + [_pct(sc["mean"])] for n, sc in scores.items()},
              f"{title} (%)")
        axes[0].set_title(f"{title} per group" + (f" ({s.name})" if s is not None else ""))
    _bars(axes[-1], joints + ([] if groups else ["mean"]),
          {n: [_pct(sc["per_joint"][j]) for j in joints] + ([] if groups else [_pct(sc["mean"])])
           for n, sc in scores.items()}, f"{title} (%)")
    axes[-1].set_title(f"{title} per joint")
    axes[0].legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_curves(path: str, curves: Mapping[str, Mapping], title: str = "PCK vs threshold",
                xlabel: str = "threshold (fraction of the normaliser)") -> str:
    """PNG of PCK (percent) against threshold; ``curves = {name: {"alphas": (A,), "pck": (A,) fractions}}``."""
    if not curves:
        raise ValueError("plot_curves: no curve given")
    fig = _figure(6, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    for name, c in curves.items():
        ax.plot(np.asarray(c["alphas"], float), 100.0 * np.asarray(c["pck"], float), marker=".", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("PCK (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_report(out_dir: str, methods, spec=None, stem: str = "pck", title: str = "PCK") -> Dict[str, str]:
    """Write ``<stem>.md``, ``.csv``, ``.json``, ``.png`` (and ``<stem>_curve.png``) into ``out_dir``.

    ``methods`` is ``{name: result}`` (a single result is named ``model``).
    Returns ``{"md", "csv", "json", "png"[, "curve_png"]}`` -> path.
    """
    ms = _as_methods(methods)
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, stem)
    paths = {"md": base + ".md", "csv": base + ".csv", "json": base + ".json", "png": base + ".png"}
    with open(paths["md"], "w") as f:
        f.write(markdown_report(ms, spec, title))
    write_csv(paths["csv"], ms, spec)
    write_json(paths["json"], ms, spec)
    plot_bars(paths["png"], ms, spec, title)
    curves = {n: r["curve"] for n, r in ms.items() if r.get("curve") is not None}
    if curves:
        paths["curve_png"] = plot_curves(base + "_curve.png", curves, title=f"{title} vs threshold")
    return paths
