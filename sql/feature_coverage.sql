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
wanted AS (
    SELECT * FROM slices WHERE (:feature IS NULL OR feature = :feature)
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
versions AS (
    SELECT table_name, feature, feature_version,
           count(*) AS titles,
           CAST(sum(row_count) AS bigint) AS row_count,
           min(first_at) AS first_written_at,
           max(last_at) AS last_written_at
    FROM wanted
    GROUP BY table_name, feature, feature_version
),
newest AS (
    SELECT table_name, feature, feature_version
    FROM (
        SELECT table_name, feature, feature_version,
               row_number() OVER (PARTITION BY table_name, feature ORDER BY last_written_at DESC, feature_version DESC) AS rn
        FROM versions
    ) AS ranked
    WHERE rn = 1
),
holds_newest AS (
    SELECT w.table_name, w.feature, w.video_id
    FROM wanted AS w
    JOIN newest AS n
        ON w.table_name = n.table_name AND w.feature = n.feature AND w.feature_version = n.feature_version
),
per_version AS (
    SELECT w.table_name, w.feature, w.feature_version,
           count_if(o.video_id IS NOT NULL) AS ok_holding,
           count_if(h.video_id IS NULL) AS lacking_newest
    FROM wanted AS w
    LEFT JOIN ok AS o ON w.video_id = o.video_id
    LEFT JOIN holds_newest AS h
        ON w.table_name = h.table_name AND w.feature = h.feature AND w.video_id = h.video_id
    GROUP BY w.table_name, w.feature, w.feature_version
),
missing AS (
    SELECT n.table_name, n.feature, count(*) AS missing_titles
    FROM newest AS n
    CROSS JOIN ok AS o
    LEFT JOIN holds_newest AS h
        ON h.table_name = n.table_name AND h.feature = n.feature AND h.video_id = o.video_id
    WHERE h.video_id IS NULL
    GROUP BY n.table_name, n.feature
),
ok_count AS (
    SELECT count(*) AS ok_titles FROM ok
)
SELECT
    v.table_name,
    v.feature,
    v.feature_version,
    n.feature_version IS NOT NULL AS is_newest,
    v.titles,
    c.ok_titles,
    CASE WHEN c.ok_titles = 0 THEN 0.0 ELSE CAST(p.ok_holding AS double) / c.ok_titles END AS coverage,
    CASE WHEN n.feature_version IS NOT NULL THEN CAST(0 AS bigint) ELSE p.lacking_newest END AS stale_titles,
    CASE WHEN n.feature_version IS NOT NULL THEN coalesce(m.missing_titles, CAST(0 AS bigint)) END AS missing_titles,
    v.row_count,
    v.first_written_at,
    v.last_written_at,
    CAST(to_unixtime(current_timestamp) - to_unixtime(v.last_written_at) AS double) / 3600.0 AS age_hours
FROM versions AS v
CROSS JOIN ok_count AS c
JOIN per_version AS p
    ON v.table_name = p.table_name AND v.feature = p.feature AND v.feature_version = p.feature_version
LEFT JOIN newest AS n
    ON v.table_name = n.table_name AND v.feature = n.feature AND v.feature_version = n.feature_version
LEFT JOIN missing AS m
    ON v.table_name = m.table_name AND v.feature = m.feature
ORDER BY v.table_name, v.feature, is_newest DESC, v.last_written_at DESC
