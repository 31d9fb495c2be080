-- feature_coverage: which titles hold which version of every feature, and what is stale.
--
-- Purpose
--   One row per (table, feature, feature_version) found in the feature store. The newest version
--   of a feature is the one written most recently: the version the pipeline computes now, and the
--   one new titles get. Titles that hold an older version but not the newest are stale for that
--   feature; ok titles that hold no version of the newest are missing it. The nightly schedule and
--   `reelhouse backfill` fill both.
--
-- Parameters
--   :feature  varchar  feature name (e.g. shots, visual); NULL for every feature
--
-- Output columns
--   table_name        varchar    Iceberg table holding the feature
--   feature           varchar    feature name
--   feature_version   varchar    algorithm version + parameter hash
--   is_newest         boolean    the feature's most recently written version
--   titles            bigint     titles holding this version
--   ok_titles         bigint     titles whose media status is ok (the denominator)
--   coverage          double     ok titles holding this version / ok_titles (0..1)
--   stale_titles      bigint     titles holding this version but not the newest (0 on the newest)
--   missing_titles    bigint     ok titles holding no slice of the newest version (on the newest row; else NULL)
--   row_count         bigint     rows of this version
--   first_written_at  timestamp  first write of this version, UTC
--   last_written_at   timestamp  last write of this version, UTC
--   age_hours         double     hours since the last write
--
-- Ordered by table_name, feature, is_newest first, then last_written_at descending.
WITH slices AS (
    SELECT 'media' AS table_name, feature, feature_version, video_id, count(*) AS row_count,
           min(written_at) AS first_at, max(written_at) AS last_at
    FROM iceberg.features.media GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'encodes', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.encodes GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'shots', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.shots GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'shot_frames', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.shot_frames GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'shot_embeddings', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.shot_embeddings GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'shot_audio', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.shot_audio GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'subtitle_cues', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.subtitle_cues GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'shot_dedup', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.shot_dedup GROUP BY feature, feature_version, video_id
    UNION ALL
    SELECT 'match_cuts', feature, feature_version, video_id, count(*), min(written_at), max(written_at)
    FROM iceberg.features.match_cuts GROUP BY feature, feature_version, video_id
),
ok AS (
    SELECT video_id
    FROM (
        SELECT video_id, status,
               row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS latest
    WHERE rn = 1 AND status = 'ok'
),
-- Everything below reads the slices once (window functions, no self-joins): a plan with few stages,
-- which is what keeps this query fast on Trino as well as on the embedded engine.
wanted AS (
    SELECT s.table_name, s.feature, s.feature_version, s.video_id, s.row_count, s.first_at, s.last_at,
           o.video_id IS NOT NULL AS is_ok,
           max(s.last_at) OVER (PARTITION BY s.table_name, s.feature, s.feature_version) AS version_last_at
    FROM slices AS s
    LEFT JOIN ok AS o ON s.video_id = o.video_id
    WHERE (:feature IS NULL OR s.feature = :feature)
),
with_newest AS (
    SELECT w.*,
           first_value(w.feature_version) OVER (
               PARTITION BY w.table_name, w.feature ORDER BY w.version_last_at DESC, w.feature_version DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS newest_version
    FROM wanted AS w
),
marked AS (
    SELECT n.*,
           max(CASE WHEN n.feature_version = n.newest_version THEN 1 ELSE 0 END)
               OVER (PARTITION BY n.table_name, n.feature, n.video_id) AS holds_newest
    FROM with_newest AS n
),
versions AS (
    SELECT table_name, feature, feature_version,
           feature_version = max(newest_version) AS is_newest,
           count(*) AS titles,
           CAST(sum(row_count) AS bigint) AS row_count,
           min(first_at) AS first_written_at,
           max(last_at) AS last_written_at,
           count_if(is_ok) AS ok_holding,
           count_if(holds_newest = 0) AS lacking_newest
    FROM marked
    GROUP BY table_name, feature, feature_version
),
ok_count AS (
    SELECT count(*) AS ok_titles FROM ok
)
SELECT
    v.table_name,
    v.feature,
    v.feature_version,
    v.is_newest,
    v.titles,
    c.ok_titles,
    CASE WHEN c.ok_titles = 0 THEN 0.0 ELSE CAST(v.ok_holding AS double) / c.ok_titles END AS coverage,
    CASE WHEN v.is_newest THEN CAST(0 AS bigint) ELSE v.lacking_newest END AS stale_titles,
    CASE WHEN v.is_newest THEN c.ok_titles - v.ok_holding END AS missing_titles,
    v.row_count,
    v.first_written_at,
    v.last_written_at,
    CAST(to_unixtime(current_timestamp) - to_unixtime(v.last_written_at) AS double) / 3600.0 AS age_hours
FROM versions AS v
CROSS JOIN ok_count AS c
ORDER BY v.table_name, v.feature, v.is_newest DESC, v.last_written_at DESC
