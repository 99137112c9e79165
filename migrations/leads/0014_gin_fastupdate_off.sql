-- The phone trigram and tag GIN indexes stop keeping a pending list, as
-- leads_search_words already does (0009). With the default fastupdate, new
-- entries wait in an unsorted list (up to 4 MB) that every search reads in
-- full until (auto)vacuum merges it: after a 100,000-row CSV import into a
-- 1M-lead tenant the phone index had 219 pending pages and the tag index
-- 96,000 pending entries, and a partial-phone search read 243 pages (3.3 ms)
-- where the merged index needs 24 (1.0 ms; bench/README.md, "Leads").
-- A lead adds a dozen trigrams and a few tags: inserting them into the tree
-- directly is cheap.
ALTER INDEX leads.leads_phone_trgm SET (fastupdate = off);
ALTER INDEX leads.leads_tags SET (fastupdate = off);
-- Turning fastupdate off keeps what is already pending: merge it now.
SELECT pg_catalog.gin_clean_pending_list('leads.leads_phone_trgm'::regclass);
SELECT pg_catalog.gin_clean_pending_list('leads.leads_tags'::regclass);
