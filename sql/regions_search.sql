-- regions_search: shots by region, e.g. "a face filling more than a fifth of the frame, in its left third".
--
-- Purpose
--   Shots whose representative frames hold a region (latest regions slice per title) with the given
--   label, covering at least :min_area of the frame, whose box centre lies in [:x_min, :x_max] x
--   [:y_min, :y_max]. Coordinates are shares of the frame: x 0 at the left edge to 1 at the right,
--   y 0 at the top to 1 at the bottom. One row per shot: its largest matching region; largest first.
--
-- Parameters
--   :label     varchar  region label ('face')
--   :min_area  double   smallest share of the frame the box covers, 0-1
--   :x_min     double   box centre at least this far from the left edge, 0-1
--   :x_max     double   box centre at most this far from the left edge, 0-1
--   :y_min     double   box centre at least this far from the top, 0-1
--   :y_max     double   box centre at most this far from the top, 0-1
--   :top_n     integer  most shots (NULL: all)
--
-- Output columns
--   video_id     varchar  title content id
--   title        varchar  file name
--   shot_index   integer  the shot
--   frame_index  bigint   frame of the standardized encode the region is on
--   t_s          double   the frame's time, seconds
--   label        varchar  region label
--   x0           double   left edge of the box, 0-1
--   y0           double   top edge, 0-1
--   x1           double   right edge (exclusive), 0-1
--   y1           double   bottom edge (exclusive), 0-1
--   area         double   the box's share of the frame, 0-1
--   score        double   the detector's probability
--
-- Ordered by area descending, then video_id, shot_index.
WITH media AS (
    SELECT video_id, regexp_extract(source_uri, '[^/]+$') AS title
    FROM (
        SELECT video_id, source_uri,
               row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS latest
    WHERE rn = 1
),
region_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.regions
    GROUP BY video_id, feature_version
),
matching AS (
    SELECT r.video_id, r.shot_index, r.frame_index, r.t_s, r.label, r.x0, r.y0, r.x1, r.y1, r.area, r.score,
           row_number() OVER (PARTITION BY r.video_id, r.shot_index ORDER BY r.area DESC, r.frame_index) AS pick
    FROM iceberg.features.regions AS r
    JOIN region_slices AS l ON r.video_id = l.video_id AND r.feature_version = l.feature_version AND l.rn = 1
    WHERE r.label = :label AND r.area >= :min_area
      AND (r.x0 + r.x1) / 2 BETWEEN :x_min AND :x_max
      AND (r.y0 + r.y1) / 2 BETWEEN :y_min AND :y_max
),
ranked AS (
    SELECT m.*, row_number() OVER (ORDER BY m.area DESC, m.video_id, m.shot_index) AS position
    FROM matching AS m
    WHERE m.pick = 1
)
SELECT r.video_id, p.title, r.shot_index, r.frame_index, r.t_s, r.label, r.x0, r.y0, r.x1, r.y1, r.area, r.score
FROM ranked AS r
JOIN media AS p ON r.video_id = p.video_id
WHERE :top_n IS NULL OR r.position <= :top_n
ORDER BY r.area DESC, r.video_id, r.shot_index
