"""Where a customer's health comes from, for `clm explain --health`: the scorecard's measures
(each one's latest value and its day, score, weight and share of the health, and the measures
without a value), or a health set by hand over the scorecard (its reason, its last day, and
what the scorecard says meanwhile), or a health typed by hand in a book without a scorecard."""

from datetime import date

from sqlalchemy import Connection, select

from clm.domain.records import get_customer
from clm.domain.scorecard import book_card, metric_id, read_scorecard
from clm.storage.tables import metric_points


def _latest_point(conn: Connection, metric: str, customer_id: int, day: date):
    """The (day, value) of a customer's latest value of a metric on or before `day`."""
    return conn.execute(
        select(metric_points.c.day, metric_points.c.value)
        .where(
            metric_points.c.metric_id == metric_id(metric),
            metric_points.c.customer_id == customer_id,
            metric_points.c.day <= day,
        )
        .order_by(metric_points.c.day.desc())
        .limit(1)
    ).first()


def measures(
    conn: Connection, card, customer_id: int, today: date
) -> tuple[list[dict], int | None]:
    """Each measure of the scorecard for one customer, in the card's order; and the score
    they make (None without a value of any)."""
    points = {m.metric: _latest_point(conn, m.metric, customer_id, today) for m in card.measures}
    total = sum(m.weight for m in card.measures if points[m.metric] is not None)
    weighted = sum(
        m.weight * m.score(points[m.metric].value)
        for m in card.measures
        if points[m.metric] is not None
    )
    rows = []
    for m in card.measures:
        point = points[m.metric]
        how = f"{'thresholds' if m.steps else 'scale'} {m.low:g}..{m.high:g}"
        if point is None:
            rows.append({"measure": m.metric, "value": None, "on": None, "score": None,
                         "weight": m.weight, "contribution": None, "scored_by": how,
                         "note": "no value: scored on the other measures"})  # fmt: skip
            continue
        score = m.score(point.value)
        rows.append({"measure": m.metric, "value": point.value, "on": point.day,
                     "score": round(score), "weight": m.weight,
                     "contribution": round(m.weight * score / total, 1), "scored_by": how,
                     "note": ""})  # fmt: skip
    return rows, round(weighted / total) if total else None


def explain_health(conn: Connection, today: date, slug: str) -> tuple[dict, list[dict]]:
    """A customer's health, its band and where it comes from (`source`, `detail`), and the
    scorecard's measures for it (none without a scorecard)."""
    customer = get_customer(conn, slug)
    card = read_scorecard(conn)
    health = customer.health
    record = {
        "customer": customer.slug,
        "health": health,
        "band": book_card(conn).band(health),
        "since": customer.health_on,
    }
    rows, score = measures(conn, card, customer.id, today) if card is not None else ([], None)
    scored = [row for row in rows if row["contribution"] is not None]
    until = customer.health_override_until
    if card is not None and until is not None and until >= today:
        record |= {
            "source": "set by hand",
            "detail": f"until {until}: {customer.health_override_reason} (the scorecard says "
            f"{'nothing: no measure has a value' if score is None else score}; it takes over "
            "after that day)",
        }
    elif card is not None and scored:
        missing = [row["measure"] for row in rows if row["contribution"] is None]
        record |= {
            "source": "scorecard",
            "detail": f"{len(scored)} of {len(rows)} measures have a value"
            + (f"; missing: {', '.join(missing)}" if missing else ""),
        }
    elif card is not None:
        record |= {
            "source": "set by hand" if health is not None else "none",
            "detail": "no measure of the scorecard has a value yet"
            + ("; the health is the last one set" if health is not None else ""),
        }
    elif health is not None:
        record |= {"source": "set by hand", "detail": "no scorecard: health is typed "
                   "(clm customer edit --health) or imported"}  # fmt: skip
    else:
        record |= {"source": "none", "detail": "no health yet, and no scorecard to score it"}
    return record, rows
