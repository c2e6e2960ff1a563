"""The areas' boundaries, from a GeoJSON file the planner has, for the map of a region's areas.

    python run.py plot results/xinxiang_city/<run> --boundaries xinxiang_areas.geojson [--boundary-key adcode]

Each area of the run is matched to the features whose property value is its `area_id`, its name
or its Chinese name (`name_zh`); by default the property that matches the most areas is used
(the feature's own `id` counts too), `--boundary-key` names it. Polygons and MultiPolygons are
drawn (holes kept); features matching no area are left out (a province's file serves a
prefecture's run). Every area must be matched: otherwise the error lists the areas left and the
properties the features have. Reading the geometry needs shapely, the optional extra `geo`
(`pip install -e ".[geo]"`); nothing else in TierFlow does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim.outputs.area_table import is_region
from sim.outputs.plots.areas import AreaShape

INSTALL = 'the map from boundaries needs shapely, TierFlow\'s optional extra "geo": pip install -e ".[geo]"'
GEOMETRIES = ("Polygon", "MultiPolygon", "GeometryCollection", "Point", "MultiPoint", "LineString", "MultiLineString")
FEATURE_ID = "(feature id)"  # the name a feature's own `id` member goes by among its properties


class BoundaryError(ValueError):
    """A boundary file that cannot be used, with what to do about it."""


def _shapely():
    """The shapely functions used here, or a `BoundaryError` saying how to install them."""
    try:
        import shapely
        from shapely.geometry import shape
    except ImportError:
        raise BoundaryError(INSTALL) from None
    return shapely, shape


def read_features(path: Path) -> list[dict]:
    """The features of a GeoJSON FeatureCollection (or of a single Feature)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise BoundaryError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BoundaryError(f"{path}: not GeoJSON (not JSON text: {err}); allowed: a GeoJSON FeatureCollection "
                            "of the areas' polygons") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    elif kind in GEOMETRIES:
        raise BoundaryError(f"{path}: a bare {kind} geometry, without properties naming the areas; allowed: a "
                            "FeatureCollection whose features have the areas' polygons and a property naming each area")
    elif kind != "FeatureCollection" or not isinstance(data.get("features"), list):
        found = f"a JSON object of type {kind!r}" if kind else f"JSON without a GeoJSON type ({type(data).__name__})"
        raise BoundaryError(f"{path}: not GeoJSON: found {found}; allowed: a FeatureCollection (or a Feature) "
                            "whose features have the areas' polygons and a property naming each area")
    features = [f for f in data["features"] if isinstance(f, dict) and f.get("type") == "Feature"]
    if not features:
        raise BoundaryError(f"{path}: the FeatureCollection holds no features")
    return features


def _key(value) -> str:
    """A property value or an area's id or name as compared: text, trimmed, case folded (410702.0 is 410702)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def _area_lookup(area_info: dict[str, dict]) -> dict[str, str]:
    """Normalised id, Chinese name and name -> area id (an id wins over a name, a Chinese name over an English)."""
    out: dict[str, str] = {}
    for field in ("name", "name_zh"):
        for aid, info in area_info.items():
            if info.get(field):
                out[_key(info[field])] = aid
    out.update({_key(aid): aid for aid in area_info})
    return out


def _properties(feature: dict) -> dict:
    props = dict(feature.get("properties") or {})
    if feature.get("id") is not None:
        props[FEATURE_ID] = feature["id"]
    return props


def choose_key(features: list[dict], area_info: dict[str, dict], key: str | None = None) -> str | None:
    """The property that names the areas: `key` when given (if some feature has it), else the one
    matching the most areas (None when none matches any)."""
    lookup = _area_lookup(area_info)
    names: list[str] = []
    for f in features:
        names += [p for p in _properties(f) if p not in names]
    if key is not None:
        if key == "id" and key not in names and FEATURE_ID in names:
            return FEATURE_ID
        return key if key in names else None
    counts = {p: len({lookup[_key(v)] for f in features if (v := _properties(f).get(p)) is not None
                      and _key(v) in lookup}) for p in names}
    best = max(counts, key=counts.get, default=None)
    return best if best is not None and counts[best] > 0 else None


def _properties_seen(features: list[dict]) -> str:
    """The properties the features have, each with a few of its values."""
    seen: dict[str, list[str]] = {}
    for f in features:
        for p, v in _properties(f).items():
            values = seen.setdefault(p, [])
            if len(values) < 3 and str(v) not in values and not isinstance(v, (dict, list)):
                values.append(str(v))
    return "; ".join(f"{p} (e.g. {', '.join(repr(v) for v in vs)})" for p, vs in seen.items()) or "none"


def match_features(features: list[dict], area_info: dict[str, dict], key: str | None, path: Path) -> dict[str, list]:
    """Area id -> its features (several are joined); a `BoundaryError` naming the areas left unmatched."""
    chosen = choose_key(features, area_info, key)
    lookup = _area_lookup(area_info)
    matched: dict[str, list] = {}
    if chosen is not None:
        for f in features:
            v = _properties(f).get(chosen)
            if v is not None and _key(v) in lookup:
                matched.setdefault(lookup[_key(v)], []).append(f)
    missing = [a for a in area_info if a not in matched]
    if not missing:
        return matched

    def who(a: str) -> str:
        names = [n for n in (area_info[a].get("name"), area_info[a].get("name_zh")) if n]
        return f"{a} ({' / '.join(names)})" if names else a
    what = (f"no feature has the property {key!r}" if key is not None and chosen is None else
            f"no feature matches {len(missing)} of the run's {len(area_info)} areas" + (
                f" by {chosen!r}" if chosen else ""))
    raise BoundaryError(f"{path}: {what}: {', '.join(who(a) for a in missing)}. The features' properties: "
                        f"{_properties_seen(features)}. Allowed: a property whose values are the areas' area_id, "
                        "name or name_zh (name it with --boundary-key PROPERTY)")


def _rings(geom) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """A polygonal geometry's polygons as (exterior, holes) coordinate arrays, the exterior anticlockwise
    and holes clockwise (so a hole is left unfilled)."""
    from shapely.geometry.polygon import orient

    polygons = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    out = []
    for p in polygons:
        if p.geom_type == "Polygon" and not p.is_empty:
            p = orient(p, 1.0)
            out.append((np.asarray(p.exterior.coords, float)[:, :2],
                        [np.asarray(r.coords, float)[:, :2] for r in p.interiors]))
        elif hasattr(p, "geoms"):
            out += _rings(p)
    return out


def area_shape(features: list[dict], area_id: str, path: Path) -> AreaShape:
    """One area's polygons from its features, and a point inside its largest polygon for the label."""
    shapely, shape = _shapely()
    parts = []
    for f in features:
        geometry = f.get("geometry")
        try:
            geom = shape(geometry)
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
        except Exception as err:  # shapely raises several kinds on malformed coordinates
            raise BoundaryError(f"{path}: the geometry of area {area_id}'s feature cannot be read "
                                f"({type(err).__name__}: {err}); allowed: a Polygon or MultiPolygon") from None
        kinds = {g.geom_type for g in getattr(geom, "geoms", [geom])}
        if not kinds & {"Polygon", "MultiPolygon"}:
            raise BoundaryError(f"{path}: area {area_id}'s feature is a {geom.geom_type}, not a boundary; "
                                "allowed: a Polygon or MultiPolygon")
        parts.append(geom)
    rings = [r for g in parts for r in _rings(g)]
    largest = max((shapely.Polygon(ext, holes) for ext, holes in rings), key=lambda p: p.area)
    point = largest.representative_point()
    return AreaShape(rings, (float(point.x), float(point.y)))


def load_boundaries(path: Path, area_info: dict[str, dict], key: str | None = None) -> dict[str, AreaShape]:
    """Every area's boundary from a GeoJSON file (see the module docstring); `BoundaryError` otherwise."""
    path = Path(path)
    _shapely()
    features = read_features(path)
    return {aid: area_shape(fs, aid, path) for aid, fs in match_features(features, area_info, key, path).items()}


def boundaries_for_run(folder: Path, path: Path, key: str | None = None) -> dict[str, AreaShape]:
    """The boundaries of a saved region run's areas (`BoundaryError` for a county run or a bad file)."""
    summary_file = Path(folder) / "summary.json"
    if not summary_file.exists():
        raise BoundaryError(f"--boundaries: {folder} is not a run folder (no summary.json)")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    if not is_region(summary):
        raise BoundaryError(f"--boundaries draws a region's areas, and {folder} is a run of one county; "
                            "allowed: a region run (a scenario with a region: section)")
    info = summary.get("area_info") or {a: {} for a in summary["areas"]}
    return load_boundaries(Path(path), {a: info.get(a, {}) for a in summary["areas"]}, key)
