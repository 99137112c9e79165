-- Word-prefix search through exact words (issue 5 benchmark, bench/leads).
-- 0009's GIN index answers `'budi':* & 'sant':*` with PostgreSQL's partial
-- match, which turns the posting lists of every word with that prefix into a
-- bitmap first: 17-19 ms at 1M leads for two common words, against 3 ms for
-- the exact `'budi' & 'santoso'`, whose posting lists GIN intersects without
-- reading them whole. So the typed prefixes are expanded to the words that
-- exist: this table holds every word of every lead's search document (all
-- tenants; a word alone says nothing about which lead has it, and results are
-- always filtered by tenant), kept by the triggers below. A prefix of more
-- than 64 words ("b") stays a prefix; one no word has matches nothing.
-- Words are never removed: erasing a lead (DELETE ?erase=true) empties its
-- name and e-mail, and its words stay here only as words, linked to no lead
-- (removing them safely would need a lock against a concurrent lead bringing
-- the same word, or that lead would no longer be found by it).
-- repo::build_where asks leads.search_query for the tsquery, then filters
-- with it as a constant (good row estimates, the GIN index).
CREATE TABLE leads.search_words (word text COLLATE "C" PRIMARY KEY);

INSERT INTO leads.search_words (word)
SELECT DISTINCT w FROM leads.leads l, unnest(tsvector_to_array(l.search_doc)) w
WHERE l.deleted_at IS NULL
ON CONFLICT DO NOTHING;

-- Inserts (one statement for a whole CSV import's COPY): the new rows' words,
-- in order, so concurrent writers take the words' index entries in the same
-- order.
CREATE FUNCTION leads.collect_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO leads.search_words (word)
  SELECT DISTINCT w FROM new_rows n, unnest(tsvector_to_array(n.search_doc)) w
  ORDER BY w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER leads_search_words_insert AFTER INSERT ON leads.leads
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION leads.collect_search_words();

-- Updates: only when the name or the e-mail changed (a transition table
-- cannot be combined with a column list, so this one is per row).
CREATE FUNCTION leads.collect_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO leads.search_words (word)
  SELECT w FROM unnest(tsvector_to_array(NEW.search_doc)) w
  ORDER BY w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER leads_search_words_update AFTER UPDATE OF name, email ON leads.leads
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email)
  EXECUTE FUNCTION leads.collect_search_words_row();

-- The tsquery for the words typed (already split into words by the service):
-- each word becomes the OR of the known words it starts, or a prefix when
-- more than 64 start with it; NULL when a word starts none (nothing matches).
-- Lexemes are quoted for tsquery input, which takes them literally (no
-- parser), as they are in the index.
CREATE FUNCTION leads.search_query(typed text[]) RETURNS tsquery
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  prefix text;
  found text[];
  parts text[] := '{}';
BEGIN
  IF typed IS NULL OR cardinality(typed) = 0 THEN
    RETURN NULL;
  END IF;
  FOREACH prefix IN ARRAY typed LOOP
    prefix := lower(prefix);
    SELECT array_agg(v.word ORDER BY v.word) INTO found FROM (
      SELECT s.word FROM leads.search_words s
      WHERE s.word >= (prefix COLLATE "C") AND s.word < ((prefix || chr(1114111)) COLLATE "C")
      ORDER BY s.word LIMIT 65) v;
    IF found IS NULL THEN
      RETURN NULL;
    ELSIF cardinality(found) > 64 THEN
      parts := parts || (leads.tsquery_lexeme(prefix) || ':*');
    ELSE
      parts := parts || ('(' || (SELECT string_agg(leads.tsquery_lexeme(f), ' | ') FROM unnest(found) f) || ')');
    END IF;
  END LOOP;
  RETURN array_to_string(parts, ' & ')::tsquery;
END $$;

CREATE FUNCTION leads.tsquery_lexeme(word text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT '''' || replace(replace(word, '\', '\\'), '''', '''''') || '''' $$;
