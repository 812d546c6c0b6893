"""Which unit answered a message -> its first-level label: the table behind distant labels.

The message board's answered messages (attachment 4, `答复意见`) usually name the body that
handled them (`A7县教育局`, `经市住建局调查`, `已转县人社局`). The platform itself works the same
way: the unit that closed a case says what kind of case it was. `data.distant_labels` counts
the mentions of these keywords in each answer (longest keyword first, so `交通运输局` is not
also `交通局`) and gives a message the label whose bodies are mentioned most, if that is one of
the table's labels and no other label (nor a body of another label) ties with it.

A keyword with the label `None` is a body of a label outside the table (公安, 民政, 农业 ...):
it counts against the others, so a message answered by the police is left unlabelled. Bodies
whose work spans two labels are left out altogether: 住房公积金 (the board's labelled messages
put it under 城乡建设 ten times and 劳动和社会保障 four; the board's taxonomy lists it under the
latter), 文化旅游 (教育文体 or 商贸旅游), 公交 (城乡建设 or 交通运输), street offices and town
governments (any label). Change the table, change the version: a model's training summary
records which table labelled its distant rows.
"""

from __future__ import annotations

UNIT_TABLE_VERSION = "2024-1"

UNIT_LABELS: dict[str | None, tuple[str, ...]] = {
    "城乡建设": (
        "住房和城乡建设",
        "住建局",
        "住建委",
        "城乡建设局",
        "城乡规划局",
        "规划局",
        "规划分局",
        "规建局",
        "城管局",
        "城市管理",
        "城管执法",
        "住房保障",
        "房产局",
        "房地产管理",
        "人防办",
        "建设局",
        "市政",
        "征收办",
        "房屋征收",
    ),
    "环境保护": ("生态环境", "环保局", "环境保护局", "环境监察", "环保分局"),
    "交通运输": (
        "交通运输局",
        "交通局",
        "公路局",
        "公路管理",
        "运管",
        "道路运输",
        "邮政管理",
        "出租车管理",
    ),
    "教育文体": (
        "教育局",
        "教育体育局",
        "教体局",
        "教育和体育局",
        "文体局",
        "体育局",
        "文物局",
        "文化广电",
        "文广新局",
    ),
    "劳动和社会保障": (
        "人力资源和社会保障",
        "人力资源社会保障",
        "人社局",
        "社保局",
        "社会保险",
        "医疗保障局",
        "医保局",
        "医疗保险",
        "劳动监察",
        "劳动保障",
        "就业服务",
        "社会保障卡",
    ),
    "卫生计生": (
        "卫生健康",
        "卫健委",
        "卫健局",
        "卫生局",
        "卫计委",
        "卫计局",
        "卫生和计划生育",
        "计生",
        "疾控",
        "疾病预防控制",
        "食品药品监督",
        "食药监",
    ),
    "商贸旅游": (
        "商务局",
        "商务和",
        "市场监督管理",
        "市场监管",
        "工商局",
        "工商分局",
        "质监局",
        "质量技术监督",
        "旅游局",
        "旅游发展",
    ),
    None: (
        "公安",
        "派出所",
        "交警",
        "交通警察",
        "民政",
        "农业",
        "农村",
        "林业",
        "水利",
        "纪委",
        "监察委",
        "司法局",
        "法院",
        "税务",
        "财政局",
        "网信",
        "宣传部",
        "国土资源",
        "自然资源",
        "出入境",
    ),
}
