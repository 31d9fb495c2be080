-- near_duplicate_groups: groups of near-identical shots within each title.
--
-- Purpose
--   From the shot_dedup feature (latest slice per title): every group of two or more shots whose
--   embeddings are near-identical (cosine similarity at or above the dedup threshold). The group is
--   named by its earliest shot, the one kept; the others are its duplicates.
--
-- Parameters
--   :video_id  varchar  only this title (content id); NULL for every title
--   :min_size  bigint   only groups with at least this many shots; NULL for 2
--
-- Output columns
--   video_id          varchar        title content id
--   title             varchar        file name
--   group_shot_index  integer        the group's earliest shot (kept)
--   group_size        bigint         shots in the group, the kept one included
--   shot_indexes      array(integer) every shot of the group, ascending
--   min_similarity    double         lowest cosine similarity of a member to the kept shot
--   threshold         double         dedup threshold the groups were built with
--
-- Ordered by group_size descending, video_id, group_shot_index.
WITH dedup_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shot_dedup
    WHERE (:video_id IS NULL OR video_id = :video_id)
    GROUP BY video_id, feature_version
),
-- Groups with a member besides the kept shot, i.e. of two or more shots (most shots are a group of
-- one): only their rows are aggregated. With :min_size <= 1 every group counts.
shared_groups AS (
    SELECT DISTINCT video_id, feature_version, group_shot_index
    FROM iceberg.features.shot_dedup
    WHERE (:video_id IS NULL OR video_id = :video_id)
      AND (NOT is_kept OR coalesce(:min_size, 2) <= 1)
),
groups AS (
    SELECT d.video_id,
           d.group_shot_index,
           count(*) AS group_size,
           array_agg(d.shot_index ORDER BY d.shot_index) AS shot_indexes,
           min(d.similarity) AS min_similarity,
           max(d.threshold) AS threshold
    FROM iceberg.features.shot_dedup AS d
    JOIN dedup_slices AS l ON d.video_id = l.video_id AND d.feature_version = l.feature_version AND l.rn = 1
    JOIN shared_groups AS g
        ON d.video_id = g.video_id AND d.feature_version = g.feature_version AND d.group_shot_index = g.group_shot_index
    GROUP BY d.video_id, d.group_shot_index
    HAVING count(*) >= coalesce(:min_size, 2)
),
names AS (
    SELECT video_id, regexp_extract(source_uri, '[^/]+$') AS title
    FROM (
        SELECT video_id, source_uri,
               row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS latest
    WHERE rn = 1
)
SELECT g.video_id, n.title, g.group_shot_index, g.group_size, g.shot_indexes, g.min_similarity, g.threshold
FROM groups AS g
LEFT JOIN names AS n ON g.video_id = n.video_id
ORDER BY g.group_size DESC, g.video_id, g.group_shot_index
