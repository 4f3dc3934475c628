-- Give a book (migrated: its ARR log holds each customer's ARR as new business, and its churn)
-- an ARR history of realistic volume: every six months since its start, while live, a
-- customer's ARR changed by 5% of today's (two in three expanding, one in three contracting),
-- so its new business was less (or more) and today's ARR is where the changes lead; one live
-- customer in twenty with a year of tenure churned seven months in and was won back at nine.
-- About 2.5 changes per customer with ARR over three years.
CREATE TEMP TABLE arr_steps AS
WITH RECURSIVE step(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM step WHERE n < 6)
SELECT c.id AS customer_id, step.n AS n, date(c.start, '+' || (6 * step.n) || ' months') AS "on",
       c.arr AS arr, round(c.arr * CASE WHEN c.id % 3 = 0 THEN -0.05 ELSE 0.05 END) AS delta,
       c.created_at AS created_at
FROM customers c, step
WHERE c.arr > 0 AND c.deleted_at IS NULL
  AND date(c.start, '+' || (6 * step.n) || ' months') <= '2026-11-23'
  AND (c.stage NOT IN (SELECT key FROM stages WHERE terminal)
       OR date(c.start, '+' || (6 * step.n) || ' months') < c.stage_entered);
CREATE TEMP TABLE arr_counts (customer_id INTEGER PRIMARY KEY, k INTEGER, delta REAL);
INSERT INTO arr_counts
SELECT customer_id, max(n), max(delta) FROM arr_steps GROUP BY customer_id;
INSERT INTO arr_log (uuid, customer_id, "on", kind, arr, change, created_at)
SELECT lower(hex(randomblob(16))), s.customer_id, s."on",
       CASE WHEN s.delta > 0 THEN 'expansion' ELSE 'contraction' END,
       s.arr - (k.k - s.n) * s.delta, s.delta, s.created_at
FROM arr_steps s JOIN arr_counts k USING (customer_id)
WHERE s.delta != 0;
UPDATE arr_log SET
    arr = arr - (SELECT k * delta FROM arr_counts k WHERE k.customer_id = arr_log.customer_id),
    change = change - (SELECT k * delta FROM arr_counts k WHERE k.customer_id = arr_log.customer_id)
WHERE kind = 'new' AND customer_id IN (SELECT customer_id FROM arr_counts);
INSERT INTO arr_log (uuid, customer_id, "on", kind, arr, change, created_at)
SELECT lower(hex(randomblob(16))), c.id, date(c.start, '+' || w.months || ' months'), w.kind,
       c.arr - (k.k - 1) * k.delta, w.sign * (c.arr - (k.k - 1) * k.delta), c.created_at
FROM customers c
JOIN arr_counts k ON k.customer_id = c.id
JOIN (SELECT 7 AS months, 'churn' AS kind, -1 AS sign
      UNION ALL SELECT 9, 'reactivation', 1) w
WHERE c.id % 20 = 0 AND k.k >= 2
  AND c.stage NOT IN (SELECT key FROM stages WHERE terminal);
DROP TABLE arr_steps;
DROP TABLE arr_counts;
ANALYZE;
