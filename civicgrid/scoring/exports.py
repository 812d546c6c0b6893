"""Scorecards as an Excel workbook in the layout of a monthly bulletin (通报).

Sheet 1 (通报): title, period and rules, the overall rates, the ranking table (rank, name,
cases, rates, component scores, bonus, deduction, total, change), then the red list (红榜)
and the black list (黑榜). Sheet 2 (明细): every count behind the figures.
"""

from __future__ import annotations

import io

from civicgrid.scoring.models import MEASURES

RATE_COLUMNS = (
    ("response_rate", "响应率"),
    ("resolution_rate", "解决率"),
    ("satisfaction_rate", "满意率"),
)
METRIC_NAMES = {
    "response_rate": "响应率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
    "on_time_acceptance": "按时签收率",
    "first_contact": "首次联系率",
    "resolved_on_time": "按期办结率",
    "return_rate": "回退率",
    "redo_rate": "重办率",
}
MEASURE_NAMES = {
    "total": "诉求总量",
    "invalid": "核减",
    "merged": "合并",
    "proactive": "主动治理",
    "proactive_resolved": "主动治理办结",
    "scored": "考核件",
    "response_due": "应响应",
    "responded_on_time": "按时响应",
    "resolve_due": "应办结",
    "resolved": "已办结",
    "resolved_on_time": "按期办结",
    "called_back": "已回访",
    "contacted": "已联系",
    "rated": "有效评价",
    "solved": "解决",
    "partly": "部分解决",
    "not_solved": "未解决",
    "satisfied": "满意",
    "basic": "基本满意",
    "dissatisfied": "不满意",
    "returned": "退单件",
    "returns": "退单次数",
    "returns_unjustified": "无效退单",
    "reopened": "重办件",
    "co_replied": "协办已回复",
}


def _fill(colour: str):
    from openpyxl.styles import PatternFill

    return PatternFill("solid", start_color=colour, end_color=colour)


GOOD, FAIR, BAD, HEAD = "C6EFCE", "FFEB9C", "FFC7CE", "DDEBF7"


def scorecard_workbook(
    card: dict, *, title: str, preset_label: str, subject_label: str, note: str = ""
) -> bytes:
    """The bulletin workbook of one scorecard (a `scorecards.compute` result or a published
    scorecard's stored rows in the same shape)."""
    from django.conf import settings
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    good, fair = settings.SCORING_RATE_GOOD, settings.SCORING_RATE_FAIR
    rows = card["rows"]
    components = list(card.get("components", []))
    wb = Workbook()
    ws = wb.active
    ws.title = "通报"
    headers = (
        ["排名", subject_label, "考核件"]
        + [name for _m, name in RATE_COLUMNS]
        + [f"{METRIC_NAMES.get(c, c)}得分" for c in components]
        + ["加分", "扣分", "总分", "上期总分", "环比"]
    )
    width = len(headers)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    period = card["period"]
    ws.append([f"统计周期：{period['start']} 至 {period['end']}　评分规则：{preset_label}"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    if note:
        ws.append([note])
        ws.merge_cells(start_row=3, start_column=1, end_row=3, end_column=width)
    overall = card.get("overall", {})
    rates = overall.get("rates", {})
    counts = overall.get("counts", {})
    ws.append(
        [
            "总体",
            f"诉求 {int(counts.get('total', 0))} 件，考核 {int(counts.get('scored', 0))} 件，"
            f"核减 {int(counts.get('invalid', 0))} 件",
        ]
        + [_pct(rates.get(m)) for m, _n in RATE_COLUMNS]
    )
    ws.append([])
    ws.append(headers)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = _fill(HEAD)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    red, black = set(card.get("red", [])), set(card.get("black", []))
    for r in rows:
        line = (
            [r["rank"] if r["rank"] is not None else "—", r["name"], r["counts"]["scored"]]
            + [_pct(r["rates"].get(m)) for m, _n in RATE_COLUMNS]
            + [r["scores"].get(c) for c in components]
            + [r["bonus"], r["deduction"], r["total"], r.get("previous_total"), r.get("change")]
        )
        ws.append(line)
        row = ws.max_row
        for i, (m, _n) in enumerate(RATE_COLUMNS):
            rate = r["rates"].get(m)
            if rate is not None:
                colour = GOOD if rate >= good else FAIR if rate >= fair else BAD
                ws.cell(row=row, column=4 + i).fill = _fill(colour)
        if r["id"] in red:
            ws.cell(row=row, column=2).fill = _fill(GOOD)
        elif r["id"] in black:
            ws.cell(row=row, column=2).fill = _fill(BAD)
    by_id = {r["id"]: r for r in rows}
    for heading, ids, colour in (
        ("红榜（前列）", card.get("red", []), GOOD),
        ("黑榜（末位）", card.get("black", []), BAD),
    ):
        ws.append([])
        ws.append([heading])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=1).fill = _fill(colour)
        if not ids:
            ws.append(["—"])
        for pk in ids:
            r = by_id.get(pk)
            if r is not None:
                ws.append([r["rank"], r["name"], r["total"]])
    for i in range(1, width + 1):
        ws.column_dimensions[get_column_letter(i)].width = 22 if i == 2 else 11
    detail = wb.create_sheet("明细")
    detail.append([subject_label, *[MEASURE_NAMES.get(m, m) for m in MEASURES]])
    for cell in detail[1]:
        cell.font = Font(bold=True)
        cell.fill = _fill(HEAD)
    for r in rows:
        detail.append([r["name"], *[r["counts"].get(m, 0) for m in MEASURES]])
    detail.column_dimensions["A"].width = 22
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _pct(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def filename(card: dict) -> str:
    return f"scorecard-{card['subject']}-{card['period']['start']}-{card['period']['end']}.xlsx"
