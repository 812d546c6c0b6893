"""Configuration of the request loop: category trees, tags, handling units, the dispatch
catalogue (派单目录), time-limit policy activation and calendar overrides.

Every write takes the acting user, needs `cases.configure`, runs in one transaction and writes
its audit row in it. Categories saved here carry `search_text` (full pinyin and initials of the
name and keywords), which is what lets an operator find 占道经营 by typing `zdjy` or `zhandao`.

The functions live in submodules (common.py, search.py, categories.py, category_import.py, units.py, policies.py); this package
re-exports them, so `from civicgrid.cases.catalogue import ...` keeps working."""

from civicgrid.cases.catalogue.categories import (  # noqa: F401
    _category_errors,
    _raise,
    activate_taxonomy,
    create_category,
    create_tag,
    create_taxonomy,
    update_category,
)
from civicgrid.cases.catalogue.category_import import (  # noqa: F401
    IMPORT_COLUMNS,
    LEVEL_COLUMNS,
    CategoryFile,
    CategoryImportReport,
    RowError,
    _plan_import,
    import_category_tree,
    normalise_row,
    read_category_file,
    rows_from_levels,
    tree_rows,
)
from civicgrid.cases.catalogue.common import (  # noqa: F401
    CODE_RE,
    COMPLEXITY_WORDS,
    MAX_CATEGORY_LEVEL,
    MAX_UNIT_DEPTH,
    Action,
    _covers_all,
    _require,
    _require_area,
)
from civicgrid.cases.catalogue.policies import (  # noqa: F401
    activate_policy,
    remove_calendar_day,
    set_calendar_day,
)
from civicgrid.cases.catalogue.search import (  # noqa: F401
    active_taxonomy,
    category_path,
    search_categories,
    search_text_for,
    split_keywords,
)
from civicgrid.cases.catalogue.units import (  # noqa: F401
    create_unit,
    remove_dispatch_rule,
    rules_visible_to,
    set_dispatch_rule,
    set_unit_areas,
    unit_covers,
    unit_depth,
    units_below,
)
