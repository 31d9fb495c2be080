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
-- Each returned pair once per side (a: the first shot, b: the second), to look both shots up in one join.
ends AS (
    SELECT r.flavor, r.pair_rank, r.score, r.a_video_id, r.a_shot_index, r.b_video_id, r.b_shot_index, side.name AS side,
           CASE WHEN side.name = 'a' THEN r.a_video_id ELSE r.b_video_id END AS video_id,
           CASE WHEN side.name = 'a' THEN r.a_shot_index ELSE r.b_shot_index END AS shot_index
    FROM ranked AS r
    CROSS JOIN (VALUES ('a'), ('b')) AS side (name)
    WHERE r.pair_rank <= coalesce(:top_n, 20)
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
),
looked_up AS (
    -- (Trino's format() spells NULL arguments out: an end whose shot is missing gets no timecode)
    SELECT e.*, n.title,
           CASE WHEN s.start_s IS NOT NULL THEN format('%02d:%02d:%06.3f', CAST(floor(s.start_s / 3600) AS bigint), CAST(floor(mod(s.start_s, 3600) / 60) AS bigint), mod(s.start_s, 60)) END AS start_tc,
           CASE WHEN s.end_s IS NOT NULL THEN format('%02d:%02d:%06.3f', CAST(floor(s.end_s / 3600) AS bigint), CAST(floor(mod(s.end_s, 3600) / 60) AS bigint), mod(s.end_s, 60)) END AS end_tc
    -- RIGHT joins keep every end and let the engine filter the big side by the ends' keys
    FROM shots AS s
    RIGHT JOIN ends AS e ON s.video_id = e.video_id AND s.shot_index = e.shot_index
    LEFT JOIN names AS n ON e.video_id = n.video_id
)
SELECT
    flavor,
    pair_rank,
    score,
    a_video_id AS video_id,
    max(CASE WHEN side = 'a' THEN title END) AS title,
    a_shot_index AS shot_index,
    max(CASE WHEN side = 'a' THEN start_tc END) AS start_tc,
    max(CASE WHEN side = 'a' THEN end_tc END) AS end_tc,
    b_video_id AS other_video_id,
    max(CASE WHEN side = 'b' THEN title END) AS other_title,
    b_shot_index AS other_shot_index,
    max(CASE WHEN side = 'b' THEN start_tc END) AS other_start_tc,
    max(CASE WHEN side = 'b' THEN end_tc END) AS other_end_tc
FROM looked_up
GROUP BY flavor, pair_rank, score, a_video_id, a_shot_index, b_video_id, b_shot_index
ORDER BY flavor, pair_rank
