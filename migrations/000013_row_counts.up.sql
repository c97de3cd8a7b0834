-- ga4-outbox schema, version 13: row counts that do not read the rows.
--
-- Counting the pending rows reads them through the partial indexes of
-- version 8, and those indexes keep an entry for every row version the
-- claim and the mark leave behind until vacuum removes it. While vacuum is
-- held back (a long transaction, a replication slot, autovacuum off:
-- docs/VACUUM.md) each count walks every such entry with a table fetch:
-- 0.4 - 1 s at 100,000 pending rows and 900,000 delivered since the
-- horizon was pinned, on every metrics scrape, status and drain check.
--
-- Instead, every statement that writes ga4_outbox.events adds one row per
-- creation minute to ga4_outbox.row_counts with what it changed: pending
-- rows created in that minute (+ inserted or requeued, - marked or
-- deleted), those of them leased to a worker, and (minute NULL) delivered,
-- failed and skipped rows. The sums over row_counts are the counts, exact
-- in every snapshot, because each statement's deltas commit or roll back
-- with it. The poller folds the rows together now and then
-- (poller.compactCounts). The statement-level triggers see the rows
-- through transition tables, whoever writes them (the application's
-- INSERT or COPY, the sidecar, an operator's UPDATE or DELETE). What
-- bypasses triggers (session_replication_role = replica, pg_restore
-- --disable-triggers, ALTER TABLE ... DISABLE TRIGGER) leaves the counts
-- wrong until SELECT ga4_outbox.recount_rows() recounts them.
CREATE TABLE ga4_outbox.row_counts (
    -- Pending and leased rows: the minute their created_at falls in, in
    -- Unix minutes (floor(epoch / 60), in float8: cheaper than numeric);
    -- NULL on the finished rows' deltas.
    created_minute bigint,
    pending        bigint NOT NULL DEFAULT 0,
    -- Pending rows with a lease token: claimed and not yet marked (a lease
    -- that expired stays counted until its row is claimed again or marked).
    leased         bigint NOT NULL DEFAULT 0,
    delivered      bigint NOT NULL DEFAULT 0,
    failed         bigint NOT NULL DEFAULT 0,
    skipped        bigint NOT NULL DEFAULT 0,
    -- Rows that became pending: inserted pending, or (at most) the rows an
    -- UPDATE moved from another status to pending (a requeue). Only ever
    -- added to: a poller compares two sums to learn whether any row became
    -- claimable behind its claim cursor in between (behind.go).
    arrived        bigint NOT NULL DEFAULT 0
);

-- Every compaction deletes what it folds: vacuum the small table after a
-- few compactions rather than after 20 % of it.
ALTER TABLE ga4_outbox.row_counts SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000
);

COMMENT ON TABLE ga4_outbox.row_counts IS
    'Per-statement changes of the ga4_outbox.events row counts, summed to count them (ga4-outbox).';

-- The triggers' function. Each statement's rows are read once, the pending
-- ones grouped by creation minute, the finished ones under minute NULL.
-- SECURITY DEFINER: the application's role, which may only INSERT into
-- events, needs no right on row_counts.
CREATE FUNCTION ga4_outbox.count_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ga4_outbox.row_counts (created_minute, pending, leased, delivered, failed, skipped, arrived)
        SELECT d.created_minute, sum(d.pending), sum(d.leased), sum(d.delivered), sum(d.failed), sum(d.skipped),
               sum(d.pending)
          FROM (SELECT CASE WHEN status = 'pending' THEN floor(date_part('epoch', created_at) / 60)::bigint END AS created_minute,
                       sign * (status = 'pending')::integer AS pending,
                       sign * (status = 'pending' AND lease_token IS NOT NULL)::integer AS leased,
                       sign * (status = 'delivered')::integer AS delivered,
                       sign * (status = 'failed')::integer AS failed,
                       sign * (status = 'skipped')::integer AS skipped
                  FROM (SELECT 1 AS sign, status, created_at, lease_token FROM new_rows) AS r) AS d
         GROUP BY d.created_minute;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A claim changes leased only, a lease extension nothing: no row.
        INSERT INTO ga4_outbox.row_counts (created_minute, pending, leased, delivered, failed, skipped)
        SELECT d.created_minute, sum(d.pending), sum(d.leased), sum(d.delivered), sum(d.failed), sum(d.skipped)
          FROM (SELECT CASE WHEN status = 'pending' THEN floor(date_part('epoch', created_at) / 60)::bigint END AS created_minute,
                       sign * (status = 'pending')::integer AS pending,
                       sign * (status = 'pending' AND lease_token IS NOT NULL)::integer AS leased,
                       sign * (status = 'delivered')::integer AS delivered,
                       sign * (status = 'failed')::integer AS failed,
                       sign * (status = 'skipped')::integer AS skipped
                  FROM (SELECT 1 AS sign, status, created_at, lease_token FROM new_rows UNION ALL SELECT -1, status, created_at, lease_token FROM old_rows) AS r) AS d
         GROUP BY d.created_minute
        HAVING sum(d.pending) <> 0 OR sum(d.leased) <> 0 OR sum(d.delivered) <> 0
            OR sum(d.failed) <> 0 OR sum(d.skipped) <> 0;
        -- No more rows can have become pending than either side has.
        INSERT INTO ga4_outbox.row_counts (arrived)
        SELECT a FROM (SELECT least((SELECT count(*) FROM new_rows WHERE status = 'pending'),
                                    (SELECT count(*) FROM old_rows WHERE status <> 'pending')) AS a) AS x
         WHERE a > 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ga4_outbox.row_counts (created_minute, pending, leased, delivered, failed, skipped)
        SELECT d.created_minute, sum(d.pending), sum(d.leased), sum(d.delivered), sum(d.failed), sum(d.skipped)
          FROM (SELECT CASE WHEN status = 'pending' THEN floor(date_part('epoch', created_at) / 60)::bigint END AS created_minute,
                       sign * (status = 'pending')::integer AS pending,
                       sign * (status = 'pending' AND lease_token IS NOT NULL)::integer AS leased,
                       sign * (status = 'delivered')::integer AS delivered,
                       sign * (status = 'failed')::integer AS failed,
                       sign * (status = 'skipped')::integer AS skipped
                  FROM (SELECT -1 AS sign, status, created_at, lease_token FROM old_rows) AS r) AS d
         GROUP BY d.created_minute;
    ELSE -- TRUNCATE
        DELETE FROM ga4_outbox.row_counts;
    END IF;
    RETURN NULL;
END;
$$;

-- recount_rows replaces the deltas with a count of the table, taken while
-- writes to it wait (SHARE ROW EXCLUSIVE, as CREATE TRIGGER takes): after
-- a load that bypassed the triggers. It reads the whole table.
CREATE FUNCTION ga4_outbox.recount_rows() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    LOCK TABLE ga4_outbox.events IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE ga4_outbox.row_counts IN EXCLUSIVE MODE;
    DELETE FROM ga4_outbox.row_counts;
    INSERT INTO ga4_outbox.row_counts (created_minute, pending, leased, delivered, failed, skipped)
        SELECT d.created_minute, sum(d.pending), sum(d.leased), sum(d.delivered), sum(d.failed), sum(d.skipped)
          FROM (SELECT CASE WHEN status = 'pending' THEN floor(date_part('epoch', created_at) / 60)::bigint END AS created_minute,
                       sign * (status = 'pending')::integer AS pending,
                       sign * (status = 'pending' AND lease_token IS NOT NULL)::integer AS leased,
                       sign * (status = 'delivered')::integer AS delivered,
                       sign * (status = 'failed')::integer AS failed,
                       sign * (status = 'skipped')::integer AS skipped
                  FROM (SELECT 1 AS sign, status, created_at, lease_token FROM ga4_outbox.events) AS r) AS d
         GROUP BY d.created_minute;
END;
$$;

-- row_count_totals sums the deltas: the pending rows (leased ones
-- included), the leased ones, the finished ones by status, the earliest
-- creation minute (Unix minutes) that still has pending rows (NULL when
-- none is pending), and the rows that ever became pending. It reads row_counts only, whose size is the
-- statements since the last compaction (and, while vacuum is held back,
-- their dead versions), not the outbox's rows.
CREATE FUNCTION ga4_outbox.row_count_totals(OUT pending bigint, OUT leased bigint,
                                            OUT delivered bigint, OUT failed bigint,
                                            OUT skipped bigint, OUT oldest_pending_minute bigint,
                                            OUT arrived bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT COALESCE(sum(p), 0)::bigint, COALESCE(sum(l), 0)::bigint, COALESCE(sum(d), 0)::bigint,
           COALESCE(sum(f), 0)::bigint, COALESCE(sum(s), 0)::bigint,
           min(created_minute) FILTER (WHERE p > 0), COALESCE(sum(a), 0)::bigint
      FROM (SELECT created_minute, sum(pending) AS p, sum(leased) AS l, sum(delivered) AS d,
                   sum(failed) AS f, sum(skipped) AS s, sum(arrived) AS a
              FROM ga4_outbox.row_counts GROUP BY created_minute) AS g
$$;

-- compact_row_counts folds the deltas into one row per creation minute
-- that still has pending or leased rows, plus one for the finished and
-- arrived rows,
-- when there are at least min_rows more rows than that; it returns the
-- rows it removed (0 when it did nothing, or when another session is
-- compacting). The sums stay the same in every snapshot: the deleted rows
-- and their sums commit together, and a row a concurrent compaction
-- deleted first is skipped by this one's DELETE.
CREATE FUNCTION ga4_outbox.compact_row_counts(min_rows integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    total bigint;
    groups bigint;
    kept bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(1734423663, 13) THEN
        RETURN 0;
    END IF;
    SELECT count(*), count(DISTINCT created_minute) + 1 INTO total, groups FROM ga4_outbox.row_counts;
    IF total - groups < min_rows THEN
        RETURN 0;
    END IF;
    WITH gone AS (
        DELETE FROM ga4_outbox.row_counts RETURNING *
    ), folded AS (
        INSERT INTO ga4_outbox.row_counts (created_minute, pending, leased, delivered, failed, skipped, arrived)
        SELECT created_minute, sum(pending), sum(leased), sum(delivered), sum(failed), sum(skipped),
               CASE WHEN created_minute IS NULL THEN (SELECT COALESCE(sum(arrived), 0) FROM gone) ELSE 0 END
          FROM (SELECT created_minute, pending, leased, delivered, failed, skipped FROM gone
                UNION ALL SELECT NULL, 0, 0, 0, 0, 0) AS g
         GROUP BY created_minute
        HAVING created_minute IS NULL OR sum(pending) <> 0 OR sum(leased) <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM folded) INTO kept;
    RETURN kept;
END;
$$;

CREATE TRIGGER events_count_insert
    AFTER INSERT ON ga4_outbox.events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ga4_outbox.count_rows();
CREATE TRIGGER events_count_update
    AFTER UPDATE ON ga4_outbox.events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ga4_outbox.count_rows();
CREATE TRIGGER events_count_delete
    AFTER DELETE ON ga4_outbox.events REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ga4_outbox.count_rows();
CREATE TRIGGER events_count_truncate
    AFTER TRUNCATE ON ga4_outbox.events
    FOR EACH STATEMENT EXECUTE FUNCTION ga4_outbox.count_rows();

-- The triggers hold SHARE ROW EXCLUSIVE on events until this migration
-- commits, so no write slips between the first count and them.
SELECT ga4_outbox.recount_rows();
