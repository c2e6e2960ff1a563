"""The payers after the basic fund in the reference model, one patient at a time (plain Python):
the basic fund's general terms, 门诊慢特病, 大病保险 and 医疗救助, written apart from sim/engine/payers.py as a check on it."""

from __future__ import annotations

import math

from sim.engine.insurance import OUTPATIENT


class PayerAccounts:
    """A reference `Patient`'s accounts with the payers after the basic fund (a mixin: it reads
    `self.model`, `self.scheme`, `self.low_income` and the fund's accounts)."""

    def reset_payer_accounts(self) -> None:
        """A new insurance year."""
        self.qualifying = 0.0  # in-policy out of pocket after the fund (大病保险)
        self.assist_deductible = self.assist_paid = 0.0
        self.special_deductible = self.special_paid = 0.0

    def pay_fund(self, grade: int, setting: int, amount_in_policy: float, rate: float, waive: bool,
                 place: int = 0) -> float:
        """The basic fund's general terms by the facility's grade and place: deductible, rate, caps."""
        rules = self.model.engine.rules
        multiplier = float(rules.deductible_multiplier[rules.place_of[self.scheme, place]])
        deductible = float(rules.deductible[self.scheme, setting, grade]) * multiplier
        if waive:
            left = 0.0
        elif setting == OUTPATIENT:
            left = max(deductible - self.deductible_paid[grade], 0.0)
        else:
            left = deductible
        used = min(amount_in_policy, left) if rate > 0 else 0.0
        cap_left = min(float(rules.tier_cap[self.scheme, setting, grade]) - self.reimbursed[setting][grade],
                       float(rules.setting_cap[self.scheme, setting]) - sum(self.reimbursed[setting]))
        paid = max(min(rate * (amount_in_policy - used), max(cap_left, 0.0)), 0.0)
        if setting == OUTPATIENT:
            self.deductible_paid[grade] += used
        self.reimbursed[setting][grade] += paid
        return paid

    def pay_chronic_special(self, amount_in_policy: float, rate: float) -> float:
        """门诊慢特病: the better rate, the benefit's own deductible and cap."""
        pr = self.model.engine.billing.payer_rules
        rate = max(float(pr.cs_rate[self.scheme]), rate) if rate > 0 else 0.0
        left = max(float(pr.cs_deductible[self.scheme]) - self.special_deductible, 0.0)
        used = min(amount_in_policy, left) if rate > 0 else 0.0
        paid = max(min(rate * (amount_in_policy - used), max(float(pr.cs_cap[self.scheme]) - self.special_paid, 0.0)), 0.0)
        self.special_deductible += used
        self.special_paid += paid
        return paid

    def pay_serious_illness(self, qualifying: float) -> float:
        """大病保险 (resident scheme): each band's rate on the year's qualifying spending above the threshold."""
        pr = self.model.engine.billing.payer_rules
        before, self.qualifying = self.qualifying, self.qualifying + qualifying
        if not pr.si_enabled or self.scheme != 0:
            return 0.0
        threshold = pr.si_threshold * (pr.si_assisted_factor if self.low_income else 1.0)
        bonus = pr.si_bonus if self.low_income else 0.0
        edges = [float(e) for e in pr.si_edges] + [math.inf]
        paid = 0.0
        for b, r in enumerate(pr.si_rates):
            lo, hi = max(edges[b], threshold), edges[b + 1]
            if hi > lo:
                paid += min(float(r) + bonus, 1.0) * max(min(self.qualifying, hi) - max(before, lo), 0.0)
        return paid

    def pay_assistance(self, base: float) -> float:
        """医疗救助 for the low-income: a rate above an annual deductible, up to an annual cap."""
        pr = self.model.engine.billing.payer_rules
        if not (pr.assist_enabled and self.low_income) or pr.assist_rate <= 0:
            return 0.0
        used = min(base, max(pr.assist_deductible - self.assist_deductible, 0.0))
        paid = max(min(pr.assist_rate * (base - used), max(pr.assist_cap - self.assist_paid, 0.0)), 0.0)
        self.assist_deductible += used
        self.assist_paid += paid
        return paid
