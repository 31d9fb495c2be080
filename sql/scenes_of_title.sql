-- scenes_of_title: a title's scenes and chapters, with their shots, times and lengths.
--
-- Purpose
--   The scenes (consecutive shots that belong together) and chapters (consecutive scenes) of one
--   title, from its latest scenes slice, in time order: chapters and scenes interleaved, each chapter
--   first and then its scenes. Each level tiles the title's shots: [start_shot, end_shot).
--   The title is given by content id, a content-id prefix, or its file name (e.g. movie.mp4).
--
-- Parameters
--   :title  varchar  content id, id prefix or file name of the title
--
-- Output columns
--   video_id     varchar  title content id
--   title        varchar  file name
--   level        varchar  'chapter' or 'scene'
--   chapter      integer  the chapter number (of a scene: the chapter it is in)
--   scene        integer  the scene number (NULL on a chapter row)
--   start_shot   integer  first shot, inclusive
--   end_shot     integer  last shot, exclusive
--   shots        integer  number of shots
--   start_s      double   start, seconds
--   end_s        double   end, seconds (exclusive)
--   start_tc     varchar  start, HH:MM:SS.mmm
--   duration_s   double   length, seconds
--
-- Ordered by video_id, start_s, chapter rows before scene rows.
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
    WHERE video_id = :title OR starts_with(video_id, lower(:title)) OR title = :title
),
scene_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.scenes
    WHERE video_id IN (SELECT video_id FROM picked)
    GROUP BY video_id, feature_version
),
rows_ AS (
    SELECT s.video_id, s.level, s.group_index, s.start_shot, s.end_shot, s.start_s, s.end_s, s.start_scene, s.end_scene
    FROM iceberg.features.scenes AS s
    JOIN scene_slices AS l ON s.video_id = l.video_id AND s.feature_version = l.feature_version AND l.rn = 1
),
chapters AS (
    SELECT video_id, group_index AS chapter, start_scene, end_scene FROM rows_ WHERE level = 'chapter'
)
SELECT
    r.video_id,
    p.title,
    r.level,
    CASE WHEN r.level = 'chapter' THEN r.group_index ELSE c.chapter END AS chapter,
    CASE WHEN r.level = 'scene' THEN r.group_index END AS scene,
    r.start_shot,
    r.end_shot,
    r.end_shot - r.start_shot AS shots,
    r.start_s,
    r.end_s,
    format('%02d:%02d:%06.3f', CAST(floor(r.start_s / 3600) AS bigint), CAST(floor(mod(r.start_s, 3600) / 60) AS bigint), mod(r.start_s, 60)) AS start_tc,
    r.end_s - r.start_s AS duration_s
FROM rows_ AS r
JOIN picked AS p ON r.video_id = p.video_id
LEFT JOIN chapters AS c ON r.level = 'scene' AND c.video_id = r.video_id
    AND r.group_index >= c.start_scene AND r.group_index < c.end_scene
ORDER BY r.video_id, r.start_s, CASE WHEN r.level = 'chapter' THEN 0 ELSE 1 END
