-- shots_in_time_range: a title's shots overlapping a time range, with their subtitle text.
--
-- Purpose
--   The shots of one title (latest shots slice) that overlap [:start_s, :end_s), in time order,
--   with the subtitle cues overlapping each shot joined into one line.
--   The title is given by content id, a content-id prefix, or its file name (e.g. movie.mp4).
--
-- Parameters
--   :title    varchar  content id, id prefix or file name of the title
--   :start_s  double   range start, seconds (inclusive)
--   :end_s    double   range end, seconds (exclusive)
--
-- Output columns
--   video_id       varchar  title content id
--   title          varchar  file name
--   shot_index     integer  0-based shot number
--   start_s        double   shot start, seconds
--   end_s          double   shot end, seconds (exclusive)
--   start_tc       varchar  shot start, HH:MM:SS.mmm
--   duration_s     double   shot length, seconds
--   transition     varchar  how the shot begins: cut or gradual
--   subtitle_text  varchar  text of the cues overlapping the shot, in time order; NULL if none
--
-- Ordered by video_id, start_s.
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
shot_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shots
    WHERE video_id IN (SELECT video_id FROM picked)
    GROUP BY video_id, feature_version
),
in_range AS (
    SELECT s.video_id, s.shot_index, s.start_s, s.end_s, s.transition
    FROM iceberg.features.shots AS s
    JOIN shot_slices AS l ON s.video_id = l.video_id AND s.feature_version = l.feature_version AND l.rn = 1
    WHERE s.start_s < :end_s AND s.end_s > :start_s
),
cue_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.subtitle_cues
    WHERE video_id IN (SELECT video_id FROM picked)
    GROUP BY video_id, feature_version
),
cues AS (
    SELECT c.video_id, c.start_s, c.end_s, c.text
    FROM iceberg.features.subtitle_cues AS c
    JOIN cue_slices AS l ON c.video_id = l.video_id AND c.feature_version = l.feature_version AND l.rn = 1
    WHERE c.cue_index >= 0 AND c.start_s < :end_s AND c.end_s > :start_s
),
shot_text AS (
    SELECT r.video_id, r.shot_index, array_join(array_agg(c.text ORDER BY c.start_s), ' ') AS subtitle_text
    FROM in_range AS r
    JOIN cues AS c ON c.video_id = r.video_id AND c.start_s < r.end_s AND c.end_s > r.start_s
    GROUP BY r.video_id, r.shot_index
)
SELECT
    r.video_id,
    p.title,
    r.shot_index,
    r.start_s,
    r.end_s,
    format('%02d:%02d:%06.3f', CAST(floor(r.start_s / 3600) AS bigint), CAST(floor(mod(r.start_s, 3600) / 60) AS bigint), mod(r.start_s, 60)) AS start_tc,
    r.end_s - r.start_s AS duration_s,
    r.transition,
    t.subtitle_text
FROM in_range AS r
JOIN picked AS p ON r.video_id = p.video_id
LEFT JOIN shot_text AS t ON r.video_id = t.video_id AND r.shot_index = t.shot_index
ORDER BY r.video_id, r.start_s
