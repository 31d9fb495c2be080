-- subtitle_search: subtitle cues containing a phrase, with the shot on screen when each starts.
--
-- Purpose
--   Case-insensitive substring search over every title's subtitle cues (latest slice per title),
--   e.g. :phrase = 'the door'. Each hit names the shot (latest shots slice) in which the cue starts.
--   For search by meaning rather than by words, use `reelhouse search-text`.
--
-- Parameters
--   :phrase    varchar  text to find, case-insensitive
--   :video_id  varchar  only this title (content id); NULL for every title
--
-- Output columns
--   video_id    varchar  title content id
--   title       varchar  file name
--   cue_index   integer  0-based cue number
--   start_s     double   cue start, seconds
--   end_s       double   cue end, seconds (exclusive)
--   start_tc    varchar  cue start, HH:MM:SS.mmm
--   text        varchar  the cue text
--   shot_index  integer  the shot in which the cue starts; NULL if no shots are stored
--
-- Ordered by title, start_s.
WITH cue_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.subtitle_cues
    WHERE (:video_id IS NULL OR video_id = :video_id)
    GROUP BY video_id, feature_version
),
hits AS (
    SELECT c.video_id, c.cue_index, c.start_s, c.end_s, c.text
    FROM iceberg.features.subtitle_cues AS c
    JOIN cue_slices AS l ON c.video_id = l.video_id AND c.feature_version = l.feature_version AND l.rn = 1
    WHERE c.cue_index >= 0 AND strpos(lower(c.text), lower(:phrase)) > 0
),
shot_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shots
    GROUP BY video_id, feature_version
),
shots AS (
    SELECT s.video_id, s.shot_index, s.start_s, s.end_s
    FROM iceberg.features.shots AS s
    JOIN shot_slices AS l ON s.video_id = l.video_id AND s.feature_version = l.feature_version AND l.rn = 1
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
SELECT
    h.video_id,
    n.title,
    h.cue_index,
    h.start_s,
    h.end_s,
    format('%02d:%02d:%06.3f', CAST(floor(h.start_s / 3600) AS bigint), CAST(floor(mod(h.start_s, 3600) / 60) AS bigint), mod(h.start_s, 60)) AS start_tc,
    h.text,
    s.shot_index
FROM shots AS s
RIGHT JOIN hits AS h ON h.video_id = s.video_id AND h.start_s >= s.start_s AND h.start_s < s.end_s
LEFT JOIN names AS n ON h.video_id = n.video_id
ORDER BY n.title, h.start_s
