-- similar_shots: brute-force cosine similarity from one shot to the shots of a few titles.
--
-- Purpose
--   Exact nearest shots by cosine_similarity on array(double), for small candidate sets: one or a
--   few titles (a few thousand shots). Every candidate is compared, so this is for checks and
--   ad-hoc analysis; catalog-wide similarity goes through the faiss index (`reelhouse similar`,
--   GET /similar), which answers in milliseconds. Embeddings are L2-normalized, so the cosine is the
--   dot product. Uses each title's latest slice of the feature.
--
-- Parameters
--   :feature         varchar  embedding feature, e.g. visual
--   :video_id        varchar  title of the query shot (content id)
--   :shot_index      integer  the query shot
--   :other_video_id  varchar  only candidates of this title; NULL for the query shot's own title
--   :top_n           bigint   shots to return; NULL for 10
--
-- Output columns
--   rank              bigint   1 = most similar
--   other_video_id    varchar  candidate title
--   other_shot_index  integer  candidate shot
--   similarity        double   cosine similarity, -1..1
--
-- The query shot itself is never returned. Ordered by rank.
WITH slices AS (
    SELECT video_id, feature_version,
           row_number() OVER (PARTITION BY video_id ORDER BY max(written_at) DESC, feature_version DESC) AS rn
    FROM iceberg.features.shot_embeddings
    WHERE feature = :feature AND video_id IN (:video_id, coalesce(:other_video_id, :video_id))
    GROUP BY video_id, feature_version
),
vectors AS (
    SELECT e.video_id, e.shot_index, CAST(e.embedding AS array(double)) AS embedding
    FROM iceberg.features.shot_embeddings AS e
    JOIN slices AS l ON e.video_id = l.video_id AND e.feature_version = l.feature_version AND l.rn = 1
    WHERE e.feature = :feature AND e.has_embedding
),
query AS (
    SELECT embedding FROM vectors WHERE video_id = :video_id AND shot_index = :shot_index
),
scored AS (
    SELECT v.video_id AS other_video_id, v.shot_index AS other_shot_index,
           cosine_similarity(q.embedding, v.embedding) AS similarity
    FROM vectors AS v
    CROSS JOIN query AS q
    WHERE v.video_id = coalesce(:other_video_id, :video_id)
      AND NOT (v.video_id = :video_id AND v.shot_index = :shot_index)
)
SELECT rank, other_video_id, other_shot_index, similarity
FROM (
    SELECT row_number() OVER (ORDER BY similarity DESC, other_video_id, other_shot_index) AS rank, *
    FROM scored
) AS ranked
WHERE rank <= coalesce(:top_n, 10)
ORDER BY rank
