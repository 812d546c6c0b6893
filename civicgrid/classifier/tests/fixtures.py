"""A small labelled set (36 rows, 3 labels) written as a CSV on demand: fast to train on."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

TOPICS = {
    "交通运输": (
        ["公交车", "红绿灯", "停车位", "道路拥堵", "出租车", "地铁站"],
        ["线路太少等车很久", "路口没有信号灯很危险", "乱停车堵住路口", "早晚高峰堵车严重"],
    ),
    "教育文体": (
        ["学校", "幼儿园", "老师", "学生", "学费", "体育馆"],
        ["乱收补课费用", "入学报名太难", "课后作业太多", "学位不够孩子没法上学"],
    ),
    "环境保护": (
        ["工厂", "噪音", "污水", "烟尘", "垃圾焚烧", "河道"],
        ["排放刺鼻废气", "夜间施工噪音扰民", "污水直排河里发臭", "粉尘污染严重"],
    ),
}


def rows(per_label: int = 12) -> list[dict]:
    """`per_label` messages per label, titles and details built from the topic's words."""
    out = []
    for label, (subjects, problems) in TOPICS.items():
        pairs = itertools.islice(itertools.cycle(itertools.product(subjects, problems)), per_label)
        for i, (subject, problem) in enumerate(pairs):
            out.append(
                {
                    "留言主题": f"A{i % 5}区{subject}{problem}",
                    "留言详情": f"\n\t\t\u3000我家附近的{subject}{problem}，电话138****{1000 + i}，"
                    f"请有关部门尽快处理{subject}的问题。\n\t",
                    "一级标签": label,
                }
            )
    return out


def write_csv(path: Path, data: list[dict] | None = None, columns: list[str] | None = None) -> Path:
    data = rows() if data is None else data
    columns = columns or ["留言主题", "留言详情", "一级标签"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(data)
    return path
