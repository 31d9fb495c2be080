-- top_match_cuts: the best stored match-cut pairs, with title names and timecodes.
--
-- Purpose
--   Pairs from the match_cuts table (each shot's stored top candidates per flavor, from the latest
--   slice of each title), best score first. A pair and its mirror (B->A for A->B) are one pair, shown
--   once with the higher score. Title names are the file names of the titles' latest media rows;
--   timecodes come from the latest shots slices (HH:MM:SS.mmm).
--
-- Parameters
--   :flavor     varchar  visual, layout, colour, audio, contextual; NULL for every flavor
--   :video_id   varchar  only pairs involving this title (content id); NULL for all titles
--   :min_score  double   only pairs scoring at least this; NULL for no threshold
--   :top_n      bigint   pairs to return per flavor, best first; NULL for 20
--
-- Output columns
--   flavor            varchar  match-cut flavor
--   pair_rank         bigint   1 = best pair of the flavor
--   score             double   similarity, higher is better
--   video_id          varchar  first title of the pair (content id)
--   title             varchar  its file name
--   shot_index        integer  shot in the first title
--   start_tc          varchar  shot start, HH:MM:SS.mmm
--   end_tc            varchar  shot end (exclusive), HH:MM:SS.mmm
--   other_video_id    varchar  second title of the pair
--   other_title       varchar  its file name
--   other_shot_index  integer  shot in the second title
--   other_start_tc    varchar  shot start, HH:MM:SS.mmm
--   other_end_tc      varchar  shot end (exclusive), HH:MM:SS.mmm
--
-- Ordered by flavor, pair_rank.
WITH cut_slices AS (
    SELECT video_id, feature, feature_version,
           row_number() OVER (PARTITION BY video_id, feature ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.match_cuts
    WHERE (:flavor IS NULL OR flavor = :flavor)
    GROUP BY video_id, feature, feature_version
),
cuts AS (
    SELECT flavor, score,
           -- a pair and its mirror share one key: the smaller (title, shot) first
           CASE WHEN query_first THEN video_id ELSE other_video_id END AS a_video_id,
           CASE WHEN query_first THEN shot_index ELSE other_shot_index END AS a_shot_index,
           CASE WHEN query_first THEN other_video_id ELSE video_id END AS b_video_id,
           CASE WHEN query_first THEN other_shot_index ELSE shot_index END AS b_shot_index
    FROM (
        SELECT c.*,
               c.video_id < c.other_video_id OR (c.video_id = c.other_video_id AND c.shot_index <= c.other_shot_index) AS query_first
        FROM iceberg.features.match_cuts AS c
        JOIN cut_slices AS s
            ON c.video_id = s.video_id AND c.feature = s.feature AND c.feature_version = s.feature_version AND s.rn = 1
        WHERE (:flavor IS NULL OR c.flavor = :flavor)
          AND (:video_id IS NULL OR c.video_id = :video_id OR c.other_video_id = :video_id)
          AND (:min_score IS NULL OR c.score >= :min_score)
    ) AS latest_cuts
),
-- A pair is stored at most twice (once from each side), so the best :top_n pairs of a flavor are all
-- among its rows scoring at least its (2 * :top_n)-th best row score: nothing below can reach the top.
cut_floor AS (
    SELECT flavor, array_min(max(score, 2 * coalesce(:top_n, 20))) AS floor_score
    FROM cuts
    GROUP BY flavor
),
pairs AS (
    SELECT c.flavor, c.a_video_id, c.a_shot_index, c.b_video_id, c.b_shot_index, max(c.score) AS score
    FROM cuts AS c
    JOIN cut_floor AS f ON c.flavor = f.flavor AND c.score >= f.floor_score
    GROUP BY c.flavor, c.a_video_id, c.a_shot_index, c.b_video_id, c.b_shot_index
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY flavor ORDER BY score DESC, a_video_id, a_shot_index, b_video_id, b_shot_index) AS pair_rank
    FROM pairs
),
top AS (
    SELECT * FROM ranked WHERE pair_rank <= coalesce(:top_n, 20)
),
shot_slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shots
    WHERE video_id IN (SELECT a_video_id FROM top UNION SELECT b_video_id FROM top)
    GROUP BY video_id, feature_version
),
shots AS (
    SELECT s.video_id, s.shot_index,
           format('%02d:%02d:%06.3f', CAST(floor(s.start_s / 3600) AS bigint), CAST(floor(mod(s.start_s, 3600) / 60) AS bigint), mod(s.start_s, 60)) AS start_tc,
           format('%02d:%02d:%06.3f', CAST(floor(s.end_s / 3600) AS bigint), CAST(floor(mod(s.end_s, 3600) / 60) AS bigint), mod(s.end_s, 60)) AS end_tc
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
    t.flavor,
    t.pair_rank,
    t.score,
    t.a_video_id AS video_id,
    na.title,
    t.a_shot_index AS shot_index,
    sa.start_tc,
    sa.end_tc,
    t.b_video_id AS other_video_id,
    nb.title AS other_title,
    t.b_shot_index AS other_shot_index,
    sb.start_tc AS other_start_tc,
    sb.end_tc AS other_end_tc
FROM top AS t
LEFT JOIN names AS na ON t.a_video_id = na.video_id
LEFT JOIN names AS nb ON t.b_video_id = nb.video_id
LEFT JOIN shots AS sa ON t.a_video_id = sa.video_id AND t.a_shot_index = sa.shot_index
LEFT JOIN shots AS sb ON t.b_video_id = sb.video_id AND t.b_shot_index = sb.shot_index
ORDER BY t.flavor, t.pair_rank
