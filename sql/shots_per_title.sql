-- shots_per_title: shot statistics per title, from each title's latest shots slice.
--
-- Purpose
--   One row per title (video_id) with its shot count, shot lengths and probed duration.
--   A title can hold several shots slices (one per feature_version); the slice whose
--   rows were written last (max written_at) is used. Media metadata comes from the
--   title's most recently written media row.
--
-- Parameters
--   none
--
-- Output columns
--   video_id         varchar  title content id
--   source_uri       varchar  where the title's file was found (NULL if no media row)
--   duration_s       double   title duration from the media probe, seconds
--   feature_version  varchar  shots slice used
--   shot_count       bigint   number of shots
--   shots_total_s    double   sum of shot lengths (end_s - start_s), seconds
--   mean_shot_s      double   mean shot length, seconds
--   median_shot_s    double   exact median shot length, seconds: the middle length
--                             (for an even count, the mean of the two middle lengths)
--   min_shot_s       double   shortest shot, seconds
--   max_shot_s       double   longest shot, seconds
--
-- Ordered by video_id.
WITH shot_slices AS (
    SELECT video_id, feature_version, max(written_at) AS written_at
    FROM iceberg.features.shots
    GROUP BY video_id, feature_version
),
latest_slice AS (
    SELECT video_id, feature_version
    FROM (
        SELECT
            video_id,
            feature_version,
            row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM shot_slices
    ) AS ranked
    WHERE rn = 1
),
latest_shots AS (
    SELECT
        s.video_id,
        s.feature_version,
        s.end_s - s.start_s AS shot_s,
        row_number() OVER (PARTITION BY s.video_id ORDER BY s.end_s - s.start_s) AS length_rank,
        count(*) OVER (PARTITION BY s.video_id) AS n_shots
    FROM iceberg.features.shots AS s
    JOIN latest_slice AS l
        ON s.video_id = l.video_id AND s.feature_version = l.feature_version
),
latest_media AS (
    SELECT video_id, source_uri, duration_s
    FROM (
        SELECT
            video_id,
            source_uri,
            duration_s,
            row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS ranked
    WHERE rn = 1
)
SELECT
    s.video_id,
    m.source_uri,
    m.duration_s,
    s.feature_version,
    count(*) AS shot_count,
    sum(s.shot_s) AS shots_total_s,
    avg(s.shot_s) AS mean_shot_s,
    -- Exact median (approx_percentile differs between engines and from the true median).
    avg(s.shot_s) FILTER (
        WHERE s.length_rank IN (floor((s.n_shots + 1) / 2.0), ceil((s.n_shots + 1) / 2.0))
    ) AS median_shot_s,
    min(s.shot_s) AS min_shot_s,
    max(s.shot_s) AS max_shot_s
FROM latest_shots AS s
LEFT JOIN latest_media AS m ON s.video_id = m.video_id
GROUP BY s.video_id, m.source_uri, m.duration_s, s.feature_version
ORDER BY s.video_id
