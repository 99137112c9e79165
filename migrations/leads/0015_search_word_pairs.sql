-- Two-word searches through word pairs (issue 5 benchmark, bench/leads).
-- "agus putr" becomes 'agus' & ('putra' | 'putri') (0011), which GIN answers
-- by intersecting the posting lists of 'agus' and of 'putra'/'putri': tens of
-- thousands of entries each in a large tenant for the common first and last
-- names, 2 ms of the statement's 2.4 ms at 1M leads, for ~300 matches. This
-- index holds every pair of distinct words of a lead's search document as
-- one lexeme ('agus putra', the two words in byte order), so the same search
-- reads the posting lists of 'agus putra' and 'agus putri' alone: ~300
-- entries, 0.06 ms. It is an expression index over the stored search_doc,
-- not another stored column: the leads' rows stay as wide as they were.
--
-- A lead has a word of each typed term exactly when it has one of the pairs
-- the two terms' words form, provided the two terms share no word (a lead
-- with only "budi" matches "bu budi" through one word; leads.search_queries
-- then keeps the word query). Three terms are the pairs of the first and
-- second AND of the second and third, and so on.
CREATE FUNCTION leads.search_pair_document(doc tsvector) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT COALESCE(array_to_tsvector(array_agg(a || ' ' || b)), ''::tsvector)
        FROM unnest(tsvector_to_array(doc)) a, unnest(tsvector_to_array(doc)) b
        WHERE (a COLLATE "C") < (b COLLATE "C") $$;

CREATE INDEX leads_search_pairs ON leads.leads USING gin (leads.search_pair_document(search_doc))
  WITH (fastupdate = off) WHERE deleted_at IS NULL;

-- The known words a typed word starts (as in leads.search_query, 0011): the
-- words when at most 64 do, an empty array when none does, NULL when more do
-- (the search keeps that word a prefix).
CREATE FUNCTION leads.search_expansion(typed text) RETURNS text[]
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN count(*) > 64 THEN NULL ELSE COALESCE(array_agg(v.word ORDER BY v.word), '{}') END
  FROM (SELECT s.word FROM leads.search_words s
        WHERE s.word >= (lower(typed) COLLATE "C") AND s.word < ((lower(typed) || chr(1114111)) COLLATE "C")
        ORDER BY s.word LIMIT 65) v $$;

-- Both forms of a search in one call, each typed word expanded once:
-- `words`, the tsquery over search_doc (the same as leads.search_query;
-- NULL when a typed word starts no known word), and `pairs`, the same search
-- over leads.search_pair_document(search_doc), or NULL when it has no pair
-- form (one word typed, a word kept a prefix, two neighbouring terms sharing
-- a word, or more than 64 pairs for two terms).
CREATE FUNCTION leads.search_queries(typed text[], OUT words tsquery, OUT pairs tsquery)
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  i int;
  prev text[];
  cur text[];
  alternatives text;
  word_parts text[] := '{}';
  pair_parts text[] := '{}';
  pairable boolean := cardinality(typed) >= 2;
BEGIN
  words := NULL;
  pairs := NULL;
  IF typed IS NULL OR cardinality(typed) = 0 THEN
    RETURN;
  END IF;
  FOR i IN 1 .. cardinality(typed) LOOP
    cur := leads.search_expansion(typed[i]);
    IF cur IS NULL THEN
      word_parts := word_parts || (leads.tsquery_lexeme(lower(typed[i])) || ':*');
      pairable := false;
    ELSIF cardinality(cur) = 0 THEN
      RETURN;  -- a word no lead has: nothing matches
    ELSE
      word_parts := word_parts || ('(' || (SELECT string_agg(leads.tsquery_lexeme(f), ' | ') FROM unnest(cur) f) || ')');
      IF pairable AND i > 1 THEN
        IF prev && cur OR cardinality(prev) * cardinality(cur) > 64 THEN
          pairable := false;
        ELSE
          SELECT string_agg(leads.tsquery_lexeme(p.pair), ' | ' ORDER BY p.pair COLLATE "C") INTO alternatives
            FROM (SELECT CASE WHEN (x COLLATE "C") < (y COLLATE "C") THEN x || ' ' || y ELSE y || ' ' || x END AS pair
                  FROM unnest(prev) x, unnest(cur) y) p;
          pair_parts := pair_parts || ('(' || alternatives || ')');
        END IF;
      END IF;
    END IF;
    prev := cur;
  END LOOP;
  words := array_to_string(word_parts, ' & ')::tsquery;
  IF pairable THEN
    pairs := array_to_string(pair_parts, ' & ')::tsquery;
  END IF;
END $$;
