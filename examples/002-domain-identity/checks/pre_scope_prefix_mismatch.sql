-- Scopes whose scope_id does not start with their domain's slug: the
-- post-migration verification (check 4) would fail on them; better to
-- stop before changing anything.
SELECT count(*) AS scope_prefix_mismatch
  FROM scopes s JOIN domains d ON d.domain_id = s.domain_id
 WHERE split_part(s.scope_id, '.', 1) <> d.name;
