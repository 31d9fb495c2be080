-- shots_by_tag: the shots that best carry a tag, across titles (reelhouse search-tag).
--
-- Purpose
--   The shots scoring highest for :tag under the current tag probes (trained by `reelhouse tags train
--   LABELS.csv`): the probe set whose scores were written last (one probe set serves the whole catalog,
--   so titles are ranked on one scale). Scores are the probe's probability that the shot carries the
--   tag, 0-1; 0.5 is its decision threshold. Shot times come from each title's latest shots slice.
--
-- Parameters
--   :tag        varchar  the tag, as the label file names it
--   :min_score  double   lowest score kept, 0-1 (0: every shot)
--   :top_n      integer  most shots (NULL: all)
--
-- Output columns
--   video_id     varchar  title content id
--   title        varchar  file name
--   shot_index   integer  the shot
--   start_s      double   start, seconds
--   end_s        double   end, seconds (exclusive)
--   score        double   the probe's probability, 0-1
--   probes       varchar  the tags feature version (names the probe set)
--
-- Ordered by score descending, then video_id, shot_index.
WITH media AS (
    SELECT video_id, regexp_extract(source_uri, '[^/]+$') AS title
    FROM (
        SELECT video_id, source_uri,
               row_number() OVER (PARTITION BY video_id ORDER BY written_at DESC, feature_version DESC) AS rn
        FROM iceberg.features.media
    ) AS latest
    WHERE rn = 1
),
current_probes AS (
    SELECT feature_version
    FROM (
        SELECT feature_version, row_number() OVER (ORDER BY max(written_at) DESC, feature_version DESC) AS rn
        FROM iceberg.features.shot_tags
        GROUP BY feature_version
    ) AS versions
    WHERE rn = 1
),
scored AS (
    SELECT t.video_id, t.shot_index, t.score, t.feature_version,
           row_number() OVER (ORDER BY t.score DESC, t.video_id, t.shot_index) AS position
    FROM iceberg.features.shot_tags AS t
    WHERE t.feature_version = (SELECT feature_version FROM current_probes)
      AND t.tag = :tag AND t.score >= :min_score
),
shot_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shots
    WHERE video_id IN (SELECT video_id FROM scored)
    GROUP BY video_id, feature_version
),
shots AS (
    SELECT s.video_id, s.shot_index, s.start_s, s.end_s
    FROM iceberg.features.shots AS s
    JOIN shot_slices AS l ON s.video_id = l.video_id AND s.feature_version = l.feature_version AND l.rn = 1
)
SELECT r.video_id, p.title, r.shot_index, s.start_s, s.end_s, r.score, r.feature_version AS probes
FROM scored AS r
JOIN media AS p ON r.video_id = p.video_id
JOIN shots AS s ON r.video_id = s.video_id AND r.shot_index = s.shot_index
WHERE :top_n IS NULL OR r.position <= :top_n
ORDER BY r.score DESC, r.video_id, r.shot_index
