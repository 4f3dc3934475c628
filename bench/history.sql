-- Give a make_book.py book a stage history: each contract customer entered onboarding on its
-- start, launched 30 days later and adopting at 90 days, as far as its current stay allows;
-- its current stay then comes from the stage before. About three transitions per customer.
INSERT INTO transitions (uuid, customer_id, from_stage, to_stage, "on", "by", rule, reason,
                         from_owner_id, to_owner_id, created_at)
SELECT lower(hex(randomblob(16))), c.id, p.from_stage, p.to_stage, date(c.start, p.after),
       'import', NULL, 'bench history', NULL, c.owner_id, c.created_at
FROM customers c
JOIN (SELECT NULL AS from_stage, 'onboarding' AS to_stage, '+0 days' AS after
      UNION ALL SELECT 'onboarding', 'launched', '+30 days'
      UNION ALL SELECT 'launched', 'adopting', '+90 days') p
WHERE c.stage IN ('launched', 'adopting', 'renewal', 'will-churn', 'churned')
  AND date(c.start, p.after) < c.stage_entered
  AND (p.to_stage != 'adopting' OR c.stage NOT IN ('launched', 'adopting'))
  AND (p.to_stage != 'launched' OR c.stage != 'launched');
UPDATE transitions SET from_stage = (
    SELECT earlier.to_stage FROM transitions earlier
    WHERE earlier.customer_id = transitions.customer_id AND earlier."on" < transitions."on"
    ORDER BY earlier."on" DESC LIMIT 1)
WHERE reason = 'imported';
ANALYZE;
