-- Search (q=) over names and e-mails by word prefix instead of substring
-- (issue 5 benchmark, bench/leads). 0008's trigram indexes answered
-- `lower(name) LIKE '%budi sant%'` by intersecting posting lists of common
-- trigrams and rechecking every candidate row: 33-44 ms per statement for a
-- name at 1M leads, run twice per request (page + capped count), and the two
-- trigram GIN indexes cost ~5 s of a 100k-row import. Boards search the way
-- people type a name: the start of any of its words ("budi sant" finds
-- "Budi Santoso", "sant" finds "Santi Budiman"); e-mails are split into words
-- at . _ + - @ ("santoso@gm" finds "budi.santoso@gmail.com"), and digits are
-- words of their own ("santoso87" is "santoso" and "87"), so the few
-- thousand name words are not multiplied by every number people put in an
-- e-mail address (migration 0011 expands prefixes to these words).
--
-- The document is a tsvector ('simple': no stemming, no stop words,
-- lower-cased with the database's UTF-8 ctype, so "JOSÉ" finds José), stored
-- in a generated column and GIN-indexed. Stored, not an index expression:
-- when the planner walks leads_tenant_created for a search's page (a search
-- matching many leads), every row it looks at is checked against the query —
-- with an expression that meant a regexp_replace + to_tsvector per row, with
-- the column it is a read. Adding the column rewrites the table once (an
-- exclusive lock for the migration's duration: ~1 min per million leads).
CREATE FUNCTION leads.search_document(name text, email text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_tsvector('simple'::regconfig,
                           regexp_replace(coalesce(name, '') || ' ' || translate(coalesce(email, ''), '@._+-', '     '),
                                          '([0-9]+)', ' \1 ', 'g')) $$;

ALTER TABLE leads.leads ADD COLUMN search_doc tsvector
  GENERATED ALWAYS AS (leads.search_document(name, email)) STORED;

-- fastupdate off: with the default pending list every search also scanned
-- up to 4 MB of unsorted entries until (auto)vacuum merged them — after a
-- 100k-row import 45k entries, 462 pages, on every request. A lead adds only
-- a handful of words, so inserting them into the tree directly is cheap.
CREATE INDEX leads_search_words ON leads.leads USING gin (search_doc)
  WITH (fastupdate = off) WHERE deleted_at IS NULL;

DROP INDEX leads.leads_name_trgm;
DROP INDEX leads.leads_email_trgm;
-- Partial digits of a phone ("0812-3456") stay a substring match: leads_phone_trgm.
