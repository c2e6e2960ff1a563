"""The schema's ground floor: the named categories and the base of every section.

`Strict` forbids unknown keys and silent coercion; `_tier_model` and friends build a
section with one number per tier, severity or age band. Kept apart from the sections
(`county_sections.py`, `policy_sections.py`) and from `schema.py`, which assembles them.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model, model_validator

from sim.scenario.field_info import F, fields_of

TIERS = ("village", "township", "county", "tertiary")
SEVERITIES = ("minor", "moderate", "severe", "critical")
AGE_BANDS = ("age_0_14", "age_15_44", "age_45_59", "age_60_74", "age_75_plus")
SCHEMES = ("resident", "employee")
SETTINGS = ("outpatient", "inpatient")
# Kinds of referral tie between facilities, strongest first (their effects: sim/county/routing.py, TIES).
TIE_KINDS = ("medical_community", "specialist_alliance", "telemedicine", "referral")
# Hospital grades (医院等级), lowest first, and the Chinese names a scenario or CSV may use instead.
GRADES = ("ungraded", "grade_1", "grade_2", "grade_3")
GRADE_NAMES_ZH = {"未定级": "ungraded", "一级": "grade_1", "二级": "grade_2", "三级": "grade_3"}
# Where a facility is, seen from the county's insurance fund: in the county, elsewhere in the
# pooling area (usually the prefecture, 市级统筹), elsewhere in the province (省内异地), or out
# of the province (跨省异地). The last two are 异地 care.
PLACES = ("county", "pooling_area", "province", "out_of_province")


def grade_index(name: str) -> int:
    """Index in GRADES of a grade given in English or Chinese (一级 ... 三级, 未定级)."""
    return GRADES.index(GRADE_NAMES_ZH.get(name, name))


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


class Strict(BaseModel):
    """Base: unknown keys are errors, no silent type coercion (but 0 is a valid float)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_documented_defaults(cls, data: Any) -> Any:
        """A section given in part keeps the documented defaults of the keys it does not name.

        Sections whose defaults come from a factory (the two insurance schemes, the medical
        community's gains) would otherwise be rebuilt from bare field defaults.
        """
        if not isinstance(data, dict):
            return data
        for name, fld in fields_of(cls).items():
            if isinstance(data.get(name), dict) and fld.default_factory is not None:
                default = fld.default_factory()
                if isinstance(default, BaseModel):
                    data = {**data, name: _deep_merge(default.model_dump(), data[name])}
        return data


def _keyed(keys: tuple[str, ...], name: str, doc: str, unit: str, lo: float, hi: float | None,
           defaults: tuple[float, ...], source: str = "", *, module: str = __name__) -> type[Strict]:
    """A model with one float field per key (tier, severity or age band), defined in `module`."""
    fields = {key: (float, F(value, lo, hi, unit=unit, doc=f"{doc}: {key}", source=source))
              for key, value in zip(keys, defaults, strict=True)}
    return create_model(name, __base__=Strict, __doc__=doc, __module__=module, **fields)


def _caller() -> str:
    """The module that asked for a keyed model (so the model pickles by its own module's name)."""
    return sys._getframe(2).f_globals["__name__"]


def _tier_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(TIERS, *args, module=_caller(), **kwargs)


def _severity_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(SEVERITIES, *args, module=_caller(), **kwargs)


def _age_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(AGE_BANDS, *args, module=_caller(), **kwargs)
