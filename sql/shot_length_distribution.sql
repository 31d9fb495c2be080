-- shot_length_distribution: histogram of shot lengths in one-second buckets.
--
-- Purpose
--   How long shots are, for one title or the whole library. Each title contributes the
--   shots of its latest slice (the feature_version written last, max written_at).
--   Shots of 30 s or longer share the last, open-ended bucket.
--
-- Parameters
--   :video_id  varchar  title content id; NULL for every title
--
-- Output columns
--   bucket          bigint   1..30 for [bucket - 1, bucket) seconds, 31 for 30 s and longer
--   bucket_start_s  double   lower bound of the bucket, seconds (inclusive)
--   bucket_end_s    double   upper bound, seconds (exclusive); NULL for the open last bucket
--   shot_count      bigint   shots in the bucket
--   share           double   shot_count / all counted shots (sums to 1 over the rows)
--
-- Only non-empty buckets are returned, ordered by bucket.
WITH shot_slices AS (
    SELECT video_id, feature_version, max(written_at) AS written_at
    FROM iceberg.features.shots
    WHERE (:video_id IS NULL OR video_id = :video_id)
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
bucketed AS (
    -- Bucket k holds lengths in [k - 1, k) seconds, 31 holds 30 s and longer; a negative length counts
    -- in bucket 1. floor() is exact on every engine; width_bucket's float division is not (Trino put a
    -- length a hair under 3 s into bucket 4).
    SELECT least(greatest(CAST(floor(s.end_s - s.start_s) AS bigint) + 1, 1), 31) AS bucket
    FROM iceberg.features.shots AS s
    JOIN latest_slice AS l
        ON s.video_id = l.video_id AND s.feature_version = l.feature_version
)
SELECT
    CAST(bucket AS bigint) AS bucket,
    CAST(bucket - 1 AS double) AS bucket_start_s,
    CASE WHEN bucket > 30 THEN NULL ELSE CAST(bucket AS double) END AS bucket_end_s,
    count(*) AS shot_count,
    CAST(count(*) AS double) / sum(count(*)) OVER () AS share
FROM bucketed
GROUP BY bucket
ORDER BY bucket
