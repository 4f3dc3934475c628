"""The health scorecard: measures on usage metrics, each scored 0-100 and weighted into a
customer's health, and the bands (red, amber, green) health falls into.

The model's `[scorecard]` (kept in clm_meta as JSON) lists the measures: a metric, a weight,
and either a `scale = [A, B]` (A scores 0, B scores 100, linear between and clamped; A > B for
a metric where less is better) or `thresholds = [A, B]` (below A: 0, below B: 50, from B: 100;
reversed when A > B). Every tick day scores every live customer in one query from each
measure's latest value on or before the day (kept apart in metric_latest); a customer with no
value of a measure is scored on the rest (and with none at all keeps its health). A score that
differs from the health now is written with the day to the customer's score row
(health_scores, clm.domain.health_now) and logged, so the health history is the score's
history, and rules on `health` read it as they read a score set by hand."""

import json
from dataclasses import asdict
from datetime import date

from sqlalchemy import (
    Connection,
    Integer,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
)

from clm.db import (
    audit_paused,
    by_primary_key,
    get_meta,
    log_bulk_write,
    set_meta,
    upsert_from,
    utcnow,
    uuid_in_block,
)
from clm.domain.health_card import (
    DEFAULT_BANDS,
    META_KEY,
    Measure,
    Scorecard,
    card_of,
    measured,
)
from clm.domain.health_now import fold_scores, health_now
from clm.domain.records import new_uuid
from clm.errors import Problem
from clm.storage.tables import (
    SET_APART,
    customers,
    health_log,
    health_scores,
    metric_latest,
    metric_points,
    metrics,
    stages,
)

BANDS = ("red", "amber", "green")


def book_card(conn: Connection) -> Scorecard:
    """The book's scorecard, or one without measures and with the default bands: what the
    bands of health are, with or without a scorecard."""
    return read_scorecard(conn) or Scorecard(())


def read_scorecard(conn: Connection) -> Scorecard | None:
    return card_of(get_meta(conn, META_KEY))


def set_scorecard(conn: Connection, card: Scorecard | None) -> None:
    """Keep `card` as the book's scorecard; without one (removed, or no measures left), the
    scores fold back into the customers' health: the health each had stays, unscored."""
    text = "" if card is None else json.dumps(asdict(card))
    if (get_meta(conn, META_KEY) or "") != text:
        set_meta(conn, META_KEY, text)
    if card is None or not card.measures:
        fold_scores(conn)


def as_toml_table(card: Scorecard) -> dict:
    """The scorecard as the model file writes it."""
    return {
        "bands": {"amber": card.amber, "green": card.green},
        "measures": [
            {
                "metric": m.metric,
                "weight": _plain(m.weight),
                "thresholds" if m.steps else "scale": [_plain(m.low), _plain(m.high)],
            }
            for m in card.measures
        ],
    }


def _plain(number: float) -> float | int:
    return int(number) if number.is_integer() else number


def check_scorecard(table, problems: list[Problem]) -> Scorecard | None:
    """The model file's `[scorecard]` as a Scorecard, its problems added with their places."""
    if not isinstance(table, dict):
        problems.append(Problem("scorecard", "expected a table with measures and bands"))
        return None
    for key in sorted(table.keys() - {"measures", "bands"}):
        problems.append(Problem(f"scorecard.{key}", "unknown key: use measures, bands"))
    bands = table.get("bands", DEFAULT_BANDS)
    amber, green = DEFAULT_BANDS["amber"], DEFAULT_BANDS["green"]
    if not isinstance(bands, dict) or bands.keys() - {"amber", "green"}:
        problems.append(Problem("scorecard.bands", "use { amber = 40, green = 70 }"))
    else:
        amber, green = bands.get("amber", amber), bands.get("green", green)
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in (amber, green)) or not (
            0 < amber < green <= 100
        ):
            problems.append(
                Problem(
                    "scorecard.bands", "amber and green are whole numbers, 0 < amber < green <= 100"
                )
            )
    measures = []
    listed = table.get("measures", [])
    if not isinstance(listed, list) or not listed:
        problems.append(Problem("scorecard.measures", "list at least one measure"))
        listed = []
    for i, entry in enumerate(listed):
        measure = _check_measure(entry, f"scorecard.measures[{i}]", problems)
        if measure is not None:
            measures.append(measure)
    return Scorecard(tuple(measures), amber, green)


def _check_measure(entry, place: str, problems: list[Problem]) -> Measure | None:
    if not isinstance(entry, dict):
        problems.append(Problem(place, "expected a table: metric, weight, scale or thresholds"))
        return None
    for key in sorted(entry.keys() - {"metric", "weight", "scale", "thresholds"}):
        problems.append(
            Problem(f"{place}.{key}", "unknown key: use metric, weight, scale, thresholds")
        )
    metric, weight = entry.get("metric"), entry.get("weight", 1)
    if not isinstance(metric, str) or not metric.strip():
        problems.append(Problem(f"{place}.metric", "name the metric it scores"))
        return None
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        problems.append(Problem(f"{place}.weight", f"use a number above 0, not {weight!r}"))
        return None
    given = [key for key in ("scale", "thresholds") if key in entry]
    if len(given) != 1:
        problems.append(
            Problem(place, "give a scale = [A, B] or thresholds = [A, B] (one of them)")
        )
        return None
    pair = entry[given[0]]
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        or pair[0] == pair[1]
    ):
        problems.append(
            Problem(f"{place}.{given[0]}", "use two different numbers: [A, B], A scored lowest")
        )
        return None
    return Measure(
        metric.strip().lower(),
        float(weight),
        float(pair[0]),
        float(pair[1]),
        given[0] == "thresholds",
    )


def scorecard_problems(conn: Connection, card: Scorecard) -> list[Problem]:
    """The measures naming a metric this book does not have."""
    from clm.errors import did_you_mean

    names = set(conn.scalars(select(metrics.c.name).where(metrics.c.deleted_at.is_(None))))
    return [
        Problem(
            f"scorecard.measures[{i}].metric",
            f"no metric '{m.metric}'{did_you_mean(m.metric, names)} (add it with clm metric add)",
        )
        for i, m in enumerate(card.measures)
        if m.metric not in names
    ]


# --- scoring -------------------------------------------------------------------------------


def _latest(metric_id, day: date, customer_id, of=None):
    """SQL: a customer's latest value of a metric on or before `day`, or `of` it (an
    expression of metric_points.c.value): one seek of the points' primary key, which holds the
    value. For one customer's page, and for the tick's scores of a day before the latest value
    (metric_latest keeps only the newest day)."""
    return by_primary_key(
        select(metric_points.c.value if of is None else of)
        .where(
            metric_points.c.metric_id == metric_id,
            metric_points.c.customer_id == customer_id,
            metric_points.c.day <= day,
        )
        .order_by(metric_points.c.day.desc())
        .limit(1),
        metric_points,
    ).scalar_subquery()


def latest_value_query(metric, day, customer_id):
    """A customer's latest value of the metric named `metric` on or before `day` (each a value
    or a bound parameter)."""
    return select(_latest(metric_id(metric), day, customer_id).label("value"))


def metric_id(metric: str):
    return (
        select(metrics.c.id)
        .where(metrics.c.name == metric, metrics.c.deleted_at.is_(None))
        .scalar_subquery()
    )


def scores_query(conn: Connection, card: Scorecard, day: date):
    """SQL: (customer id, health, score) of every live customer outside a terminal stage that
    has a value of any metric, as of `day` (score NULL without a value of any measure).

    One pass over metric_latest in customer order (a row per customer and metric): each row's
    value is scored by the measures of its metric on the row, and a customer's score is
    `sum(weight x score) / sum(weight)` over its rows: two sums, not a value per measure
    gathered first. When a latest value is dated after `day` (a tick scoring an earlier day),
    the latest on or before `day` is sought in the points instead, and a measure with no value
    there counts no weight. The health now comes from the score rows, read in the same order;
    only the few customers set apart (removed, not in a live stage, or with a health set by
    hand: each found in an index, migration 0026) and those never scored are looked up in
    full."""
    ids = dict(
        conn.execute(
            select(metrics.c.name, metrics.c.id).where(metrics.c.deleted_at.is_(None))
        ).all()
    )
    by_metric: dict[int, list[Measure]] = {}
    for m in card.measures:
        if m.metric in ids:
            by_metric.setdefault(ids[m.metric], []).append(m)
    last = metric_latest.c
    value, nullable = last.value, False
    # Each use of `value` repeats its expression (SQLite evaluates it in every place it is
    # read), so the seek of an earlier day's value is written in only when a value needs it.
    if conn.scalar(select(last.day).where(last.day > day).limit(1)) is not None:
        sought = _latest(last.metric_id, day, last.customer_id)
        value, nullable = case((last.day <= day, last.value), else_=sought), True

    def per_metric(term):
        """SQL: `term(measures)` of the measures of the row's metric."""
        if not by_metric:  # no measure's metric is left: nobody has a value
            return null()
        return case({k: term(ms) for k, ms in by_metric.items()}, value=last.metric_id)

    def shares(ms):
        return sum(
            (m.weight * m.score_sql(value, nullable) for m in ms[1:]),
            ms[0].weight * ms[0].score_sql(value, nullable),
        )

    def weights(ms):
        weight = literal(sum(m.weight for m in ms))
        return case((value.is_(None), null()), else_=weight) if nullable else weight

    measured = (
        select(
            last.customer_id.label("id"),
            func.sum(per_metric(shares)).label("weighted"),
            func.sum(per_metric(weights)).label("weights"),
        )
        .where(last.metric_id.in_(sorted(by_metric)))
        .group_by(last.customer_id)
        .cte("measured")
    )
    # The customers the scorecard leaves alone or reads in full, each found in an index:
    # those not in a live stage (scored by nobody), and those removed or with a health set by
    # hand (`out` while it holds on `day`, read in full after it lapsed).
    live = select(stages.c.key).where(stages.c.deleted_at.is_(None), stages.c.terminal.is_(False))
    elsewhere = select(customers.c.id).where(customers.c.stage.not_in(live))
    removed, until = customers.c.deleted_at.is_not(None), customers.c.health_override_until
    # SQLite reads a partial index only for a condition written as the index states it.
    apart = (
        select(customers.c.id, or_(removed, until >= day).label("out"))
        .where(text(SET_APART))
        .cte("apart")
        .prefix_with("MATERIALIZED")
    )
    full = select(health_now()).where(customers.c.id == measured.c.id).scalar_subquery()
    health = case(
        (or_(health_scores.c.customer_id.is_(None), apart.c.id.is_not(None)), full),
        else_=health_scores.c.health,
    )
    score = cast(func.round(measured.c.weighted / func.nullif(measured.c.weights, 0.0)), Integer)
    return (
        select(measured.c.id, health.label("health"), score.label("score"))
        .select_from(measured)
        .outerjoin(apart, apart.c.id == measured.c.id)
        .outerjoin(health_scores, health_scores.c.customer_id == measured.c.id)
        .where(measured.c.id.not_in(elsewhere), or_(apart.c.id.is_(None), apart.c.out.is_(False)))
        .subquery()
    )


def check_override(
    conn: Connection, today: date, health: int | None, until: date | None, reason: str | None
) -> dict:
    """The columns of a health set by hand: with a scorecard, it needs --until (the last day
    it holds over the score) and --reason; `--until` and `--reason` go with --health only."""
    from clm.errors import Invalid

    if health is None:
        if until is not None or reason is not None:
            raise Invalid("--until and --reason go with --health: the health they hold")
        return {}
    if read_scorecard(conn) is None:
        if until is not None:
            raise Invalid("--until holds a health over the scorecard's, and there is none")
        return {}
    if until is None or not (reason or "").strip():
        raise Invalid(
            "the scorecard sets health every day: give --until DATE (the last day your health "
            "holds) and --reason TEXT to set it by hand"
        )
    if until < today:
        raise Invalid(f"invalid --until {until}: it is before today ({today})")
    return {"health_override_until": until, "health_override_reason": reason.strip()}


def score_customers(conn: Connection, day: date) -> int:
    """Score every customer as of `day` (see the module); the customers whose health changed.
    Set-based: the scores that differ from the health now are logged by one INSERT … SELECT,
    and written from that log to the score rows by one upsert; the customers' rows are not
    written. The audit log gets one summary row, not one per customer: the health history is
    health_log's."""
    card = read_scorecard(conn)
    if card is None or not card.measures:
        return 0
    scored = scores_query(conn, card, day)
    now = utcnow()
    last = conn.scalar(select(func.max(health_log.c.id)))  # the log rows after it are these
    head, first = new_uuid.block((conn.scalar(select(func.max(customers.c.id))) or 0) + 1)
    with audit_paused(conn):
        conn.execute(
            health_log.insert().from_select(
                ["uuid", "customer_id", "on", "health", "created_at"],
                select(
                    # Version 7 uuids of this command's time, counted up by customer id (the
                    # rows' order): the unique index on uuid takes them as appends.
                    uuid_in_block(literal(head), literal(first), scored.c.id),
                    scored.c.id,
                    literal(day, health_log.c.on.type),
                    scored.c.score,
                    literal(now, health_log.c.created_at.type),
                ).where(
                    # A score that differs from the health now; no score (no value of any
                    # measure) leaves the health as it is. One comparison, so the score is
                    # computed once here, not twice (SQLite flattens `scored` into each use).
                    func.coalesce(scored.c.score, scored.c.health).is_distinct_from(scored.c.health)
                ),
            )
        )
        new = (
            health_log.c.id > (last or 0),
            health_log.c.on == day,
            health_log.c.created_at == now,
        )
        upsert_from(
            conn,
            health_scores,
            select(health_log.c.customer_id, health_log.c.health, health_log.c.on).where(*new),
            key=("customer_id",),
        )
    # Counted from the log (an INSERT … SELECT has no row count on every driver).
    changed = conn.scalar(select(func.count()).select_from(health_log).where(*new))
    if changed:
        log_bulk_write(conn, "customers", f"health of {changed} customers scored on {day}")
    return changed


def contributions(conn: Connection, card: Scorecard, customer_id: int, day: date) -> dict:
    """One customer's measures: each one's value, score and share of the health (`weight x
    score / the weights of the measures with a value`), and the measures without a value."""
    values = {
        m.metric: conn.scalar(latest_value_query(m.metric, day, literal(customer_id)))
        for m in card.measures
    }
    return measured(card, values)
