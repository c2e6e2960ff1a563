"""Write facilities.csv and settlements.csv of the Pingyang example county (平阳县, Wenzhou).

    python scenarios/pingyang_county/make_county.py

What is real and what is synthetic is in README.md beside this file. In short: the
townships, the county total, the county seat and the hospitals are real; the positions of
most township seats are approximate; the settlements (villages and communities), their
populations, ages and insurance, and the village clinics are synthetic, drawn here with a
fixed seed so that the files can be rebuilt exactly.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20251
COUNTY_TOTAL = 863_088  # 2020 census resident population (常住人口), Pingyang county

# Township: (name, code, longitude, latitude, position source, population or None,
#            population source, communities, villages, radius km, share 60+, share employee-insured)
# "approx." positions are read off a map to about 2 km; None: the remainder of COUNTY_TOTAL.
TOWNSHIPS = [
    ("昆阳镇", "KY", 120.5596, 27.6702, "county seat, Wikipedia", None, "remainder of the census total",
     12, 50, 5.0, 0.20, 0.30),
    ("鳌江镇", "AJ", 120.5548, 27.5963, "Wikipedia", 290_500, "常住 29.05万 (2019), Baidu Baike",
     10, 88, 6.0, 0.19, 0.28),
    ("万全镇", "WQ", 120.61, 27.72, "approx.", 90_000, "synthetic", 4, 70, 5.0, 0.21, 0.22),
    ("水头镇", "ST", 120.3193, 27.6348, "Wikipedia", 133_123, "常住 133,123 (2017), Baidu Baike",
     10, 68, 6.0, 0.21, 0.20),
    ("萧江镇", "XJ", 120.4720, 27.5729, "Wikipedia", 63_000, "人口 6.3万, Wikipedia", 9, 56, 4.0, 0.21, 0.20),
    ("腾蛟镇", "TJ", 120.46, 27.73, "approx.", 35_000, "synthetic", 3, 35, 5.0, 0.24, 0.12),
    ("山门镇", "SM", 120.30, 27.71, "approx.", 9_000, "synthetic", 1, 20, 5.0, 0.28, 0.08),
    ("顺溪镇", "SX", 120.21, 27.70, "approx.", 6_000, "synthetic (16,122 in the 2000 census)",
     1, 18, 5.0, 0.32, 0.06),
    ("南雁镇", "NY", 120.25, 27.61, "approx.", 7_000, "synthetic", 1, 20, 5.0, 0.30, 0.07),
    ("海西镇", "HX", 120.66, 27.65, "approx.", 21_567, "2020 census, Wenzhou township table",
     0, 20, 4.0, 0.22, 0.18),
    ("南麂镇", "NJ", 121.07, 27.46, "approx. (island)", 2_500, "synthetic", 0, 4, 2.0, 0.30, 0.10),
    ("麻步镇", "MB", 120.42, 27.61, "approx.", 25_000, "synthetic", 2, 30, 4.0, 0.22, 0.15),
    ("凤卧镇", "FW", 120.34, 27.67, "approx.", 5_000, "synthetic", 0, 15, 4.0, 0.32, 0.06),
    ("怀溪镇", "HXI", 120.16, 27.63, "approx.", 3_000, "synthetic", 0, 12, 4.0, 0.33, 0.05),
    ("闹村乡", "NC", 120.27, 27.67, "approx.", 1_800, "synthetic", 0, 8, 3.0, 0.34, 0.05),
    ("青街畲族乡", "QJ", 120.23, 27.56, "approx.", 2_000, "synthetic", 0, 8, 3.0, 0.33, 0.05),
]
# The larger towns' health centres are central health centres (中心卫生院); the county seat's is a community
# health centre. Names follow the usual pattern; they were not checked one by one.
CENTRAL = {"鳌江镇", "水头镇", "萧江镇", "万全镇", "腾蛟镇"}
# Where each hospital is for Pingyang's fund (place): Wenzhou taken to pool at city level (市级统筹), so its
# hospitals are local care; Hangzhou is elsewhere in the province (省内异地). Blank: in the county.
HOSPITALS = [  # id, name, tier, longitude, latitude, place
    ("C1", "平阳县人民医院", "county", 120.571, 27.668, ""),
    ("C2", "平阳县中医院", "county", 120.556, 27.663, ""),
    ("H1", "温州医科大学附属第一医院", "tertiary", 120.700, 27.950, "pooling_area"),
    ("H2", "浙江大学医学院附属第一医院", "tertiary", 120.180, 30.260, "province"),
]
FAC_HEADER = ["id", "name", "tier", "longitude", "latitude", "outpatient_capacity_per_day", "beds",
              "medical_community", "township", "place"]
SET_HEADER = ["id", "name", "population", "share_60_plus", "share_employee", "longitude", "latitude", "township"]


def split(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly (largest remainder)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(raw - out, kind="stable")[::-1][: total - out.sum()]] += 1
    return out


def offset(lon: float, lat: float, dx_km: np.ndarray, dy_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move (lon, lat) by km east and north."""
    return lon + dx_km / (111.32 * math.cos(math.radians(lat))), lat + dy_km / 110.57


def main() -> None:
    """Draw the settlements and village clinics; write both CSV files."""
    rng = np.random.default_rng(SEED)
    known = sum(t[5] for t in TOWNSHIPS if t[5] is not None)
    facilities: list[list] = []
    settlements: list[list] = []
    for name, code, lon, lat, _, pop, _, n_comm, n_vill, radius, share60, share_emp in TOWNSHIPS:
        pop = COUNTY_TOTAL - known if pop is None else pop
        n = n_comm + n_vill
        # Communities (社区) are the town itself: near the centre and larger; villages spread over the township.
        r = np.where(np.arange(n) < n_comm, 0.3 * radius * np.sqrt(rng.random(n)), radius * np.sqrt(rng.random(n)))
        angle = rng.uniform(0, 2 * math.pi, n)
        slon, slat = offset(lon, lat, r * np.cos(angle), r * np.sin(angle))
        weight = rng.lognormal(0.0, 0.5, n) * np.where(np.arange(n) < n_comm, 4.0, 1.0)
        people = split(pop, weight)
        older = np.clip(share60 * rng.lognormal(0.0, 0.12, n) * np.where(np.arange(n) < n_comm, 0.85, 1.05), 0.08, 0.6)
        employed = np.clip(share_emp * rng.lognormal(0.0, 0.2, n) * np.where(np.arange(n) < n_comm, 1.5, 0.9), 0.0, 0.8)
        centre = "平阳县昆阳镇社区卫生服务中心" if name == "昆阳镇" else \
            f"平阳县{name}{'中心' if name in CENTRAL else ''}卫生院"
        facilities.append([f"T-{code}", centre, "township", lon, lat, "", "", "true", name, ""])
        for k in range(n):
            community = k < n_comm
            label = f"{name}第{k + 1}社区" if community else f"{name}第{k - n_comm + 1}村"
            sid = f"{code}-{'C' if community else 'V'}{(k if community else k - n_comm) + 1:02d}"
            settlements.append([sid, label, int(people[k]), round(float(older[k]), 3), round(float(employed[k]), 3),
                                round(float(slon[k]), 5), round(float(slat[k]), 5), name])
            clinic = f"{name}第{k + 1}社区卫生服务站" if community else f"{label}卫生室"
            facilities.append([f"V-{sid}", clinic, "village", round(float(slon[k]), 5), round(float(slat[k]), 5),
                               "", "", "true", name, ""])
    for fid, name, tier, lon, lat, place in HOSPITALS:
        facilities.append([fid, name, tier, lon, lat, "", "", "true" if tier == "county" else "false", "", place])
    # Hospitals first: the first county hospital is the county seat and leads the medical community.
    facilities = [f for f in facilities if f[2] in ("county", "tertiary")] + \
                 [f for f in facilities if f[2] not in ("county", "tertiary")]
    for path, header, rows in ((HERE / "facilities.csv", FAC_HEADER, facilities),
                               (HERE / "settlements.csv", SET_HEADER, settlements)):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    pop = np.array([s[2] for s in settlements])
    older = np.array([s[3] for s in settlements])
    print(f"{len(settlements)} settlements, {pop.sum():,} residents, {(pop * older).sum() / pop.sum():.1%} aged 60+; "
          f"{len(facilities)} facilities")


if __name__ == "__main__":
    main()
