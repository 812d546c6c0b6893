"""manage.py classifier train|evaluate|list|activate|rollback|map: the category classifier.

manage.py classifier train --csv FILE --text-cols 留言主题,留言详情 --label-col 一级标签
manage.py classifier train ... --distant-csv ANSWERED.csv [--unit-col 答复意见]
manage.py classifier train                      # from closed cases with a confirmed category
manage.py classifier evaluate --csv FILE --text-cols ... --label-col ... [--model VERSION]
manage.py classifier list
manage.py classifier activate VERSION
manage.py classifier rollback
manage.py classifier map VERSION 城乡建设=C0101 ...
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.classifier import data, services
from civicgrid.classifier.choices import ModelStatus, TrainingSource
from civicgrid.classifier.models import ClassifierModel
from civicgrid.classifier.pipeline import Options
from civicgrid.core.errors import ServiceError


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _pairs(values: list[str]) -> dict[str, str]:
    mapping = {}
    for value in values:
        label, sep, code = value.partition("=")
        if not sep or not label.strip() or not code.strip():
            raise CommandError(f"{value!r} is not LABEL=CATEGORY_CODE.")
        mapping[label.strip()] = code.strip()
    return mapping


class Command(BaseCommand):
    help = "Train, evaluate, list, activate and roll back category classifier models."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        def csv_arguments(p, required: bool) -> None:
            p.add_argument("--csv", required=required, help="labelled CSV (UTF-8 or GBK)")
            p.add_argument(
                "--text-cols",
                type=_columns,
                default=["留言主题", "留言详情"],
                help="comma-separated; the first is the title (default 留言主题,留言详情)",
            )
            p.add_argument("--label-col", default="一级标签")

        train = sub.add_parser("train", help="train a new model (stored, not activated)")
        csv_arguments(train, required=False)
        train.add_argument(
            "--unlabelled",
            action="append",
            default=[],
            metavar="CSV",
            help="unlabelled messages: their words go into the vocabulary (and with --self-training, pseudo-labelled rows into training)",
        )
        train.add_argument(
            "--distant-csv",
            action="append",
            default=[],
            metavar="CSV",
            help="answered messages: labelled by the unit named in --unit-col (civicgrid/"
            "classifier/units.py) and added to the training rows (their text only)",
        )
        train.add_argument(
            "--unit-col", default="答复意见", help="the answer column of --distant-csv"
        )
        train.add_argument(
            "--distant-weight",
            type=float,
            default=Options.distant_weight,
            help="weight of a distant row against a labelled row's 1",
        )
        train.add_argument(
            "--distant-agreeing-only",
            action="store_true",
            help="keep only the distant rows a model of the labelled rows agrees with",
        )
        train.add_argument(
            "--self-training",
            type=float,
            default=Options.self_training_share,
            metavar="SHARE",
            help="share of unlabelled messages, surest first, added with pseudo-labels",
        )
        train.add_argument("--char-n", type=int, default=Options.char_n)
        train.add_argument("--c", type=float, default=Options.c, help="LinearSVC C")
        train.add_argument(
            "--title-block",
            type=float,
            default=Options.title_block,
            metavar="WEIGHT",
            help="weight of the title's own n-gram block (0 turns it off)",
        )
        train.add_argument("--words", action="store_true", help="add jieba words (slower)")
        train.add_argument(
            "--word-vocabulary",
            type=int,
            default=Options.word_vocabulary,
            metavar="LENGTH",
            help="words of char-n+1..LENGTH characters learnt with jieba at training, "
            "looked up among the character grams at run time (0 turns it off)",
        )
        train.add_argument("--cv-folds", type=int, default=5, help="0 skips cross-validation")
        train.add_argument("--map", nargs="*", default=None, metavar="LABEL=CODE")
        train.add_argument("--version")
        train.add_argument("--activate", action="store_true")
        train.add_argument(
            "--unless-active",
            action="store_true",
            help="do nothing when a model is active already (for set-up scripts: make demo)",
        )

        evaluate = sub.add_parser("evaluate", help="score a model on a labelled CSV (JSON)")
        csv_arguments(evaluate, required=True)
        evaluate.add_argument("--model", help="version (default: the active model)")

        sub.add_parser("list", help="the models and their metrics")
        activate = sub.add_parser("activate", help="put a model in use")
        activate.add_argument("version")
        sub.add_parser("rollback", help="put back the model the active one replaced")
        mapping = sub.add_parser("map", help="set a model's label -> category code map")
        mapping.add_argument("version")
        mapping.add_argument("pairs", nargs="+", metavar="LABEL=CODE")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

    def _model(self, version: str | None) -> ClassifierModel:
        if version:
            model = ClassifierModel.objects.defer("blob").filter(version=version).first()
            if model is None:
                raise CommandError(f"No model {version!r}; see `manage.py classifier list`.")
            return model
        model = services.active_model()
        if model is None:
            raise CommandError("No model is active; name one with --model VERSION.")
        return model

    def _train(self, options: dict) -> None:
        if options["unless_active"]:
            active = services.active_model()
            if active is not None:
                self.stdout.write(f"Model {active.version} is active; nothing trained.")
                return
        if options["csv"]:
            dataset = data.read_labelled(options["csv"], options["text_cols"], options["label_col"])
            source = TrainingSource.CSV
        else:
            dataset = data.from_cases()
            source = TrainingSource.CASES
        unlabelled = []
        for path in options["unlabelled"]:
            unlabelled += data.read_unlabelled(path, options["text_cols"])
        distant = None
        for path in options["distant_csv"]:
            more = data.distant_labels(path, options["text_cols"], options["unit_col"])
            distant = more if distant is None else distant.extended(more)
        settings = Options(
            char_n=options["char_n"],
            c=options["c"],
            title_block=options["title_block"],
            use_words=options["words"],
            word_vocabulary=options["word_vocabulary"],
            self_training_share=options["self_training"] if unlabelled else 0.0,
            distant_weight=options["distant_weight"],
            distant_agreeing_only=options["distant_agreeing_only"],
        )
        model = services.train_model(
            dataset,
            source=source,
            options=settings,
            unlabelled=unlabelled,
            distant=distant,
            label_map=_pairs(options["map"]) if options["map"] is not None else None,
            cv_folds=options["cv_folds"],
            version=options["version"],
        )
        self.stdout.write(
            f"Trained {model.version} on {dataset.summary()['rows']} rows "
            f"({len(model.labels)} labels, {model.size // 1024} KiB)."
        )
        if distant is not None:
            self.stdout.write(
                f"Distant rows: {model.training_summary.get('distant_rows', 0)} used of "
                f"{len(distant.labels)} labelled by their unit ({distant.origin})."
            )
        if model.metrics:
            self.stdout.write(
                f"{model.metrics['folds']}-fold cross-validation: "
                f"accuracy {model.metrics['accuracy']:.3f}, macro-F1 {model.metrics['macro_f1']:.3f}."
            )
        unmapped = [label for label in model.labels if label not in model.label_map]
        if unmapped:
            self.stdout.write(
                "Labels without a category (set with `classifier map`): " + ", ".join(unmapped)
            )
        if options["activate"]:
            services.activate_model(model, actor=None)
            self.stdout.write(f"Activated {model.version}.")
        else:
            self.stdout.write(f"Not in use until `manage.py classifier activate {model.version}`.")

    def _evaluate(self, options: dict) -> None:
        dataset = data.read_labelled(options["csv"], options["text_cols"], options["label_col"])
        model = self._model(options["model"])
        scores = services.evaluate(services.load(model), dataset)
        self.stdout.write(json.dumps(scores, ensure_ascii=False, indent=2))

    def _list(self, options: dict) -> None:
        rows = ClassifierModel.objects.defer("blob").order_by("-created_at", "-pk")
        if not rows:
            self.stdout.write("No model yet: `manage.py classifier train ...`.")
            return
        for model in rows:
            metrics = model.metrics or {}
            accuracy = metrics.get("accuracy")
            macro_f1 = metrics.get("macro_f1")
            self.stdout.write(
                f"{model.version:8} {model.status:8} {model.source:6} "
                f"rows={model.training_summary.get('rows', '?'):<6} "
                f"accuracy={accuracy if accuracy is not None else '-':<6} "
                f"macro_f1={macro_f1 if macro_f1 is not None else '-':<6} "
                f"{model.created_at:%Y-%m-%d %H:%M}"
            )

    def _activate(self, options: dict) -> None:
        model = self._model(options["version"])
        services.activate_model(model, actor=None)
        self.stdout.write(f"Activated {model.version}.")

    def _rollback(self, options: dict) -> None:
        previous = services.rollback(actor=None)
        if previous is None:
            self.stdout.write("Rolled back: no model is in use now.")
        else:
            self.stdout.write(f"Rolled back: {previous.version} is in use again.")

    def _map(self, options: dict) -> None:
        model = self._model(options["version"])
        mapping = {**model.label_map, **_pairs(options["pairs"])}
        services.set_label_map(model, mapping, actor=None)
        self.stdout.write(
            json.dumps(mapping, ensure_ascii=False)
            + ("" if model.status == ModelStatus.ACTIVE else "")
        )
