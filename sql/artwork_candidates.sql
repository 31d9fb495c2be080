-- artwork_candidates: the best frames for artwork of one title, or of every title.
--
-- Purpose
--   The stored artwork candidates (latest artwork slice per title), best first: sharp, well exposed
--   frames clear of transitions, no two alike, spread over the title's scenes. The title is given by
--   content id, a content-id prefix, or its file name; NULL for every title. A title without any
--   usable frame has no rows here (its one stored row, rank 0, says so).
--
-- Parameters
--   :title  varchar  content id, id prefix or file name of the title, or NULL for all
--   :top_n  integer  candidates per title (NULL: all stored)
--
-- Output columns
--   video_id      varchar  title content id
--   title         varchar  file name
--   rank          integer  1-based, best first
--   shot_index    integer  the frame's shot
--   scene_index   integer  the shot's scene
--   frame_index   bigint   frame of the standardized encode
--   time_s        double   the frame's time, seconds
--   time_tc       varchar  the frame's time, HH:MM:SS.mmm
--   score         double   artwork score in [0, 1]
--   brightness    double   mean luma, 0-255
--   sharpness     double   variance of the Laplacian of luma
--
-- Ordered by video_id, rank.
WITH media AS (
    SELECT video_id, regexp_extract(source_uri, '[^/]+$') AS title
    FROM (
        SELECT video_id, source_uri,
               row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS latest
    WHERE rn = 1
),
picked AS (
    SELECT video_id, title FROM media
    WHERE :title IS NULL OR video_id = :title OR starts_with(video_id, lower(:title)) OR title = :title
),
art_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.artwork
    WHERE video_id IN (SELECT video_id FROM picked)
    GROUP BY video_id, feature_version
)
SELECT
    a.video_id,
    p.title,
    a.rank,
    a.shot_index,
    a.scene_index,
    a.frame_index,
    a.time_s,
    format('%02d:%02d:%06.3f', CAST(floor(a.time_s / 3600) AS bigint), CAST(floor(mod(a.time_s, 3600) / 60) AS bigint), mod(a.time_s, 60)) AS time_tc,
    a.score,
    a.brightness,
    a.sharpness
FROM iceberg.features.artwork AS a
JOIN art_slices AS l ON a.video_id = l.video_id AND a.feature_version = l.feature_version AND l.rn = 1
JOIN picked AS p ON a.video_id = p.video_id
WHERE a.rank >= 1 AND (:top_n IS NULL OR a.rank <= :top_n)
ORDER BY a.video_id, a.rank
