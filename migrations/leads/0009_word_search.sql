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
-- The document is one GIN-indexed tsvector ('simple': no stemming, no stop
-- words, lower-cased with the database's UTF-8 ctype, so "JOSÉ" finds José).
-- The function is IMMUTABLE (to_tsvector with an explicit configuration is)
-- and SQL, so the planner inlines it on both sides and the index matches the
-- query's expression. repo::build_where uses exactly this call.
CREATE FUNCTION leads.search_document(name text, email text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_tsvector('simple'::regconfig,
                           regexp_replace(coalesce(name, '') || ' ' || translate(coalesce(email, ''), '@._+-', '     '),
                                          '([0-9]+)', ' \1 ', 'g')) $$;

-- fastupdate off: with the default pending list every search also scanned
-- up to 4 MB of unsorted entries until (auto)vacuum merged them — after a
-- 100k-row import 45k entries, 462 pages, on every request. A lead adds only
-- a handful of words, so inserting them into the tree directly is cheap.
CREATE INDEX leads_search_words ON leads.leads USING gin (leads.search_document(name, email))
  WITH (fastupdate = off) WHERE deleted_at IS NULL;

DROP INDEX leads.leads_name_trgm;
DROP INDEX leads.leads_email_trgm;
-- Partial digits of a phone ("0812-3456") stay a substring match: leads_phone_trgm.
