"""`python -m bot explain CONTACT_ID`: a contact's score history, each score with its reasons and what
changed since the one before — the answer to "why is (or isn't) this lead an MQL?"."""
from __future__ import annotations

import json
import sys
from typing import Sequence, TextIO

from sqlalchemy import Engine, select
from sqlalchemy.engine import Row

from bot.store.schema import leads, scores


def explain(engine: Engine, contact_id: str, out: TextIO = sys.stdout, limit: int = 20) -> int:
    """Print the history; exit status 1 when Handoff never scored the contact."""
    with engine.connect() as conn:
        history = list(conn.execute(select(scores).where(scores.c.contact_id == contact_id)
                                    .order_by(scores.c.computed_at.desc(), scores.c.id.desc()).limit(limit)))
        lead_rows = list(conn.execute(select(leads).where(leads.c.contact_id == contact_id).order_by(leads.c.id)))
    if not history:
        print(f"Contact {contact_id}: Handoff has no score for it yet (no webhook event handled).", file=out)
        return 1
    print(f"Contact {contact_id}: {len(history)} score(s), newest first", file=out)
    for lead in lead_rows:
        print(f"  lead {lead.id}: {lead.status}, MQL since {lead.became_mql_at:%Y-%m-%d %H:%M} UTC", file=out)
    for newer, older in zip(history, list(history[1:]) + [None]):
        print(_score_lines(newer, older), file=out)
    return 0


def _score_lines(score: Row, previous: Row | None) -> str:
    verdict = "MQL" if score.is_mql else "not an MQL"
    lines = [f"\n{score.computed_at:%Y-%m-%d %H:%M:%S} UTC  {score.total:g} points "
             f"(fit {score.fit:g}, engagement {score.engagement:g})  {verdict}  — cause: {score.cause}"]
    lines += [f"  {r['points']:+g}  {r['rule']}: {r['evidence']}" for r in json.loads(score.reasons)]
    lines += [f"  gate not met: {gate}" for gate in json.loads(score.gates_failed)]
    if previous is not None:
        lines.append("  since the score before: " + _changes(score, previous))
    return "\n".join(lines)


def _changes(score: Row, previous: Row) -> str:
    now_rules, then_rules = _rules(json.loads(score.reasons)), _rules(json.loads(previous.reasons))
    parts = [f"{score.total - previous.total:+g} points"]
    parts += [f"'{rule}' now fires" for rule in now_rules.keys() - then_rules.keys()]
    parts += [f"'{rule}' no longer fires" for rule in then_rules.keys() - now_rules.keys()]
    return ", ".join(parts)


def _rules(reasons: Sequence[dict]) -> dict[str, float]:
    return {reason["rule"]: reason["points"] for reason in reasons}
