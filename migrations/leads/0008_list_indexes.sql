-- Indexes for the CRM list at a million leads per tenant (issue 5 benchmark,
-- bench/leads): every query shape of GET /api/v1/leads measured with
-- EXPLAIN ANALYZE on 1,000,000 generated leads.

-- Search (q=): `lower(name) LIKE '%…%' OR email LIKE '%…%' OR phone LIKE
-- '%digits%'` — substring matches need trigrams; without them every search
-- read the whole table. pg_trgm is a trusted extension (database CREATE
-- privilege is enough); it goes into this schema, which the service owns.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA leads;
CREATE INDEX leads_name_trgm ON leads USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX leads_email_trgm ON leads USING gin (email gin_trgm_ops) WHERE deleted_at IS NULL;
-- The phone is E.164 ("+6281234567890"): digits after the '+', so the digits
-- of a search ("0812-3456" → "8123456") are a plain substring of it.
CREATE INDEX leads_phone_trgm ON leads USING gin (phone gin_trgm_ops) WHERE deleted_at IS NULL;

-- sort=score orders by (-COALESCE(score, -1)), COALESCE(last_contacted_at,
-- '-infinity'), id and continues a cursor with a row comparison on exactly
-- those expressions; 0002's leads_tenant_score (COALESCE(score, -1) DESC …)
-- cannot serve either (another expression), so every page sorted the tenant.
CREATE INDEX leads_tenant_score_keyset ON leads (tenant, (-COALESCE(score, -1)),
  (COALESCE(last_contacted_at, '-infinity'::timestamptz)), id) WHERE deleted_at IS NULL;
DROP INDEX leads_tenant_score;

-- The board's filter chips: stage + tier (the total is counted from the index alone).
CREATE INDEX leads_tenant_stage_tier ON leads (tenant, stage, tier) WHERE deleted_at IS NULL;
