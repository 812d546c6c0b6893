"""The classifier API: suggestions for a text (intake roles), the models (configuration
roles: list, activate, roll back, label map) and the acceptance of suggestions (in scope)."""

from __future__ import annotations

from dataclasses import asdict

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from civicgrid.classifier import selectors, services
from civicgrid.classifier.models import ClassifierModel
from civicgrid.classifier.schemas import (
    AcceptanceOut,
    AcceptanceRow,
    LabelMapIn,
    ModelOut,
    RollbackOut,
    SuggestIn,
    SuggestOut,
)
from civicgrid.core.api import ErrorOut, require
from civicgrid.core.scoping import scope_of

router = Router(tags=["classifier"])
REFUSED = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
CONFIGURE = "cases.configure"


def suggestions_out(found: services.Suggestions | None) -> dict:
    if found is None:
        return {"model_version": None, "suggestions": []}
    return {
        "model_version": found.model.version,
        "suggestions": [
            {
                "label": item.label,
                "confidence": round(item.confidence, 4),
                "words": item.words,
                "category": (
                    {
                        "id": item.category.pk,
                        "code": item.category.code,
                        "name": item.category.name,
                        "is_leaf": item.is_leaf,
                    }
                    if item.category
                    else None
                ),
            }
            for item in found.items
        ],
    }


def model_out(model: ClassifierModel) -> dict:
    return {
        **{
            f: getattr(model, f)
            for f in (
                "version",
                "status",
                "source",
                "taxonomy_version",
                "labels",
                "label_map",
                "metrics",
                "training_summary",
                "options",
                "checksum",
                "size",
                "created_at",
                "activated_at",
            )
        },
        "previous": model.previous.version if model.previous_id else None,
    }


@router.post(
    "/classifier/suggest",
    response={200: SuggestOut, **REFUSED},
    summary="The top 3 categories for a case text, with calibrated confidence and the words",
)
def suggest(request, payload: SuggestIn):
    require(request, "cases.intake")
    return suggestions_out(services.suggest(payload.title, payload.description))


def _model(request, version: str) -> ClassifierModel:
    # Only configuration roles know models exist: for the others, every version is a 404.
    if not scope_of(request.user).can(CONFIGURE):
        raise Http404
    return get_object_or_404(ClassifierModel.objects.defer("blob"), version=version)


@router.get("/classifier/models", response={200: list[ModelOut], **REFUSED}, summary="Models")
def list_models(request):
    require(request, CONFIGURE)
    return [model_out(m) for m in selectors.models()]


@router.get(
    "/classifier/models/{version}", response={200: ModelOut, **REFUSED}, summary="One model"
)
def get_model(request, version: str):
    return model_out(_model(request, version))


@router.post(
    "/classifier/models/{version}/activate",
    response={200: ModelOut, **REFUSED},
    summary="Put a model in use (the active one is retired)",
)
def activate(request, version: str):
    model = services.activate_model(_model(request, version), actor=request.user)
    return model_out(model)


@router.put(
    "/classifier/models/{version}/label-map",
    response={200: ModelOut, **REFUSED},
    summary="Set a model's label -> category code map",
)
def set_label_map(request, version: str, payload: LabelMapIn):
    model = services.set_label_map(_model(request, version), payload.label_map, actor=request.user)
    return model_out(model)


@router.post(
    "/classifier/rollback",
    response={200: RollbackOut, **REFUSED},
    summary="Retire the active model and put back the one it replaced (null: none left)",
)
def rollback(request):
    require(request, CONFIGURE)
    previous = services.rollback(actor=request.user)
    return {"active": model_out(previous) if previous else None}


@router.get(
    "/classifier/acceptance",
    response={200: AcceptanceOut, **REFUSED},
    summary="How often operators chose the suggested category, per category, in your scope",
)
def acceptance(request, model: str | None = Query(None)):
    require(request, "cases.view")
    chosen = None
    if model:
        chosen = get_object_or_404(ClassifierModel.objects.defer("blob"), version=model)
    rows, total = selectors.acceptance(request.user, model=chosen)

    def row(r: selectors.Acceptance) -> AcceptanceRow:
        return AcceptanceRow(**asdict(r), rate=r.rate, top3_rate=r.top3_rate)

    return {"total": row(total), "categories": [row(r) for r in rows]}
