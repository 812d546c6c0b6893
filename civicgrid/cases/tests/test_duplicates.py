"""duplicates.find_candidates: nearby, recent, open cases ranked by place, time and text; the
text normalisation and similarity, the scorer's settings, the reasons, and the intake result
page with the merge that follows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import translation

from civicgrid.cases import duplicates, intake
from civicgrid.cases.choices import State
from civicgrid.cases.tests.builders import build_case, build_category
from civicgrid.core import clock

pytestmark = pytest.mark.django_db

# About 111 m of latitude.
STEP = 0.001
RADIUS = 200.0
WINDOW = dt.timedelta(days=7)

# A real-sized request and two repeats of it: one re-typed with a few words changed and the
# phone masked, one an unrelated request from the same estate.
LIGHTS = (
    "路灯不亮：幸福小区3栋门口的路灯已经坏了一个星期，晚上一片漆黑，老人孩子出行很不安全，"
    "请尽快派人维修。联系电话13812345678。"
)
LIGHTS_AGAIN = (
    "路灯不亮\u3000\n\t幸福小区３栋门口的路灯坏了一个星期，晚上一片漆黑，老人孩子出行很不安全，"
    "请尽快维修！联系电话：138****5678"
)
PARKING = "幸福小区3栋楼下有车辆长期占用消防通道，物业不管，请城管处理。"


@pytest.fixture
def spot(town):
    return town.centre(town.grids["A1-1"])


@pytest.fixture
def categories(town):
    parent = build_category("市容环境")
    return build_category("占道经营", parent=parent), build_category("噪声扰民", parent=parent)


def near(town, spot, dlat=0.0, **kwargs):
    case = build_case(town, **kwargs)
    case.lat, case.lon = spot[0] + dlat, spot[1]
    case.save(update_fields=["lat", "lon"])
    return case


def features(text=1.0, distance=0.0, hours=0.0, same=True, related=False):
    return duplicates.Features(
        distance_m=distance,
        radius_m=RADIUS,
        age=dt.timedelta(hours=hours),
        window=WINDOW,
        text_similarity=text,
        same_category=same,
        related_category=related,
    )


# --- text -------------------------------------------------------------------------------------


def test_normalise_folds_width_space_punctuation_and_phones():
    assert duplicates.normalise("ＡＢＣ１２３，路灯\u3000不亮！\n\t") == "abc123路灯不亮"
    assert duplicates.normalise("电话13812345678") == "电话"
    assert duplicates.normalise("电话138****5678。") == "电话"
    assert duplicates.normalise("座机0731-88889999") == "座机"
    # House numbers and years are not phone numbers.
    assert duplicates.normalise("3栋302室，2019年") == "3栋302室2019年"


def test_text_similarity_of_hand_made_pairs():
    assert duplicates.text_similarity(LIGHTS, LIGHTS) == 1.0
    # Exact after normalisation: full-width digits, spaces and the masked phone do not count.
    assert (
        duplicates.text_similarity("３栋 路灯不亮，电话138****5678", "3栋路灯不亮电话13812345678")
        == 1.0
    )
    again = duplicates.text_similarity(LIGHTS, LIGHTS_AGAIN)
    other = duplicates.text_similarity(LIGHTS, PARKING)
    assert 0.5 < again < 1.0
    assert other < 0.15
    assert duplicates.text_similarity("", LIGHTS) == 0.0


def test_ngram_size_is_a_setting(settings):
    # 路灯, 灯不, 不亮 vs 路灯, 灯坏, 坏了: 1 shared of 5 bigrams; no trigram in common.
    assert duplicates.text_similarity("路灯不亮", "路灯坏了") == 0.0
    settings.DUPLICATE_NGRAM = 2
    assert duplicates.text_similarity("路灯不亮", "路灯坏了") == pytest.approx(0.2)
    # Shorter than n: the whole text is one shingle.
    assert duplicates.shingles("灯", 3) == {"灯"}


# --- the scorer -------------------------------------------------------------------------------


def test_text_decides_and_context_only_lowers_it():
    assert duplicates.weighted_score(features(text=1.0)) == pytest.approx(1.0)
    # The edge of the radius, the end of the window, another category: the floor of the text.
    far = features(text=1.0, distance=RADIUS, hours=WINDOW.total_seconds() / 3600, same=False)
    assert duplicates.weighted_score(far) == pytest.approx(duplicates.DEFAULT_TEXT_FLOOR)
    # Next door, just now, same category, but unrelated text: not a duplicate.
    assert duplicates.weighted_score(features(text=0.0)) == 0.0
    # Each context signal counts: closer, sooner, same category all score higher.
    base = features(text=0.8, distance=100, hours=24, same=False)
    assert duplicates.weighted_score(features(text=0.8, distance=10, hours=24, same=False)) > (
        duplicates.weighted_score(base)
    )
    assert duplicates.weighted_score(features(text=0.8, distance=100, hours=1, same=False)) > (
        duplicates.weighted_score(base)
    )
    assert duplicates.weighted_score(
        features(text=0.8, distance=100, hours=24, same=False, related=True)
    ) > duplicates.weighted_score(base)


def test_hand_made_pairs_against_the_threshold():
    threshold = duplicates.threshold()

    def score(a, b, **kwargs):
        return duplicates.weighted_score(features(text=duplicates.text_similarity(a, b), **kwargs))

    # Exact and near-identical repeats are likely duplicates even at the edge of the radius
    # two days later in another category; an unrelated request next door is not.
    assert score(LIGHTS, LIGHTS, distance=RADIUS, hours=48, same=False) >= threshold
    assert score(LIGHTS, LIGHTS_AGAIN, distance=150, hours=48, same=False) >= threshold
    assert score(LIGHTS, PARKING, distance=0, hours=0, same=True) < threshold


def test_weights_floor_and_threshold_are_settings(settings):
    f = features(text=0.8, distance=RADIUS, hours=0, same=True)
    before = duplicates.weighted_score(f)
    settings.DUPLICATE_WEIGHTS = {"distance": 0.0, "time": 0.5, "category": 0.5}
    assert duplicates.weighted_score(f) == pytest.approx(0.8)  # distance no longer counts
    settings.DUPLICATE_TEXT_FLOOR = 0.0
    settings.DUPLICATE_WEIGHTS = {"distance": 1.0, "time": 0.0, "category": 0.0}
    assert duplicates.weighted_score(f) == 0.0 < before
    settings.DUPLICATE_THRESHOLD = 0.3
    assert duplicates.threshold() == 0.3


# --- candidates -------------------------------------------------------------------------------


def test_same_category_and_similar_text_rank_first(town, spot, categories):
    stall, noise = categories
    text = "菜市场门口有人占道摆摊"
    best = near(town, spot, STEP * 0.5, category=stall, title="占道摆摊", description=text)
    other_text = near(town, spot, STEP * 0.2, category=stall, title="井盖", description="井盖丢了")
    other_category = near(
        town, spot, STEP * 0.2, category=noise, title="占道摆摊", description=text
    )
    found = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=text, category=stall)
    assert [c.case for c in found][:3] == [best, other_category, other_text]
    assert "same category" in found[0].reasons
    assert any(r.startswith("text ") and r.endswith("% similar") for r in found[0].reasons)
    assert found[0].distance_m == pytest.approx(55.6, abs=1)
    assert "56 m away" in found[0].reasons
    assert "related category" in found[1].reasons
    assert 0 <= found[-1].score < found[0].score <= 1


def test_reasons_and_the_likely_flag(town, spot, categories, settings):
    stall, _ = categories
    now = clock.now()
    twin = near(town, spot, STEP, category=stall, title="路灯", description=LIGHTS)
    other = near(town, spot, category=stall, title="占道", description=PARKING)
    with translation.override("en"):
        found = duplicates.find_candidates(
            lat=spot[0],
            lon=spot[1],
            text=LIGHTS_AGAIN,
            category=stall,
            received_at=now + dt.timedelta(hours=5),
        )
    assert [c.case for c in found] == [twin, other]
    assert found[0].likely and not found[1].likely
    percent = round(100 * duplicates.text_similarity(LIGHTS_AGAIN, f"路灯 {LIGHTS}"))
    assert found[0].reasons == [
        "likely duplicate",
        f"text {percent}% similar",
        "111 m away",
        "5 h apart",
        "same category",
    ]
    assert "likely duplicate" not in found[1].reasons
    with translation.override("zh-hans"):
        found = duplicates.find_candidates(
            lat=spot[0], lon=spot[1], text=LIGHTS_AGAIN, received_at=now + dt.timedelta(days=3)
        )
    assert found[0].reasons[0] == "疑似重复"
    assert "相隔 3 天" in found[0].reasons
    settings.DUPLICATE_THRESHOLD = 1.0
    found = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS_AGAIN)
    assert not any(c.likely for c in found)


def test_far_old_closed_and_excluded_cases_are_left_out(town, spot, categories):
    stall, _ = categories
    text = "占道摆摊"
    kept = near(town, spot, category=stall, title=text)
    near(town, spot, STEP * 3, category=stall, title=text)  # ~330 m
    near(town, spot, category=stall, title=text, received_at=clock.now() - dt.timedelta(days=8))
    near(town, spot, category=stall, title=text, state=State.CLOSED)
    this = near(town, spot, category=stall, title=text)
    found = duplicates.find_candidates(
        lat=spot[0], lon=spot[1], text=text, category=stall, exclude=this
    )
    assert [c.case for c in found] == [kept]
    assert duplicates.find_candidates(lat=None, lon=None, text=text) == []


def test_radius_and_window_come_from_settings(town, spot, settings):
    near(town, spot, STEP * 3, title="占道摆摊")
    assert duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道摆摊") == []
    settings.DUPLICATE_RADIUS_M = 500
    assert len(duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道摆摊")) == 1
    old = near(town, spot, title="占道摆摊", received_at=clock.now() - dt.timedelta(days=9))
    settings.DUPLICATE_WINDOW_DAYS = 10
    assert old in [c.case for c in duplicates.find_candidates(lat=spot[0], lon=spot[1], text="")]


def test_an_edited_case_is_compared_on_its_new_text(town, spot):
    case = near(town, spot, title="路灯", description=LIGHTS)
    [before] = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS)
    case.description = PARKING
    case.save(update_fields=["description"])
    [after] = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS)
    assert before.likely and not after.likely
    assert after.score < before.score


def fixed_score(features):
    return 0.5 if features.same_category else 0.25


def test_the_scorer_is_a_seam(town, spot, settings, categories):
    stall, _ = categories
    near(town, spot, title="完全不同的事", category=stall)
    settings.DUPLICATE_SCORER = f"{__name__}.fixed_score"
    found = duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道", category=stall)
    assert [c.score for c in found] == [0.5]


# --- the intake result page and the merge ------------------------------------------------------


def test_intake_shows_the_repeat_and_a_dispatcher_merges_it(client, town, personas, spot):
    first = near(town, spot, STEP * 0.5, title="路灯不亮", description=LIGHTS)
    unrelated = near(town, spot, title="占道", description=PARKING)
    repeat = intake.receive_case(
        actor=personas["hotline_operator"],
        channel="hotline",
        kind="complaint",
        title="路灯不亮",
        description=LIGHTS_AGAIN,
        lat=spot[0],
        lon=spot[1],
    )
    client.force_login(personas["street_dispatcher"])
    page = client.get(reverse("cases:received", args=[repeat.pk]))
    assert page.status_code == 200
    candidates = page.context["candidates"]
    assert [c.case for c in candidates] == [first, unrelated]
    assert candidates[0].likely and not candidates[1].likely
    assert "疑似重复" in page.text and first.number in page.text
    response = client.post(
        reverse("cases:act", args=[repeat.pk, "merge"]),
        {
            "merge-into": candidates[0].case.number,
            "merge-version": repeat.version,
            "merge-reason": "Duplicate found at intake",
        },
    )
    assert response.status_code == 302
    repeat.refresh_from_db()
    assert repeat.state == State.MERGED and repeat.parent == first
    # Merged, it is no longer an open case anyone else is compared with.
    assert repeat not in [
        c.case for c in duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS)
    ]


def test_the_api_flags_the_likely_duplicate_and_hides_what_the_caller_cannot_see(
    client, town, personas, spot
):
    first = near(town, spot, title="路灯不亮", description=LIGHTS)
    near(town, spot, title="占道", description=PARKING)
    hidden = near(town, spot, grid="B1-1", title="路灯不亮", description=LIGHTS)
    hidden.lat, hidden.lon = spot
    hidden.save(update_fields=["lat", "lon"])
    repeat = near(
        town,
        spot,
        title="路灯不亮",
        description=LIGHTS_AGAIN,
        received_at=clock.now() + dt.timedelta(hours=30),
    )
    client.force_login(personas["community_worker"])
    body = client.get(f"/api/v1/cases/{repeat.pk}/duplicates").json()
    assert [row["case"]["number"] for row in body][0] == first.number
    assert hidden.number not in [row["case"]["number"] for row in body]
    assert [row["likely"] for row in body] == [True, False]
    # The time between them is measured from the repeat's own receipt, not from now.
    assert "30 h apart" in body[0]["reasons"] or "相隔 30 小时" in body[0]["reasons"]


# --- stored signatures --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4])
def test_signatures_give_the_jaccard_index_of_the_ngram_sets(n):
    texts = [LIGHTS, LIGHTS_AGAIN, PARKING, f"路灯 {LIGHTS}", "路灯不亮", "路灯坏了", "灯", ""]
    for a in texts:
        mine = duplicates.signature(a, n)
        assert len(duplicates.as_array(mine)) == len(duplicates.shingles(a, n))
        found = duplicates.similarities(mine, [duplicates.signature(b, n) for b in texts])
        expected = [
            duplicates.jaccard(duplicates.shingles(a, n), duplicates.shingles(b, n)) for b in texts
        ]
        assert found == expected
    # Sorted, distinct, and the short text is not any n-gram of a longer one.
    hashes = duplicates.as_array(duplicates.signature(LIGHTS, n))
    assert list(hashes) == sorted(set(hashes.tolist()))
    assert duplicates.similarities(duplicates.signature("灯", n), [duplicates.signature("路灯", n)])


def test_a_case_stores_its_signature_when_received_and_when_its_text_changes(town, personas, spot):
    case = intake.receive_case(
        actor=personas["hotline_operator"],
        channel="hotline",
        kind="complaint",
        title="路灯不亮",
        description=LIGHTS,
        lat=spot[0],
        lon=spot[1],
    )
    case.refresh_from_db()
    assert bytes(case.text_signature) == duplicates.signature(f"路灯不亮 {LIGHTS}")
    case.description = PARKING
    case.save(update_fields=["description"])
    case.refresh_from_db()
    assert bytes(case.text_signature) == duplicates.signature(f"路灯不亮 {PARKING}")


def test_cases_without_a_current_signature_are_compared_on_their_text_until_backfilled(
    town, spot, settings
):
    from django.core.management import call_command

    from civicgrid.cases.models import Case

    case = near(town, spot, title="路灯", description=LIGHTS)
    [stored] = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS_AGAIN)
    Case.objects.filter(pk=case.pk).update(text_signature=None)  # received before 0006
    [cut] = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS_AGAIN)
    assert (cut.case, cut.score, cut.reasons) == (case, stored.score, stored.reasons)
    call_command("backfill_text_signatures", stdout=io.StringIO())
    case.refresh_from_db()
    assert bytes(case.text_signature) == duplicates.signature(f"路灯 {LIGHTS}")
    # Another n-gram size: the stored 3-gram signature is stale, the text is cut again.
    settings.DUPLICATE_NGRAM = 2
    [two] = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=LIGHTS_AGAIN)
    alike = duplicates.text_similarity(LIGHTS_AGAIN, f"路灯 {LIGHTS}")
    assert f"text {round(100 * alike)}% similar" in two.reasons
    assert not duplicates.is_current(case.text_signature)
    call_command("backfill_text_signatures", stdout=io.StringIO())
    case.refresh_from_db()
    assert duplicates.is_current(case.text_signature)
    assert bytes(case.text_signature) == duplicates.signature(f"路灯 {LIGHTS}", 2)
